#include "cli/run/run_output.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "storage/task_reads.h"

namespace jr {
namespace {

constexpr long kLineBufferTickNs = 100'000'000;

}  // namespace

Result<std::unique_ptr<RunOutput>> RunOutput::attach(const RunOptions& o, const RunPlan& plan, JobId job,
                                                     EngineSession& session, std::function<void()> hide,
                                                     std::function<void()> redraw) {
  OutputOptions options{o.keep_order, o.line_buffer, o.tag};
  std::vector<std::int64_t> order;
  if (o.keep_order) {
    // The positions this run runs: its job's pending tasks once the run's tasks are matched.
    auto positions = pending_indexes(session.store(), job);
    if (!positions) return positions.error();
    order = std::move(*positions);
  }
  auto arguments_at = [at = plan.arguments_at](std::int64_t i) { return at(static_cast<std::uint64_t>(i)); };
  std::unique_ptr<RunOutput> out(new RunOutput(session, options, arguments_at, std::move(order)));
  out->output_.before_print = std::move(hide);
  out->output_.after_print = std::move(redraw);
  TaskOutput* output = &out->output_;
  Engine& engine = session.engine();
  engine.on_task_start = [output](const TaskStart& s) { output->started(s.task, s.index, s.attempt); };
  engine.on_turn_end = [output] { output->flush(); };
  if (!o.line_buffer) return out;
  out->timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (out->timer_fd_ < 0) return make_error(ErrorCode::Io, std::string("timerfd_create: ") + std::strerror(errno));
  itimerspec every{{0, kLineBufferTickNs}, {0, kLineBufferTickNs}};
  ::timerfd_settime(out->timer_fd_, 0, &every, nullptr);
  int fd = out->timer_fd_;
  JR_TRY(session.loop().watch(fd, EPOLLIN, [fd, output](std::uint32_t) {
    std::uint64_t expirations = 0;
    if (::read(fd, &expirations, sizeof expirations) < 0) return;
    output->tick();
  }));
  return out;
}

RunOutput::~RunOutput() {
  Engine& engine = session_.engine();
  engine.on_task_start = nullptr;
  engine.on_turn_end = nullptr;
  if (timer_fd_ >= 0) {
    session_.loop().unwatch(timer_fd_);
    ::close(timer_fd_);
  }
}

}  // namespace jr
