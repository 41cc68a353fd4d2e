// decide_sync: what a run that asks again for a task the store knows does with it, from the
// task's stored state. The one decision that Store::sync_tasks takes (resume) and
// explain_tasks reports (--explain), so the two cannot disagree.
#pragma once

#include <string_view>

#include "storage/store.h"

namespace jr {

enum class SyncAction {
  Skip,        // succeeded before: not run again
  Run,         // pending: never finished
  Resume,      // interrupted (or left running by a dead engine): from its last checkpoint
  Retry,       // failed or cancelled, run again (--retry-failed)
  KeepFailed,  // failed or cancelled, left so
  New,         // dropped before it ever succeeded: runs as if new
  Adopt,       // still running under the keeper of a dead engine: watched, not started again
};

struct SyncDecision {
  SyncAction action;
  TaskState to;  // the state the task is put in
};

SyncDecision decide_sync(TaskState stored, bool succeeded_before, bool retry_failed);

// "skip", "run", "resume", "retry", "keep-failed", "new", "adopt": --explain's words.
std::string_view action_name(SyncAction action);

// Counts `action` in the summary's field for it.
void tally(SyncSummary* summary, SyncAction action);

}  // namespace jr
