#include "job/job_state.h"

namespace jr {
namespace {

std::int64_t count(const StateCounts& c, TaskState s) { return c[static_cast<std::size_t>(s)]; }

}  // namespace

std::string job_state(const JobRow& job, const StateCounts& c) {
  bool open = count(c, TaskState::Pending) + count(c, TaskState::Interrupted) > 0;
  if (count(c, TaskState::Running) > 0) return job.paused ? "paused" : "running";
  if (open) {
    if (job.paused) return "paused";
    bool started = count(c, TaskState::Succeeded) + count(c, TaskState::Failed) + count(c, TaskState::Interrupted) > 0;
    return started ? "running" : "pending";
  }
  return ended_job_state(job, c);
}

std::string ended_job_state(const JobRow& job, const StateCounts& c) {
  if (!job.reason.empty() && !job.cancelled) return "failed";
  if (count(c, TaskState::Failed) > 0) return "failed";
  if (job.cancelled || count(c, TaskState::Cancelled) > 0) return "cancelled";
  return "succeeded";
}

}  // namespace jr
