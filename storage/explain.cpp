#include "storage/explain.h"

#include <unordered_map>
#include <unordered_set>

#include "storage/codec.h"
#include "storage/store_db.h"
#include "storage/sync_decision.h"

namespace jr {

Result<Explanation> explain_tasks(Store* store, JobId job, std::uint64_t count,
                                  const std::function<TaskSpec(std::uint64_t)>& task_at, bool retry_failed,
                                  bool keeper_kept) {
  Explanation out;
  std::unordered_set<std::string> asked;
  std::unordered_map<std::string, std::uint64_t> copies;  // digest -> copies seen so far
  std::optional<sql::Stmt> sel;
  if (job) {
    auto st = store_db(*store).prepare(
        "SELECT id, state, coalesce(end_ms, 0), coalesce((SELECT max(seq) FROM checkpoints c WHERE c.task_id = tasks.id), 0), "
        "EXISTS(SELECT 1 FROM attempts a WHERE a.task_id = tasks.id AND a.outcome = 2) "
        "FROM tasks WHERE job_id = ?1 AND identity = ?2");
    if (!st) return st.error();
    sel.emplace(std::move(*st));
  }
  auto& sum = out.summary;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string digest = task_identity(task_at(i));
    std::string identity = occurrence_identity(digest, copies[digest]++);
    asked.insert(identity);
    TaskDecision d;
    d.index = static_cast<std::int64_t>(i);
    ++sum.total;
    bool found = false;
    if (sel) {
      sel->bind(1, job).bind(2, identity);
      auto row = sel->step();
      if (!row) return row.error();
      if (*row) {
        found = true;
        d.task = sel->i64(0);
        auto state = static_cast<TaskState>(sel->i32(1));
        d.finished_ms = sel->i64(2);
        d.checkpoint = sel->i64(3);
        bool succeeded_before = sel->i32(4) != 0;
        JR_TRY(sel->run());
        d.recorded_running = state == TaskState::Running;
        SyncDecision decision = decide_sync(state, succeeded_before, retry_failed);
        // Recovery marks interrupted what no keeper keeps, before the sync sees it.
        if (decision.action == SyncAction::Adopt && !keeper_kept) decision = decide_sync(TaskState::Interrupted, false, false);
        d.action = action_name(decision.action);
        tally(&sum, decision.action);
      }
    }
    if (!found) {
      d.action = action_name(SyncAction::New);
      tally(&sum, SyncAction::New);
    }
    out.tasks.push_back(d);
  }
  if (job) {
    auto all = store_db(*store).prepare("SELECT id, identity FROM tasks WHERE job_id = ?1 AND state != 6 ORDER BY idx");
    if (!all) return all.error();
    all->bind(1, job);
    for (;;) {
      auto row = all->step();
      if (!row) return row.error();
      if (!*row) break;
      if (asked.count(all->text(1))) continue;
      TaskDecision d;
      d.index = -1;
      d.action = "dropped";
      d.task = all->i64(0);
      ++sum.dropped;
      out.tasks.push_back(d);
    }
  }
  return out;
}

}  // namespace jr
