// Engine: control of jobs on behalf of jrd's clients (cancel, pause, retry, --after). Each
// first writes what the store lacks (ensure_store_writable): the counts it reads back from the
// store must hold every end the engine has seen.
#include <signal.h>

#include "engine/engine.h"
#include "storage/task_reads.h"

namespace jr {

const JobRow* Engine::job_row(JobId id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second.row;
}

std::vector<JobId> Engine::job_ids() const {
  std::vector<JobId> ids;
  for (auto& [id, job] : jobs_) ids.push_back(id);
  return ids;
}

Status Engine::refresh_counts(JobRun& job) {
  auto counts = store_.count_states(job.row.id);
  if (!counts) return counts.error();
  job.counts = *counts;
  // Tasks still running are counted by the store too; the queue may hold tasks that changed.
  job.queue.clear();
  return {};
}

Result<std::int64_t> Engine::cancel(JobId id, std::optional<std::int64_t> index) {
  JobRun* job = job_run(id);
  if (!job) return make_error(ErrorCode::NotFound, "no job " + std::to_string(id));
  JR_TRY(ensure_store_writable());
  if (index) {
    auto tasks = tasks_at_index(store_, id, *index, std::nullopt);
    if (!tasks) return tasks.error();
    if (tasks->empty()) {
      return make_error(ErrorCode::NotFound, "job " + std::to_string(id) + " has no task " + std::to_string(*index));
    }
  }
  auto n = store_.cancel_pending(id, index, "cancelled");
  if (!n) return n.error();
  std::int64_t signalled = 0;
  std::int64_t now = monotonic_ms();
  for (auto& [task, a] : supervisor_.running()) {
    if (a->job != id || (index && a->index != *index) || a->cancelled) continue;
    a->cancelled = true;
    supervisor_.stop(*a, SIGTERM, now + opt_.grace.count());
    ++signalled;
  }
  // A job with nothing left to cancel has ended as it ended: the mark would turn a job whose
  // tasks all succeeded into a "cancelled" one.
  if (!index && *n + signalled > 0) {
    job->row.cancelled = true;
    job->row.reason = "cancelled by request";
    JR_TRY(store_.set_job_flags(id, job->row.paused, true, job->row.reason));
  }
  JR_TRY(refresh_counts(*job));
  wake_now_ = true;
  return *n + signalled;
}

Status Engine::pause(JobId id, bool paused) {
  JobRun* job = job_run(id);
  if (!job) return make_error(ErrorCode::NotFound, "no job " + std::to_string(id));
  JR_TRY(ensure_store_writable());
  JR_TRY(store_.set_job_flags(id, paused, job->row.cancelled, job->row.reason));
  job->row.paused = paused;
  wake_now_ = true;
  return {};
}

Result<std::int64_t> Engine::retry(JobId id, bool failed_only) {
  JobRun* job = job_run(id);
  if (!job) return make_error(ErrorCode::NotFound, "no job " + std::to_string(id));
  JR_TRY(ensure_store_writable());
  auto n = store_.requeue(id, failed_only);
  if (!n) return n.error();
  if (job->row.cancelled || !job->row.reason.empty()) {
    job->row.cancelled = false;
    job->row.reason.clear();
    JR_TRY(store_.set_job_flags(id, job->row.paused, false, ""));
  }
  JR_TRY(refresh_counts(*job));
  wake_now_ = true;
  return *n;
}

// A job started --after another runs once that one has succeeded, and fails, with the reason
// recorded, once that one has ended otherwise.
Status Engine::settle_dependencies() {
  for (auto& [id, job] : jobs_) {
    JobId dep_id = job.row.spec.after_job;
    if (!dep_id || job.row.cancelled || !job.row.reason.empty()) continue;
    if (job.counts[static_cast<int>(TaskState::Pending)] == 0) continue;
    const JobRun* dep = job_run(dep_id);
    std::string reason;
    if (!dep) {
      reason = "job " + std::to_string(dep_id) + " it waits for does not exist";
    } else {
      auto& c = dep->counts;
      bool ended = dep->running == 0 && c[static_cast<int>(TaskState::Pending)] == 0 &&
                   c[static_cast<int>(TaskState::Interrupted)] == 0;
      bool failed = c[static_cast<int>(TaskState::Failed)] > 0 || c[static_cast<int>(TaskState::Cancelled)] > 0 ||
                    dep->row.cancelled || !dep->row.reason.empty();
      if (ended && failed) reason = "job " + std::to_string(dep_id) + " it waits for did not succeed";
    }
    if (reason.empty()) continue;
    auto n = store_.cancel_pending(id, std::nullopt, reason);
    if (!n) return n.error();
    job.row.reason = reason;
    JR_TRY(store_.set_job_flags(id, job.row.paused, false, reason));
    JR_TRY(refresh_counts(job));
  }
  return {};
}

}  // namespace jr
