#include "cli/run/run_explain.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/duration.h"
#include "base/plural.h"
#include "engine/containment.h"
#include "engine/explanation.h"
#include "engine/keeper.h"
#include "storage/codec.h"
#include "storage/engine_gone.h"
#include "storage/engine_lock.h"
#include "storage/explain.h"
#include "storage/state_files.h"

namespace jr {
namespace {

std::string local_time(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

}  // namespace

int explain_run(const RunOptions& o, const RunPlan& plan) {
  std::error_code ec;
  auto dir = std::filesystem::absolute(o.state_dir, ec);
  auto db = state_files::store(dir);
  std::unique_ptr<Store> store;
  JobId job = 0;
  if (!o.fresh && std::filesystem::exists(db, ec)) {
    auto opened = Store::open_read_only(db);
    if (!opened && opened.error().code != ErrorCode::NotFound) {
      std::fprintf(stderr, "jr run: %s\n", opened.error().message.c_str());
      return 2;
    }
    if (opened) store = std::move(*opened);
  }
  if (store) {
    auto jobs = store->jobs();
    if (!jobs) {
      std::fprintf(stderr, "jr run: %s\n", jobs.error().message.c_str());
      return 2;
    }
    std::string template_id = template_identity(plan.spec);
    for (auto& j : *jobs) {
      if (j.template_id == template_id) job = j.id;
    }
    if (!jobs->empty() && job == 0) {
      std::fprintf(stderr, "jr run: %s holds another job: this run would be refused (--fresh starts afresh)\n", dir.c_str());
      return 2;
    }
  }
  // A dead engine's keeper left its socket: the tasks it keeps are adopted (engine/keeper.h).
  bool keeper_kept = o.adopt && std::filesystem::is_socket(keeper::socket_path(dir), ec);
  auto ex = explain_tasks(store.get(), job, plan.count, plan.task_at, o.retry_failed, keeper_kept);
  if (!ex) {
    std::fprintf(stderr, "jr run: %s\n", ex.error().message.c_str());
    return 2;
  }
  // A task recorded as running: an engine runs it now, or the one that ran it is gone.
  std::optional<GoneEngine> gone;
  if (store) {
    auto found = find_gone_engine(*store, dir);
    if (!found) {
      std::fprintf(stderr, "jr run: %s\n", found.error().message.c_str());
      return 2;
    }
    gone = *found;
  }
  // What an engine started now would have; the probe's group goes with it.
  auto containment = Containment::open("jr-explain-" + std::to_string(::getpid()), 0);
  if (!containment) {
    std::fprintf(stderr, "jr run: %s\n", containment.error().message.c_str());
    return 2;
  }
  ExplainContext context;
  context.gone = gone;
  context.running_engine = EngineLock::holder(dir);
  context.containment = &*containment;
  auto explanation = explanation_json(*ex, plan.task_at, context);
  if (o.json) {
    std::printf("%s\n", explanation.dump().c_str());
  } else {
    print_explanation(explanation);
  }
  return 0;
}

void print_explanation(const nlohmann::json& ex) {
  for (auto& t : ex["tasks"]) {
    std::string action = t["action"].get<std::string>(), why;
    if (action == "skip") why = "succeeded at " + local_time(t["finished_ms"].get<std::int64_t>());
    if (action == "resume") {
      std::string was = "interrupted";
      std::int64_t pid = t.value("engine_pid", std::int64_t{0});
      if (t.value("engine_gone", false)) {
        action = "resume (engine gone)";
        was = pid ? "pid " + std::to_string(pid) : "its pid was not recorded";
      } else if (t.contains("engine_gone")) {
        was = "running now (engine pid " + std::to_string(pid) + ")";
      }
      auto checkpoint = t["checkpoint"].get<std::int64_t>();
      why = was + (checkpoint ? "; from checkpoint " + std::to_string(checkpoint) : "; no checkpoint");
    }
    if (action == "adopt") {
      std::int64_t pid = t.value("engine_pid", std::int64_t{0});
      action = t.value("engine_gone", false) ? "adopt (engine gone)" : "adopt";
      why = (pid ? "engine pid " + std::to_string(pid) : std::string("its engine")) + " left it to its keeper";
    }
    if (action == "dropped") why = "task " + std::to_string(t["task"].get<std::int64_t>()) + " is no longer asked for";
    auto index = t["index"].get<std::int64_t>();
    std::string command = t.contains("argv") ? joined(t["argv"].get<std::vector<std::string>>()) : "";
    std::printf("%6s  %-11s %-36s %s\n", index >= 0 ? std::to_string(index).c_str() : "-", action.c_str(),
                why.c_str(), command.c_str());
  }
  auto n = [&ex](const char* key) { return static_cast<long long>(ex["summary"][key].get<std::int64_t>()); };
  std::printf("would run %lld of %lld tasks: %lld new, %lld resumed, %lld pending, %lld retried; "
              "%lld skipped (succeeded), %lld kept failed, %lld dropped\n",
              n("new") + n("resume") + n("run") + n("retry"), n("total"), n("new"), n("resume"), n("run"), n("retry"),
              n("skip"), n("keep_failed"), n("dropped"));
  if (ex.contains("resources")) {
    auto& r = ex["resources"];
    std::string holds;
    auto add = [&holds](const std::string& part) { holds += (holds.empty() ? "" : ", ") + part; };
    if (auto cpus = r["cpus"].get<std::int64_t>()) add(counted(cpus, "core"));
    if (auto gpus = r["gpus"].get<std::int64_t>()) add(counted(gpus, "GPU"));
    if (auto mem = r["mem"].get<std::uint64_t>()) add(format_size(mem) + " of memory");
    if (!holds.empty()) std::printf("each task holds while it runs: %s\n", holds.c_str());
  }
  std::string containment = ex.value("containment", "");
  if (containment.rfind("cgroup ", 0) == 0) {
    std::printf("containment: cgroup: every task runs in a cgroup v2 group below %s; ending a task kills all its processes\n",
                containment.substr(7).c_str());
  } else if (!containment.empty()) {
    std::printf("containment: subreaper (%s): a process that leaves its task's process group is killed when the task "
                "ends, but after a kill -9 of jr only if it kept JR_RUN in its environment\n",
                ex.value("containment_fallback", "").c_str());
  }
}

}  // namespace jr
