#include "storage/engine_runs.h"

#include "storage/schema.h"
#include "storage/store_db.h"

namespace jr {
namespace {
constexpr int kSchemaWithSignsOfLife = 5;  // storage/schema.cpp, migration 5
}  // namespace

Status record_engine_seen(Store& store, std::int64_t now_ms) {
  if (store.engine_run() == 0) return {};
  auto upd = store_db(store).prepare("UPDATE engine_runs SET seen_ms = ?2 WHERE id = ?1");
  if (!upd) return upd.error();
  return upd->bind(1, store.engine_run()).bind(2, now_ms).run();
}

Result<std::optional<LatestEngineRun>> latest_engine_run(Store& store) {
  // Only the engine writes events and samples, one engine at a time, each in time order: the
  // newest of each (the last row, found through the rowid) is that engine's last commit of a
  // transition and of a reading of its tasks. A store an older jr wrote, read by a reader
  // (which never migrates), has no heartbeat column: its events and samples alone say.
  auto version = schema_version(store_db(store));
  if (!version) return version.error();
  auto sel = *version >= kSchemaWithSignsOfLife
                 ? store_db(store).prepare(
                       "SELECT r.id, r.pid, r.end_ms, max(r.start_ms, coalesce(r.seen_ms, 0), "
                       "coalesce((SELECT ms FROM events ORDER BY id DESC LIMIT 1), 0), "
                       "coalesce((SELECT ms FROM samples ORDER BY rowid DESC LIMIT 1), 0)) "
                       "FROM engine_runs r ORDER BY r.id DESC LIMIT 1")
                 : store_db(store).prepare(
                       "SELECT r.id, r.pid, r.end_ms, max(r.start_ms, "
                       "coalesce((SELECT ms FROM events ORDER BY id DESC LIMIT 1), 0), "
                       "coalesce((SELECT ms FROM samples ORDER BY rowid DESC LIMIT 1), 0)) "
                       "FROM engine_runs r ORDER BY r.id DESC LIMIT 1");
  if (!sel) return sel.error();
  auto row = sel->step();
  if (!row) return row.error();
  if (!*row) return std::optional<LatestEngineRun>();
  LatestEngineRun run;
  run.id = sel->i64(0);
  run.pid = sel->i64(1);
  run.ended = !sel->is_null(2);
  run.last_seen_ms = run.ended ? sel->i64(2) : sel->i64(3);
  JR_TRY(sel->run());
  return std::optional<LatestEngineRun>(run);
}

Status close_engine_run(Store& store, std::int64_t id, std::int64_t end_ms) {
  auto upd = store_db(store).prepare("UPDATE engine_runs SET end_ms = ?2 WHERE id = ?1 AND end_ms IS NULL");
  if (!upd) return upd.error();
  return upd->bind(1, id).bind(2, end_ms).run();
}

}  // namespace jr
