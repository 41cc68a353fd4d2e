#include "cli/views/top_facts.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/duration.h"
#include "cli/views/engine_gone_view.h"
#include "cli/views/run_facts.h"
#include "daemon/queries.h"
#include "jr/board.hpp"
#include "job/template.h"
#include "storage/run_reads.h"
#include "storage/state_files.h"

namespace jr {
namespace {

constexpr std::int64_t kRateWindowMs = 60'000;

// Text from a task (its message, its output) may hold escape sequences: shown as '?', so that a
// task cannot move the cursor or recolour the terminal of whoever watches it.
std::string printable(std::string text) {
  for (char& c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = u == '\t' ? ' ' : '?';
  }
  return text;
}

Status load_running(Store& store, TopFacts& f) {
  auto running = running_attempts(store, f.job.id);
  if (!running) return running.error();
  for (auto& row : *running) {
    TopTask t;
    t.id = row.task;
    t.index = row.index;
    t.attempt = row.attempt;
    t.slot = row.slot;
    t.elapsed_ms = std::max<std::int64_t>(0, f.now_ms - row.start_ms);
    for (auto& w : row.argv) t.command += (t.command.empty() ? "" : " ") + shell_quote(w);
    f.tasks.push_back(std::move(t));
  }
  // CPU % between the last two readings; RSS at the last.
  for (auto& t : f.tasks) {
    auto latest = latest_samples(store, t.id, t.attempt, 2);
    if (!latest) return latest.error();
    const auto& s = *latest;
    if (!s.empty()) t.rss_kb = s[0].rss_kb;
    if (s.size() == 2 && s[0].ms > s[1].ms) t.cpu_percent = std::max(0.0, 100.0 * static_cast<double>(s[0].cpu_ms - s[1].cpu_ms) / static_cast<double>(s[0].ms - s[1].ms));
    else if (s.size() == 1 && t.elapsed_ms > 0) t.cpu_percent = 100.0 * static_cast<double>(s[0].cpu_ms) / static_cast<double>(t.elapsed_ms);
    auto tail = tail_lines(state_files::task_stdout(f.state_dir, t.id), 1);
    if (!tail.empty()) t.last_output = printable(tail.back());
  }
  return {};
}

// Progress and message of each running task, from the board slot it was given; a slot that
// now holds another task (or attempt) says nothing about this one.
void read_board(TopFacts& f) {
  std::string err;
  auto reader = board::Reader::open(state_files::board(f.state_dir).string(), &err);
  if (!reader) return;
  f.board = true;
  for (auto& t : f.tasks) {
    if (t.slot <= 0) continue;
    auto rec = reader->read(static_cast<std::uint32_t>(t.slot - 1));
    if (!rec || rec->task_id != static_cast<std::uint64_t>(t.id) || rec->attempt != static_cast<std::uint32_t>(t.attempt)) continue;
    t.progress = rec->fraction;
    t.message = printable(rec->message);
  }
}

Status load_rate(Store& store, const std::vector<EpochFact>& epochs, TopFacts& f) {
  if (!f.engine || epochs.empty()) return {};
  std::int64_t from = std::max(f.now_ms - kRateWindowMs, epochs.back().start_ms);
  if (f.now_ms - from < 1000) return {};
  auto finished = count_finished_since(store, f.job.id, from);
  if (!finished) return finished.error();
  f.rate = static_cast<double>(*finished) * 1000.0 / static_cast<double>(f.now_ms - from);
  if (f.rate > 0) f.eta_ms = static_cast<std::int64_t>(static_cast<double>(f.total - f.done) / f.rate * 1000.0);
  return {};
}

}  // namespace

double NodeCpu::sample() {
  std::FILE* in = std::fopen("/proc/stat", "re");
  if (!in) return -1;
  unsigned long long v[8] = {};
  char line[512];
  int cpus = 0;
  bool ok = false;
  while (std::fgets(line, sizeof line, in)) {
    // "cpu  …" sums every CPU; "cpuN …" is one of them (sscanf's blank would match "cpu0" too).
    if (std::strncmp(line, "cpu ", 4) == 0) {
      ok = std::sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                       &v[6], &v[7]) == 8;
    } else if (line[0] == 'c' && line[1] == 'p' && line[2] == 'u' && line[3] >= '0' && line[3] <= '9') {
      ++cpus;
    }
  }
  std::fclose(in);
  if (!ok) return -1;
  std::uint64_t total = 0;
  for (auto x : v) total += x;
  std::uint64_t busy = total - v[3] - v[4];  // all but idle and iowait
  double out = -1;
  if (total_ != 0 && total > total_) out = static_cast<double>(busy - busy_) / static_cast<double>(total - total_);
  busy_ = busy;
  total_ = total;
  cpus_ = cpus;
  return std::clamp(out, -1.0, 1.0);
}

Result<TopFacts> load_top_facts(const std::filesystem::path& state_dir, const std::string& job_ref, NodeCpu& cpu) {
  TopFacts f;
  std::error_code ec;
  f.state_dir = std::filesystem::absolute(state_dir, ec);
  f.node_cpu = cpu.sample();
  f.node_cpus = cpu.cpus();
  auto store = Store::open_read_only(state_files::store(f.state_dir));
  if (!store) return store.error();
  auto snapshot = (*store)->snapshot();  // one moment for every query of the frame
  JR_TRY(snapshot.begin_status());
  f.now_ms = now_ms();
  auto job = find_job_ref(**store, job_ref, f.state_dir);
  if (!job) return job.error();
  f.job = std::move(*job);
  f.parallelism = std::max(1, f.job.spec.parallelism);
  auto counts = (*store)->count_states(f.job.id);
  if (!counts) return counts.error();
  f.counts = *counts;
  auto gone = find_gone_engine(**store, f.state_dir);
  if (!gone) return gone.error();
  f.engine_gone = *gone;
  if (f.engine_gone) show_engine_gone(f.counts, *f.engine_gone);
  auto n = [&f](TaskState s) { return f.counts[static_cast<std::size_t>(s)]; };
  f.total = 0;
  for (int s = 0; s < kTaskStateCount; ++s) {
    if (static_cast<TaskState>(s) != TaskState::Dropped) f.total += f.counts[static_cast<std::size_t>(s)];
  }
  f.done = n(TaskState::Succeeded) + n(TaskState::Failed) + n(TaskState::Cancelled);
  f.job_state = job_state(f.job, f.counts);
  std::vector<EpochFact> epochs;
  JR_TRY(load_epochs(**store, epochs));
  f.engine = engine_running(epochs);
  if (!f.engine_gone) JR_TRY(load_running(**store, f));
  JR_TRY(load_rate(**store, epochs, f));
  read_board(f);
  return f;
}

nlohmann::ordered_json top_json(const TopFacts& f) {
  using json = nlohmann::ordered_json;
  json counts = json::object();
  for (int s = 0; s < kTaskStateCount; ++s) counts[std::string(to_string(static_cast<TaskState>(s)))] = f.counts[static_cast<std::size_t>(s)];
  json tasks = json::array();
  for (auto& t : f.tasks) {
    tasks.push_back({{"index", t.index},
                     {"task_id", t.id},
                     {"attempt", t.attempt},
                     {"slot", t.slot},
                     {"command", t.command},
                     {"elapsed_ms", t.elapsed_ms},
                     {"progress", t.progress >= 0 ? json(t.progress) : json()},
                     {"message", t.message},
                     {"cpu_percent", t.cpu_percent >= 0 ? json(static_cast<double>(static_cast<std::int64_t>(t.cpu_percent * 10 + 0.5)) / 10) : json()},
                     {"rss_kb", t.rss_kb > 0 ? json(t.rss_kb) : json()},
                     {"last_output", t.last_output}});
  }
  return json{{"job", {{"id", f.job.id}, {"name", f.job.name}, {"state", f.job_state}}},
              {"state_dir", f.state_dir.string()},
              {"engine_running", f.engine},
              {"engine_gone", engine_gone_json(f.engine_gone)},
              {"parallelism", f.parallelism},
              {"total", f.total},
              {"done", f.done},
              {"counts", counts},
              {"rate_per_s", static_cast<double>(static_cast<std::int64_t>(f.rate * 100 + 0.5)) / 100},
              {"eta_ms", f.eta_ms >= 0 ? json(f.eta_ms) : json()},
              {"node_cpu", {{"busy", f.node_cpu >= 0 ? json(static_cast<double>(static_cast<std::int64_t>(f.node_cpu * 1000 + 0.5)) / 1000) : json()},
                            {"cpus", f.node_cpus}}},
              {"board", f.board},
              {"tasks", tasks},
              {"now_ms", f.now_ms}};
}

}  // namespace jr
