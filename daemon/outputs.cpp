#include "daemon/outputs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace jr {
namespace {

void fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void commit_outputs(const TaskSpec& spec, Exit* exit) {
  for (auto& out : spec.outputs) {
    std::string partial = partial_path(out);
    if (::access(partial.c_str(), F_OK) != 0) {
      exit->output_missing = true;
      exit->detail = "declared output missing: " + out;
      discard_partial_outputs(spec);
      return;
    }
  }
  for (auto& out : spec.outputs) {
    std::string partial = partial_path(out);
    fsync_path(partial, O_RDONLY);
    if (::rename(partial.c_str(), out.c_str()) != 0) {
      exit->output_missing = true;
      exit->detail = "cannot commit declared output " + out + ": " + std::strerror(errno);
      return;
    }
    auto dir = std::filesystem::path(out).parent_path();
    fsync_path(dir.empty() ? "." : dir.string(), O_RDONLY | O_DIRECTORY);
  }
}

void discard_partial_outputs(const TaskSpec& spec) {
  for (auto& out : spec.outputs) ::unlink(partial_path(out).c_str());
}

}  // namespace jr
