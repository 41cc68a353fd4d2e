#include "storage/state_files.h"

#include <sys/un.h>
#include <unistd.h>

namespace jr::state_files {

namespace fs = std::filesystem;

fs::path store(const fs::path& dir) { return dir / kStore; }
fs::path lock(const fs::path& dir) { return dir / kLock; }
fs::path board(const fs::path& dir) { return dir / kBoard; }
fs::path logs(const fs::path& dir) { return dir / kLogs; }
fs::path work(const fs::path& dir) { return dir / kWork; }

fs::path socket(const fs::path& dir, const std::string& state_id) {
  auto path = dir / kSocket;
  if (path.string().size() < sizeof(sockaddr_un{}.sun_path)) return path;
  return fallback_socket_dir() / (state_id + ".sock");
}

fs::path fallback_socket_dir() { return fs::path("/tmp") / ("jr-" + std::to_string(::getuid())); }

std::string task_log_name(TaskId task, int stream) { return std::to_string(task) + kLogSuffix[stream]; }

fs::path task_log(const fs::path& dir, TaskId task, int stream) { return logs(dir) / task_log_name(task, stream); }

}  // namespace jr::state_files
