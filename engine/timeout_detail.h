// The words an attempt that jr stopped for taking too long leaves in its record (the attempt's
// and event's detail), so that every view (jr run's summary, jr tasks, jr stats, jr events)
// says what happened without knowing the engine's options: "timed out after 1s (killed after
// 2s grace)", "stalled: no progress for 30s (stopped by SIGTERM within the 10s grace)".
#pragma once

#include <string>

#include "base/duration.h"
#include "storage/types.h"

namespace jr {

// `limit` is the task's --timeout (or the engine's --stall-timeout when `stalled`); `grace`
// the engine's --grace between SIGTERM and SIGKILL; `exit` how the attempt ended.
std::string timeout_detail(Millis limit, bool stalled, Millis grace, const Exit& exit);

}  // namespace jr
