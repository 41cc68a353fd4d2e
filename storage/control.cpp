// Store: the transitions jrd's control commands make (cancel, pause, retry).
#include "base/duration.h"
#include "storage/store.h"

namespace jr {

Status Store::set_job_flags(JobId job, bool paused, bool cancelled, const std::string& reason) {
  auto tx = transaction();
  JR_TRY(tx.begin_status());
  auto upd = db_->prepare("UPDATE jobs SET paused = ?2, cancelled = ?3, reason = ?4 WHERE id = ?1");
  if (!upd) return upd.error();
  JR_TRY(upd->bind(1, job).bind(2, paused ? 1 : 0).bind(3, cancelled ? 1 : 0).bind(4, reason).run());
  if (db_->changes() == 0) return make_error(ErrorCode::NotFound, "no job " + std::to_string(job));
  std::string what = cancelled ? "job cancelled" : paused ? "job paused" : "job resumed";
  JR_TRY(add_event(job, 0, std::nullopt, std::nullopt, 0, reason.empty() ? what : what + ": " + reason));
  return tx.commit();
}

Result<std::int64_t> Store::cancel_pending(JobId job, std::optional<std::int64_t> index,
                                           const std::string& detail) {
  auto tx = transaction();
  JR_TRY(tx.begin_status());
  auto ev = db_->prepare(
      "INSERT INTO events(ms, job_id, task_id, from_state, to_state, attempt, detail) "
      "SELECT ?3, job_id, id, state, 5, attempts, ?4 FROM tasks "
      "WHERE job_id = ?1 AND state IN (0, 4) AND (?2 < 0 OR idx = ?2)");
  if (!ev) return ev.error();
  std::int64_t idx = index ? *index : -1;
  JR_TRY(ev->bind(1, job).bind(2, idx).bind(3, now_ms()).bind(4, detail).run());
  auto upd = db_->prepare(
      "UPDATE tasks SET state = 5, next_run_ms = 0 WHERE job_id = ?1 AND state IN (0, 4) AND (?2 < 0 OR idx = ?2)");
  if (!upd) return upd.error();
  JR_TRY(upd->bind(1, job).bind(2, idx).run());
  std::int64_t n = db_->changes();
  JR_TRY(tx.commit());
  return n;
}

Status Store::cancel_running(TaskId id, const Exit& exit, std::int64_t now) {
  auto tx = transaction();
  JR_TRY(tx.begin_status());
  auto upd = db_->prepare(
      "UPDATE tasks SET state = 5, end_ms = ?2, pid = NULL, proc_start = NULL, exit_code = ?3, signal = ?4 "
      "WHERE id = ?1 AND state = 1 RETURNING attempts");
  if (!upd) return upd.error();
  upd->bind(1, id).bind(2, now);
  if (exit.signal) upd->bind_null(3).bind(4, exit.signal);
  else upd->bind(3, exit.exit_code).bind_null(4);
  auto row = upd->step();
  if (!row) return row.error();
  if (!*row) return illegal(id, "cancel it");
  int attempt = upd->i32(0);
  JR_TRY(upd->run());
  JR_TRY(record_attempt(id, TaskState::Cancelled, exit, now));
  JR_TRY(task_event(id, TaskState::Running, TaskState::Cancelled, attempt, "cancelled"));
  return tx.commit();
}

Result<std::int64_t> Store::resume_interrupted(JobId job) {
  auto tx = transaction();
  JR_TRY(tx.begin_status());
  auto ev = db_->prepare(
      "INSERT INTO events(ms, job_id, task_id, from_state, to_state, attempt, detail) "
      "SELECT ?2, job_id, id, 4, 0, attempts, 'resume' FROM tasks WHERE job_id = ?1 AND state = 4");
  if (!ev) return ev.error();
  JR_TRY(ev->bind(1, job).bind(2, now_ms()).run());
  auto upd = db_->prepare("UPDATE tasks SET state = 0 WHERE job_id = ?1 AND state = 4");
  if (!upd) return upd.error();
  JR_TRY(upd->bind(1, job).run());
  std::int64_t n = db_->changes();
  JR_TRY(tx.commit());
  return n;
}

Result<std::int64_t> Store::requeue(JobId job, bool failed_only) {
  auto tx = transaction();
  JR_TRY(tx.begin_status());
  auto ev = db_->prepare(
      "INSERT INTO events(ms, job_id, task_id, from_state, to_state, attempt, detail) "
      "SELECT ?3, job_id, id, state, 0, attempts, 'retry' FROM tasks "
      "WHERE job_id = ?1 AND (state = 3 OR (?2 = 0 AND state = 5))");
  if (!ev) return ev.error();
  JR_TRY(ev->bind(1, job).bind(2, failed_only ? 1 : 0).bind(3, now_ms()).run());
  auto upd = db_->prepare(
      "UPDATE tasks SET state = 0, failures = 0, next_run_ms = 0 "
      "WHERE job_id = ?1 AND (state = 3 OR (?2 = 0 AND state = 5))");
  if (!upd) return upd.error();
  JR_TRY(upd->bind(1, job).bind(2, failed_only ? 1 : 0).run());
  std::int64_t n = db_->changes();
  JR_TRY(tx.commit());
  return n;
}

}  // namespace jr
