// RunPlan: the job `jr run` (and `jr run --explain`) is asked for, built from its flags
// before anything is written: the job's spec, how many tasks, and each task's spec.
//
// Tasks come from a template over input sources (expanded one at a time, never all in
// memory; with no source named, standard input is one: job/job_input.h) or from --tasks
// lines; a template's replacement strings and its program are checked here, before anything
// runs (job/template.h's check_template, job/command_check.h); --shard K/N keeps every N-th task from the K-th; --output
// declares a file per task and puts its partial name where the command says {out};
// --cpus/--gpus/--mem are what each task holds while it runs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "base/result.h"
#include "cli/run/run_command.h"
#include "storage/types.h"

namespace jr {

struct RunPlan {
  JobSpec spec;
  std::uint64_t count = 0;
  std::function<TaskSpec(std::uint64_t)> task_at;
  // Why there is nothing to run (standard input held no line), or what the plan assumed (no
  // inputs on a terminal: the command runs once); empty otherwise. One line, for stderr.
  std::string note;
  // What --tag prefixes task i's lines with: its inputs joined by spaces, or its --tasks line.
  std::function<std::string(std::uint64_t)> arguments_at;
};

// Usage errors as one line each.
Result<RunPlan> make_run_plan(const RunOptions& options, int parallelism);

}  // namespace jr
