#include "storage/checkpoints.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/duration.h"

namespace jr {

template <class Archive>
void serialize(Archive& ar, CheckpointFile& f, std::uint32_t /*version*/) {
  ar(f.path, f.mode, f.bytes);
}

}  // namespace jr

CEREAL_CLASS_VERSION(jr::CheckpointFile, 1);

namespace jr {
namespace fs = std::filesystem;

namespace {

Result<std::string> slurp(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::Io, "cannot read " + path.string() + ": " + std::strerror(errno));
  struct stat sb {};
  ::fstat(fd, &sb);
  std::string out;
  out.resize(static_cast<std::size_t>(sb.st_size));
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

// A path inside `dir` named relatively, or nothing when it would escape `dir`.
std::optional<std::string> relative_inside(const fs::path& dir, const std::string& name) {
  fs::path p = fs::path(name).is_absolute() ? fs::path(name) : dir / name;
  auto rel = p.lexically_normal().lexically_relative(dir.lexically_normal());
  if (rel.empty() || *rel.begin() == "..") return std::nullopt;
  return rel.string();
}

}  // namespace

Result<std::vector<CheckpointFile>> read_checkpoint_files(const fs::path& dir,
                                                          const std::vector<std::string>& files,
                                                          std::uint64_t max_bytes) {
  std::vector<std::string> names;
  std::error_code ec;
  if (files.empty()) {
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec)) names.push_back(fs::relative(it->path(), dir, ec).string());
    }
    if (ec) return make_error(ErrorCode::Io, "cannot list " + dir.string() + ": " + ec.message());
  } else {
    for (auto& f : files) {
      auto rel = relative_inside(dir, f);
      if (!rel) return make_error(ErrorCode::Usage, f + " is not inside the checkpoint directory " + dir.string());
      names.push_back(*rel);
    }
  }
  std::vector<CheckpointFile> out;
  std::uint64_t total = 0;
  for (auto& name : names) {
    struct stat sb {};
    auto path = dir / name;
    if (::stat(path.c_str(), &sb) != 0) return make_error(ErrorCode::NotFound, "cannot read " + path.string() + ": " + std::strerror(errno));
    total += static_cast<std::uint64_t>(sb.st_size);
    if (total > max_bytes) {
      return make_error(ErrorCode::Usage, "checkpoint exceeds --max-checkpoint (" + std::to_string(total) +
                                              "+ bytes, limit " + std::to_string(max_bytes) + ")");
    }
    auto bytes = slurp(path);
    if (!bytes) return bytes.error();
    out.push_back({name, static_cast<std::uint32_t>(sb.st_mode & 0777), std::move(*bytes)});
  }
  return out;
}

Status write_checkpoint_files(const fs::path& dir, const std::vector<CheckpointFile>& files) {
  for (auto& f : files) {
    auto rel = relative_inside(dir, f.path);
    if (!rel) return make_error(ErrorCode::Corrupt, "checkpoint names a file outside its directory: " + f.path);
    auto path = dir / *rel;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    auto tmp = path.string() + ".jr-tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, f.mode ? f.mode : 0600);
    if (fd < 0) return make_error(ErrorCode::Io, "cannot write " + tmp + ": " + std::strerror(errno));
    std::size_t put = 0;
    while (put < f.bytes.size()) {
      ssize_t n = ::write(fd, f.bytes.data() + put, f.bytes.size() - put);
      if (n <= 0) {
        ::close(fd);
        return make_error(ErrorCode::Io, "cannot write " + tmp + ": " + std::strerror(errno));
      }
      put += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      return make_error(ErrorCode::Io, "cannot write " + path.string() + ": " + std::strerror(errno));
    }
  }
  return {};
}

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
  auto& db = store.db();
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
  auto prune = db.prepare("DELETE FROM checkpoints WHERE task_id = ?1 AND seq <= ?2");
  if (!prune) return prune.error();
  JR_TRY(prune->bind(1, task).bind(2, info.seq - std::max(1, keep)).run());
  JR_TRY(store.add_event(0, task, std::nullopt, std::nullopt, info.attempt,
                         "checkpoint " + std::to_string(info.seq) + " saved (" + std::to_string(info.size) + " bytes)"));
  JR_TRY(tx.commit());
  return info;
}

Result<std::vector<CheckpointInfo>> list_checkpoints(Store& store, TaskId task) {
  auto sel = store.db().prepare(
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
  auto sel = store.db().prepare(
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
  auto ins = store.db().prepare("INSERT OR REPLACE INTO results(task_id, created_ms, bytes) VALUES (?1, ?2, ?3)");
  if (!ins) return ins.error();
  return ins->bind(1, task).bind(2, now_ms()).bind_blob(3, bytes).run();
}

Result<std::string> load_result(Store& store, TaskId task) {
  auto sel = store.db().prepare("SELECT bytes FROM results WHERE task_id = ?1");
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
