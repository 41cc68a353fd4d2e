// `jr run --explain`: what running this command now would do, task by task and in a summary,
// without running anything or changing the store (it is opened read-only, if it exists).
// `jr submit --explain` prints jrd's answer with the same print_explanation.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "cli/run/run_command.h"
#include "cli/run/run_plan.h"

namespace jr {

// Returns the exit code: 0, or 2 when the state holds another job (the run would be refused).
int explain_run(const RunOptions& options, const RunPlan& plan);

// Prints engine/explanation.h's JSON as text on stdout: a line per task, the summary, the
// resources each task holds and the containment.
void print_explanation(const nlohmann::json& explanation);

}  // namespace jr
