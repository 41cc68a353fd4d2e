// `-j` as GNU parallel users write it: N, N% of the usable CPUs, +N or -N relative to them.
//
// parse_parallelism turns the text into a number of tasks at once, at least 1; `usable` is what
// -j means when it is not given (usable_cpus(), engine/resources.h). `-j 0` is refused: GNU
// parallel reads it as "as many as possible", which for jr would mean a worker slot, a checkpoint
// directory and a progress slot per task; a Usage error says to give a number or 100%.
#pragma once

#include <string>

#include "base/result.h"

namespace jr {

// Empty text: `usable`. REQUIRES: usable >= 1.
Result<int> parse_parallelism(const std::string& text, int usable);

}  // namespace jr
