// Reads of a job's tasks for the query views (jrd's `tasks` method): a page in index order,
// or the tasks at one index, each through an index of the tasks table; and what a task
// reference (JOB:INDEX) or `jr run -k` needs to know of them.
//
// Works on a read-write or read-only Store; reads only, and sees what was last committed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/store.h"

namespace jr {

// A task as `tasks` shows it. The times and outcome are those of its last attempt.
struct TaskListing {
  TaskId id = 0;
  std::int64_t index = 0;
  TaskState state = TaskState::Pending;
  int attempts = 0;
  std::optional<std::int64_t> exit_code;  // none when no attempt ended, or it ended by a signal
  std::optional<std::int64_t> signal;
  std::optional<std::int64_t> start_ms;
  std::optional<std::int64_t> end_ms;
  std::vector<std::string> argv;
  std::string detail;  // how its last attempt ended, in words ("timed out after 1s (…)"); empty: none said
};

// Tasks of `job` in index order, only those in `state` when given; at most `limit` from `offset`.
Result<std::vector<TaskListing>> list_tasks(Store& store, JobId job, std::optional<TaskState> state,
                                            std::int64_t offset, std::int64_t limit);
// The tasks of `job` at `index`, only those in `state` when given: none, one, or more when a
// dropped task kept the index a later run gave another task. O(log n) in the job's size.
Result<std::vector<TaskListing>> tasks_at_index(Store& store, JobId job, std::int64_t index,
                                                std::optional<TaskState> state);
// The task at `index` of `job`, or of the latest job when `job` is 0: of several (a dropped
// task kept the index a later run gave another), one not dropped, else the latest. None when
// there is no such task.
Result<std::optional<TaskId>> task_at_index(Store& store, JobId job, std::int64_t index);
// The indexes of `job`'s pending tasks, in order.
Result<std::vector<std::int64_t>> pending_indexes(Store& store, JobId job);

}  // namespace jr
