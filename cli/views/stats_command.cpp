#include "cli/views/stats_command.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/duration.h"
#include "base/plural.h"
#include "cli/views/engine_gone_view.h"
#include "cli/run/failure_reason.h"
#include "cli/views/figure_format.h"
#include "cli/daemon/job_format.h"
#include "cli/views/run_facts.h"

namespace jr {
namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

void row(const char* label, const std::string& value) { std::printf("%-18s %s\n", label, value.c_str()); }

void print_text(const RunFacts& f) {
  std::string title = "job " + std::to_string(f.job.id) + (f.job.name.empty() ? "" : " (" + f.job.name + ")");
  std::printf("%s: %s, %lld tasks, -j %d, state %s\n", title.c_str(), f.job_state.c_str(),
              static_cast<long long>(f.total), f.parallelism, f.state_dir.c_str());
  std::string wall = format_duration(Millis(f.wall_ms));
  if (f.running) wall += " so far (running)";
  if (f.between_runs_ms >= 1000) wall += ", of which " + format_duration(Millis(f.between_runs_ms)) + " with no engine running";
  row("wall time", wall);
  if (f.engine_gone) row("engine", engine_gone_line(*f.engine_gone));
  std::string states;
  for (int s = 0; s < kTaskStateCount; ++s) {
    if (f.counts[static_cast<std::size_t>(s)] == 0) continue;
    if (!states.empty()) states += ", ";
    states += std::to_string(f.counts[static_cast<std::size_t>(s)]) + " " + std::string(to_string(static_cast<TaskState>(s)));
  }
  row("tasks", states.empty() ? "none" : states);
  row("attempts", std::to_string(f.attempts.size()) + " (" + std::to_string(f.interruptions) + " interrupted), " +
                      std::to_string(f.resumes) + (f.resumes == 1 ? " resume, " : " resumes, ") +
                      std::to_string(f.checkpoints) + " checkpoints saved");
  char buf[160];
  std::snprintf(buf, sizeof buf, "%.2f (task time %s / wall %s)", f.speedup,
                format_duration(Millis(f.task_time_ms)).c_str(), format_duration(Millis(f.wall_ms)).c_str());
  row("speedup", buf);
  row("parallel eff.", percent(f.parallel_efficiency) + " (speedup / -j " + std::to_string(f.parallelism) + ")");
  row("CPU efficiency", percent(f.cpu_efficiency) + " (CPU time " + format_duration(Millis(f.cpu_time_ms)) + " / (" +
                            std::to_string(f.parallelism) + " x wall))");
  if (f.rss_tasks > 0) {
    row("peak RSS", "median " + kib(f.rss_median_kb) + ", p95 " + kib(f.rss_p95_kb) + ", max " + kib(f.rss_max_kb) +
                        " (over " + std::to_string(f.rss_tasks) + " tasks)");
  } else {
    row("peak RSS", "not measured");
  }
  if (!f.longest.empty()) {
    std::printf("\nlongest tasks:\n");
    Table table({{"INDEX", true}, {"TIME", true}, {"ATTEMPTS", true}, {"STATE"}, {"COMMAND"}});
    for (auto i : f.longest) {
      const TaskFact& t = f.tasks[i];
      table.add({std::to_string(t.index), format_duration(Millis(t.run_ms)), std::to_string(t.attempts),
                 std::string(to_string(t.state)), t.command});
    }
    table.print(stdout);
  }
  if (f.failures_total > 0) {
    std::printf("\nfailed tasks (%lld", static_cast<long long>(f.failures_total));
    if (static_cast<std::int64_t>(f.failures.size()) < f.failures_total) std::printf(", the first %zu shown", f.failures.size());
    std::printf("):\n");
    for (auto& fail : f.failures) {
      const TaskFact& t = f.tasks[fail.task_pos];
      std::printf("  task %lld %s, %s: %s\n", static_cast<long long>(t.index),
                  failure_reason(t.detail, t.exit_code, t.signal).c_str(), counted(t.attempts, "attempt").c_str(),
                  t.command.c_str());
      for (auto& line : fail.stderr_tail) std::printf("    | %s\n", line.c_str());
      std::printf("    (%s)\n", fail.stderr_path.empty() ? "nothing on stderr" : fail.stderr_path.c_str());
    }
  }
}

}  // namespace

int stats_command(const ObserveOptions& o) {
  auto facts = load_run_facts(o.state_dir, o.job);
  if (!facts) {
    std::fprintf(stderr, "jr stats: %s\n", facts.error().message.c_str());
    return facts.error().code == ErrorCode::Usage ? kExitUsage : kExitError;
  }
  if (o.json) std::printf("%s\n", stats_json(*facts).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  else print_text(*facts);
  return 0;
}

}  // namespace jr
