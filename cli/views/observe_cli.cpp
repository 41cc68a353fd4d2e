#include "cli/views/observe_cli.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "cli/daemon_client.h"
#include "cli/task/progress_command.h"
#include "cli/views/report_command.h"
#include "cli/views/stats_command.h"
#include "cli/target.h"
#include "cli/views/top_command.h"
#include "cli/views/trace_command.h"

namespace jr {
namespace {

const char* const kJobHelp = "JOB: an id or a name (default: the latest job in DIR)";
const char* const kStateHelp =
    "State directory: of a jr run, or jrd's; read-only, works while it runs. Neither --state nor --socket: "
    "$JR_DAEMON_SOCKET's engine, else ./.jr if it exists, else jrd's default socket";
const char* const kSocketHelp = "Read the state directory of the engine at this socket (jrd's, or a jr run's)";

// JOB, --state and --socket, shared by every command that reads a state directory.
template <typename Options>
std::shared_ptr<Options> observe_options(CLI::App* cmd) {
  auto o = std::make_shared<Options>();
  cmd->add_option("job", o->job, kJobHelp);
  cmd->add_option("--state", o->state_dir, kStateHelp);
  cmd->add_option("--socket", o->socket, kSocketHelp);
  return o;
}

// Puts the directory the rule names (cli/target.h) in `o.state_dir`; else reports why not.
bool locate(ObserveOptions& o, const char* command, int& exit_code) {
  auto dir = target_state_dir({o.socket, o.state_dir});
  if (!dir) {
    exit_code = report(command, dir.error());
    return false;
  }
  o.state_dir = dir->string();
  return true;
}

}  // namespace

void add_progress(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("progress", "Inside a task: show how far it has come (jr top, the store)");
  struct Options {
    std::string fraction;
    std::vector<std::string> message;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("fraction", o->fraction, "A number from 0 to 1, or N/M (e.g. 3/10)")->required();
  cmd->add_option("message", o->message, "What it is doing now (words are joined by spaces)");
  cmd->footer("Example: jr progress 4/10 \"epoch 4 of 10\"");
  cmd->callback([o, &exit_code] {
    std::string message;
    for (auto& word : o->message) message += (message.empty() ? "" : " ") + word;
    exit_code = progress_command(o->fraction, message);
  });
}

void add_stats(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("stats", "Where a job's time went: speedup, efficiency, memory, failures");
  auto o = observe_options<ObserveOptions>(cmd);
  cmd->add_flag("--json", o->json, "JSON output (fields in docs/cli.md)");
  cmd->callback([o, &exit_code] {
    if (locate(*o, "stats", exit_code)) exit_code = stats_command(*o);
  });
}

void add_trace(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("trace", "One row per attempt, as Nextflow's trace file");
  auto o = observe_options<ObserveOptions>(cmd);
  auto format = std::make_shared<std::string>("tsv");
  cmd->add_option("--format", *format, "tsv (Nextflow's trace format, the default) or json");
  cmd->callback([o, format, &exit_code] {
    if (locate(*o, "trace", exit_code)) exit_code = trace_command(*o, *format);
  });
}

void add_report(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("report", "Write one self-contained HTML report of a job");
  auto o = observe_options<ReportOptions>(cmd);
  cmd->add_option("-o,--output", o->output, "The HTML file to write (default report.html)");
  cmd->callback([o, &exit_code] {
    if (locate(*o, "report", exit_code)) exit_code = report_command(*o);
  });
}

void add_top(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("top", "A live view of a running job: its tasks, their progress and usage");
  auto o = observe_options<TopOptions>(cmd);
  cmd->add_flag("--once", o->once, "Print one frame and exit");
  cmd->add_flag("--json", o->json, "With --once: the same facts as JSON (docs/cli.md)");
  cmd->add_option("--interval", o->interval, "Time between frames (default 1s)");
  cmd->callback([o, &exit_code] {
    if (locate(*o, "top", exit_code)) exit_code = top_command(*o);
  });
}

}  // namespace jr
