#include "storage/run_reads.h"

#include <map>
#include <utility>

#include "storage/codec.h"
#include "storage/schema.h"
#include "storage/store_db.h"

namespace jr {
namespace {

// Schema 4 counts checkpoints in columns. A store an older jr left, read before any engine has
// opened (and so migrated) it, has no such columns: its counts come from the words of its
// events, as that jr counted them, and as migration 4 carries them over.
constexpr int kCountedCheckpointsSchema = 4;
using CheckpointCounts = std::map<std::pair<TaskId, int>, std::int64_t>;

Result<CheckpointCounts> counts_from_events(Store& store, JobId job) {
  auto sel = store_db(store).prepare(
      "SELECT e.task_id, e.attempt, count(*) FROM events e JOIN tasks t ON t.id = e.task_id "
      "WHERE t.job_id = ?1 AND e.detail LIKE 'checkpoint%saved%' GROUP BY e.task_id, e.attempt");
  if (!sel) return sel.error();
  sel->bind(1, job);
  CheckpointCounts out;
  for (;;) {
    auto row = sel->step();
    if (!row) return row.error();
    if (!*row) return out;
    out[{sel->i64(0), sel->i32(1)}] = sel->i64(2);
  }
}

// Whether the store counts checkpoints in columns (it is at schema 4 or later).
Result<bool> counts_checkpoints(Store& store) {
  auto version = schema_version(store_db(store));
  if (!version) return version.error();
  return *version >= kCountedCheckpointsSchema;
}

// Fills `rows`' checkpoints_saved from the events, for a store before schema 4.
template <class Row>
Status count_from_events(Store& store, JobId job, bool counted, std::vector<Row>& rows) {
  if (counted) return {};
  auto counts = counts_from_events(store, job);
  if (!counts) return counts.error();
  for (Row& r : rows) {
    if (auto it = counts->find({r.task, r.attempt}); it != counts->end()) r.checkpoints_saved = it->second;
  }
  return {};
}

std::optional<int> opt_int(const sql::Stmt& st, int col) {
  if (st.is_null(col)) return std::nullopt;
  return st.i32(col);
}

// Steps `sel` to its end, handing each row to `take`, which may fail.
template <class Take>
Status each_row(sql::Stmt& sel, Take take) {
  for (;;) {
    auto row = sel.step();
    if (!row) return row.error();
    if (!*row) return {};
    JR_TRY(take());
  }
}

// One number from a statement that selects one row (0 when it selects none).
Result<std::int64_t> single_int(sql::Stmt& sel) {
  auto row = sel.step();
  if (!row) return row.error();
  std::int64_t value = *row ? sel.i64(0) : 0;
  if (*row) JR_TRY(sel.run());  // reset: done with it
  return value;
}

}  // namespace

Result<std::vector<EngineRunRow>> engine_runs(Store& store) {
  auto sel = store_db(store).prepare(
      "SELECT id, pid, start_ms, coalesce(end_ms, 0), coalesce(slurm_job_id, '') FROM engine_runs ORDER BY id");
  if (!sel) return sel.error();
  std::vector<EngineRunRow> out;
  JR_TRY(each_row(*sel, [&]() -> Status {
    out.push_back({sel->i64(0), sel->i64(1), sel->i64(2), sel->i64(3), sel->text(4)});
    return {};
  }));
  return out;
}

Result<std::vector<TaskRunRow>> job_tasks(Store& store, JobId job) {
  auto sel = store_db(store).prepare(
      "SELECT id, idx, identity, state, attempts, exit_code, signal, submit_ms, spec FROM tasks "
      "WHERE job_id = ?1 ORDER BY idx, id");
  if (!sel) return sel.error();
  sel->bind(1, job);
  std::vector<TaskRunRow> out;
  JR_TRY(each_row(*sel, [&]() -> Status {
    TaskRunRow t;
    t.id = sel->i64(0);
    t.index = sel->i64(1);
    t.identity = sel->text(2);
    t.state = static_cast<TaskState>(sel->i32(3));
    t.attempts = sel->i32(4);
    t.exit_code = opt_int(*sel, 5);
    t.signal = opt_int(*sel, 6);
    t.submit_ms = sel->i64(7);
    auto spec = decode_task_spec(sel->blob(8));
    if (!spec) return spec.error();
    t.argv = std::move(spec->argv);
    out.push_back(std::move(t));
    return {};
  }));
  return out;
}

Result<std::vector<EndedAttemptRow>> ended_attempts(Store& store, JobId job) {
#define JR_ENDED_ATTEMPTS(checkpoints_saved)                                                         \
  "SELECT a.task_id, a.attempt, a.engine_run, a.slot, a.start_ms, a.end_ms, a.outcome, a.exit_code, "     \
  "a.signal, coalesce(a.utime_ms, 0) + coalesce(a.stime_ms, 0), coalesce(a.maxrss_kb, 0), "               \
  "coalesce(a.detail, ''), a.progress, coalesce(a.message, ''), a.stalled, " checkpoints_saved " "        \
  "FROM attempts a JOIN tasks t ON t.id = a.task_id WHERE t.job_id = ?1"
  auto counted = counts_checkpoints(store);
  if (!counted) return counted.error();
  auto sel = *counted ? store_db(store).prepare(JR_ENDED_ATTEMPTS("a.checkpoints_saved"))
                      : store_db(store).prepare(JR_ENDED_ATTEMPTS("0"));
#undef JR_ENDED_ATTEMPTS
  if (!sel) return sel.error();
  sel->bind(1, job);
  std::vector<EndedAttemptRow> out;
  JR_TRY(each_row(*sel, [&]() -> Status {
    EndedAttemptRow a;
    a.task = sel->i64(0);
    a.attempt = sel->i32(1);
    a.engine_run = sel->is_null(2) ? 0 : sel->i64(2);
    a.slot = sel->is_null(3) ? 0 : sel->i32(3);
    a.start_ms = sel->i64(4);
    a.end_ms = sel->i64(5);
    a.outcome = static_cast<TaskState>(sel->i32(6));
    a.exit_code = opt_int(*sel, 7);
    a.signal = opt_int(*sel, 8);
    a.cpu_ms = sel->i64(9);
    a.maxrss_kb = sel->i64(10);
    a.detail = sel->text(11);
    a.progress = sel->is_null(12) ? -1 : sel->f64(12);
    a.message = sel->text(13);
    a.stalled = sel->i32(14) != 0;
    a.checkpoints_saved = sel->i64(15);
    out.push_back(std::move(a));
    return {};
  }));
  JR_TRY(count_from_events(store, job, *counted, out));
  return out;
}

Result<std::vector<RunningAttemptRow>> running_attempts(Store& store, JobId job) {
#define JR_RUNNING_ATTEMPTS(checkpoints_saved)                                                 \
  "SELECT id, idx, attempts, coalesce(slot, 0), coalesce(start_ms, 0), coalesce(pid, 0), " \
  checkpoints_saved ", spec FROM tasks WHERE job_id = ?1 AND state = 1 ORDER BY idx"
  auto counted = counts_checkpoints(store);
  if (!counted) return counted.error();
  auto sel = *counted ? store_db(store).prepare(JR_RUNNING_ATTEMPTS("checkpoints_saved"))
                      : store_db(store).prepare(JR_RUNNING_ATTEMPTS("0"));
#undef JR_RUNNING_ATTEMPTS
  if (!sel) return sel.error();
  sel->bind(1, job);
  std::vector<RunningAttemptRow> out;
  JR_TRY(each_row(*sel, [&]() -> Status {
    RunningAttemptRow a;
    a.task = sel->i64(0);
    a.index = sel->i64(1);
    a.attempt = sel->i32(2);
    a.slot = sel->i32(3);
    a.start_ms = sel->i64(4);
    a.pid = sel->i64(5);
    a.checkpoints_saved = sel->i64(6);
    auto spec = decode_task_spec(sel->blob(7));
    if (!spec) return spec.error();
    a.argv = std::move(spec->argv);
    out.push_back(std::move(a));
    return {};
  }));
  JR_TRY(count_from_events(store, job, *counted, out));
  return out;
}

Result<std::vector<SampleRow>> sample_peaks(Store& store, JobId job) {
  auto sel = store_db(store).prepare(
      "SELECT s.task_id, s.attempt, max(s.rss_kb), max(s.cpu_ms) FROM samples s JOIN tasks t ON t.id = s.task_id "
      "WHERE t.job_id = ?1 GROUP BY s.task_id, s.attempt");
  if (!sel) return sel.error();
  sel->bind(1, job);
  std::vector<SampleRow> out;
  JR_TRY(each_row(*sel, [&]() -> Status {
    out.push_back({sel->i64(0), sel->i32(1), 0, sel->i64(3), sel->i64(2)});
    return {};
  }));
  return out;
}

Result<std::vector<SampleRow>> job_samples(Store& store, JobId job) {
  auto sel = store_db(store).prepare(
      "SELECT s.task_id, s.attempt, s.ms, s.cpu_ms, s.rss_kb FROM samples s JOIN tasks t ON t.id = s.task_id "
      "WHERE t.job_id = ?1");
  if (!sel) return sel.error();
  sel->bind(1, job);
  std::vector<SampleRow> out;
  JR_TRY(each_row(*sel, [&]() -> Status {
    out.push_back({sel->i64(0), sel->i32(1), sel->i64(2), sel->i64(3), sel->i64(4)});
    return {};
  }));
  return out;
}

Result<std::vector<SampleRow>> latest_samples(Store& store, TaskId task, int attempt, int limit) {
  auto sel = store_db(store).prepare(
      "SELECT ms, cpu_ms, rss_kb FROM samples WHERE task_id = ?1 AND attempt = ?2 ORDER BY ms DESC LIMIT ?3");
  if (!sel) return sel.error();
  sel->bind(1, task).bind(2, attempt).bind(3, limit);
  std::vector<SampleRow> out;
  JR_TRY(each_row(*sel, [&]() -> Status {
    out.push_back({task, attempt, sel->i64(0), sel->i64(1), sel->i64(2)});
    return {};
  }));
  return out;
}

Result<std::int64_t> count_finished_since(Store& store, JobId job, std::int64_t since_ms) {
  auto sel = store_db(store).prepare(
      "SELECT count(*) FROM tasks WHERE job_id = ?1 AND state IN (2, 3, 5) AND end_ms >= ?2");
  if (!sel) return sel.error();
  sel->bind(1, job).bind(2, since_ms);
  return single_int(*sel);
}

Result<std::optional<std::int64_t>> median_success_ms(Store& store, JobId job) {
  auto sel = store_db(store).prepare(
      "SELECT a.end_ms - a.start_ms FROM attempts a JOIN tasks t ON t.id = a.task_id "
      "WHERE t.job_id = ?1 AND a.outcome = 2 ORDER BY 1 "
      "LIMIT 1 OFFSET (SELECT count(*) / 2 FROM attempts a JOIN tasks t ON t.id = a.task_id "
      "WHERE t.job_id = ?1 AND a.outcome = 2)");
  if (!sel) return sel.error();
  sel->bind(1, job);
  auto row = sel->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::int64_t>();
  std::optional<std::int64_t> median = sel->i64(0);
  JR_TRY(sel->run());
  return median;
}

}  // namespace jr
