// The command-line surface of the commands that show a run: `jr progress` (inside a task),
// `jr stats`, `jr trace`, `jr report` and `jr top`. Like cli/daemon/daemon_cli.h: one add_* per
// subcommand, each declaring its flags and, in its callback, storing the command's exit code in
// `exit_code`; kept in one file so that CLI11 is compiled in as few translation units as can be.
#pragma once

namespace CLI {
class App;
}

namespace jr {

void add_progress(CLI::App& app, int& exit_code);
void add_stats(CLI::App& app, int& exit_code);
void add_trace(CLI::App& app, int& exit_code);
void add_report(CLI::App& app, int& exit_code);
void add_top(CLI::App& app, int& exit_code);

}  // namespace jr
