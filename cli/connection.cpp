#include "cli/connection.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "protocol/protocol.h"

namespace jr {
namespace {

// Long enough for a large submit or checkpoint on a busy machine; a hung server still ends.
constexpr int kReplyTimeoutS = 300;

}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return make_error(ErrorCode::Usage, "socket path too long: " + path);
  std::strcpy(addr.sun_path, path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(ErrorCode::Io, std::string("socket: ") + std::strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EACCES || err == EPERM) {
      return make_error(ErrorCode::Io, "permission denied: cannot connect to " + path + " (it belongs to another user)");
    }
    return make_error(ErrorCode::Unavailable, "no jr daemon answers at " + path + " (" + std::strerror(err) + ")");
  }
  // Nothing is sent (a task's JR_RUN token included) before the server is known to be this
  // user's, or root's: anyone can put a socket where a client looks.
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || (cred.uid != ::getuid() && cred.uid != 0)) {
    ::close(fd);
    return make_error(ErrorCode::Io, "the server at " + path + " runs as uid " + std::to_string(cred.uid) +
                                         ", not as you or root: refusing to talk to it");
  }
  // A server that stops answering fails the call instead of hanging the client for ever.
  timeval limit{kReplyTimeoutS, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  std::unique_ptr<Connection> c(new Connection(fd));
  auto hello = c->call("hello", {{"protocol", kMaxProtocol}, {"min_protocol", kMinProtocol},
                                 {"client", "jr " JR_VERSION}});
  if (!hello) return hello.error();
  return c;
}

Connection::~Connection() { ::close(fd_); }

Result<nlohmann::json> Connection::call(const std::string& method, const nlohmann::json& params) {
  std::int64_t id = next_id_++;
  std::string frame = encode_frame(nlohmann::json{{"id", id}, {"method", method}, {"params", params}}.dump());
  std::size_t sent = 0;
  std::string lost;  // why the request could not be sent: the server may have said why first
  while (sent < frame.size()) {
    ssize_t n = ::send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      lost = std::string("connection to jr lost: ") + std::strerror(errno);
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  for (;;) {
    auto body = decoder_.next();
    if (!body) return body.error();
    if (*body) {
      auto reply = nlohmann::json::parse(**body, nullptr, false);
      if (reply.is_discarded() || !reply.is_object()) return make_error(ErrorCode::Corrupt, "unreadable reply from jr");
      if (reply.contains("error")) {
        auto& e = reply["error"];
        return make_error(from_wire_code(e.value("code", "internal")), e.value("message", "error"));
      }
      if (reply.value("id", nlohmann::json()) != nlohmann::json(id) || !lost.empty()) continue;
      return reply.value("result", nlohmann::json::object());
    }
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return make_error(ErrorCode::Io, "no reply from jr within " + std::to_string(kReplyTimeoutS) + " s");
    }
    if (n <= 0) return make_error(ErrorCode::Unavailable, lost.empty() ? "connection to jr closed before it replied" : lost);
    decoder_.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace jr
