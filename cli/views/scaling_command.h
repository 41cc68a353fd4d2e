// `jr scaling -j 1,2,4,8 [--sample N] [--seed S] [-o scaling.html] [--json] -- CMD ::: …`:
// how many cores a job is worth.
//
// Builds the job as `jr run` would (the same template, or --tasks FILE), picks a sample of its
// tasks (the same tasks at every level), and runs the sample once per level with `jr run -j P`
// (this binary, as a child process) in a scratch state directory of its own, a fresh temporary
// directory removed afterwards. The tasks run in the current directory, as with `jr run`.
// Then, from each run's store (cli/views/run_facts.h), prints per level the wall time, speedup vs
// -j 1, efficiency and CPU efficiency, the Amdahl fit and the knee (cli/views/scaling_model.h), and
// writes the same into a self-contained HTML file with a plot.
//
// Returns the exit code: 0 done; 1 a task failed or a run could not be made (nothing more is
// run); 2 usage; 130 / 143 interrupted (the scratch directories are removed all the same).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/views/scaling_model.h"

namespace jr {

struct ScalingOptions {
  std::string levels;              // -j "1,2,4,8"; empty: 1, 2, 4, … up to the CPUs jr may use
  std::int64_t sample = -1;        // --sample; -1: all tasks, or 16 when there are more
  std::uint64_t seed = 0;
  std::string output = "scaling.html";
  bool json = false;
  bool shell = false;
  std::string tasks_file;
  std::string timeout;
  std::vector<std::string> words;  // CMD ARGS… ::: …
};

// Everything one benchmark found; what the text, JSON and HTML forms show.
struct ScalingResult {
  std::string command;                   // as a line, for a title
  std::uint64_t tasks = 0;               // in the whole job
  std::uint64_t seed = 0;
  std::vector<std::uint64_t> sample;     // task indices (from 0), in the order they were given
  std::vector<ScalingLevel> levels;      // ascending, -j 1 first
  AmdahlFit fit;
  Knee knee;
  std::int64_t written_ms = 0;
};

int scaling_command(const ScalingOptions& options);

// The HTML page (scaling_html.cpp): self-contained, no reference outside the file.
std::string scaling_html(const ScalingResult& result);

}  // namespace jr
