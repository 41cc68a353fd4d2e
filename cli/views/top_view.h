// One frame of `jr top` as lines of text, fitted to a terminal of `width` x `height`:
//
//   jr top · job 1 · running · -j 3 · /scratch/run/.jr                          13:45:02
//   tasks 18: 10 done (9 succeeded, 1 failed) · 3 running · 5 pending · 2.1/s · ETA 2.4s
//   [██████████████░░░░░░░░░░░░░░░░░░]  55%   node CPU 37% of 2 cores
//   INDEX  ELAPSED  CPU%    RSS  PROGRESS       MESSAGE               COMMAND       OUTPUT
//       4     1.2s    98  6.9M  ████░░░░  50%  input 5: step 2 of 4  ./task.sh 5   …
//
// Columns that do not fit are dropped, last first (output, then command); text is cut with
// "…". With `color`, SGR attributes mark the header (and no other escape is emitted: moving
// the cursor is the caller's business).
#pragma once

#include <string>
#include <vector>

#include "cli/views/top_facts.h"

namespace jr {

std::vector<std::string> top_frame(const TopFacts& facts, int width, int height, bool color);

// Display width of UTF-8 text (code points), and text cut or padded to exactly `width`.
std::size_t display_width(const std::string& text);
std::string fit(const std::string& text, std::size_t width, bool right_align = false);

}  // namespace jr
