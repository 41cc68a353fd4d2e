// `jr progress FRACTION [MESSAGE]`: a running task reports how far it has come.
//
// Writes the task's own slot of the progress board (sdk/jr/board.hpp), found through JR_BOARD
// and JR_SLOT in the task's environment: a few memory stores, no round trip to the engine. The
// engine copies the last value into the store when the attempt ends (attempts.progress and
// attempts.message); `jr top` shows it live.
#pragma once

#include <string>

#include "base/result.h"

namespace jr {

// "0.4", "1", "0" (a number from 0 to 1), or "N/M" with 0 <= N <= M and M > 0 ("3/10").
// Usage error with one line saying what was expected otherwise.
Result<double> parse_fraction(const std::string& text);

// Returns the process exit code: 0 written, 2 malformed fraction or not inside a jr task.
int progress_command(const std::string& fraction, const std::string& message);

}  // namespace jr
