// Engine: what running tasks ask of it through JR_SOCKET (checkpoint and result saves).
#include <cstdlib>

#include "engine/engine.h"

namespace jr {

std::filesystem::path Engine::checkpoint_dir(int slot) const { return work_dirs_.path(slot); }

Status Engine::prepare_checkpoint_dir(const Attempt& a) {
  JR_TRY(work_dirs_.make_empty(a.slot));
  if (a.attempt == 1) return {};
  auto archive = load_checkpoint(store_, a.task, 0);
  if (!archive) return archive.error().code == ErrorCode::NotFound ? Status() : Status(archive.error());
  auto files = decode_checkpoint(*archive);
  if (!files) return files.error();
  return write_checkpoint_files(work_dirs_.path(a.slot), *files);
}

Attempt* Engine::running_attempt(const std::string& token) {
  // JR_RUN is "<state id>.<task id>.<attempt>".
  auto dot1 = token.find('.');
  auto dot2 = token.find('.', dot1 == std::string::npos ? 0 : dot1 + 1);
  if (dot1 == std::string::npos || dot2 == std::string::npos || token.substr(0, dot1) != store_.state_id()) return nullptr;
  TaskId task = std::strtoll(token.c_str() + dot1 + 1, nullptr, 10);
  int attempt = std::atoi(token.c_str() + dot2 + 1);
  return supervisor_.find(task, attempt);
}

Result<CheckpointInfo> Engine::save_checkpoint(const std::string& token, const std::vector<std::string>& files) {
  Attempt* a = running_attempt(token);
  if (!a) return make_error(ErrorCode::NotFound, "no running task attempt " + token + " in this engine");
  const JobSpec& spec = job_spec(a->job);
  auto read = read_checkpoint_files(checkpoint_dir(a->slot), files, spec.max_checkpoint_bytes);
  if (!read) return read.error();
  return jr::save_checkpoint(store_, a->task, encode_checkpoint(*read), spec.keep_checkpoints);
}

Status Engine::save_result(const std::string& token, const std::string& path) {
  Attempt* a = running_attempt(token);
  if (!a) return make_error(ErrorCode::NotFound, "no running task attempt " + token + " in this engine");
  // A relative path would be read from wherever the engine runs, not where the task does.
  if (path.empty() || path.front() != '/') {
    return make_error(ErrorCode::Usage, "result.save: path: expected an absolute path, got \"" + path + "\"");
  }
  auto bytes = read_task_file(path, job_spec(a->job).max_result_bytes, "--max-result");
  if (!bytes) return bytes.error();
  return jr::save_result(store_, a->task, *bytes);
}

}  // namespace jr
