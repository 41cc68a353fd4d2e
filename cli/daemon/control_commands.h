// `jr cancel JOB[:INDEX]`, `jr pause JOB`, `jr resume JOB`, `jr retry JOB [--failed]`.
//
// Each is one request to the engine (jrd, or the `jr run` on a state directory), which has acted (committed the change, signalled the running
// tasks) by the time it replies; cancelled running tasks are recorded as cancelled once they
// have exited. One line on stdout says what changed. Each returns the process exit code.
#pragma once

#include <string>

namespace jr {

struct ControlOptions {
  std::string socket;     // --socket
  std::string state_dir;  // --state (cli/target.h: where commands look)
  std::string target;  // JOB, or JOB:INDEX for cancel
  bool failed_only = false;  // retry --failed
};

int cancel_command(const ControlOptions& options);
int pause_command(const ControlOptions& options, bool paused);
int retry_command(const ControlOptions& options);

}  // namespace jr
