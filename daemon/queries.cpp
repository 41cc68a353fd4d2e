#include "daemon/queries.h"

#include <algorithm>

#include "protocol/params.h"
#include "storage/event_reads.h"
#include "storage/state_files.h"

namespace jr {

using json = nlohmann::json;

namespace {


// The `state` of `tasks`, if given.
Result<std::optional<TaskState>> task_state_param(const json& params) {
  if (!params.contains("state")) return std::optional<TaskState>();
  std::string name = string_param(params, "state", "");
  auto state = parse_task_state(name);
  if (!state) {
    return make_error(ErrorCode::Usage, "tasks: state: expected a task state (pending, running, succeeded, failed, "
                                        "interrupted, cancelled, dropped), got \"" + name + "\"");
  }
  return state;
}

}  // namespace

json job_json(const JobRow& job, const StateCounts& c) {
  json counts = json::object();
  std::int64_t total = 0;
  for (int s = 0; s < kTaskStateCount; ++s) {
    counts[std::string(to_string(static_cast<TaskState>(s)))] = c[static_cast<std::size_t>(s)];
    if (static_cast<TaskState>(s) != TaskState::Dropped) total += c[static_cast<std::size_t>(s)];
  }
  return json{{"id", job.id},
              {"name", job.name},
              {"state", job_state(job, c)},
              {"created_ms", job.created_ms},
              {"parallelism", job.spec.parallelism},
              {"priority", job.spec.priority},
              {"after", job.spec.after_job ? json(job.spec.after_job) : json()},
              {"paused", job.paused},
              {"reason", job.reason},
              {"command", job.spec.command},
              {"total", total},
              {"counts", counts}};
}

Result<JobRow> find_job(Store& store, JobId id) {
  auto jobs = store.jobs();
  if (!jobs) return jobs.error();
  if (jobs->empty()) return make_error(ErrorCode::NotFound, "no jobs yet");
  if (id == 0) return jobs->back();
  for (auto& j : *jobs) {
    if (j.id == id) return j;
  }
  return make_error(ErrorCode::NotFound, "no job " + std::to_string(id));
}

json tasks_json(const std::vector<TaskListing>& tasks, const std::filesystem::path& state_dir) {
  json out = json::array();
  auto or_null = [](const std::optional<std::int64_t>& v) { return v ? json(*v) : json(); };
  for (const TaskListing& t : tasks) {
    out.push_back({{"id", t.id},
                   {"index", t.index},
                   {"state", to_string(t.state)},
                   {"attempts", t.attempts},
                   {"exit_code", or_null(t.exit_code)},
                   {"signal", or_null(t.signal)},
                   {"start_ms", or_null(t.start_ms)},
                   {"end_ms", or_null(t.end_ms)},
                   {"argv", t.argv},
                   {"detail", t.detail},
                   {"stdout", state_files::task_stdout(state_dir, t.id).string()},
                   {"stderr", state_files::task_stderr(state_dir, t.id).string()}});
  }
  return out;
}

Result<json> tasks_reply(Store& store, JobId job, const json& params, const std::filesystem::path& state_dir) {
  auto state = task_state_param(params);
  if (!state) return state.error();
  if (params.contains("index")) {
    std::int64_t index = int_param(params, "index", 0);
    auto found = tasks_at_index(store, job, index, *state);
    if (!found) return found.error();
    if (found->empty()) {
      return make_error(ErrorCode::NotFound, "job " + std::to_string(job) + " has no task " + std::to_string(index));
    }
    return json{{"tasks", tasks_json(*found, state_dir)}};
  }
  auto page = list_tasks(store, job, *state, int_param(params, "offset", 0), int_param(params, "limit", 1000));
  if (!page) return page.error();
  return json{{"tasks", tasks_json(*page, state_dir)}};
}

Result<std::string> job_state_param(const json& params) {
  std::string want = string_param(params, "state", "");
  if (params.contains("state") && std::find(kJobStates.begin(), kJobStates.end(), want) == kJobStates.end()) {
    return make_error(ErrorCode::Usage, "list: state: expected a job state (pending, running, paused, succeeded, "
                                        "failed, cancelled), got \"" + want + "\"");
  }
  return want;
}

Result<json> events_json(Store& store, JobId job, std::int64_t after, std::int64_t limit) {
  auto events = job_events(store, job, after, limit);
  if (!events) return events.error();
  json out = json::array();
  auto state_or_null = [](const std::optional<TaskState>& s) { return s ? json(to_string(*s)) : json(); };
  auto or_null = [](const std::optional<std::int64_t>& v) { return v ? json(*v) : json(); };
  for (const EventRow& e : *events) {
    out.push_back({{"id", e.id},
                   {"ms", e.ms},
                   {"task", or_null(e.task)},
                   {"index", or_null(e.index)},
                   {"from", state_or_null(e.from)},
                   {"to", state_or_null(e.to)},
                   {"attempt", e.attempt},
                   {"detail", e.detail}});
  }
  return out;
}

}  // namespace jr
