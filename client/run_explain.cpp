#include "client/run_explain.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "daemon/containment.h"
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

nlohmann::json summary_json(const SyncSummary& s) {
  return {{"total", s.total},     {"skip", s.skipped},        {"new", s.added},
          {"resume", s.resumed},  {"run", s.pending},         {"retry", s.retried},
          {"keep_failed", s.kept_failed}, {"dropped", s.dropped}};
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
  auto ex = explain_tasks(store.get(), job, plan.count, plan.task_at, o.retry_failed);
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
  if (o.json) {
    auto tasks = nlohmann::json::array();
    for (auto& d : ex->tasks) {
      nlohmann::json t = {{"index", d.index}, {"action", d.action}, {"task", d.task ? nlohmann::json(d.task) : nlohmann::json()}};
      if (d.action == "skip") t["finished_ms"] = d.finished_ms;
      if (d.action == "resume") t["checkpoint"] = d.checkpoint;
      if (d.recorded_running) t["engine_gone"] = gone.has_value();
      if (d.index >= 0) t["argv"] = plan.task_at(static_cast<std::uint64_t>(d.index)).argv;
      tasks.push_back(std::move(t));
    }
    std::printf("%s\n", nlohmann::json{{"summary", summary_json(ex->summary)}, {"tasks", tasks},
                                       {"containment", containment->describe()}}.dump().c_str());
    return 0;
  }
  for (auto& d : ex->tasks) {
    std::string action = d.action, why;
    if (d.action == "skip") why = "succeeded at " + local_time(d.finished_ms);
    if (d.action == "resume") {
      std::string was = "interrupted";
      if (d.recorded_running && gone) {
        action = "resume (engine gone)";
        was = gone->pid ? "pid " + std::to_string(gone->pid) : "its pid was not recorded";
      } else if (d.recorded_running) {
        was = "running now (engine pid " + std::to_string(EngineLock::holder(dir)) + ")";
      }
      why = was + (d.checkpoint ? "; from checkpoint " + std::to_string(d.checkpoint) : "; no checkpoint");
    }
    if (d.action == "dropped") why = "task " + std::to_string(d.task) + " is no longer asked for";
    std::string command = d.index >= 0 ? joined(plan.task_at(static_cast<std::uint64_t>(d.index)).argv) : "";
    std::printf("%6s  %-11s %-36s %s\n", d.index >= 0 ? std::to_string(d.index).c_str() : "-", action.c_str(),
                why.c_str(), command.c_str());
  }
  auto& s = ex->summary;
  std::printf("would run %lld of %lld tasks: %lld new, %lld resumed, %lld pending, %lld retried; "
              "%lld skipped (succeeded), %lld kept failed, %lld dropped\n",
              static_cast<long long>(s.added + s.resumed + s.pending + s.retried), static_cast<long long>(s.total),
              static_cast<long long>(s.added), static_cast<long long>(s.resumed), static_cast<long long>(s.pending),
              static_cast<long long>(s.retried), static_cast<long long>(s.skipped),
              static_cast<long long>(s.kept_failed), static_cast<long long>(s.dropped));
  if (containment->kind() == Containment::Kind::Cgroup) {
    std::printf("containment: cgroup: every task runs in a cgroup v2 group below %s; ending a task kills all its processes\n",
                containment->group().c_str());
  } else {
    std::printf("containment: subreaper (%s): a process that leaves its task's process group is killed when the task "
                "ends, but after a kill -9 of jr only if it kept JR_RUN in its environment\n",
                containment->fallback_reason().c_str());
  }
  return 0;
}

}  // namespace jr
