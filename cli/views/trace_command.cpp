#include "cli/views/trace_command.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/views/figure_format.h"
#include "cli/views/run_facts.h"

namespace jr {
namespace {

using json = nlohmann::ordered_json;

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

constexpr const char* kColumns[] = {"task_id", "hash",    "native_id", "name",     "status", "exit",
                                    "submit",  "start",   "complete",  "duration", "realtime", "%cpu",
                                    "peak_rss", "index",  "attempt",   "signal",   "checkpoints"};

// Nextflow's exit column holds the shell's number for a task killed by a signal (137 for KILL).
std::optional<int> exit_status(const AttemptFact& a) {
  if (a.signal) return 128 + *a.signal;
  return a.exit_code;
}

std::optional<double> cpu_percent(const AttemptFact& a) {
  if (a.run_ms() <= 0) return std::nullopt;
  return static_cast<double>(a.cpu_ms) * 100.0 / static_cast<double>(a.run_ms());
}

// A TSV cell holds no tab or line break: a command may.
std::string cell(std::string text) {
  for (char& c : text) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return text.empty() ? "-" : text;
}

void print_tsv(const RunFacts& f) {
  std::string line;
  for (const char* c : kColumns) line += std::string(line.empty() ? "" : "\t") + c;
  std::printf("%s\n", line.c_str());
  auto or_dash = [](const std::optional<int>& v) { return v ? std::to_string(*v) : std::string("-"); };
  for (auto& a : f.attempts) {
    const TaskFact& t = f.tasks[a.task_pos];
    bool done = a.outcome != TaskState::Running;
    auto cpu = cpu_percent(a);
    char pct[32] = "-";
    if (cpu) std::snprintf(pct, sizeof pct, "%.1f%%", *cpu);
    std::vector<std::string> cells = {
        std::to_string(t.id),
        cell(t.identity.substr(0, 8)),
        a.pid ? std::to_string(a.pid) : "-",
        cell(t.command),
        trace_status(a.outcome),
        or_dash(exit_status(a)),
        local_timestamp(a.submit_ms),
        local_timestamp(a.start_ms),
        done ? local_timestamp(a.end_ms) : "-",
        done ? nextflow_duration(a.end_ms - a.submit_ms) : "-",
        nextflow_duration(a.run_ms()),
        pct,
        a.peak_rss_kb > 0 ? nextflow_memory(a.peak_rss_kb * 1024) : "-",
        std::to_string(t.index),
        std::to_string(a.attempt),
        or_dash(a.signal),
        std::to_string(a.checkpoints)};
    line.clear();
    for (auto& c : cells) line += (line.empty() ? "" : "\t") + c;
    std::printf("%s\n", line.c_str());
  }
}

void print_json(const RunFacts& f) {
  auto optional = [](const auto& v) { return v ? json(*v) : json(); };
  json rows = json::array();
  for (auto& a : f.attempts) {
    const TaskFact& t = f.tasks[a.task_pos];
    bool done = a.outcome != TaskState::Running;
    auto cpu = cpu_percent(a);
    rows.push_back({{"task_id", t.id},
                    {"hash", t.identity.substr(0, 8)},
                    {"native_id", a.pid ? json(a.pid) : json()},
                    {"name", t.command},
                    {"status", trace_status(a.outcome)},
                    {"exit", optional(exit_status(a))},
                    {"submit", a.submit_ms},
                    {"start", a.start_ms},
                    {"complete", done ? json(a.end_ms) : json()},
                    {"duration", done ? json(a.end_ms - a.submit_ms) : json()},
                    {"realtime", a.run_ms()},
                    {"%cpu", cpu ? json(static_cast<double>(static_cast<std::int64_t>(*cpu * 10 + 0.5)) / 10) : json()},
                    {"peak_rss", a.peak_rss_kb > 0 ? json(a.peak_rss_kb * 1024) : json()},
                    {"index", t.index},
                    {"attempt", a.attempt},
                    {"signal", optional(a.signal)},
                    {"checkpoints", a.checkpoints}});
  }
  std::printf("%s\n", rows.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
}

}  // namespace

int trace_command(const ObserveOptions& o, const std::string& format) {
  if (format != "tsv" && format != "json") {
    std::fprintf(stderr, "jr trace: unknown format '%s' (tsv or json)\n", format.c_str());
    return kExitUsage;
  }
  // Only the attempts are needed: no failure logs, no longest list.
  auto facts = load_run_facts(o.state_dir, o.job, FactsOptions{0, 0, 0});
  if (!facts) {
    std::fprintf(stderr, "jr trace: %s\n", facts.error().message.c_str());
    return kExitError;
  }
  if (format == "json") print_json(*facts);
  else print_tsv(*facts);
  return 0;
}

}  // namespace jr
