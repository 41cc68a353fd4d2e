#include "engine/outputs.h"

#include <unistd.h>

#include "base/atomic_file.h"

namespace jr {

void commit_outputs(const TaskSpec& spec, bool adopted, Exit* exit) {
  auto partial_there = [](const std::string& out) { return ::access(partial_path(out).c_str(), F_OK) == 0; };
  for (auto& out : spec.outputs) {
    if (partial_there(out)) continue;
    if (adopted && ::access(out.c_str(), F_OK) == 0) continue;  // renamed by the engine that died
    exit->output_missing = true;
    exit->detail = "declared output missing: " + out;
    discard_partial_outputs(spec);
    return;
  }
  for (auto& out : spec.outputs) {
    if (!partial_there(out)) continue;
    if (auto st = rename_durably(partial_path(out), out); !st) {
      exit->output_missing = true;
      exit->detail = "cannot commit declared output " + out + ": " + st.error().message;
      return;
    }
  }
}

void discard_partial_outputs(const TaskSpec& spec) {
  for (auto& out : spec.outputs) ::unlink(partial_path(out).c_str());
}

Status check_output_template(const std::vector<std::string>& command, const std::string& output,
                             std::size_t source_count) {
  bool uses_out = false;
  for (auto& w : command) uses_out = uses_out || w.find("{out}") != std::string::npos;
  if (!uses_out) return make_error(ErrorCode::Usage, "--output needs {out} in the command: where the task writes it");
  return check_template({output}, source_count);
}

std::string declared_output(const TaskExpander& output, std::uint64_t i, const std::string& cwd) {
  std::string out = output.expand(i).front();
  if (!out.empty() && out[0] != '/') out = cwd + "/" + out;
  return out;
}

}  // namespace jr
