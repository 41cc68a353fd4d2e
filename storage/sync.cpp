// Store::sync_tasks: matching the tasks a run asks for against the stored ones by identity.
#include <unordered_map>

#include "base/duration.h"
#include "storage/codec.h"
#include "storage/store.h"
#include "storage/sync_decision.h"

namespace jr {

Result<SyncSummary> Store::sync_tasks(JobId job, std::uint64_t count,
                                      const std::function<TaskSpec(std::uint64_t)>& task_at,
                                      bool retry_failed) {
  auto tx = transaction();
  JR_TRY(tx.begin_status());
  auto gen_upd = db_->prepare("UPDATE jobs SET run_gen = run_gen + 1 WHERE id = ?1 RETURNING run_gen");
  if (!gen_upd) return gen_upd.error();
  gen_upd->bind(1, job);
  auto gen_row = gen_upd->step();
  if (!gen_row) return gen_row.error();
  if (!*gen_row) return make_error(ErrorCode::NotFound, "no job " + std::to_string(job));
  std::int64_t gen = gen_upd->i64(0);
  JR_TRY(gen_upd->run());

  auto ins = db_->prepare(
      "INSERT INTO tasks(job_id, idx, identity, spec, submit_ms, run_gen) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(job_id, identity) DO NOTHING");
  auto sel = db_->prepare(
      "SELECT id, state, run_gen, EXISTS(SELECT 1 FROM attempts a WHERE a.task_id = tasks.id "
      "AND a.outcome = 2) FROM tasks WHERE job_id = ?1 AND identity = ?2");
  // A known task takes this run's spec too: the same identity, but this run's --timeout,
  // --retries and resource requests.
  auto upd = db_->prepare("UPDATE tasks SET idx = ?2, run_gen = ?3, state = ?4, "
                          "failures = CASE WHEN ?5 THEN 0 ELSE failures END, spec = ?6 WHERE id = ?1");
  if (!ins) return ins.error();
  if (!sel) return sel.error();
  if (!upd) return upd.error();

  SyncSummary sum;
  std::int64_t now = now_ms();
  // Matches the task at position i under `identity`; false, changing nothing, when this run
  // already matched that identity (an earlier copy of the same spec).
  auto match = [&](std::uint64_t i, const TaskSpec& spec, const std::string& identity) -> Result<bool> {
    const auto blob = encode_task_spec(spec);
    JR_TRY(ins->bind(1, job).bind(2, static_cast<std::int64_t>(i)).bind(3, identity)
               .bind_blob(4, blob).bind(5, now).bind(6, gen).run());
    if (db_->changes() == 1) {
      ++sum.added;
      ++sum.total;
      return true;
    }
    sel->bind(1, job).bind(2, identity);
    auto row = sel->step();
    if (!row) return row.error();
    TaskId id = sel->i64(0);
    auto state = static_cast<TaskState>(sel->i32(1));
    bool seen_this_run = sel->i64(2) == gen;
    bool succeeded_before = sel->i32(3) != 0;
    JR_TRY(sel->run());
    if (seen_this_run) return false;
    ++sum.total;
    const SyncDecision d = decide_sync(state, succeeded_before, retry_failed);
    tally(&sum, d.action);
    const TaskState to = d.to;
    const bool reset_failures = d.action == SyncAction::Retry;
    upd->bind(1, id).bind(2, static_cast<std::int64_t>(i)).bind(3, gen).bind(4, static_cast<int>(to));
    upd->bind(5, reset_failures ? 1 : 0).bind_blob(6, blob);
    JR_TRY(upd->run());
    if (to != state) {
      JR_TRY(task_event(id, state, to, 0, state == TaskState::Interrupted ? "resume" : "requeue"));
    }
    return true;
  };
  // Copies seen so far of each spec asked for more than once. Only those are remembered: a
  // first copy is told from a second by the row's run_gen, so a job of distinct tasks costs no
  // memory per task.
  std::unordered_map<std::string, std::uint64_t> copies;
  for (std::uint64_t i = 0; i < count; ++i) {
    TaskSpec spec = task_at(i);
    std::string digest = task_identity(spec);
    auto c = copies.find(digest);
    if (c != copies.end()) {
      JR_TRY(match(i, spec, occurrence_identity(digest, c->second++)));
      continue;
    }
    auto first = match(i, spec, digest);
    if (!first) return first.error();
    if (!*first) {
      copies.emplace(digest, 2);
      JR_TRY(match(i, spec, occurrence_identity(digest, 1)));
    }
  }

  auto drop_events = db_->prepare(
      "INSERT INTO events(ms, job_id, task_id, from_state, to_state, attempt, detail) "
      "SELECT ?3, job_id, id, state, 6, attempts, 'no longer asked for' FROM tasks "
      "WHERE job_id = ?1 AND run_gen < ?2 AND state != 6");
  if (!drop_events) return drop_events.error();
  JR_TRY(drop_events->bind(1, job).bind(2, gen).bind(3, now).run());
  auto drop = db_->prepare("UPDATE tasks SET state = 6 WHERE job_id = ?1 AND run_gen < ?2 AND state != 6");
  if (!drop) return drop.error();
  JR_TRY(drop->bind(1, job).bind(2, gen).run());
  sum.dropped = db_->changes();
  JR_TRY(tx.commit());
  return sum;
}

}  // namespace jr
