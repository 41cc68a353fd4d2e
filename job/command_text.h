// A task's argv as one line a POSIX shell would run unchanged, as GNU parallel prints commands
// (--dry-run, the joblog's Command column).
//
// A task run through the shell ({"/bin/sh", "-c", LINE}: --shell, --tasks) is its LINE; any other
// argv is its words shell-quoted (job/template.h's shell_quote) and joined by spaces.
#pragma once

#include <string>
#include <vector>

namespace jr {

std::string command_text(const std::vector<std::string>& argv);

}  // namespace jr
