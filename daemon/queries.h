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
#include "job/job_state.h"
#include "storage/store.h"
#include "storage/task_reads.h"

namespace jr {

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
