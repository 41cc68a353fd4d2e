// JobOptions: the per-job options that `jr run` and `jr submit` both take, with the same
// names, defaults and meanings (docs/DESIGN.md "Per job, per engine"). Registered on both
// commands by add_job_options (cli/daemon/daemon_cli.h, the CLI11 side) and parsed by apply_job_options into the job's JobSpec, which
// the engine applies to that job alone, whichever door created it.
#pragma once

#include <string>

#include "base/result.h"
#include "storage/types.h"

namespace jr {

struct JobOptions {
  int keep_checkpoints = 2;
  std::string max_checkpoint = "1G";
  std::string max_result = "1G";
  std::string stall_timeout = "0";
  std::string stall_action = "report";
  std::string expect;              // --expect: a task's expected run time, for the deadline
  std::string output;              // --output TEMPLATE ({out} in the command)
  std::string on_finish;
};

// Sets the per-job fields of `spec` from `o` (output: the template as given); a usage error,
// one line, for a value out of range or unreadable.
Status apply_job_options(const JobOptions& o, JobSpec* spec);

}  // namespace jr
