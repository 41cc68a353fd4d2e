// EventLoop: the engine's one wait call.
//
// epoll over the descriptors registered with watch() plus a signalfd for the signals given at
// creation, which are blocked in every thread from then on, so they arrive only here (as
// ninja does with ppoll). No busy waiting: wait_once() sleeps in epoll_wait until a
// descriptor is ready, a signal arrives or the deadline passes, unless work was deferred to
// the next turn (defer()), which a handler uses to do a bounded slice now and the rest after
// everyone else had a turn. Single-threaded.
#pragma once

#include <sys/signalfd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace jr {

class EventLoop {
 public:
  using FdHandler = std::function<void(std::uint32_t epoll_events)>;
  using SignalHandler = std::function<void(const signalfd_siginfo&)>;

  static Result<std::unique_ptr<EventLoop>> create(const std::vector<int>& signals);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void on_signal(SignalHandler handler) { on_signal_ = std::move(handler); }
  Status watch(int fd, std::uint32_t events, FdHandler handler);
  Status modify(int fd, std::uint32_t events);
  void unwatch(int fd);
  // Runs `work` once on the next turn, after that turn's ready descriptors; the next wait does
  // not sleep while work is deferred.
  void defer(std::function<void()> work) { deferred_.push_back(std::move(work)); }

  // Dispatches what is ready, waiting until `deadline_ms` (monotonic) at most; -1 waits
  // until something happens.
  Status wait_once(std::int64_t deadline_ms);

 private:
  EventLoop(int epoll_fd, int signal_fd) : epoll_fd_(epoll_fd), signal_fd_(signal_fd) {}
  int epoll_fd_;
  int signal_fd_;
  SignalHandler on_signal_;
  std::unordered_map<int, std::shared_ptr<FdHandler>> handlers_;
  std::vector<std::function<void()>> deferred_;
};

}  // namespace jr
