// Engine: noticing that a job has ended, and running its --on-finish hook without waiting for
// it (the engine reaps it like a task, so the other jobs go on while it runs).
#include "engine/engine.h"
#include "engine/on_finish.h"
#include "job/job_state.h"

namespace jr {

bool Engine::job_has_ended(const JobRun& job) const {
  auto n = [&job](TaskState s) { return job.counts[static_cast<std::size_t>(s)]; };
  if (job.running > 0 || n(TaskState::Running) > 0) return false;
  return halted() || n(TaskState::Pending) + n(TaskState::Interrupted) == 0;
}

void Engine::notice_job_ends() {
  for (auto& [job, outcome] : supervisor_.take_hook_ends()) {
    if (on_finish_end) on_finish_end(job, outcome);
  }
  // A shutdown interrupts jobs, it does not end them: the next engine runs them on. A job has
  // ended once the store has its ends (engine/store_writes.cpp), not before.
  if (shutting_down() || !unwritten_ends_.empty()) return;
  for (auto& [id, job] : jobs_) {
    bool ended = job_has_ended(job);
    const JobSpec& spec = job.row.spec;
    if (ended && !job.ended && !spec.on_finish.empty()) {
      auto pid = start_on_finish(spec.on_finish, spec.cwd, base_env_, id, ended_job_state(job.row, job.counts), job.counts);
      if (pid) {
        supervisor_.watch_hook(*pid, id);
      } else if (on_finish_end) {
        on_finish_end(id, pid.error());
      }
    }
    job.ended = ended;
  }
}

}  // namespace jr
