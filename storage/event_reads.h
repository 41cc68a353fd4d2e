// Reads of the event history (`jr events`, jrd's `events` method): a job's events, its
// tasks' included, in the order they happened.
//
// Plain rows, read-only: works on a read-write or read-only Store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/store.h"

namespace jr {

struct EventRow {
  std::int64_t id = 0;
  std::int64_t ms = 0;
  std::optional<TaskId> task;          // none: an event of the job itself
  std::optional<std::int64_t> index;   // the task's index
  std::optional<TaskState> from;
  std::optional<TaskState> to;
  int attempt = 0;
  std::string detail;
};

// Events of `job` and its tasks with an id above `after`, at most `limit`, oldest first.
Result<std::vector<EventRow>> job_events(Store& store, JobId job, std::int64_t after, std::int64_t limit);

}  // namespace jr
