#include "daemon/systemd.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace jr {

// Read once and removed from the environment, so that tasks do not inherit it: systemd
// accepts notifications from jrd's main process only.
const std::string& notify_socket() {
  static const std::string path = [] {
    const char* p = std::getenv("NOTIFY_SOCKET");
    std::string v = p ? p : "";
    ::unsetenv("NOTIFY_SOCKET");
    return v;
  }();
  return path;
}

void notify_systemd(const std::string& state) {
  const char* path = notify_socket().c_str();
  if (!*path) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::size_t n = std::strlen(path);
  if (n >= sizeof addr.sun_path) return;
  std::memcpy(addr.sun_path, path, n);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  (void)::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n));
  ::close(fd);
}

int socket_from_systemd() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  int fd = -1;
  if (pid && fds && std::atol(pid) == ::getpid() && std::atoi(fds) >= 1) fd = 3;
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  return fd;
}

bool under_systemd() { return std::getenv("JOURNAL_STREAM") != nullptr || std::getenv("INVOCATION_ID") != nullptr; }

}  // namespace jr
