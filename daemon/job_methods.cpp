#include "daemon/job_methods.h"

#include <malloc.h>

#include <nlohmann/json.hpp>

#include "daemon/queries.h"
#include "protocol/template.h"
#include "storage/codec.h"
#include "storage/task_reads.h"

namespace jr {
namespace {

using json = nlohmann::json;

Result<JobId> job_param(Engine& engine, const json& p) {
  if (p.contains("job") && p["job"].is_number_integer()) {
    JobId id = p["job"].get<JobId>();
    if (!engine.job_row(id)) return make_error(ErrorCode::NotFound, "no job " + std::to_string(id));
    return id;
  }
  if (p.contains("name") && p["name"].is_string()) {
    std::string name = p["name"];
    JobId found = 0;
    for (JobId id : engine.job_ids()) {
      if (engine.job_row(id)->name == name) found = id;  // the latest of that name
    }
    if (!found) return make_error(ErrorCode::NotFound, "no job named " + name);
    return found;
  }
  return make_error(ErrorCode::Usage, "give \"job\" (an id) or \"name\"");
}

Result<json> submit(Engine& engine, Store& store, const json& p) {
  JobSpec spec;
  spec.name = p.value("name", "");
  spec.shell = p.value("shell", false);
  spec.parallelism = p.value("parallelism", 1);
  spec.retries = p.value("retries", 0);
  spec.timeout_ms = p.value("timeout_ms", std::int64_t{0});
  spec.priority = p.value("priority", 0);
  spec.after_job = p.value("after", std::int64_t{0});
  spec.cwd = p.value("cwd", "/");
  if (spec.parallelism < 1) return make_error(ErrorCode::Usage, "parallelism must be at least 1");
  if (spec.retries < 0) return make_error(ErrorCode::Usage, "retries must be 0 or more");
  if (spec.after_job && !engine.job_row(spec.after_job)) {
    return make_error(ErrorCode::NotFound, "no job " + std::to_string(spec.after_job) + " to run after");
  }
  std::vector<std::pair<std::string, std::string>> env;
  if (p.contains("env")) {
    for (auto& [k, v] : p["env"].items()) env.emplace_back(k, v.get<std::string>());
  }
  std::vector<std::string> lines = p.value("tasks", std::vector<std::string>());
  std::unique_ptr<TaskExpander> expander;
  if (lines.empty()) {
    spec.command = p.value("command", std::vector<std::string>());
    if (spec.command.empty()) return make_error(ErrorCode::Usage, "no command given");
    auto sources = p.value("sources", std::vector<std::vector<std::string>>());
    expander = std::make_unique<TaskExpander>(spec.command, sources, spec.shell);
  }
  int cpus = p.value("cpus", 0), gpus = p.value("gpus", 0);
  std::uint64_t mem = p.value("mem", std::uint64_t{0});
  if (cpus < 0 || gpus < 0) return make_error(ErrorCode::Usage, "cpus and gpus must be 0 or more");
  TaskSpec needs;
  needs.cpus = cpus;
  needs.gpus = gpus;
  needs.mem_bytes = mem;
  JR_TRY(engine.check_fits(needs));
  std::uint64_t count = expander ? expander->size() : lines.size();
  if (count == 0) return make_error(ErrorCode::Usage, "no tasks: an input source is empty");
  auto tx = store.transaction();
  JR_TRY(tx.begin_status());
  auto job = store.create_job(spec, template_identity(spec));
  if (!job) return job.error();
  auto summary = store.sync_tasks(*job, count, [&](std::uint64_t i) {
    TaskSpec t;
    t.argv = expander ? expander->expand(i) : std::vector<std::string>{"/bin/sh", "-c", lines[i]};
    t.cwd = spec.cwd;
    t.env = env;
    t.timeout_ms = spec.timeout_ms;
    t.retries = spec.retries;
    t.cpus = cpus;
    t.gpus = gpus;
    t.mem_bytes = mem;
    return t;
  }, false);
  if (!summary) return summary.error();
  JR_TRY(tx.commit());
  JR_TRY(engine.add_job(*job));
  return json{{"job", *job}, {"tasks", summary->total}, {"duplicates", summary->duplicates}};
}

}  // namespace

void serve_job_methods(Server& server, Engine& engine, Store& store, const std::filesystem::path& state_dir) {
  server.on("submit", [&engine, &store](const json& p, const Peer&) {
    auto reply = submit(engine, store, p);
    // A large submit leaves its request's memory free but held by malloc: give it back, so a
    // daemon's footprint reflects the jobs it keeps, not the biggest request it once read.
    ::malloc_trim(0);
    return reply;
  });

  server.on("status", [&engine](const json& p, const Peer&) -> Result<json> {
    auto id = job_param(engine, p);
    if (!id) return id.error();
    return job_json(*engine.job_row(*id), engine.counts(*id));
  });

  server.on("list", [&engine](const json& p, const Peer&) -> Result<json> {
    std::string want = p.value("state", "");
    json jobs = json::array();
    for (JobId id : engine.job_ids()) {
      auto j = job_json(*engine.job_row(id), engine.counts(id));
      if (want.empty() || j["state"] == want) jobs.push_back(std::move(j));
    }
    return json{{"jobs", jobs}};
  });

  server.on("tasks", [&engine, &store, state_dir](const json& p, const Peer&) -> Result<json> {
    auto id = job_param(engine, p);
    if (!id) return id.error();
    std::optional<TaskState> state;
    if (p.contains("state")) {
      state = parse_task_state(p["state"].get<std::string>());
      if (!state) return make_error(ErrorCode::Usage, "unknown task state " + p["state"].get<std::string>());
    }
    if (p.contains("index")) {
      std::int64_t index = p["index"].get<std::int64_t>();
      auto found = tasks_at_index(store, *id, index, state);
      if (!found) return found.error();
      if (found->empty()) {
        return make_error(ErrorCode::NotFound, "job " + std::to_string(*id) + " has no task " + std::to_string(index));
      }
      return json{{"tasks", tasks_json(*found, state_dir)}};
    }
    auto tasks = list_tasks(store, *id, state, p.value("offset", std::int64_t{0}), p.value("limit", std::int64_t{1000}));
    if (!tasks) return tasks.error();
    return json{{"tasks", tasks_json(*tasks, state_dir)}};
  });

  server.on("events", [&engine, &store](const json& p, const Peer&) -> Result<json> {
    auto id = job_param(engine, p);
    if (!id) return id.error();
    auto events = events_json(store, *id, p.value("after", std::int64_t{0}), p.value("limit", std::int64_t{10000}));
    if (!events) return events.error();
    return json{{"events", *events}};
  });

  server.on("cancel", [&engine](const json& p, const Peer&) -> Result<json> {
    auto id = job_param(engine, p);
    if (!id) return id.error();
    std::optional<std::int64_t> index;
    if (p.contains("index")) index = p["index"].get<std::int64_t>();
    auto n = engine.cancel(*id, index);
    if (!n) return n.error();
    return json{{"cancelled", *n}};
  });

  for (bool paused : {true, false}) {
    server.on(paused ? "pause" : "resume", [&engine, paused](const json& p, const Peer&) -> Result<json> {
      auto id = job_param(engine, p);
      if (!id) return id.error();
      JR_TRY(engine.pause(*id, paused));
      return json{{"paused", paused}};
    });
  }

  server.on("retry", [&engine](const json& p, const Peer&) -> Result<json> {
    auto id = job_param(engine, p);
    if (!id) return id.error();
    auto n = engine.retry(*id, p.value("failed_only", false));
    if (!n) return n.error();
    return json{{"requeued", *n}};
  });
}

}  // namespace jr
