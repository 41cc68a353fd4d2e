// The command-line surface of `jr scaling` (cli/views/scaling_command.h), as the other add_*
// functions (cli/daemon/daemon_cli.h): declares its flags and, in its callback, stores the command's
// exit code in `exit_code`.
#pragma once

#include "cli/daemon/daemon_cli.h"

namespace CLI {
class App;
}

namespace jr {

void add_scaling(CLI::App& app, const DashWords& dash, int& exit_code);

}  // namespace jr
