#include "engine/keeper_link.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "engine/keeper.h"
#include "storage/state_files.h"

namespace jr {

namespace {

constexpr int kWelcomeTimeoutMs = 10'000;
constexpr off_t kMaxJournalBytes = 256 << 20;

}  // namespace

std::vector<keeper::Ended> KeeperLink::read_journal(const std::filesystem::path& dir) {
  int fd = ::open(keeper::journal_path(dir).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return {};
  struct stat st {};
  std::string text;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= kMaxJournalBytes) {
    text.resize(static_cast<std::size_t>(st.st_size));
    ssize_t n = ::pread(fd, text.data(), text.size(), 0);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  }
  ::close(fd);
  return keeper::parse_journal(text);
}

Result<std::unique_ptr<KeeperLink>> KeeperLink::start(const std::filesystem::path& dir, const std::string& state_id) {
  auto started = keeper::start(dir, state_id);
  if (!started) return started.error();
  return std::make_unique<KeeperLink>(started->fd, started->pid);
}

Result<KeeperLink::Found> KeeperLink::find(const std::filesystem::path& dir, const std::string& state_id) {
  Found found;
  struct stat st {};
  bool socket_left = ::lstat(keeper::socket_path(dir).c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
  if (!socket_left) {
    found.journal = read_journal(dir);
    return found;
  }
  int dir_fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, keeper::short_socket_address(dir_fd, state_files::kKeeperSocket).c_str(), sizeof addr.sun_path - 1);
  bool connected = dir_fd >= 0 && fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (dir_fd >= 0) ::close(dir_fd);
  ucred cred{};
  socklen_t len = sizeof cred;
  if (connected && (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != ::getuid())) {
    ::close(fd);
    return make_error(ErrorCode::Io, keeper::socket_path(dir).string() + " is served by another user's process");
  }
  // Nobody listens, or it closed before its Welcome: it was killed (its socket is still
  // there), or it removed its socket as it left just now (no engine, no task: nothing to keep).
  auto left = [&]() -> Result<Found> {
    found.died = ::lstat(keeper::socket_path(dir).c_str(), &st) == 0;
    found.journal = read_journal(dir);
    return std::move(found);
  };
  if (!connected) {
    if (fd >= 0) ::close(fd);
    return left();
  }
  auto link = std::make_unique<KeeperLink>(fd, 0);
  std::string where = "the keeper of " + dir.string();
  if (!keeper::send_all(fd, keeper::encode(keeper::Hello{keeper::kVersion, state_id}))) return left();
  for (;;) {
    auto frame = link->reader_.next();
    if (!frame) return make_error(ErrorCode::Io, where + ": " + frame.error().message);
    if (*frame) {
      if ((*frame)->op != keeper::Op::Welcome) return make_error(ErrorCode::Io, where + " did not say who it is");
      auto welcome = keeper::decode_welcome((*frame)->payload);
      if (!welcome) return make_error(ErrorCode::Io, where + ": " + welcome.error().message);
      if (welcome->version != keeper::kVersion || welcome->state_id != state_id) {
        return make_error(ErrorCode::Io, where + " (pid " + std::to_string(welcome->keeper_pid) + ") speaks version " +
                                             std::to_string(welcome->version) + " of state " + welcome->state_id +
                                             "; stop it, or let its tasks end, and start again");
      }
      link->pid_ = welcome->keeper_pid;
      // What came in the same read as the Welcome (an exit just after it) would otherwise wait
      // for the socket's next message, which may never come.
      if (!link->decode_buffered()) return make_error(ErrorCode::Io, where + " sent what does not decode");
      found.welcome = std::move(*welcome);
      found.link = std::move(link);
      return found;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kWelcomeTimeoutMs) <= 0) return make_error(ErrorCode::Io, where + " does not answer");
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return left();
    link->reader_.append(buf, static_cast<std::size_t>(n));
  }
}

KeeperLink::~KeeperLink() {
  if (fd_ >= 0) ::close(fd_);
}

bool KeeperLink::read_some() {
  if (gone_) return false;
  char buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  if (n <= 0) {
    gone_ = true;
    return false;
  }
  reader_.append(buf, static_cast<std::size_t>(n));
  return decode_buffered();
}

bool KeeperLink::decode_buffered() {
  for (;;) {
    auto frame = reader_.next();
    if (!frame) {
      gone_ = true;
      return false;
    }
    if (!*frame) return true;
    if ((*frame)->op == keeper::Op::Ended) {
      auto e = keeper::decode_ended((*frame)->payload);
      if (!e) {
        gone_ = true;
        return false;
      }
      news_.ended.push_back(*e);
    } else if ((*frame)->op == keeper::Op::Spawned) {
      auto s = keeper::decode_spawned((*frame)->payload);
      if (!s) {
        gone_ = true;
        return false;
      }
      news_.spawned.push_back(std::move(*s));
    }
  }
}

bool KeeperLink::send(const std::string& frame) {
  std::string bytes = ack_due_ ? keeper::encode(keeper::Ack{std::exchange(ack_due_, 0)}) + frame : frame;
  std::string_view rest = bytes;
  while (!gone_ && !rest.empty()) {
    ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      rest.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) {
      gone_ = true;
      break;
    }
    // Full: the keeper may itself be waiting for room to tell us something.
    pollfd p{fd_, POLLIN | POLLOUT, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) gone_ = true;
    else if (p.revents & POLLIN) read_some();
  }
  return !gone_;
}

Error KeeperLink::cannot_run(const std::vector<std::string>& argv) {
  return Error{ErrorCode::Io, "cannot run " + (argv.empty() ? std::string("a task") : argv[0]) + ": its keeper is gone"};
}

Status KeeperLink::spawn(const keeper::SpawnOrder& order) {
  if (!send(keeper::encode(order))) return cannot_run(order.request.argv);
  return {};
}

void KeeperLink::signal(const keeper::SignalOrder& order) { send(keeper::encode(order)); }

void KeeperLink::flush() {
  if (ack_due_) send("");
}

KeeperLink::News KeeperLink::poll() {
  read_some();
  return std::exchange(news_, {});
}

}  // namespace jr
