#include "storage/task_reads.h"

#include "storage/codec.h"
#include "storage/store_db.h"

namespace jr {
namespace {

// The columns every read selects, in the order read_rows takes them.
#define JR_TASK_COLUMNS                                                                   \
  "SELECT id, idx, state, attempts, exit_code, signal, start_ms, end_ms, spec, "          \
  "(SELECT coalesce(a.detail, '') FROM attempts a WHERE a.task_id = tasks.id AND a.attempt = tasks.attempts) " \
  "FROM tasks "

Result<std::vector<TaskListing>> read_rows(sql::Stmt& sel) {
  std::vector<TaskListing> out;
  auto opt = [&](int col) { return sel.is_null(col) ? std::nullopt : std::optional<std::int64_t>(sel.i64(col)); };
  for (;;) {
    auto row = sel.step();
    if (!row) return row.error();
    if (!*row) return out;
    auto spec = decode_task_spec(sel.blob(8));
    if (!spec) return spec.error();
    out.push_back(TaskListing{sel.i64(0), sel.i64(1), static_cast<TaskState>(sel.i32(2)), sel.i32(3), opt(4),
                              opt(5), opt(6), opt(7), std::move(spec->argv), sel.text(9)});
  }
}

}  // namespace

Result<std::vector<TaskListing>> list_tasks(Store& store, JobId job, std::optional<TaskState> state,
                                            std::int64_t offset, std::int64_t limit) {
  auto sel = store_db(store).prepare(JR_TASK_COLUMNS
                                "WHERE job_id = ?1 AND (?2 < 0 OR state = ?2) ORDER BY idx, id LIMIT ?3 OFFSET ?4");
  if (!sel) return sel.error();
  sel->bind(1, job).bind(2, state ? static_cast<int>(*state) : -1).bind(3, limit).bind(4, offset);
  return read_rows(*sel);
}

Result<std::vector<TaskListing>> tasks_at_index(Store& store, JobId job, std::int64_t index,
                                                std::optional<TaskState> state) {
  auto sel = store_db(store).prepare(JR_TASK_COLUMNS
                                     "WHERE job_id = ?1 AND idx = ?2 AND (?3 < 0 OR state = ?3) ORDER BY id");
  if (!sel) return sel.error();
  sel->bind(1, job).bind(2, index).bind(3, state ? static_cast<int>(*state) : -1);
  return read_rows(*sel);
}

#undef JR_TASK_COLUMNS

Result<std::optional<TaskId>> task_at_index(Store& store, JobId job, std::int64_t index) {
  auto sel = store_db(store).prepare(
      "SELECT id FROM tasks WHERE idx = ?2 AND job_id = CASE WHEN ?1 = 0 THEN (SELECT max(id) FROM jobs) ELSE ?1 END "
      "ORDER BY state = 6, id DESC LIMIT 1");
  if (!sel) return sel.error();
  sel->bind(1, job).bind(2, index);
  auto row = sel->step();
  if (!row) return row.error();
  if (!*row) return std::optional<TaskId>();
  std::optional<TaskId> id = sel->i64(0);
  JR_TRY(sel->run());
  return id;
}

Result<std::vector<std::int64_t>> pending_indexes(Store& store, JobId job) {
  auto sel = store_db(store).prepare("SELECT idx FROM tasks WHERE job_id = ?1 AND state = 0 ORDER BY idx");
  if (!sel) return sel.error();
  sel->bind(1, job);
  std::vector<std::int64_t> out;
  for (;;) {
    auto row = sel->step();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(sel->i64(0));
  }
}

}  // namespace jr
