#include "client/query_commands.h"

#include <array>
#include <cstdio>
#include <filesystem>

#include "client/daemon_client.h"
#include "client/job_format.h"
#include "daemon/queries.h"

namespace jr {

using json = nlohmann::json;

namespace {

constexpr std::array<const char*, 6> kJobStates = {"pending", "running", "paused", "succeeded", "failed", "cancelled"};

void print_json(const json& value) { std::printf("%s\n", value.dump().c_str()); }

DaemonCall caller(Connection& conn) {
  return [&conn](const std::string& method, const json& params) { return conn.call(method, params); };
}

// `jr status [JOB] --state DIR`: the same JSON as jrd's, from the store. One job as an object,
// all of them as {"jobs": [...]}.
Result<json> status_from_dir(const std::string& dir, const std::string& ref) {
  auto store = Store::open_read_only(std::filesystem::path(dir) / "jr.db");
  if (!store) return store.error();
  auto jobs = (*store)->jobs();
  if (!jobs) return jobs.error();
  json all = json::array();
  for (auto& job : *jobs) {
    bool wanted = ref.empty() || ref == std::to_string(job.id) || ref == job.name;
    if (!wanted) continue;
    auto counts = (*store)->count_states(job.id);
    if (!counts) return counts.error();
    all.push_back(job_json(job, *counts));
  }
  if (ref.empty()) return json{{"jobs", all}};
  if (all.empty()) return make_error(ErrorCode::NotFound, "no job " + ref + " in " + dir);
  return all.back();  // for a name, the latest job of that name
}

int list_jobs(const QueryOptions& o, const char* cmd) {
  json params = json::object();
  if (!o.state.empty()) {
    bool known = false;
    for (const char* s : kJobStates) known = known || o.state == s;
    if (!known) {
      return report(cmd, make_error(ErrorCode::Usage, "unknown job state '" + o.state +
                                                          "' (pending, running, paused, succeeded, failed, cancelled)"));
    }
    params["state"] = o.state;
  }
  auto reply = call_daemon(daemon_socket_path(o.socket), "list", params);
  if (!reply) return report(cmd, reply.error());
  if (o.json) print_json(*reply);
  else print_jobs((*reply)["jobs"], false);
  return kExitOk;
}

}  // namespace

int list_command(const QueryOptions& o) { return list_jobs(o, "list"); }

int status_command(const QueryOptions& o) {
  if (!o.state_dir.empty()) {
    auto reply = status_from_dir(o.state_dir, o.job);
    if (!reply) return report("status", reply.error());
    if (o.json) print_json(*reply);
    else if (o.job.empty()) print_jobs((*reply)["jobs"], false);
    else print_jobs(json::array({*reply}), true);
    return kExitOk;
  }
  if (o.job.empty()) return list_jobs(o, "status");
  auto params = job_params(o.job);
  if (!params) return report("status", params.error());
  auto reply = call_daemon(daemon_socket_path(o.socket), "status", *params);
  if (!reply) return report("status", reply.error());
  if (o.json) print_json(*reply);
  else print_jobs(json::array({*reply}), true);
  return kExitOk;
}

int tasks_command(const QueryOptions& o) {
  auto params = job_params(o.job);
  if (!params) return report("tasks", params.error());
  if (!o.state.empty()) {
    if (!parse_task_state(o.state)) {
      return report("tasks", make_error(ErrorCode::Usage, "unknown task state '" + o.state +
                                                             "' (pending, running, succeeded, failed, interrupted, "
                                                             "cancelled, dropped)"));
    }
    (*params)["state"] = o.state;
  }
  auto conn = connect_daemon(daemon_socket_path(o.socket));
  if (!conn) return report("tasks", conn.error());
  auto tasks = fetch_all(caller(**conn), "tasks", *params);
  if (!tasks) return report("tasks", tasks.error());
  if (o.json) print_json(json{{"tasks", *tasks}});
  else print_tasks(*tasks);
  return kExitOk;
}

int events_command(const QueryOptions& o) {
  auto params = job_params(o.job);
  if (!params) return report("events", params.error());
  auto conn = connect_daemon(daemon_socket_path(o.socket));
  if (!conn) return report("events", conn.error());
  auto events = fetch_all(caller(**conn), "events", *params);
  if (!events) return report("events", events.error());
  if (o.json) print_json(json{{"events", *events}});
  else print_events(*events);
  return kExitOk;
}

int ping_command(const QueryOptions& o) {
  std::string socket = daemon_socket_path(o.socket);
  auto reply = call_daemon(socket, "ping", json::object());
  if (!reply) return report("ping", reply.error());
  if (o.json) print_json(*reply);
  else std::printf("jrd (pid %lld) answers at %s\n", static_cast<long long>(reply->value("pid", 0LL)), socket.c_str());
  return kExitOk;
}

}  // namespace jr
