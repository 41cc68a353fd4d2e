#include "daemon/job_methods.h"

#include <malloc.h>

#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "engine/explanation.h"
#include "engine/outputs.h"
#include "daemon/queries.h"
#include "job/command_check.h"
#include "protocol/params.h"
#include "job/shard.h"
#include "job/template.h"
#include "storage/codec.h"
#include "storage/sync_decision.h"

namespace jr {
namespace {

using json = nlohmann::json;

// The job that `job` or `name` names (check_params made sure one of them is given).
Result<JobId> job_param(Engine& engine, const json& p) {
  if (p.contains("job")) {
    JobId id = int_param(p, "job", 0);
    if (!engine.job_row(id)) return make_error(ErrorCode::NotFound, "no job " + std::to_string(id));
    return id;
  }
  std::string name = string_param(p, "name", "");
  JobId found = 0;
  for (JobId id : engine.job_ids()) {
    if (engine.job_row(id)->name == name) found = id;  // the latest of that name
  }
  if (!found) return make_error(ErrorCode::NotFound, "no job named " + name);
  return found;
}

// A submitted job, checked and expanded, before anything is written.
struct SubmitPlan {
  JobSpec spec;
  std::uint64_t count = 0;
  std::function<TaskSpec(std::uint64_t)> task_at;
};

// Every check a submit gets, the same as jr run's (cli/run/run_plan.cpp): a refused submit
// creates nothing.
Result<SubmitPlan> plan_submit(Engine& engine, const json& p) {
  // The casts narrow only what the table declares to fit (protocol/methods.cpp).
  SubmitPlan plan;
  JobSpec& spec = plan.spec;
  spec.name = string_param(p, "name", "");
  spec.shell = bool_param(p, "shell", false);
  spec.parallelism = static_cast<int>(int_param(p, "parallelism", 1));
  spec.retries = static_cast<int>(int_param(p, "retries", 0));
  spec.timeout_ms = int_param(p, "timeout_ms", 0);
  spec.priority = static_cast<int>(int_param(p, "priority", 0));
  spec.after_job = int_param(p, "after", 0);
  spec.cwd = string_param(p, "cwd", "/");
  // The per-job options, as jr run's flags of the same names (job/job_options.h).
  const JobSpec defaults;
  spec.output = string_param(p, "output", "");
  spec.on_finish = string_param(p, "on_finish", "");
  spec.keep_checkpoints = static_cast<int>(int_param(p, "keep_checkpoints", defaults.keep_checkpoints));
  spec.max_checkpoint_bytes = static_cast<std::uint64_t>(
      int_param(p, "max_checkpoint", static_cast<std::int64_t>(defaults.max_checkpoint_bytes)));
  spec.max_result_bytes =
      static_cast<std::uint64_t>(int_param(p, "max_result", static_cast<std::int64_t>(defaults.max_result_bytes)));
  spec.stall_timeout_ms = int_param(p, "stall_timeout_ms", 0);
  std::string stall_action = string_param(p, "stall_action", "report");
  if (stall_action != "report" && stall_action != "kill") {
    return make_error(ErrorCode::Usage, "stall_action must be report or kill");
  }
  spec.stall_kill = stall_action == "kill";
  spec.expect_ms = int_param(p, "expect_ms", 0);
  Shard shard;
  shard.k = static_cast<std::uint64_t>(int_param(p, "shard_index", 0));
  shard.n = static_cast<std::uint64_t>(int_param(p, "shard_count", 1));
  if (shard.k >= shard.n) {
    return make_error(ErrorCode::Usage, "shard_index must be below shard_count (--shard K/N with 0 <= K < N)");
  }
  if (spec.after_job && !engine.job_row(spec.after_job)) {
    return make_error(ErrorCode::NotFound, "no job " + std::to_string(spec.after_job) + " to run after");
  }
  auto env = string_map_param(p, "env");
  auto lines = std::make_shared<std::vector<std::string>>(strings_param(p, "tasks"));
  std::shared_ptr<TaskExpander> expander;
  std::shared_ptr<TaskExpander> output;
  if (lines->empty()) {
    spec.command = strings_param(p, "command");
    if (spec.command.empty()) return make_error(ErrorCode::Usage, "no command given");
    auto sources = string_arrays_param(p, "sources");
    JR_TRY(check_template(spec.command, sources.size()));
    if (!spec.output.empty()) {
      JR_TRY(check_output_template(spec.command, spec.output, sources.size()));
      output = std::make_shared<TaskExpander>(std::vector<std::string>{spec.output}, sources, false);
    }
    expander = std::make_shared<TaskExpander>(spec.command, std::move(sources), spec.shell);
    spec.uses_slot = expander->uses_slot();
  } else if (!spec.output.empty()) {
    return make_error(ErrorCode::Usage, "--output needs a command template, not --tasks");
  }
  TaskSpec needs;
  needs.cpus = static_cast<int>(int_param(p, "cpus", 0));
  needs.gpus = static_cast<int>(int_param(p, "gpus", 0));
  needs.mem_bytes = static_cast<std::uint64_t>(int_param(p, "mem", 0));
  JR_TRY(engine.check_fits(needs));
  std::uint64_t all = expander ? expander->size() : lines->size();
  if (all == 0) return make_error(ErrorCode::Usage, "no tasks: an input source is empty");
  plan.count = shard.count(all);
  if (plan.count == 0) return make_error(ErrorCode::Usage, "no tasks: the shard holds none of the job's tasks");
  // The program, found and runnable where the tasks will run, with jrd's PATH.
  if (expander) JR_TRY(check_command(spec.command, *expander, spec.shell, spec.cwd));
  plan.task_at = [=](std::uint64_t j) {
    std::uint64_t i = shard.combination(j);
    TaskSpec t = needs;
    std::string partial;
    if (output) {
      t.outputs.push_back(declared_output(*output, i, spec.cwd));
      partial = partial_path(t.outputs.back());
    }
    t.argv = expander ? expander->expand(i, output ? &partial : nullptr)
                      : std::vector<std::string>{"/bin/sh", "-c", (*lines)[i]};
    t.cwd = spec.cwd;
    t.env = env;
    t.timeout_ms = spec.timeout_ms;
    t.retries = spec.retries;
    return t;
  };
  return plan;
}

// What the submit would do, without doing it (`jr submit --explain`): every task is new (a
// submit always makes a new job), listed up to kExplainListed; the jobs that already have its
// name; jrd's containment.
constexpr std::size_t kExplainListed = 1000;

json explain_submit(Engine& engine, const SubmitPlan& plan) {
  Explanation ex;
  for (std::uint64_t i = 0; i < plan.count; ++i) {
    tally(&ex.summary, SyncAction::New);
    ++ex.summary.total;
    if (ex.tasks.size() < kExplainListed) ex.tasks.push_back({static_cast<std::int64_t>(i), std::string(action_name(SyncAction::New))});
  }
  ExplainContext context;
  context.containment = &engine.containment();
  json out = explanation_json(ex, plan.task_at, context);
  out["tasks_not_listed"] = plan.count - ex.tasks.size();
  json same_name = json::array();
  for (JobId id : engine.job_ids()) {
    const JobRow* row = engine.job_row(id);
    if (!plan.spec.name.empty() && row->name == plan.spec.name) {
      same_name.push_back({{"job", id}, {"state", job_state(*row, engine.counts(id))}});
    }
  }
  out["same_name"] = std::move(same_name);
  return out;
}

Result<json> submit(Engine& engine, Store& store, const json& p) {
  auto plan = plan_submit(engine, p);
  if (!plan) return plan.error();
  if (bool_param(p, "explain", false)) return json{{"explain", explain_submit(engine, *plan)}};
  const JobSpec& spec = plan->spec;
  // A store the system refuses to write (a full disk) refuses the job in one line that names
  // it, until it can be written again.
  auto unwritable = [](const Error& e) {
    return e.code != ErrorCode::Io ? e : make_error(e.code, "cannot write " + e.message + "; jrd accepts no job until it can");
  };
  if (auto st = engine.ensure_store_writable(); !st) return unwritable(st.error());
  auto tx = store.transaction();
  if (!tx.begin_status()) return unwritable(tx.begin_status().error());
  auto job = store.create_job(spec, template_identity(spec));
  if (!job) return unwritable(job.error());
  auto summary = store.sync_tasks(*job, plan->count, plan->task_at, false);
  if (!summary) return unwritable(summary.error());
  if (auto st = tx.commit(); !st) return unwritable(st.error());
  JR_TRY(engine.add_job(*job));
  return json{{"job", *job}, {"tasks", summary->total}};
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
    auto want = job_state_param(p);
    if (!want) return want.error();
    json jobs = json::array();
    for (JobId id : engine.job_ids()) {
      auto j = job_json(*engine.job_row(id), engine.counts(id));
      if (want->empty() || j["state"] == *want) jobs.push_back(std::move(j));
    }
    return json{{"jobs", jobs}};
  });

  server.on("tasks", [&engine, &store, state_dir](const json& p, const Peer&) -> Result<json> {
    auto id = job_param(engine, p);
    if (!id) return id.error();
    return tasks_reply(store, *id, p, state_dir);
  });

  server.on("events", [&engine, &store](const json& p, const Peer&) -> Result<json> {
    auto id = job_param(engine, p);
    if (!id) return id.error();
    auto events = events_json(store, *id, int_param(p, "after", 0), int_param(p, "limit", 10000));
    if (!events) return events.error();
    return json{{"events", *events}};
  });

  server.on("cancel", [&engine](const json& p, const Peer&) -> Result<json> {
    auto id = job_param(engine, p);
    if (!id) return id.error();
    std::optional<std::int64_t> index;
    if (p.contains("index")) index = int_param(p, "index", 0);
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
    auto n = engine.retry(*id, bool_param(p, "failed_only", false));
    if (!n) return n.error();
    return json{{"requeued", *n}};
  });
}

}  // namespace jr
