#include "engine/paths.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include "storage/state_files.h"

namespace jr {

std::filesystem::path default_state_dir() {
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::filesystem::path(x) / "jr";
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    if (auto* pw = ::getpwuid(::getuid())) home = pw->pw_dir;
  }
  return std::filesystem::path(home ? home : "/tmp") / ".local/state/jr";
}

std::filesystem::path default_socket_path(const std::filesystem::path& state_dir) {
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) return std::filesystem::path(x) / "jr/jrd.sock";
  return state_dir / state_files::kJrdSocket;
}

}  // namespace jr
