// Engine: walltime-aware scheduling (--deadline). A task is started only when it is expected
// to end before the deadline minus the grace period; at that moment, running tasks are
// preempted as on SIGTERM, so the run exits "interrupted, resume me" before Slurm kills it.
#include <signal.h>

#include "engine/engine.h"
#include "storage/run_reads.h"

namespace jr {

std::int64_t Engine::expected_run_ms(JobRun& job) {
  if (job.row.spec.expect_ms > 0) return job.row.spec.expect_ms;
  std::int64_t mono = monotonic_ms();
  if (job.median_at && mono - job.median_at < 1000) return job.median_ms;
  job.median_at = mono;
  // A failed read keeps the last median: the deadline's estimate is a guess either way.
  if (auto median = median_success_ms(store_, job.row.id); median && *median) job.median_ms = **median;
  return job.median_ms;
}

bool Engine::ends_before_deadline(JobRun& job) {
  std::int64_t stop_at = opt_.deadline_ms - opt_.grace.count();
  if (now_ms() + expected_run_ms(job) <= stop_at) return true;
  deadline_blocked_ = true;
  return false;
}

bool Engine::ends_in_time(JobRun& job) { return !opt_.deadline_ms || ends_before_deadline(job); }

void Engine::check_deadline() {
  if (!opt_.deadline_ms || shutting_down()) return;
  if (now_ms() < opt_.deadline_ms - opt_.grace.count()) return;
  stopped_for_deadline_ = true;
  shutdown(SIGTERM);
}

}  // namespace jr
