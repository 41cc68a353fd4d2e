#include "storage/event_reads.h"

#include "storage/store_db.h"

namespace jr {

Result<std::vector<EventRow>> job_events(Store& store, JobId job, std::int64_t after, std::int64_t limit) {
  auto sel = store_db(store).prepare(
      "SELECT e.id, e.ms, e.task_id, t.idx, e.from_state, e.to_state, e.attempt, e.detail FROM events e "
      "LEFT JOIN tasks t ON t.id = e.task_id "
      "WHERE (e.job_id = ?1 OR t.job_id = ?1) AND e.id > ?2 ORDER BY e.id LIMIT ?3");
  if (!sel) return sel.error();
  sel->bind(1, job).bind(2, after).bind(3, limit);
  auto state_at = [&](int col) {
    return sel->is_null(col) ? std::nullopt : std::optional<TaskState>(static_cast<TaskState>(sel->i32(col)));
  };
  auto int_at = [&](int col) {
    return sel->is_null(col) ? std::nullopt : std::optional<std::int64_t>(sel->i64(col));
  };
  std::vector<EventRow> out;
  for (;;) {
    auto row = sel->step();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back({sel->i64(0), sel->i64(1), int_at(2), int_at(3), state_at(4), state_at(5), sel->i32(6), sel->text(7)});
  }
}

}  // namespace jr
