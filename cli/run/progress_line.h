// ProgressLine: the one live status line `jr run` shows on a terminal.
//
//   [ 120/500] 4 running, 2 failed, 37.5/s, ETA 10.1s
// Redrawn in place (carriage return + erase to end of line), at most ten times a second as
// tasks end, and once a second while they run (jr run's engine ticker); prints nothing at all
// when its stream is not a terminal.
#pragma once

#include <cstdint>
#include <cstdio>

#include "storage/store.h"

namespace jr {

class ProgressLine {
 public:
  ProgressLine(std::FILE* out, std::int64_t total);
  bool enabled() const { return enabled_; }
  void update(const StateCounts& counts, bool force = false);
  // Erases the line so that what follows starts on a clean one.
  void clear();

 private:
  std::FILE* out_;
  bool enabled_;
  std::int64_t total_;
  std::int64_t started_ms_;
  std::int64_t last_draw_ms_ = 0;
  std::int64_t done_at_start_ = -1;
};

}  // namespace jr
