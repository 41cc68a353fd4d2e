#include "cli/views/run_facts.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <unordered_map>
#include <nlohmann/json.hpp>
#include <utility>

#include "base/duration.h"
#include "cli/views/engine_gone_view.h"
#include "cli/daemon/log_file.h"
#include "daemon/queries.h"
#include "job/template.h"
#include "storage/run_reads.h"
#include "storage/state_files.h"

namespace jr {
namespace {

using AttemptKey = std::pair<TaskId, int>;
struct AttemptKeyHash {
  std::size_t operator()(const AttemptKey& k) const { return std::hash<TaskId>()(k.first * 131 + k.second); }
};
using TaskPositions = std::unordered_map<TaskId, std::size_t>;

}  // namespace

Result<JobRow> find_job_ref(Store& store, const std::string& ref, const std::filesystem::path& dir) {
  auto jobs = store.jobs();
  if (!jobs) return jobs.error();
  if (jobs->empty()) return make_error(ErrorCode::NotFound, "no job in " + dir.string() + " yet");
  if (ref.empty()) return jobs->back();
  for (auto& j : *jobs) {
    if (std::to_string(j.id) == ref) return j;
  }
  for (auto it = jobs->rbegin(); it != jobs->rend(); ++it) {
    if (it->name == ref) return *it;
  }
  return make_error(ErrorCode::NotFound, "no job " + ref + " in " + dir.string());
}

bool engine_running(const std::vector<EpochFact>& all) {
  if (all.empty() || all.back().end_ms != 0 || all.back().pid <= 0) return false;
  return ::kill(static_cast<pid_t>(all.back().pid), 0) == 0 || errno == EPERM;
}

Status load_epochs(Store& store, std::vector<EpochFact>& out) {
  auto runs = engine_runs(store);
  if (!runs) return runs.error();
  for (auto& r : *runs) out.push_back({r.id, r.pid, r.start_ms, r.end_ms, std::move(r.slurm_job_id)});
  return {};
}

namespace {

Status load_tasks(Store& store, RunFacts& f, TaskPositions& pos) {
  auto rows = job_tasks(store, f.job.id);
  if (!rows) return rows.error();
  for (auto& row : *rows) {
    TaskFact t;
    t.id = row.id;
    t.index = row.index;
    t.identity = std::move(row.identity);
    t.state = row.state;
    t.attempts = row.attempts;
    t.exit_code = row.exit_code;
    t.signal = row.signal;
    t.submit_ms = row.submit_ms;
    t.argv = std::move(row.argv);
    for (auto& word : t.argv) t.command += (t.command.empty() ? "" : " ") + shell_quote(word);
    pos[t.id] = f.tasks.size();
    f.tasks.push_back(std::move(t));
  }
  return {};
}

Status load_attempts(Store& store, RunFacts& f, const TaskPositions& pos) {
  auto ended = ended_attempts(store, f.job.id);
  if (!ended) return ended.error();
  for (auto& row : *ended) {
    auto it = pos.find(row.task);
    if (it == pos.end()) continue;
    AttemptFact a;
    a.task_pos = it->second;
    a.attempt = row.attempt;
    a.engine_run = row.engine_run;
    a.slot = row.slot;
    a.start_ms = row.start_ms;
    a.end_ms = row.end_ms;
    a.outcome = row.outcome;
    a.exit_code = row.exit_code;
    a.signal = row.signal;
    a.cpu_ms = row.cpu_ms;
    a.peak_rss_kb = row.maxrss_kb;
    a.detail = std::move(row.detail);
    a.progress = row.progress;
    a.message = std::move(row.message);
    a.stalled = row.stalled;
    a.checkpoints = row.checkpoints_saved;
    f.attempts.push_back(std::move(a));
  }
  // The attempts that run now have no row yet: the task row describes them.
  auto running = running_attempts(store, f.job.id);
  if (!running) return running.error();
  for (auto& row : *running) {
    AttemptFact a;
    a.task_pos = pos.at(row.task);
    a.attempt = row.attempt;
    a.slot = row.slot;
    a.start_ms = row.start_ms;
    a.end_ms = std::max(a.start_ms, f.now_ms);
    a.pid = row.pid;
    a.checkpoints = row.checkpoints_saved;
    if (f.engine_gone && f.engine_gone->kept) {
      a.detail = engine_gone_note(*f.engine_gone);  // running on under the keeper
    } else if (f.engine_gone) {
      // Its engine is gone: an interrupted attempt, counted up to that engine's last sign of life.
      a.end_ms = std::max(a.start_ms, f.engine_gone->last_seen_ms);
      a.outcome = TaskState::Interrupted;
      a.detail = engine_gone_note(*f.engine_gone);
      a.pid = 0;
    }
    a.engine_run = f.epochs.empty() ? 0 : f.epochs.back().id;
    f.attempts.push_back(std::move(a));
  }
  std::sort(f.attempts.begin(), f.attempts.end(), [](const AttemptFact& x, const AttemptFact& y) {
    return x.start_ms != y.start_ms ? x.start_ms < y.start_ms : x.task_pos < y.task_pos;
  });
  return {};
}

// Per attempt: the largest sample of its process group; for a running one, its latest CPU time.
Status load_samples(Store& store, RunFacts& f) {
  std::unordered_map<AttemptKey, AttemptFact*, AttemptKeyHash> by_key;
  by_key.reserve(f.attempts.size());
  for (auto& a : f.attempts) by_key[{f.tasks[a.task_pos].id, a.attempt}] = &a;
  auto peaks = sample_peaks(store, f.job.id);
  if (!peaks) return peaks.error();
  for (const SampleRow& peak : *peaks) {
    auto it = by_key.find({peak.task, peak.attempt});
    if (it == by_key.end()) continue;
    AttemptFact& a = *it->second;
    a.peak_rss_kb = std::max(a.peak_rss_kb, peak.rss_kb);
    if (a.outcome == TaskState::Running) a.cpu_ms = peak.cpu_ms;
  }
  return {};
}


// When each attempt became runnable: the task's submission for the first, else the end of the
// attempt before it, or the start of the engine that resumed it if that came later.
void fill_submit_times(RunFacts& f) {
  std::map<std::int64_t, std::int64_t> epoch_start;
  for (auto& e : f.epochs) epoch_start[e.id] = e.start_ms;
  std::vector<const AttemptFact*> previous(f.tasks.size(), nullptr);
  for (auto& a : f.attempts) {
    const AttemptFact* before = previous[a.task_pos];
    a.submit_ms = before ? before->end_ms : f.tasks[a.task_pos].submit_ms;
    if (before && before->engine_run != a.engine_run) {
      if (auto it = epoch_start.find(a.engine_run); it != epoch_start.end()) a.submit_ms = std::max(a.submit_ms, it->second);
    }
    a.submit_ms = std::min(a.submit_ms, a.start_ms);
    previous[a.task_pos] = &a;
  }
}

void compute_figures(RunFacts& f, const FactsOptions& o) {
  std::int64_t first = 0, last = 0;
  for (auto& a : f.attempts) {
    TaskFact& t = f.tasks[a.task_pos];
    t.run_ms += a.run_ms();
    t.cpu_ms += a.cpu_ms;
    t.peak_rss_kb = std::max(t.peak_rss_kb, a.peak_rss_kb);
    t.checkpoints += a.checkpoints;
    f.checkpoints += a.checkpoints;
    if (a.attempt == t.attempts) t.detail = a.detail;
    f.task_time_ms += a.run_ms();
    f.cpu_time_ms += a.cpu_ms;
    if (a.outcome == TaskState::Interrupted) ++f.interruptions;
    first = first == 0 ? a.start_ms : std::min(first, a.start_ms);
    last = std::max(last, a.end_ms);
  }
  if (f.running) last = f.now_ms;
  if (first == 0) first = f.job.created_ms;
  f.start_ms = first;
  f.end_ms = std::max(first, last);
  f.wall_ms = f.end_ms - f.start_ms;

  // Epochs that overlap the wall span; the time between them is time no engine ran.
  std::vector<EpochFact> kept;
  for (auto& e : f.epochs) {
    std::int64_t end = e.end_ms ? e.end_ms : f.now_ms;
    if (end >= f.start_ms && e.start_ms <= f.end_ms) kept.push_back(e);
  }
  f.epochs = std::move(kept);
  f.resumes = f.epochs.empty() ? 0 : static_cast<std::int64_t>(f.epochs.size()) - 1;
  for (std::size_t i = 0; i + 1 < f.epochs.size(); ++i) {
    if (f.epochs[i].end_ms != 0) f.between_runs_ms += std::max<std::int64_t>(0, f.epochs[i + 1].start_ms - f.epochs[i].end_ms);
  }

  if (f.wall_ms > 0) {
    double wall = static_cast<double>(f.wall_ms);
    f.speedup = static_cast<double>(f.task_time_ms) / wall;
    f.parallel_efficiency = f.speedup / f.parallelism;
    f.cpu_efficiency = static_cast<double>(f.cpu_time_ms) / (f.parallelism * wall);
  }

  std::vector<std::int64_t> rss;
  for (auto& t : f.tasks) {
    if (t.peak_rss_kb > 0) rss.push_back(t.peak_rss_kb);
  }
  std::sort(rss.begin(), rss.end());
  f.rss_tasks = static_cast<std::int64_t>(rss.size());
  f.rss_median_kb = percentile(rss, 0.5);
  f.rss_p95_kb = percentile(rss, 0.95);
  f.rss_max_kb = rss.empty() ? 0 : rss.back();

  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < f.tasks.size(); ++i) {
    if (f.tasks[i].run_ms > 0) order.push_back(i);
  }
  std::size_t n = std::min(o.longest, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
                    [&f](std::size_t x, std::size_t y) { return f.tasks[x].run_ms > f.tasks[y].run_ms; });
  f.longest.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n));

  for (std::size_t i = 0; i < f.tasks.size(); ++i) {
    if (f.tasks[i].state != TaskState::Failed) continue;
    if (f.failures.size() < o.failures) {
      auto path = state_files::task_stderr(f.state_dir, f.tasks[i].id);
      std::error_code ec;
      // No file: the task wrote nothing to stderr (engine/task_logs.h).
      f.failures.push_back({i, std::filesystem::exists(path, ec) ? path.string() : "", tail_lines(path, o.tail_lines)});
    }
    ++f.failures_total;
  }
}

double rounded(double v) { return static_cast<double>(static_cast<std::int64_t>(v * 10000 + 0.5)) / 10000; }

}  // namespace

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()) + 0.999999);
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

std::vector<std::string> tail_lines(const std::filesystem::path& file, std::size_t lines) {
  std::vector<std::string> out;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  constexpr off_t kMax = 64 * 1024;
  off_t size = ::lseek(fd, 0, SEEK_END);
  off_t from = size > kMax ? size - kMax : 0;
  std::string text(static_cast<std::size_t>(size - from), '\0');
  ssize_t n = size > 0 ? ::pread(fd, text.data(), text.size(), from) : 0;
  if (!still_named(fd, file)) n = 0;  // the task ended having written nothing; the file is another's
  ::close(fd);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::size_t end = text.size();
  while (out.size() < lines && end > 0) {
    std::size_t nl = text.rfind('\n', end - 1);
    std::size_t begin = nl == std::string::npos ? 0 : nl + 1;
    // The first line of a cut window may be partial: drop it unless it is the file's start.
    if (nl == std::string::npos && from > 0) break;
    out.insert(out.begin(), text.substr(begin, end - begin));
    if (nl == std::string::npos) break;
    end = nl;
  }
  return out;
}

const char* trace_status(TaskState outcome) {
  switch (outcome) {
    case TaskState::Succeeded: return "COMPLETED";
    case TaskState::Failed: return "FAILED";
    case TaskState::Interrupted: return "ABORTED";
    case TaskState::Cancelled: return "CANCELLED";
    case TaskState::Running: return "RUNNING";
    default: return "-";
  }
}

Result<RunFacts> load_run_facts(const std::filesystem::path& state_dir, const std::string& job_ref,
                                const FactsOptions& options) {
  auto store = Store::open_read_only(state_files::store(state_dir));
  if (!store) return store.error();
  // One read transaction, so that every query sees the same moment of a job that runs.
  auto snapshot = (*store)->snapshot();
  JR_TRY(snapshot.begin_status());
  RunFacts f;
  std::error_code ec;
  f.state_dir = std::filesystem::absolute(state_dir, ec);
  f.now_ms = now_ms();
  auto job = find_job_ref(**store, job_ref, state_dir);
  if (!job) return job.error();
  f.job = std::move(*job);
  f.parallelism = std::max(1, f.job.spec.parallelism);
  auto counts = (*store)->count_states(f.job.id);
  if (!counts) return counts.error();
  f.counts = *counts;
  for (int s = 0; s < kTaskStateCount; ++s) {
    if (static_cast<TaskState>(s) != TaskState::Dropped) f.total += f.counts[static_cast<std::size_t>(s)];
  }
  auto gone = find_gone_engine(**store, f.state_dir);
  if (!gone) return gone.error();
  f.engine_gone = *gone;
  if (f.engine_gone) show_engine_gone(f.counts, *f.engine_gone);
  f.job_state = job_state(f.job, f.counts);
  JR_TRY(load_epochs(**store, f.epochs));
  bool open = f.counts[static_cast<std::size_t>(TaskState::Running)] + f.counts[static_cast<std::size_t>(TaskState::Pending)] > 0;
  f.running = open && engine_running(f.epochs);
  TaskPositions pos;
  JR_TRY(load_tasks(**store, f, pos));
  for (auto& t : f.tasks) {
    if (f.engine_gone && t.state == TaskState::Running) t.state = TaskState::Interrupted;
  }
  JR_TRY(load_attempts(**store, f, pos));
  JR_TRY(load_samples(**store, f));
  fill_submit_times(f);
  compute_figures(f, options);
  return f;
}

nlohmann::ordered_json stats_json(const RunFacts& f) {
  using json = nlohmann::ordered_json;
  json tasks{{"total", f.total}};
  for (int s = 0; s < kTaskStateCount; ++s) tasks[std::string(to_string(static_cast<TaskState>(s)))] = f.counts[static_cast<std::size_t>(s)];
  auto optional = [](const std::optional<int>& v) { return v ? json(*v) : json(); };
  json longest = json::array();
  for (auto i : f.longest) {
    const TaskFact& t = f.tasks[i];
    longest.push_back({{"index", t.index}, {"task_id", t.id}, {"command", t.command}, {"run_ms", t.run_ms},
                       {"attempts", t.attempts}, {"state", to_string(t.state)}});
  }
  json failures = json::array();
  for (auto& fail : f.failures) {
    const TaskFact& t = f.tasks[fail.task_pos];
    failures.push_back({{"index", t.index}, {"task_id", t.id}, {"command", t.command},
                        {"exit_code", optional(t.exit_code)}, {"signal", optional(t.signal)}, {"detail", t.detail},
                        {"attempts", t.attempts}, {"stderr", fail.stderr_path.empty() ? json() : json(fail.stderr_path)}, {"stderr_tail", fail.stderr_tail}});
  }
  return json{{"job", {{"id", f.job.id}, {"name", f.job.name}, {"state", f.job_state},
                       {"command", f.job.spec.command}, {"created_ms", f.job.created_ms}}},
              {"state_dir", f.state_dir.string()},
              {"running", f.running},
              {"engine_gone",
               engine_gone_json(f.engine_gone)},
              {"parallelism", f.parallelism},
              {"start_ms", f.start_ms},
              {"end_ms", f.end_ms},
              {"wall_ms", f.wall_ms},
              {"between_runs_ms", f.between_runs_ms},
              {"tasks", tasks},
              {"attempts", static_cast<std::int64_t>(f.attempts.size())},
              {"interruptions", f.interruptions},
              {"engine_runs", static_cast<std::int64_t>(f.epochs.size())},
              {"resumes", f.resumes},
              {"checkpoints", f.checkpoints},
              {"task_time_ms", f.task_time_ms},
              {"cpu_time_ms", f.cpu_time_ms},
              {"speedup", rounded(f.speedup)},
              {"parallel_efficiency", rounded(f.parallel_efficiency)},
              {"cpu_efficiency", rounded(f.cpu_efficiency)},
              {"peak_rss_kb", {{"median", f.rss_median_kb}, {"p95", f.rss_p95_kb}, {"max", f.rss_max_kb}, {"tasks", f.rss_tasks}}},
              {"longest", longest},
              {"failed", f.failures_total},
              {"failures", failures}};
}

}  // namespace jr
