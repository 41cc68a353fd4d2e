// The command-line surface of the jr commands that talk to jrd: one add_* per subcommand,
// each declaring its flags (CLI11) and, in its callback, calling the command's function and
// storing its exit code in `exit_code`. Kept in one file so that CLI11, slow to compile, is
// parsed in two translation units (this one and main.cpp), not in every command's.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "job/job_options.h"

namespace CLI {
class App;
}

namespace jr {

// The words after the first `--` on the command line: CLI11 does not hand them to a
// prefix-command subcommand, so main() splits them off before parsing.
struct DashWords {
  bool split = false;
  std::vector<std::string> words;
};

// The command (CMD ARGS… ::: …) of `jr run` / `jr submit`: what follows `--`, or else the
// words CLI11 left over, which must then not start with an option it did not know.
Result<std::vector<std::string>> command_words(const std::string& command, const std::vector<std::string>& remaining,
                                               const DashWords& dash);

// The per-job options of jr run and jr submit (job/job_options.h), the same on both:
// --keep-checkpoints, --max-checkpoint, --max-result, --expect, --output, --on-finish,
// --stall-timeout, --stall-action. `o` must outlive the parsing.
void add_job_options(CLI::App* command, JobOptions& o);
void add_submit(CLI::App& app, const DashWords& dash, int& exit_code);
void add_status(CLI::App& app, int& exit_code);
void add_list(CLI::App& app, int& exit_code);
void add_tasks(CLI::App& app, int& exit_code);
void add_events(CLI::App& app, int& exit_code);
void add_ping(CLI::App& app, int& exit_code);
void add_wait(CLI::App& app, int& exit_code);
void add_logs(CLI::App& app, int& exit_code);
void add_cancel(CLI::App& app, int& exit_code);
void add_pause(CLI::App& app, int& exit_code);
void add_resume(CLI::App& app, int& exit_code);
void add_retry(CLI::App& app, int& exit_code);

}  // namespace jr
