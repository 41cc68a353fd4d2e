// The --on-finish hook: a job's command run once when the job ends (succeeded, failed or
// cancelled), through /bin/sh -c in the job's directory, with JR_JOB_ID, JR_JOB_STATE,
// JR_TOTAL, JR_SUCCEEDED, JR_FAILED and JR_CANCELLED added to the environment it is given.
//
// start_on_finish only starts it: the engine (jr run's and jrd's alike) reaps it from its event
// loop like a task, so a slow hook never stalls the jobs that still run. Its failure is
// reported, and never changes the job's state.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "storage/store.h"

namespace jr {

// The hook's pid; an Io error when /bin/sh cannot be started. `env`: the environment it starts
// from (the engine's, without jr's own variables).
Result<pid_t> start_on_finish(const std::string& command, const std::string& cwd, const std::vector<std::string>& env,
                              JobId job, const std::string& job_state, const StateCounts& counts);

// Its outcome from its wait status: ok for exit 0, else "--on-finish command failed (exit 5)".
Status on_finish_outcome(int wait_status);

}  // namespace jr
