// `jr submit [options] -- CMD … ::: …` and `jr submit --tasks FILE|-`: hands a job to jrd.
//
// Everything a user can get wrong is checked here, before anything is sent: the template and
// its sources (parse_command_line; `::::` files are read here, in the client's directory),
// durations, counts; jrd then checks the program with its own PATH (job/command_check.h).
// The job runs in the client's current directory. Prints the job id alone
// on stdout, so that `id=$(jr submit …)` works; with --wait then waits like `jr wait`.
#pragma once

#include <string>
#include <vector>

#include "job/job_options.h"

namespace jr {

// The per-job options (JobOptions) are jr run's, with the same names and meanings.
struct SubmitOptions : JobOptions {
  std::string socket;              // --socket; empty: $JR_DAEMON_SOCKET, else jrd's default
  int jobs = 0;                    // -j; 0: the CPUs this client may use, as jr run
  std::string name;
  int retries = 0;
  std::string timeout;             // per task, as typed
  int priority = 0;                // higher starts first
  std::string after;               // a job (id or name) that must succeed first
  bool shell = false;
  bool wait = false;
  std::string tasks_file;          // --tasks FILE ("-": stdin)
  int cpus = 0;                    // per task, as jr run
  int gpus = 0;
  std::string mem;
  std::string deadline;            // refused: the deadline is jrd's (jrd --deadline), not a job's
  bool explain = false;            // jrd says what it would do (engine/explanation.h); nothing is created
  bool json = false;               // with --explain
  std::string shard;               // K/N, as jr run's
  std::vector<std::string> words;  // CMD ARGS… ::: …
};

int submit_command(const SubmitOptions& options);

}  // namespace jr
