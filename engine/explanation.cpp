#include "engine/explanation.h"

namespace jr {

using json = nlohmann::json;

json explanation_json(const Explanation& ex, const std::function<TaskSpec(std::uint64_t)>& task_at,
                      const ExplainContext& context) {
  const SyncSummary& s = ex.summary;
  json summary = {{"total", s.total},     {"skip", s.skipped},        {"new", s.added},
                  {"resume", s.resumed},  {"run", s.pending},         {"retry", s.retried},
                  {"keep_failed", s.kept_failed}, {"dropped", s.dropped}, {"adopt", s.adopted}};
  json tasks = json::array();
  for (const TaskDecision& d : ex.tasks) {
    json t = {{"index", d.index}, {"action", d.action}, {"task", d.task ? json(d.task) : json()}};
    if (d.action == "skip") t["finished_ms"] = d.finished_ms;
    if (d.action == "resume") t["checkpoint"] = d.checkpoint;
    if (d.recorded_running) {
      t["engine_gone"] = context.gone.has_value();
      t["engine_pid"] = context.gone ? context.gone->pid : context.running_engine;
    }
    if (d.index >= 0) t["argv"] = task_at(static_cast<std::uint64_t>(d.index)).argv;
    tasks.push_back(std::move(t));
  }
  json out = {{"summary", summary}, {"tasks", tasks}};
  if (s.total > 0) {
    TaskSpec first = task_at(0);
    out["resources"] = {{"cpus", first.cpus}, {"gpus", first.gpus}, {"mem", first.mem_bytes}};
  }
  if (context.containment) {
    out["containment"] = context.containment->describe();
    if (context.containment->kind() == Containment::Kind::Subreaper) {
      out["containment_fallback"] = context.containment->fallback_reason();
    }
  }
  return out;
}

}  // namespace jr
