#include "daemon/server.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/duration.h"
#include "protocol/frame.h"
#include "protocol/params.h"
#include "protocol/protocol.h"

namespace jr {
namespace {

using json = nlohmann::json;
// A client that leaves this much of its replies unread is dropped rather than buffered for.
constexpr std::size_t kMaxUnsentBytes = 64u << 20;

// The work one connection gets per turn of the loop: one read of at most this many bytes, and
// at most this many requests answered. No client's backlog delays another's reply by more.
constexpr std::size_t kSliceBytes = 64u << 10;
constexpr int kFramesPerTurn = 32;

// Connections at once; past it, a client that has held part of a request unfinished for this
// long makes room, else the newcomer is refused.
constexpr std::size_t kMaxConnections = 512;
constexpr std::int64_t kStalledFrameMs = 30'000;

// Deeper JSON than any request needs is refused: copying or printing it recurses once per level.
constexpr int kMaxJsonDepth = 64;

json error_reply(const json& id, ErrorCode code, const std::string& message) {
  return json{{"id", id}, {"error", {{"code", wire_code(code)}, {"message", message}}}};
}

// The version a hello's params agree on, or why there is none.
Result<int> greet(const json& params) {
  JR_TRY(check_params(*find_method("hello"), params));
  std::int64_t highest = int_param(params, "protocol", 0);
  return negotiate_protocol(int_param(params, "min_protocol", highest), highest);
}

}  // namespace

struct Server::Connection {
  int fd = -1;
  std::uint64_t serial = 0;  // tells a connection from a later one on the same descriptor
  Peer peer;
  FrameDecoder decoder;
  std::string out;
  bool greeted = false;
  bool closing = false;  // close once `out` is sent
  bool eof = false;      // the client shut down its sending half: answer what it sent, then close
  bool serving = false;  // the rest of its frames are deferred to the next turn
  std::int64_t last_read_ms = monotonic_ms();
};

Server::Server(EventLoop& loop, int fd, std::filesystem::path path, bool unlink_on_exit)
    : loop_(loop),
      listen_fd_(fd),
      path_(std::move(path)),
      unlink_on_exit_(unlink_on_exit),
      reserve_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

Server::~Server() {
  while (!conns_.empty()) close(conns_.begin()->first);
  loop_.unwatch(listen_fd_);
  ::close(listen_fd_);
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
  if (unlink_on_exit_) ::unlink(path_.c_str());
}

std::size_t Server::connections() const { return conns_.size(); }

Result<std::unique_ptr<Server>> Server::listen(EventLoop& loop, const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof addr.sun_path) {
    return make_error(ErrorCode::Usage, "socket path too long (" + std::to_string(path.string().size()) +
                                            " bytes, at most " + std::to_string(sizeof addr.sun_path - 1) + "): " + path.string());
  }
  std::strcpy(addr.sun_path, path.c_str());
  std::error_code ec;
  auto dir = path.parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error(ErrorCode::Io, "cannot create " + dir.string() + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return make_error(ErrorCode::Io, std::string("socket: ") + std::strerror(errno));
  // A socket file whose server is gone refuses connections: replace it. A live one is not ours,
  // and anything else at the path (a file, a link) is not jr's to delete.
  struct stat at {};
  if (::lstat(path.c_str(), &at) == 0 && !S_ISSOCK(at.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::Conflict, path.string() + " exists and is not a socket: jrd will not replace it; "
                                                           "remove it or give another --socket");
  }
  if (std::filesystem::exists(path, ec)) {
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(probe);
    if (live) {
      ::close(fd);
      return make_error(ErrorCode::Conflict, "another server is listening on " + path.string());
    }
    ::unlink(path.c_str());
  }
  mode_t old = ::umask(0177);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0 || ::listen(fd, 128) != 0) {
    int err = errno;
    ::close(fd);
    return make_error(ErrorCode::Io, "cannot listen on " + path.string() + ": " + std::strerror(err));
  }
  std::unique_ptr<Server> s(new Server(loop, fd, path, true));
  JR_TRY(s->start());
  return s;
}

Result<std::unique_ptr<Server>> Server::adopt(EventLoop& loop, int fd) {
  sockaddr_un addr{};
  socklen_t len = sizeof addr;
  std::filesystem::path path;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 && addr.sun_path[0]) path = addr.sun_path;
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  std::unique_ptr<Server> s(new Server(loop, fd, path, false));
  JR_TRY(s->start());
  return s;
}

Status Server::start() {
  return loop_.watch(listen_fd_, EPOLLIN, [this](std::uint32_t) { accept_all(); });
}

void Server::on(const std::string& method, Handler handler) {
  const MethodSpec* spec = find_method(method);
  if (!spec || method == "hello") {
    // A method outside the table would go unchecked and undocumented: a bug of the caller's.
    std::fprintf(stderr, "jr: internal error: method \"%s\" is not in protocol/methods.cpp\n", method.c_str());
    std::abort();
  }
  methods_[method] = Method{spec, std::move(handler)};
}

void Server::refuse(int fd, const std::string& why) {
  std::string frame = encode_frame(error_reply(nullptr, ErrorCode::Unavailable, why).dump());
  (void)!::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::close(fd);
}

void Server::accept_all() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && reserve_fd_ >= 0) {
      // Out of descriptors, the listener stays readable and the loop would spin: take the
      // waiting client with the reserve descriptor and tell it why it is turned away.
      ::close(reserve_fd_);
      fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) refuse(fd, "jrd is out of file descriptors; try again later");
      reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      spdlog::warn("refused a connection: out of file descriptors ({} connections open)", conns_.size());
      if (fd >= 0) continue;
    }
    if (fd < 0) return;
    if (conns_.size() >= kMaxConnections) drop_stalled();
    if (conns_.size() >= kMaxConnections) {
      refuse(fd, "jrd serves " + std::to_string(kMaxConnections) + " connections at most; try again later");
      continue;
    }
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        (cred.uid != ::getuid() && cred.uid != 0)) {
      spdlog::warn("refused a connection from uid {} pid {}: only uid {} and root may use this socket",
                   cred.uid, cred.pid, ::getuid());
      std::string frame = encode_frame(error_reply(nullptr, ErrorCode::Conflict,
                                                   "permission denied: this jrd serves uid " +
                                                       std::to_string(::getuid()) + " only").dump());
      (void)!::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->serial = ++accepted_;
    c->peer = Peer{cred.uid, cred.pid};
    if (!loop_.watch(fd, EPOLLIN, [this, fd](std::uint32_t ev) {
          if (ev & EPOLLOUT) on_writable(fd);
          if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(fd);
        })) {
      ::close(fd);
      continue;
    }
    conns_[fd] = std::move(c);
  }
}

void Server::drop_stalled() {
  std::int64_t now = monotonic_ms();
  std::vector<int> stalled;
  for (auto& [fd, c] : conns_) {
    if (c->decoder.pending() > 0 && now - c->last_read_ms > kStalledFrameMs) stalled.push_back(fd);
  }
  for (int fd : stalled) {
    spdlog::warn("dropping a client that sent part of a request and nothing for {} s", kStalledFrameMs / 1000);
    close(fd);
  }
}

void Server::close(int fd) {
  loop_.unwatch(fd);
  ::close(fd);
  conns_.erase(fd);
}

void Server::on_readable(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Connection& c = *it->second;
  if (c.eof) {
    if (!c.serving) close(fd);  // woken by a hang-up or an error after its end of stream: the client is gone
    return;
  }
  // One slice a turn, and none while the last one's frames wait: a client that sends faster
  // than it is served queues in its own socket, not in jrd's memory.
  if (c.serving) return;
  char buf[kSliceBytes];
  ssize_t n;
  do {
    n = ::recv(fd, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    c.last_read_ms = monotonic_ms();
    // After an error that ends the connection, what else the client sends is dropped unread.
    if (!c.closing) c.decoder.append(buf, static_cast<std::size_t>(n));
  } else if (n == 0) {
    c.eof = true;
  } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
    close(fd);  // an error: the client is gone
    return;
  }
  serve(fd, c.serial);
}

void Server::serve(int fd, std::uint64_t serial) {
  // Look the connection up again after every reply: a failed send may have closed it (and
  // a new connection may have its descriptor by the time deferred work runs).
  auto lookup = [&]() -> Connection* {
    auto it = conns_.find(fd);
    return it != conns_.end() && it->second->serial == serial ? it->second.get() : nullptr;
  };
  for (int served = 0;; ++served) {
    Connection* conn = lookup();
    if (!conn) return;
    conn->serving = false;
    if (conn->closing) break;
    if (served == kFramesPerTurn) {
      // Everyone else, and the engine, get their turn before this client's next frame.
      conn->serving = true;
      loop_.defer([this, fd, serial] { serve(fd, serial); });
      return;
    }
    auto frame = conn->decoder.next();
    if (!frame) {
      conn->closing = true;
      send(*conn, error_reply(nullptr, ErrorCode::Usage, frame.error().message));
      continue;
    }
    if (!*frame) break;
    handle_frame(*conn, **frame);
  }
  Connection* conn = lookup();
  if (!conn) return;
  // A client that has sent all it will still gets its replies, then the close.
  if (conn->eof) conn->closing = true;
  if (conn->closing && conn->out.empty()) {
    close(fd);
  } else if (conn->eof) {
    (void)loop_.modify(fd, EPOLLOUT);  // its end of stream stays readable: stop waking for it
  }
}

void Server::handle_frame(Connection& c, const std::string& body) {
  bool too_deep = false;
  json request = json::parse(body, [&too_deep](int depth, json::parse_event_t event, json&) {
    // The parser reports a container's start at the depth of the container holding it (0 for
    // the outermost), and its elements one deeper; an empty container has no elements. So a
    // container's own level is its start's depth + 1, whether or not it holds anything.
    bool opens = event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
    if (opens && depth + 1 > kMaxJsonDepth) too_deep = true;
    return !too_deep;
  }, false);
  if (too_deep || request.is_discarded() || !request.is_object() || !request.contains("method") ||
      !request["method"].is_string()) {
    c.closing = true;
    send(c, error_reply(nullptr, ErrorCode::Usage,
                        too_deep ? "not a request: JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"
                                 : "not a request: expected a JSON object with a \"method\""));
    return;
  }
  json id = request.value("id", json());
  std::string method = request["method"];
  static const json kNoParams = json::object();
  const json& params = request.contains("params") ? request["params"] : kNoParams;
  if (method == "hello") {
    // Any failed hello ends the connection: the two sides do not share a protocol.
    auto version = greet(params);
    if (!version) {
      c.closing = true;
      send(c, error_reply(id, version.error().code, version.error().message));
      return;
    }
    c.greeted = true;
    send(c, json{{"id", id}, {"result", {{"protocol", *version}, {"server", "jr " JR_VERSION}}}});
    return;
  }
  if (!c.greeted) {
    c.closing = true;
    send(c, error_reply(id, ErrorCode::Usage, "the first request must be \"hello\""));
    return;
  }
  auto entry = methods_.find(method);
  if (entry == methods_.end()) {
    send(c, error_reply(id, ErrorCode::Usage, "unknown method \"" + method + "\""));
    return;
  }
  Result<json> result = make_error(ErrorCode::Internal, "no result");
  if (auto checked = check_params(*entry->second.spec, params); !checked) {
    result = checked.error();
  } else {
    try {
      result = entry->second.handler(params, c.peer);
    } catch (const std::exception& e) {
      // Params were checked against the table: a handler that still throws is a bug of jrd's.
      result = make_error(ErrorCode::Internal, method + " failed: " + e.what());
    }
  }
  if (result) {
    send(c, json{{"id", id}, {"result", std::move(*result)}});
  } else {
    send(c, error_reply(id, result.error().code, result.error().message));
  }
}

void Server::send(Connection& c, const json& reply) {
  bool was_empty = c.out.empty();
  std::string body = reply.dump(-1, ' ', false, json::error_handler_t::replace);
  if (body.size() > kMaxFrameBytes) {
    // No client could read it (nor could the length say how long it is past 4 GiB).
    body = error_reply(reply.value("id", json()), ErrorCode::Usage,
                       "the reply of " + std::to_string(body.size()) + " bytes exceeds the frame limit of " +
                           std::to_string(kMaxFrameBytes) + ": ask for less (tasks and events take a limit)")
               .dump();
  }
  c.out += encode_frame(body);
  if (c.out.size() > kMaxUnsentBytes) {
    spdlog::warn("dropping client pid {}: {} bytes of replies unread", c.peer.pid, c.out.size());
    close(c.fd);
    return;
  }
  if (was_empty) on_writable(c.fd);
}

void Server::on_writable(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Connection& c = *it->second;
  while (!c.out.empty()) {
    ssize_t n = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      (void)loop_.modify(fd, c.eof ? EPOLLOUT : EPOLLIN | EPOLLOUT);
      return;
    }
    close(fd);
    return;
  }
  (void)loop_.modify(fd, EPOLLIN);
  if (c.closing) close(fd);
}

}  // namespace jr
