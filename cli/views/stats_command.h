// `jr stats [JOB] [--state DIR] [--json]`: where a job's time went, in figures: wall time,
// tasks by state, attempts, interruptions and resumes, checkpoints, speedup, parallel and CPU
// efficiency, peak memory, the longest tasks and the failures with the tail of their stderr.
//
// Reads DIR's store read-only (cli/views/run_facts.h defines every figure); `--json` prints
// stats_json(), whose fields docs/cli.md documents. Returns the process exit code.
#pragma once

#include <string>

namespace jr {

// What the observing commands (stats, trace, report, top) share: which job, read from where.
struct ObserveOptions {
  std::string job;               // an id or a name; empty: the latest job in DIR
  std::string state_dir;  // --state; the CLI puts here what cli/target.h's rule names
  std::string socket;     // --socket
  bool json = false;
};

int stats_command(const ObserveOptions& options);

}  // namespace jr
