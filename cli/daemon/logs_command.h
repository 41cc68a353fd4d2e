// `jr logs [JOB[:INDEX]] [-f] [--stderr]`: a task's captured output, read from its log file.
//
// The engine, or a state directory's store, tells where the logs are (the "tasks" method); the client reads the files directly, as
// the same user on the same node, so a large log never travels through the daemon. JOB alone
// prints every task's log in index order, each after a "==> task JOB:INDEX (STATE) <==" line.
// No JOB, where one job is known (a `jr run`'s state): its tasks' output as `jr run -k` prints
// it, each task's stdout to stdout and stderr to stderr, in input order, dropped tasks left out.
// -f on one task prints what is there, then follows the file until the task has ended
// (succeeded, failed or cancelled; a pending or retried task is waited for), surviving a
// restart of jrd as jr wait does. Returns the process exit code.
#pragma once

#include <string>

namespace jr {

struct LogsOptions {
  std::string socket;       // --socket
  std::string state_dir;    // --state (cli/target.h: where commands look)
  std::string target;       // JOB or JOB:INDEX; empty: the one job there
  bool follow = false;      // -f
  bool stderr_log = false;  // --stderr: the task's stderr instead of its stdout
};

int logs_command(const LogsOptions& options);

}  // namespace jr
