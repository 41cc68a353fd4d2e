// explain_tasks: what running a job now would do, task by task, without changing anything.
//
// The read-only twin of Store::sync_tasks (same matching by identity, the same decision per
// task: storage/sync_decision.h), for `jr run --explain` and `jr submit --explain`: a resume
// says what it will do before it does it. Works on a store opened read-only, while an engine runs or after it died (tasks it left running count as
// interrupted: the next run resumes them).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/store.h"

namespace jr {

struct TaskDecision {
  std::int64_t index = 0;       // position in this run; -1 for a dropped task
  std::string action;           // skip, new, resume, run, retry, keep-failed, dropped
  TaskId task = 0;              // 0 for a new task
  std::int64_t finished_ms = 0; // when a skipped task succeeded
  std::int64_t checkpoint = 0;  // the checkpoint a resumed task restarts from; 0: none
  bool recorded_running = false;  // a resumed task the store records as running (its engine runs, or is gone)
};

struct Explanation {
  SyncSummary summary;
  std::vector<TaskDecision> tasks;
};

// `job` 0: the store holds no such job yet, so every task is new. `keeper_kept`: a task recorded
// as running is adopted from the keeper that runs it (engine/keeper.h); false: it is resumed.
Result<Explanation> explain_tasks(Store* store, JobId job, std::uint64_t count,
                                  const std::function<TaskSpec(std::uint64_t)>& task_at, bool retry_failed,
                                  bool keeper_kept);

}  // namespace jr
