// run_on_finish: the --on-finish command, run once when a job ends (succeeded, failed or
// cancelled), through /bin/sh -c, with JR_JOB_ID, JR_JOB_STATE, JR_TOTAL, JR_SUCCEEDED,
// JR_FAILED and JR_CANCELLED in its environment. Waits for it; its failure is logged and
// returned, and never changes the job's state.
#pragma once

#include <string>

#include "base/result.h"
#include "storage/store.h"

namespace jr {

Status run_on_finish(const std::string& command, JobId job, const std::string& job_state, const StateCounts& counts);

}  // namespace jr
