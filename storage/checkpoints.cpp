#include "storage/checkpoints.h"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <sstream>

#include "base/duration.h"
#include "storage/store_db.h"

namespace jr {

template <class Archive>
void serialize(Archive& ar, CheckpointFile& f, std::uint32_t /*version*/) {
  ar(f.path, f.mode, f.bytes);
}

}  // namespace jr

CEREAL_CLASS_VERSION(jr::CheckpointFile, 1);

namespace jr {

std::string encode_checkpoint(const std::vector<CheckpointFile>& files) {
  std::ostringstream out;
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(files);
  }
  return std::move(out).str();
}

Result<std::vector<CheckpointFile>> decode_checkpoint(const std::string& blob) {
  try {
    std::istringstream in(blob);
    cereal::PortableBinaryInputArchive ar(in);
    std::vector<CheckpointFile> files;
    ar(files);
    return files;
  } catch (const std::exception& e) {
    return make_error(ErrorCode::Corrupt, std::string("unreadable checkpoint: ") + e.what());
  }
}

Result<CheckpointInfo> save_checkpoint(Store& store, TaskId task, const std::string& archive, int keep) {
  auto& db = store_db(store);
  auto tx = store.transaction();
  JR_TRY(tx.begin_status());
  // The next sequence number is read first: an INSERT that selects from its own table makes
  // SQLite stage the row (a 100 MB blob) in a temporary table before writing it.
  auto next = db.prepare(
      "SELECT coalesce((SELECT max(seq) FROM checkpoints WHERE task_id = ?1), 0) + 1, attempts "
      "FROM tasks WHERE id = ?1");
  if (!next) return next.error();
  next->bind(1, task);
  auto found = next->step();
  if (!found) return found.error();
  if (!*found) return make_error(ErrorCode::NotFound, "no task " + std::to_string(task));
  CheckpointInfo info;
  info.seq = next->i64(0);
  info.attempt = next->i32(1);
  JR_TRY(next->run());
  info.created_ms = now_ms();
  info.size = static_cast<std::int64_t>(archive.size());
  auto ins = db.prepare(
      "INSERT INTO checkpoints(task_id, seq, created_ms, size, bytes, attempt) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!ins) return ins.error();
  JR_TRY(ins->bind(1, task).bind(2, info.seq).bind(3, info.created_ms).bind(4, info.size)
             .bind_blob_static(5, archive).bind(6, info.attempt).run());
  // The count is the attempt's; the checkpoints table keeps only the last `keep` of them.
  auto count = db.prepare("UPDATE tasks SET checkpoints_saved = checkpoints_saved + 1 WHERE id = ?1");
  if (!count) return count.error();
  JR_TRY(count->bind(1, task).run());
  auto prune = db.prepare("DELETE FROM checkpoints WHERE task_id = ?1 AND seq <= ?2");
  if (!prune) return prune.error();
  JR_TRY(prune->bind(1, task).bind(2, info.seq - std::max(1, keep)).run());
  JR_TRY(store.add_event(0, task, std::nullopt, std::nullopt, info.attempt,
                         "checkpoint " + std::to_string(info.seq) + " saved (" + std::to_string(info.size) + " bytes)"));
  JR_TRY(tx.commit());
  return info;
}

Result<std::vector<CheckpointInfo>> list_checkpoints(Store& store, TaskId task) {
  auto sel = store_db(store).prepare(
      "SELECT seq, created_ms, size, attempt FROM checkpoints WHERE task_id = ?1 ORDER BY seq");
  if (!sel) return sel.error();
  sel->bind(1, task);
  std::vector<CheckpointInfo> out;
  for (;;) {
    auto row = sel->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back({sel->i64(0), sel->i64(1), sel->i64(2), sel->i32(3)});
  }
  return out;
}

Result<std::string> load_checkpoint(Store& store, TaskId task, std::int64_t seq) {
  auto sel = store_db(store).prepare(
      "SELECT bytes FROM checkpoints WHERE task_id = ?1 AND (?2 = 0 OR seq = ?2) ORDER BY seq DESC LIMIT 1");
  if (!sel) return sel.error();
  sel->bind(1, task).bind(2, seq);
  auto row = sel->step();
  if (!row) return row.error();
  if (!*row) {
    return make_error(ErrorCode::NotFound, seq ? "no checkpoint " + std::to_string(seq) + " for this task"
                                               : "this task has saved no checkpoint");
  }
  std::string blob = sel->blob(0);
  JR_TRY(sel->run());
  return blob;
}

Status save_result(Store& store, TaskId task, const std::string& bytes) {
  auto ins = store_db(store).prepare("INSERT OR REPLACE INTO results(task_id, created_ms, bytes) VALUES (?1, ?2, ?3)");
  if (!ins) return ins.error();
  return ins->bind(1, task).bind(2, now_ms()).bind_blob(3, bytes).run();
}

Result<std::string> load_result(Store& store, TaskId task) {
  auto sel = store_db(store).prepare("SELECT bytes FROM results WHERE task_id = ?1");
  if (!sel) return sel.error();
  sel->bind(1, task);
  auto row = sel->step();
  if (!row) return row.error();
  if (!*row) return make_error(ErrorCode::NotFound, "task " + std::to_string(task) + " stored no result");
  std::string blob = sel->blob(0);
  JR_TRY(sel->run());
  return blob;
}

}  // namespace jr
