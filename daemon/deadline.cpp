// Engine: walltime-aware scheduling (--deadline). A task is started only when it is expected
// to end before the deadline minus the grace period; at that moment, running tasks are
// preempted as on SIGTERM, so the run exits "interrupted, resume me" before Slurm kills it.
#include <signal.h>

#include "daemon/engine.h"

namespace jr {

std::int64_t Engine::expected_run_ms(JobRun& job) {
  if (job.row.spec.expect_ms > 0) return job.row.spec.expect_ms;
  std::int64_t mono = monotonic_ms();
  if (job.median_at && mono - job.median_at < 1000) return job.median_ms;
  job.median_at = mono;
  auto sel = store_.db().prepare(
      "SELECT a.end_ms - a.start_ms FROM attempts a JOIN tasks t ON t.id = a.task_id "
      "WHERE t.job_id = ?1 AND a.outcome = 2 ORDER BY 1 "
      "LIMIT 1 OFFSET (SELECT count(*) / 2 FROM attempts a JOIN tasks t ON t.id = a.task_id "
      "WHERE t.job_id = ?1 AND a.outcome = 2)");
  if (!sel) return job.median_ms;
  sel->bind(1, job.row.id);
  auto row = sel->step();
  if (row && *row) {
    job.median_ms = sel->i64(0);
    (void)sel->run();
  }
  return job.median_ms;
}

bool Engine::ends_before_deadline(JobRun& job) {
  std::int64_t stop_at = opt_.deadline_ms - opt_.grace.count();
  if (now_ms() + expected_run_ms(job) <= stop_at) return true;
  deadline_blocked_ = true;
  return false;
}

void Engine::check_deadline() {
  if (!opt_.deadline_ms || shutting_down()) return;
  if (now_ms() < opt_.deadline_ms - opt_.grace.count()) return;
  stopped_for_deadline_ = true;
  shutdown(SIGTERM);
}

}  // namespace jr
