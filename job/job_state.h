// A job's state in words, derived from its flags (paused, cancelled, the reason it failed) and
// its tasks' counts: what status, list, top, the views and the --on-finish hook all call it.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "storage/store.h"

namespace jr {

// Every job state, as job_state() names them.
inline constexpr std::array<std::string_view, 6> kJobStates = {"pending", "running", "paused",
                                                               "succeeded", "failed", "cancelled"};

// One of kJobStates, from a job's flags and counts.
std::string job_state(const JobRow& job, const StateCounts& counts);
// What a job that has nothing left to run ended as: succeeded, failed or cancelled (job_state's
// rule once no task is pending, interrupted or running; also what a halted jr run's hook is told).
std::string ended_job_state(const JobRow& job, const StateCounts& counts);

}  // namespace jr
