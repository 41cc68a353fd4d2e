#include "engine/timeout_detail.h"

#include <signal.h>

namespace jr {

std::string timeout_detail(Millis limit, bool stalled, Millis grace, const Exit& exit) {
  std::string what = stalled ? "stalled: no progress for " + format_setting(limit)
                             : "timed out after " + format_setting(limit);
  // The engine sends SIGKILL only once the grace has passed; any other end came before it.
  if (exit.signal == SIGKILL) return what + " (killed after " + format_setting(grace) + " grace)";
  return what + " (stopped by SIGTERM within the " + format_setting(grace) + " grace)";
}

}  // namespace jr
