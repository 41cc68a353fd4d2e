#include "storage/sync_decision.h"

namespace jr {

SyncDecision decide_sync(TaskState stored, bool succeeded_before, bool retry_failed) {
  switch (stored) {
    case TaskState::Succeeded: return {SyncAction::Skip, stored};
    case TaskState::Pending: return {SyncAction::Run, stored};
    // Recovery runs first and marks interrupted what it did not adopt (engine/keeper.h).
    case TaskState::Running: return {SyncAction::Adopt, stored};
    case TaskState::Interrupted: return {SyncAction::Resume, TaskState::Pending};
    case TaskState::Failed:
    case TaskState::Cancelled:
      return retry_failed ? SyncDecision{SyncAction::Retry, TaskState::Pending} : SyncDecision{SyncAction::KeepFailed, stored};
    case TaskState::Dropped:
      return succeeded_before ? SyncDecision{SyncAction::Skip, TaskState::Succeeded}
                              : SyncDecision{SyncAction::New, TaskState::Pending};
  }
  return {SyncAction::Run, stored};
}

std::string_view action_name(SyncAction action) {
  switch (action) {
    case SyncAction::Skip: return "skip";
    case SyncAction::Run: return "run";
    case SyncAction::Resume: return "resume";
    case SyncAction::Retry: return "retry";
    case SyncAction::KeepFailed: return "keep-failed";
    case SyncAction::New: return "new";
    case SyncAction::Adopt: return "adopt";
  }
  return "?";
}

void tally(SyncSummary* s, SyncAction action) {
  switch (action) {
    case SyncAction::Skip: ++s->skipped; break;
    case SyncAction::Run: ++s->pending; break;
    case SyncAction::Resume: ++s->resumed; break;
    case SyncAction::Retry: ++s->retried; break;
    case SyncAction::KeepFailed: ++s->kept_failed; break;
    case SyncAction::New: ++s->added; break;
    case SyncAction::Adopt: ++s->adopted; break;
  }
}

}  // namespace jr
