#include "cli/daemon/control_commands.h"

#include <cstdio>

#include "cli/daemon_client.h"
#include "cli/target.h"

namespace jr {

using json = nlohmann::json;

namespace {

// Sends one control request about the job the options name; returns its reply with the id.
Result<json> control(const ControlOptions& o, const std::string& method, json params) {
  auto target = Target::open({o.socket, o.state_dir});
  if (!target) return target.error();
  auto call = [&](const std::string& m, const json& p) { return (*target)->call(m, p); };
  auto resolved = resolve_job(call, std::move(params));
  if (!resolved) return resolved.error();
  auto reply = call(method, *resolved);
  if (!reply) return reply.error();
  (*reply)["job"] = (*resolved)["job"];
  return reply;
}

}  // namespace

int cancel_command(const ControlOptions& o) {
  auto params = task_params(o.target);
  if (!params) return report("cancel", params.error());
  bool one = params->contains("index");
  auto reply = control(o, "cancel", *params);
  if (!reply) return report("cancel", reply.error());
  long long n = reply->value("cancelled", 0LL);
  long long job = (*reply)["job"].get<long long>();
  if (one) std::printf("job %lld task %lld: %s\n", job, (*params)["index"].get<long long>(), n ? "cancelled" : "not pending or running, unchanged");
  else std::printf("job %lld: cancelled (%lld pending or running tasks)\n", job, n);
  return kExitOk;
}

int pause_command(const ControlOptions& o, bool paused) {
  const char* name = paused ? "pause" : "resume";
  auto params = job_params(o.target);
  if (!params) return report(name, params.error());
  auto reply = control(o, name, *params);
  if (!reply) return report(name, reply.error());
  std::printf("job %lld: %s\n", (*reply)["job"].get<long long>(),
              paused ? "paused (running tasks go on; no new ones start)" : "resumed");
  return kExitOk;
}

int retry_command(const ControlOptions& o) {
  auto params = job_params(o.target);
  if (!params) return report("retry", params.error());
  (*params)["failed_only"] = o.failed_only;
  auto reply = control(o, "retry", *params);
  if (!reply) return report("retry", reply.error());
  std::printf("job %lld: %lld tasks pending again\n", (*reply)["job"].get<long long>(), reply->value("requeued", 0LL));
  return kExitOk;
}

}  // namespace jr
