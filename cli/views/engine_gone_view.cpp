#include "cli/views/engine_gone_view.h"

#include <nlohmann/json.hpp>

#include "storage/store.h"


namespace jr {

namespace {

std::string pid_text(const GoneEngine& gone) {
  return gone.pid ? " (pid " + std::to_string(gone.pid) + ")" : " (its pid was not recorded)";
}

}  // namespace

std::string engine_gone_line(const GoneEngine& gone) {
  return "the engine that ran this job is gone" + pid_text(gone) +
         (gone.kept ? "; its keeper runs these tasks on, and the next engine adopts them" : "; these tasks will be resumed");
}

std::string engine_gone_note(const GoneEngine& gone) {
  return "engine gone" + pid_text(gone) + (gone.kept ? "; its keeper runs it, the next engine adopts it" : "; will be resumed");
}

void show_engine_gone(StateCounts& counts, const GoneEngine& gone) {
  if (gone.kept) return;
  counts[static_cast<std::size_t>(TaskState::Interrupted)] += counts[static_cast<std::size_t>(TaskState::Running)];
  counts[static_cast<std::size_t>(TaskState::Running)] = 0;
}

nlohmann::json engine_gone_json(const std::optional<GoneEngine>& gone) {
  if (!gone) return nullptr;
  return {{"pid", gone->pid ? nlohmann::json(gone->pid) : nlohmann::json()}, {"keeper", gone->kept}};
}

void show_engine_gone(nlohmann::json& job, const GoneEngine& gone) {
  auto& counts = job["counts"];
  std::int64_t running = counts.value("running", std::int64_t{0});
  if (running == 0) return;
  if (!gone.kept) {
    counts["interrupted"] = counts.value("interrupted", std::int64_t{0}) + running;
    counts["running"] = 0;
  }
  job["engine_gone"] = engine_gone_json(gone);
}

void show_engine_gone_tasks(nlohmann::json& tasks, const GoneEngine& gone) {
  for (auto& t : tasks) {
    if (t.value("state", "") != "running") continue;
    if (!gone.kept) t["state"] = "interrupted";
    t["detail"] = engine_gone_note(gone);
  }
}

}  // namespace jr
