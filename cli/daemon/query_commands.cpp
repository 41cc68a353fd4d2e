#include "cli/daemon/query_commands.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/daemon_client.h"
#include "cli/views/engine_gone_view.h"
#include "cli/daemon/job_format.h"
#include "cli/target.h"
#include "daemon/queries.h"
#include "storage/state_files.h"

namespace jr {

using json = nlohmann::json;

namespace {

void print_json(const json& value) { std::printf("%s\n", value.dump().c_str()); }

DaemonCall caller(Target& target) {
  return [&target](const std::string& method, const json& params) { return target.call(method, params); };
}

// The jobs of one state directory as jrd's job objects, in id order; with `ref`, only the job
// it names (for a name, the latest job of that name), and an error when there is none.
Result<json> jobs_in_dir(const std::string& dir, const std::string& ref) {
  auto store = Store::open_read_only(state_files::store(dir));
  if (!store) return store.error();
  auto jobs = (*store)->jobs();
  if (!jobs) return jobs.error();
  auto gone = find_gone_engine(**store, dir);
  if (!gone) return gone.error();
  json all = json::array();
  for (auto& job : *jobs) {
    bool wanted = ref.empty() || ref == std::to_string(job.id) || ref == job.name;
    if (!wanted) continue;
    auto counts = (*store)->count_states(job.id);
    if (!counts) return counts.error();
    all.push_back(job_json(job, *counts));
    if (*gone) show_engine_gone(all.back(), **gone);
  }
  if (ref.empty()) return all;
  if (all.empty()) return make_error(ErrorCode::NotFound, "no job " + ref + " in " + dir);
  return json::array({all.back()});
}

// Several jobs seen as one: running while any runs (or some have started and others wait),
// else paused or pending if any is; once all have ended, failed if any failed, else cancelled
// if any was, else succeeded.
std::string merged_state(const std::vector<std::string>& states) {
  auto any = [&](const char* s) { return std::find(states.begin(), states.end(), s) != states.end(); };
  if (states.empty()) return "pending";
  if (any("running")) return "running";
  if (any("paused")) return "paused";
  if (any("pending")) return std::all_of(states.begin(), states.end(), [](auto& s) { return s == "pending"; })
                                 ? "pending" : "running";
  if (any("failed")) return "failed";
  if (any("cancelled")) return "cancelled";
  return "succeeded";
}

// `jr status [JOB] --state DIR DIR…`: each directory's jobs, then their sum:
// {"states": [{"state_dir", "jobs": [...]}, ...], "total": {"jobs", "state", "total", "counts"}}.
// A directory named twice (say, by two spellings of its path) is read once.
Result<json> status_from_dirs(const std::vector<std::string>& dirs, const std::string& ref) {
  json states = json::array();
  StateCounts sum{};
  std::int64_t total = 0;
  std::vector<std::string> job_states;
  std::vector<std::filesystem::path> seen;
  for (auto& dir : dirs) {
    std::error_code ec;
    auto path = std::filesystem::weakly_canonical(std::filesystem::absolute(dir, ec), ec);
    if (std::find(seen.begin(), seen.end(), path) != seen.end()) continue;
    seen.push_back(path);
    auto jobs = jobs_in_dir(dir, ref);
    if (!jobs) return jobs.error();
    for (auto& job : *jobs) {
      auto c = counts_from_json(job);
      for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += c[i];
      total += job.value("total", std::int64_t{0});
      job_states.push_back(job.value("state", ""));
    }
    states.push_back(json{{"state_dir", path.string()}, {"jobs", *jobs}});
  }
  json counts = json::object();
  for (int s = 0; s < kTaskStateCount; ++s) {
    counts[std::string(to_string(static_cast<TaskState>(s)))] = sum[static_cast<std::size_t>(s)];
  }
  json sums = {{"jobs", static_cast<std::int64_t>(job_states.size())},
               {"state", merged_state(job_states)},
               {"total", total},
               {"counts", counts}};
  return json{{"states", states}, {"total", sums}};
}

// One row per job of each directory, then the total.
void print_merged(const json& merged, const std::vector<std::string>& dirs) {
  Table table({{"STATE DIR"}, {"JOB", true}, {"STATE"}, {"DONE/TOTAL", true}, {"FAILED", true}, {"RUNNING", true},
               {"INTERRUPTED", true}, {"PENDING", true}});
  auto add = [&table](const std::string& where, const std::string& job, const std::string& state, const json& counts_of,
                      std::int64_t total) {
    auto c = counts_from_json(counts_of);
    std::int64_t done = count_of(c, TaskState::Succeeded) + count_of(c, TaskState::Failed) +
                        count_of(c, TaskState::Cancelled);
    table.add({where, job, state, std::to_string(done) + "/" + std::to_string(total),
               std::to_string(count_of(c, TaskState::Failed)), std::to_string(count_of(c, TaskState::Running)),
               std::to_string(count_of(c, TaskState::Interrupted)), std::to_string(count_of(c, TaskState::Pending))});
  };
  // Directories as the user wrote them (shorter than the absolute paths in the JSON), but
  // only when none was dropped as a duplicate.
  bool as_given = merged["states"].size() == dirs.size();
  std::size_t i = 0;
  for (auto& st : merged["states"]) {
    std::string where = as_given ? dirs[i] : st.value("state_dir", "");
    ++i;
    if (st["jobs"].empty()) add(where, "-", "empty", json::object(), 0);
    for (auto& job : st["jobs"]) {
      std::string name = job.value("name", "");
      add(where, name.empty() ? std::to_string(job.value("id", 0)) : name, job.value("state", "?"), job,
          job.value("total", std::int64_t{0}));
    }
  }
  auto& t = merged["total"];
  std::int64_t jobs = t.value("jobs", std::int64_t{0});
  add("total (" + std::to_string(jobs) + (jobs == 1 ? " job)" : " jobs)"), "-", t.value("state", "?"), t,
      t.value("total", std::int64_t{0}));
  table.print(stdout);
}

int list_jobs(const QueryOptions& o, const char* cmd) {
  json params = json::object();
  if (!o.only.empty()) {
    bool known = false;
    for (std::string_view s : kJobStates) known = known || o.only == s;
    if (!known) {
      return report(cmd, make_error(ErrorCode::Usage, "unknown job state '" + o.only +
                                                          "' (pending, running, paused, succeeded, failed, cancelled)"));
    }
    params["state"] = o.only;
  }
  auto target = Target::open({o.socket, o.state_dir});
  if (!target) return report(cmd, target.error());
  auto reply = (*target)->call("list", params);
  if (!reply) return report(cmd, reply.error());
  if (o.json) print_json(*reply);
  else print_jobs((*reply)["jobs"], false);
  return kExitOk;
}

}  // namespace

int list_command(const QueryOptions& o) { return list_jobs(o, "list"); }

int status_command(const QueryOptions& o) {
  if (o.state_dirs.size() > 1) {
    auto merged = status_from_dirs(o.state_dirs, o.job);
    if (!merged) return report("status", merged.error());
    if (o.json) print_json(*merged);
    else print_merged(*merged, o.state_dirs);
    return kExitOk;
  }
  QueryOptions one = o;
  if (!o.state_dirs.empty()) one.state_dir = o.state_dirs.front();
  if (o.job.empty()) return list_jobs(one, "status");
  auto params = job_params(o.job);
  if (!params) return report("status", params.error());
  auto target = Target::open({o.socket, one.state_dir});
  if (!target) return report("status", target.error());
  auto reply = (*target)->call("status", *params);
  if (!reply) return report("status", reply.error());
  if (o.json) print_json(*reply);
  else print_jobs(json::array({*reply}), true);
  return kExitOk;
}

int tasks_command(const QueryOptions& o) {
  auto params = job_params(o.job);
  if (!params) return report("tasks", params.error());
  if (!o.only.empty()) {
    if (!parse_task_state(o.only)) {
      return report("tasks", make_error(ErrorCode::Usage, "unknown task state '" + o.only +
                                                             "' (pending, running, succeeded, failed, interrupted, "
                                                             "cancelled, dropped)"));
    }
    (*params)["state"] = o.only;
  }
  auto target = Target::open({o.socket, o.state_dir});
  if (!target) return report("tasks", target.error());
  auto tasks = fetch_all(caller(**target), "tasks", *params);
  if (!tasks) return report("tasks", tasks.error());
  if (o.json) print_json(json{{"tasks", *tasks}});
  else print_tasks(*tasks);
  return kExitOk;
}

int events_command(const QueryOptions& o) {
  auto params = job_params(o.job);
  if (!params) return report("events", params.error());
  auto target = Target::open({o.socket, o.state_dir});
  if (!target) return report("events", target.error());
  auto events = fetch_all(caller(**target), "events", *params);
  if (!events) return report("events", events.error());
  if (o.json) print_json(json{{"events", *events}});
  else print_events(*events);
  return kExitOk;
}

int ping_command(const QueryOptions& o) {
  auto target = Target::open({o.socket, o.state_dir});
  if (!target) return report("ping", target.error());
  auto reply = (*target)->call("ping", json::object());
  if (!reply) return report("ping", reply.error());
  if (o.json) print_json(*reply);
  else std::printf("an engine (pid %lld) answers for %s\n", static_cast<long long>(reply->value("pid", 0LL)),
                   reply->value("state_dir", "?").c_str());
  return kExitOk;
}

}  // namespace jr
