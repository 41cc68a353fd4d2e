#include "cli/run/progress_line.h"

#include <unistd.h>

#include <string>

#include "base/duration.h"

namespace jr {

ProgressLine::ProgressLine(std::FILE* out, std::int64_t total)
    : out_(out), enabled_(isatty(fileno(out)) != 0), total_(total), started_ms_(monotonic_ms()) {}

void ProgressLine::update(const StateCounts& c, bool force) {
  if (!enabled_) return;
  std::int64_t now = monotonic_ms();
  if (!force && now - last_draw_ms_ < 100) return;
  last_draw_ms_ = now;
  auto n = [&c](TaskState s) { return c[static_cast<std::size_t>(s)]; };
  std::int64_t done = n(TaskState::Succeeded) + n(TaskState::Failed) + n(TaskState::Cancelled);
  if (done_at_start_ < 0) done_at_start_ = done;
  double secs = static_cast<double>(now - started_ms_) / 1000.0;
  double rate = secs > 0 ? static_cast<double>(done - done_at_start_) / secs : 0;
  std::string eta = "?";
  if (rate > 0) {
    eta = format_duration(Millis(static_cast<std::int64_t>(static_cast<double>(total_ - done) / rate * 1000)));
  }
  std::fprintf(out_, "\r[%lld/%lld] %lld running, %lld failed, %.1f/s, ETA %s\x1b[K",
               static_cast<long long>(done), static_cast<long long>(total_),
               static_cast<long long>(n(TaskState::Running)),
               static_cast<long long>(n(TaskState::Failed)), rate, eta.c_str());
  std::fflush(out_);
}

void ProgressLine::clear() {
  if (!enabled_ || last_draw_ms_ == 0) return;
  std::fputs("\r\x1b[K", out_);
  std::fflush(out_);
}

}  // namespace jr
