#include "engine/event_loop.h"

#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/duration.h"

namespace jr {

Result<std::unique_ptr<EventLoop>> EventLoop::create(const std::vector<int>& signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    return make_error(ErrorCode::Io, "cannot block signals");
  }
  // A write to a socket whose reader left must be an error value, not the death of jr.
  ::signal(SIGPIPE, SIG_IGN);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return make_error(ErrorCode::Io, std::string("signalfd: ") + std::strerror(errno));
  int efd = epoll_create1(EPOLL_CLOEXEC);
  if (efd < 0) {
    ::close(sfd);
    return make_error(ErrorCode::Io, std::string("epoll_create1: ") + std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = sfd;
  epoll_ctl(efd, EPOLL_CTL_ADD, sfd, &ev);
  return std::unique_ptr<EventLoop>(new EventLoop(efd, sfd));
}

EventLoop::~EventLoop() {
  ::close(epoll_fd_);
  ::close(signal_fd_);
}

Status EventLoop::watch(int fd, std::uint32_t events, FdHandler handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return make_error(ErrorCode::Io, std::string("epoll_ctl: ") + std::strerror(errno));
  }
  handlers_[fd] = std::make_shared<FdHandler>(std::move(handler));
  return {};
}

Status EventLoop::modify(int fd, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
    return make_error(ErrorCode::Io, std::string("epoll_ctl: ") + std::strerror(errno));
  }
  return {};
}

void EventLoop::unwatch(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  handlers_.erase(fd);
}

Status EventLoop::wait_once(std::int64_t deadline_ms) {
  int timeout = -1;
  if (!deferred_.empty()) {
    timeout = 0;
  } else if (deadline_ms >= 0) {
    std::int64_t left = deadline_ms - monotonic_ms();
    timeout = left <= 0 ? 0 : static_cast<int>(std::min<std::int64_t>(left, 1 << 30));
  }
  epoll_event events[64];
  int n = epoll_wait(epoll_fd_, events, 64, timeout);
  if (n < 0) {
    if (errno == EINTR) return {};
    return make_error(ErrorCode::Io, std::string("epoll_wait: ") + std::strerror(errno));
  }
  for (int i = 0; i < n; ++i) {
    int fd = events[i].data.fd;
    if (fd == signal_fd_) {
      signalfd_siginfo info;
      while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (on_signal_) on_signal_(info);
      }
      continue;
    }
    auto it = handlers_.find(fd);
    if (it == handlers_.end()) continue;
    // Keep the handler alive even if it unwatches its own descriptor.
    auto handler = it->second;
    (*handler)(events[i].events);
  }
  // Only what was deferred before this turn: work that defers itself again waits a turn.
  std::vector<std::function<void()>> due;
  due.swap(deferred_);
  for (auto& work : due) work();
  return {};
}

}  // namespace jr
