#include "cli/daemon/submit_command.h"

#include <cstdio>
#include <filesystem>

#include "base/duration.h"
#include "base/plural.h"
#include "cli/daemon_client.h"
#include "job/job_input.h"
#include "engine/outputs.h"
#include "engine/resources.h"
#include "cli/run/run_explain.h"
#include "cli/daemon/wait_command.h"
#include "protocol/frame.h"
#include "job/shard.h"
#include "job/template.h"

namespace jr {

using json = nlohmann::json;

namespace {

Error usage(std::string message) { return make_error(ErrorCode::Usage, std::move(message)); }

// The submit request's params, from the options alone (no daemon needed).
Result<json> build_request(const SubmitOptions& o) {
  if (o.jobs < 0) return usage("-j must be at least 1");
  if (o.retries < 0) return usage("--retries must be 0 or more");
  std::error_code ec;
  auto cwd = std::filesystem::current_path(ec);
  if (ec) return make_error(ErrorCode::Io, "cannot read the current directory: " + ec.message());
  json p = {{"name", o.name},
            {"shell", o.shell},
            {"parallelism", o.jobs > 0 ? o.jobs : usable_cpus()},
            {"retries", o.retries},
            {"priority", o.priority},
            {"cwd", cwd.string()},
            // Tasks get jrd's environment, not this shell's: what a job sees does not depend
            // on which terminal submitted it (docs/cli.md).
            {"env", json::object()}};
  if (!o.timeout.empty()) {
    auto t = parse_duration(o.timeout);
    if (!t) return usage(t.error().message);
    p["timeout_ms"] = t->count();
  }
  if (o.cpus < 0 || o.gpus < 0) return usage("--cpus and --gpus must be 0 or more");
  p["cpus"] = o.cpus;
  p["gpus"] = o.gpus;
  if (!o.mem.empty()) {
    auto m = parse_size(o.mem);
    if (!m) return usage(m.error().message);
    p["mem"] = *m;
  }
  if (!o.deadline.empty()) {
    return usage("--deadline is the engine's, not a job's (it stops every job at once, as the allocation ends): "
                 "give it to jrd (jrd --deadline); a job says how long its tasks take with --expect");
  }
  if (o.json && !o.explain) return usage("--json goes with --explain");
  if (o.explain && o.wait) return usage("--explain runs nothing: there is nothing to --wait for");
  if (o.explain) p["explain"] = true;
  auto shard = parse_shard(o.shard);
  if (!shard) return shard.error();
  if (shard->n > 1) {
    p["shard_index"] = shard->k;
    p["shard_count"] = shard->n;
  }
  JobSpec spec;
  JR_TRY(apply_job_options(o, &spec));
  const JobSpec defaults;
  if (spec.keep_checkpoints != defaults.keep_checkpoints) p["keep_checkpoints"] = spec.keep_checkpoints;
  if (spec.max_checkpoint_bytes != defaults.max_checkpoint_bytes) p["max_checkpoint"] = spec.max_checkpoint_bytes;
  if (spec.max_result_bytes != defaults.max_result_bytes) p["max_result"] = spec.max_result_bytes;
  if (spec.stall_timeout_ms) p["stall_timeout_ms"] = spec.stall_timeout_ms;
  if (spec.stall_kill) p["stall_action"] = "kill";
  if (spec.expect_ms) p["expect_ms"] = spec.expect_ms;
  if (!spec.on_finish.empty()) p["on_finish"] = spec.on_finish;
  if (!o.output.empty()) {
    if (!o.tasks_file.empty()) return usage("--output needs a command template, not --tasks");
    p["output"] = o.output;
  }
  if (!o.tasks_file.empty()) {
    if (!o.words.empty()) return usage("give either --tasks FILE or a command, not both");
    auto lines = read_task_lines(o.tasks_file);
    if (!lines) return lines.error();
    p["tasks"] = std::move(*lines);
    return p;
  }
  if (o.words.empty()) return usage("no command given (jr submit [options] -- CMD ARGS… [::: INPUTS…])");
  auto cl = parse_command_line(o.words);
  if (!cl) return cl.error();
  for (auto& source : cl->sources) {
    if (source.empty()) return usage("no tasks: an input source is empty");
  }
  for (bool linked : cl->linked) {
    if (linked) return usage("jr submit does not link input sources (:::+); jr run does");
  }
  JR_TRY(check_template(cl->command, cl->sources.size()));
  if (!o.output.empty()) JR_TRY(check_output_template(cl->command, o.output, cl->sources.size()));
  p["command"] = cl->command;
  p["sources"] = cl->sources;
  return p;
}

// jrd's answer to a submit with `explain`: the same lines as jr run --explain, then what a
// submit adds (the tasks not listed, the jobs that already have this name).
void print_submit_explanation(const json& ex, const SubmitOptions& o) {
  if (o.json) {
    std::printf("%s\n", ex.dump().c_str());
    return;
  }
  print_explanation(ex);
  if (std::uint64_t more = ex.value("tasks_not_listed", std::uint64_t{0})) {
    std::printf("(%s more not listed: all new)\n", counted(static_cast<std::int64_t>(more), "task").c_str());
  }
  for (auto& j : ex["same_name"]) {
    std::printf("jrd already has job %lld named %s (%s): a submit makes a new job beside it, and NAME then means the new one\n",
                static_cast<long long>(j["job"].get<std::int64_t>()), o.name.c_str(), j["state"].get<std::string>().c_str());
  }
  std::printf("nothing was submitted (--explain)\n");
}

}  // namespace

int submit_command(const SubmitOptions& o) {
  auto request = build_request(o);
  if (!request) return report("submit", request.error());
  // Checked here so that a huge input list is one clear line, not a dropped connection.
  std::size_t size = request->dump().size();
  if (size + 4096 > kMaxFrameBytes) {
    return report("submit", usage("the job's inputs take " + format_size(size) + ", more than one request carries (" +
                                  format_size(kMaxFrameBytes) + "); split it into several jobs"));
  }
  std::string socket = daemon_socket_path(o.socket);
  auto conn = connect_daemon(socket);
  if (!conn) return report("submit", conn.error());
  if (!o.after.empty()) {
    auto after = job_params(o.after);
    if (!after) return report("submit", after.error());
    auto resolved = resolve_job([&](const std::string& m, const json& p) { return (*conn)->call(m, p); }, *after);
    if (!resolved) return report("submit", resolved.error());
    (*request)["after"] = (*resolved)["job"];
  }
  auto reply = (*conn)->call("submit", *request);
  if (!reply) return report("submit", reply.error());
  if (o.explain) {
    print_submit_explanation((*reply)["explain"], o);
    return kExitOk;
  }
  std::string id = std::to_string(reply->value("job", std::int64_t{0}));
  std::printf("%s\n", id.c_str());
  std::fflush(stdout);
  if (!o.wait) return kExitOk;
  conn->reset();
  WaitOptions wait;
  wait.socket = socket;
  wait.job = id;
  return wait_command(wait);
}

}  // namespace jr
