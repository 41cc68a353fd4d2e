// The JSON that query commands print and jrd's replies carry (docs/cli.md, docs/protocol.md).
//
// One implementation for both paths: jrd answers from its store and in-memory counts; `jr
// status --state DIR` answers from a read-only store. Field names are stable: scripts read
// them.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "storage/store.h"
#include "storage/task_reads.h"

namespace jr {

// Every job state, as job_state() names them.
inline constexpr std::array<std::string_view, 6> kJobStates = {"pending", "running", "paused",
                                                               "succeeded", "failed", "cancelled"};

// One of kJobStates, from a job's flags and counts.
std::string job_state(const JobRow& job, const StateCounts& counts);
// What a job that has nothing left to run ended as: succeeded, failed or cancelled (job_state's
// rule once no task is pending, interrupted or running; also what a halted jr run's hook is told).
std::string ended_job_state(const JobRow& job, const StateCounts& counts);
nlohmann::json job_json(const JobRow& job, const StateCounts& counts);

// Task objects, with the paths of their logs under `state_dir`.
nlohmann::json tasks_json(const std::vector<TaskListing>& tasks, const std::filesystem::path& state_dir);
// The result of `tasks` about `job`, for params that check_params accepted: the task at
// `index` (NotFound if none), or a page. A Usage error for a `state` that is no task state.
Result<nlohmann::json> tasks_reply(Store& store, JobId job, const nlohmann::json& params,
                                   const std::filesystem::path& state_dir);
// The `state` of `list`: "" when absent; a Usage error for a string that is no job state.
Result<std::string> job_state_param(const nlohmann::json& params);
// Events of a job after event id `after`, at most `limit`.
Result<nlohmann::json> events_json(Store& store, JobId job, std::int64_t after, std::int64_t limit);
// The job a reference names: `job` if non-zero, else the state's latest job.
Result<JobRow> find_job(Store& store, JobId job);

}  // namespace jr
