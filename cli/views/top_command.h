// `jr top [JOB] [--state DIR] [--once] [--json]`: a live view of a job in the terminal.
//
// Reads DIR's store read-only and its progress board (DIR/board), so it works for a `jr run`
// and for jrd's state alike, with no request to any engine. Live mode takes over the terminal
// (alternate screen, cursor hidden, raw input) and gives it back as it found it on every way
// out: `q`, Ctrl-C, SIGTERM, SIGHUP. Returns the process exit code.
#pragma once

#include <string>

#include "cli/views/stats_command.h"

namespace jr {

struct TopOptions : ObserveOptions {
  bool once = false;
  std::string interval = "1s";
};

int top_command(const TopOptions& options);

}  // namespace jr
