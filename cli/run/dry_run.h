// `jr run --dry-run`: each task's command, one line each on stdout, as GNU parallel --dry-run
// prints them (job/command_text.h); nothing runs and the state directory is not touched.
// {%} shows the slot the task would get if the tasks ran in turn, -j at a time.
#pragma once

#include "cli/run/run_plan.h"

namespace jr {

// Returns the process exit code: 0, or 1 when stdout cannot be written.
int print_dry_run(const RunPlan& plan, int parallelism);

}  // namespace jr
