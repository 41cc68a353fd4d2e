#include "cli/views/scaling_cli.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "cli/views/scaling_command.h"

namespace jr {

void add_scaling(CLI::App& app, const DashWords& dash, int& exit_code) {
  auto* cmd = app.add_subcommand("scaling", "Run a sample of a job at several -j: speedup, efficiency, Amdahl fit, knee");
  auto o = std::make_shared<ScalingOptions>();
  cmd->add_option("-j,--jobs", o->levels, "Levels to try, e.g. 1,2,4,8 (default 1, 2, 4, … up to the CPUs jr may use); 1 is always run");
  cmd->add_option("--sample", o->sample, "Tasks run at each level, the same ones (default: all, or 16 if there are more)");
  cmd->add_option("--seed", o->seed, "Which sample: the same seed picks the same tasks (default 0)");
  cmd->add_option("-o,--output", o->output, "The HTML file to write, with the plots (default scaling.html)");
  cmd->add_flag("--json", o->json, "Print the table and the fit as JSON (docs/cli.md)");
  cmd->add_flag("--shell", o->shell, "Run each task through /bin/sh -c (values are quoted), as jr run --shell");
  cmd->add_option("--tasks", o->tasks_file, "Read one shell command per line from FILE (- for stdin), as jr run --tasks");
  cmd->add_option("--timeout", o->timeout, "Kill a task that runs longer (e.g. 30s, 5m); the benchmark then fails");
  cmd->footer("The command: [--] CMD ARGS… [::: A B …] [:::: FILE], templated as in jr run. Each level runs in a\n"
              "temporary state directory, removed afterwards; the tasks run in the current directory.");
  cmd->prefix_command();
  cmd->callback([cmd, o, &dash, &exit_code] {
    auto words = command_words("scaling", cmd->remaining(), dash);
    if (!words) {
      std::fprintf(stderr, "jr scaling: %s\n", words.error().message.c_str());
      exit_code = 2;
      return;
    }
    o->words = std::move(*words);
    exit_code = scaling_command(*o);
  });
}

}  // namespace jr
