// Checks of a job's command made once, before the first task, so that a mistake costs one
// clear line (exit 2, or jrd's `bad_request`) instead of a failure per task. `jr run` makes
// them in its own directory; jrd makes them on a submitted command, with its own PATH (what its
// tasks run with), so a protocol client that skipped them gets the same line.
//
// check_command_runs applies to argv mode only (under --shell the shell resolves the command):
// the program word must be found the way the engine will look for it (PATH, as execvp, or a
// path relative to `cwd`) and be an executable regular file. A program word that holds shell
// syntax (`echo {} > out`, quoted as one word) is refused with a line that says to use --shell.
// Reads the file system and PATH only; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "job/template.h"

namespace jr {

// The program's checks of a command template as `expander` expands it: none under `shell`;
// else check_not_a_shell_line and, when every task runs the same program, check_command_runs
// in `cwd`. REQUIRES: check_template accepted `command`, and `expander` was made of it.
Status check_command(const std::vector<std::string>& command, const TaskExpander& expander, bool shell,
                     const std::string& cwd);

// Refuses a program word of the template that is a shell command line quoted as one word
// (whitespace and a shell operator: `'echo {} > out_{}.txt'`), whatever its replacement strings.
Status check_not_a_shell_line(const std::string& program_template);

// `program`: the command's first word as every task will run it.
Status check_command_runs(const std::string& program, const std::string& cwd);

}  // namespace jr
