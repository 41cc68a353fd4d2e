// `jr wait JOB [--timeout D]`: blocks until a job has finished, for scripts and terminals.
//
// Polls the job's status every 200 ms (a remote query, cheap for jrd); on a terminal shows a
// live progress line (on stderr if it is a terminal, else on stdout if that is one). Survives
// a restart of jrd: when the daemon goes away it reconnects for up to 30 s. Exit codes:
// 0 every task succeeded, 1 some failed (or the job failed because one it ran --after did),
// 3 cancelled, 4 --timeout expired (the job keeps running), 5 no daemon, or a state directory
// no engine runs on while its job has not finished (cli/daemon_client.h).
#pragma once

#include <string>

namespace jr {

struct WaitOptions {
  std::string socket;     // --socket
  std::string state_dir;  // --state (cli/target.h: where commands look)
  std::string job;      // an id or a name
  std::string timeout;  // as typed; empty: wait as long as it takes
};

int wait_command(const WaitOptions& options);

}  // namespace jr
