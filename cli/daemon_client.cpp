#include "cli/daemon_client.h"

#include <cstdio>
#include <cstdlib>

#include "engine/paths.h"

namespace jr {

using json = nlohmann::json;

std::string daemon_socket_path(const std::string& socket_flag) {
  if (!socket_flag.empty()) return socket_flag;
  if (const char* env = std::getenv("JR_DAEMON_SOCKET"); env && *env) return env;
  return default_socket_path(default_state_dir()).string();
}

Result<std::unique_ptr<Connection>> connect_daemon(const std::string& socket_path) {
  auto conn = Connection::open(socket_path);
  // Nothing listens: say how to start a daemon. (A daemon that answered with a reason, such
  // as being out of descriptors, keeps its own words.)
  if (!conn && conn.error().code == ErrorCode::Unavailable && conn.error().message.rfind("no jr daemon answers", 0) == 0) {
    return make_error(ErrorCode::Unavailable, "no jr daemon answers at " + socket_path +
                                                  "; start one with 'jrd &' or 'systemctl --user start jrd.socket'");
  }
  return conn;
}

Result<json> call_daemon(const std::string& socket_path, const std::string& method, const json& params) {
  auto conn = connect_daemon(socket_path);
  if (!conn) return conn.error();
  return (*conn)->call(method, params);
}

int report(const std::string& command, const Error& e) {
  std::fprintf(stderr, "jr %s: %s\n", command.c_str(), e.message.c_str());
  switch (e.code) {
    case ErrorCode::Usage: return kExitUsage;
    case ErrorCode::Unavailable: return kExitNoDaemon;
    default: return kExitError;
  }
}

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

Result<json> job_params(const std::string& ref) {
  if (ref.empty()) return make_error(ErrorCode::Usage, "give a job id or name");
  if (all_digits(ref)) {
    std::int64_t id = std::stoll(ref);
    if (id == 0) return make_error(ErrorCode::Usage, "job ids start at 1");
    return json{{"job", id}};
  }
  return json{{"name", ref}};
}

Result<json> task_params(const std::string& ref) {
  auto colon = ref.rfind(':');
  if (colon == std::string::npos) return job_params(ref);
  std::string index = ref.substr(colon + 1);
  if (!all_digits(index)) {
    return make_error(ErrorCode::Usage, "invalid task reference '" + ref + "' (expected JOB or JOB:INDEX)");
  }
  auto params = job_params(ref.substr(0, colon));
  if (!params) return params.error();
  (*params)["index"] = std::stoll(index);
  return params;
}

Result<json> resolve_job(const DaemonCall& call, json params) {
  if (!params.contains("name")) return params;
  auto job = call("status", json{{"name", params["name"]}});
  if (!job) return job.error();
  params.erase("name");
  params["job"] = (*job)["id"];
  return params;
}

Result<json> fetch_all(const DaemonCall& call, const std::string& method, json params) {
  constexpr std::int64_t kPage = 1000;
  auto resolved = resolve_job(call, std::move(params));
  if (!resolved) return resolved.error();
  json all = json::array();
  for (;;) {
    (*resolved)["limit"] = kPage;
    if (method == "tasks") (*resolved)["offset"] = static_cast<std::int64_t>(all.size());
    if (method == "events" && !all.empty()) (*resolved)["after"] = all.back()["id"];
    auto reply = call(method, *resolved);
    if (!reply) return reply.error();
    auto& page = (*reply)[method];
    for (auto& item : page) all.push_back(std::move(item));
    if (static_cast<std::int64_t>(page.size()) < kPage) return all;
  }
}

}  // namespace jr
