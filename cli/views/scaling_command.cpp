#include "cli/views/scaling_command.h"

#include "base/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "base/duration.h"
#include "base/signals.h"
#include "cli/views/figure_format.h"
#include "job/job_input.h"
#include "engine/resources.h"
#include "cli/views/run_facts.h"
#include "cli/run/run_plan.h"
#include "job/template.h"

namespace jr {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr std::uint64_t kDefaultSample = 16;

int fail(const std::string& message, int code) {
  std::fprintf(stderr, "jr scaling: %s\n", message.c_str());
  return code;
}

double rounded(double v) { return std::round(v * 10000) / 10000; }

std::string seconds(std::int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(ms) / 1000);
  return buf;
}

std::string levels_text(const std::vector<int>& levels) {
  std::string out;
  for (int p : levels) out += (out.empty() ? "" : ", ") + std::to_string(p);
  return out;
}

// The line `jr run --tasks` gets for a task: its shell line as is when it already runs through
// /bin/sh -c (--shell, --tasks), else its argv quoted word by word.
std::string task_line(const std::vector<std::string>& argv) {
  if (argv.size() == 3 && argv[0] == "/bin/sh" && argv[1] == "-c") return argv[2];
  std::string line;
  for (auto& w : argv) line += (line.empty() ? "" : " ") + shell_quote(w);
  return line;
}

// A fresh directory under $TMPDIR (else /tmp), removed with everything in it when this goes.
class Scratch {
 public:
  static Result<Scratch> create() {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string name = (base / "jr-scaling-XXXXXX").string();
    if (::mkdtemp(name.data()) == nullptr) {
      return make_error(ErrorCode::Io, "cannot create a scratch directory in " + base.string() + ": " + std::strerror(errno));
    }
    return Scratch(name);
  }
  Scratch(Scratch&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  Scratch& operator=(Scratch&&) = delete;
  ~Scratch() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit Scratch(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

// Whether `path` can be written, checked before an hour of benchmarking rather than after it.
Status check_writable(const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (::access(dir.c_str(), W_OK) != 0) return make_error(ErrorCode::Io, "cannot write " + path + ": " + std::strerror(errno));
  return {};
}

// How one `jr run` of the sample ended.
struct LevelRun {
  int exit_code = 0;     // of jr run; 128 + signal when a signal killed it
  int interrupted = 0;   // a signal we received and passed on to it
  std::string log_tail;  // its last line of output, for an error
};

// The signals jr scaling passes on to its `jr run` (in a process group of its own, so that a
// Ctrl-C reaches it once, through us), and SIGCHLD, all blocked for sigwaitinfo.
sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&set, s);
  return set;
}

Result<LevelRun> run_level(const std::string& exe, const fs::path& dir, int jobs, const ScalingOptions& o,
                           const sigset_t& old_mask) {
  std::vector<std::string> args = {exe, "run", "--state", (dir / "state").string(), "-j", std::to_string(jobs),
                                   "--tasks", (dir / "tasks").string(), "--name", "scaling-j" + std::to_string(jobs)};
  if (!o.timeout.empty()) args.insert(args.end(), {"--timeout", o.timeout});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  fs::path log = dir / "run.log";
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) return make_error(ErrorCode::Io, "cannot create " + log.string() + ": " + std::strerror(errno));
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return make_error(ErrorCode::Io, std::string("cannot start jr run: ") + std::strerror(e));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(143);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    // /proc/self/exe: this very binary, even if a rebuild replaced the file since it started.
    ::execv("/proc/self/exe", argv.data());
    std::fprintf(stderr, "jr scaling: cannot run %s: %s\n", exe.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);

  LevelRun run;
  sigset_t set = watched_signals();
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return make_error(ErrorCode::Io, std::string("waitpid: ") + std::strerror(errno));
    siginfo_t info;
    int sig = ::sigwaitinfo(&set, &info);
    if (sig > 0 && sig != SIGCHLD) {
      ::kill(pid, sig);
      if (run.interrupted == 0) run.interrupted = sig;
    }
  }
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto tail = tail_lines(log, 1);
  if (!tail.empty()) run.log_tail = tail.back();
  return run;
}

// What the user reads when a task of the sample failed: which, how, and the end of its stderr.
std::string describe_failure(const RunFacts& f, int jobs) {
  std::string out = "at -j " + std::to_string(jobs) + ", " + std::to_string(f.failures_total) + " of " +
                    std::to_string(f.total) + " sampled tasks failed, so nothing was measured";
  if (f.failures.empty()) return out;
  const TaskFact& t = f.tasks[f.failures.front().task_pos];
  std::string how = t.signal ? "signal " + signal_name(*t.signal) : t.exit_code ? "exit " + std::to_string(*t.exit_code) : "?";
  out += "; the first (" + how + "): " + t.command;
  for (auto& line : f.failures.front().stderr_tail) out += "\n  | " + line;
  return out;
}

json level_json(const ScalingLevel& l, const AmdahlFit& fit) {
  return json{{"jobs", l.jobs},
              {"wall_ms", l.wall_ms},
              {"task_time_ms", l.task_time_ms},
              {"cpu_time_ms", l.cpu_time_ms},
              {"speedup", rounded(l.speedup)},
              {"efficiency", rounded(l.efficiency)},
              {"cpu_efficiency", rounded(l.cpu_efficiency)},
              {"amdahl_speedup", fit.ok ? json(rounded(fit.speedup(l.jobs))) : json()}};
}

json result_json(const ScalingResult& r, const std::string& html) {
  json levels = json::array();
  for (auto& l : r.levels) levels.push_back(level_json(l, r.fit));
  auto opt = [](const std::optional<double>& v) { return v ? json(rounded(*v)) : json(); };
  json amdahl;
  if (r.fit.ok) {
    amdahl = json{{"serial_fraction", rounded(r.fit.serial_fraction)},
                  {"serial_fraction_error", opt(r.fit.error)},
                  {"t1_ms", std::llround(r.fit.t1_ms)},
                  {"max_speedup", opt(r.fit.max_speedup())}};
  }
  return json{{"command", r.command},
              {"tasks", r.tasks},
              {"sample", {{"size", r.sample.size()}, {"seed", r.seed}, {"indices", r.sample}}},
              {"levels", levels},
              {"amdahl", amdahl},
              {"knee", {{"jobs", r.knee.jobs},
                        {"threshold", kKneeEfficiency},
                        {"next_jobs", r.knee.next_jobs ? json(*r.knee.next_jobs) : json()},
                        {"next_efficiency", opt(r.knee.next_efficiency)}}},
              {"html", html}};
}

std::string fit_line(const AmdahlFit& fit) {
  if (!fit.ok) return "Amdahl's law: no fit (the wall times do not fall with -j)";
  char buf[160];
  std::string out = "Amdahl's law: serial fraction ";
  if (fit.error) std::snprintf(buf, sizeof buf, "%.4f ± %.4f", fit.serial_fraction, *fit.error);
  else std::snprintf(buf, sizeof buf, "%.4f (2 levels: no error estimate)", fit.serial_fraction);
  out += buf;
  out += ", T1 " + seconds(std::llround(fit.t1_ms));
  if (auto m = fit.max_speedup()) {
    std::snprintf(buf, sizeof buf, "; no -j gives more than %.1fx", *m);
    out += buf;
  }
  return out;
}

void print_text(const ScalingResult& r) {
  std::printf("jr scaling: %zu of %llu tasks (seed %llu): %s\n", r.sample.size(), static_cast<unsigned long long>(r.tasks),
              static_cast<unsigned long long>(r.seed), r.command.c_str());
  std::printf("%6s %10s %8s %11s %9s %7s\n", "-j", "wall", "speedup", "efficiency", "CPU eff.", "Amdahl");
  for (auto& l : r.levels) {
    std::string amdahl = "-";
    if (r.fit.ok) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2f", r.fit.speedup(l.jobs));
      amdahl = buf;
    }
    std::printf("%6d %10s %8.2f %11s %9s %7s\n", l.jobs, seconds(l.wall_ms).c_str(), l.speedup,
                percent(l.efficiency).c_str(), percent(l.cpu_efficiency).c_str(), amdahl.c_str());
  }
  std::printf("%s\n", fit_line(r.fit).c_str());
  std::printf("knee: %s\n", describe_knee(r.knee).c_str());
}

}  // namespace

int scaling_command(const ScalingOptions& o) {
  // Everything the user can get wrong is checked before anything runs.
  std::vector<int> levels;
  if (o.levels.empty()) {
    levels = default_levels(usable_cpus());
  } else {
    auto parsed = parse_levels(o.levels);
    if (!parsed) return fail(parsed.error().message, kExitUsage);
    levels = std::move(*parsed);
  }
  if (levels.front() != 1) {
    levels.insert(levels.begin(), 1);
    std::fprintf(stderr, "jr scaling: adding -j 1, the baseline of the speedup\n");
  }
  if (levels.size() < 2) return fail("-j 1 alone measures no scaling: give more levels, e.g. -j 1,2,4", kExitUsage);
  if (o.sample == 0 || o.sample < -1) return fail("--sample must be at least 1", kExitUsage);
  RunOptions ro;
  ro.words = o.words;
  ro.shell = o.shell;
  ro.tasks_file = o.tasks_file;
  ro.timeout = o.timeout;
  if (ro.words.empty() && ro.tasks_file.empty()) return fail("no command: give -- CMD ARGS… ::: … or --tasks FILE", kExitUsage);
  auto plan = make_run_plan(ro, 1);
  if (!plan) return fail(plan.error().message, kExitUsage);
  if (plan->count == 0) return fail("the sample is empty: the job has no tasks", kExitUsage);
  std::uint64_t n = o.sample < 0 ? std::min(plan->count, kDefaultSample)
                                  : std::min(plan->count, static_cast<std::uint64_t>(o.sample));
  ScalingResult result;
  result.tasks = plan->count;
  result.seed = o.seed;
  result.sample = sample_indices(plan->count, n, o.seed);
  if (result.sample.empty()) return fail("the sample is empty", kExitUsage);
  if (!o.tasks_file.empty()) {
    result.command = "--tasks " + o.tasks_file;
  } else {
    // Quoted where a shell would need it, braces and ::: left as typed.
    for (auto& w : o.words) {
      bool plain = !w.empty() && w.find_first_of(" \t\n'\"\\$`;&|<>()*?[]#~=!") == std::string::npos;
      result.command += (result.command.empty() ? "" : " ") + (plain ? w : shell_quote(w));
    }
  }
  std::string tasks_text;
  std::set<std::string> lines;
  for (auto i : result.sample) {
    std::string line = task_line(plan->task_at(i).argv);
    if (line.find_first_of("\n\r") != std::string::npos) {
      return fail("task " + std::to_string(i) + "'s command holds a line break; jr scaling hands each task to "
                  "jr run as one line", kExitUsage);
    }
    // jr run folds identical commands into one task; a benchmark runs each one it was given.
    if (!lines.insert(line).second) line = ": " + std::to_string(i) + "; " + line;
    lines.insert(line);
    tasks_text += line + "\n";
  }
  if (o.output.empty()) return fail("-o needs a file name", kExitUsage);
  if (auto st = check_writable(o.output); !st) return fail(st.error().message, kExitFailed);
  char exe_buf[4096];
  ssize_t len = ::readlink("/proc/self/exe", exe_buf, sizeof exe_buf - 1);
  std::string exe = len > 0 ? std::string(exe_buf, static_cast<std::size_t>(len)) : "jr";  // argv[0] only

  std::fprintf(stderr, "jr scaling: running %zu of %llu tasks at -j %s\n", result.sample.size(),
               static_cast<unsigned long long>(plan->count), levels_text(levels).c_str());
  if (levels.back() > static_cast<int>(result.sample.size())) {
    std::fprintf(stderr, "jr scaling: note: the sample has %zu tasks, so no level runs more than %zu at once\n",
                 result.sample.size(), result.sample.size());
  }

  // Signals wait in the mask while the runs go (and stay there on every early return, the process
  // ending right after it), so that the scratch directories are always removed.
  sigset_t set = watched_signals(), old_mask;
  ::sigprocmask(SIG_BLOCK, &set, &old_mask);
  for (int jobs : levels) {
    sigset_t stops;
    sigemptyset(&stops);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stops, s);
    timespec zero{};
    if (int sig = ::sigtimedwait(&stops, nullptr, &zero); sig > 0) {
      std::fprintf(stderr, "jr scaling: interrupted by %s before -j %d; nothing written\n", signal_name(sig).c_str(), jobs);
      return 128 + sig;
    }
    auto scratch = Scratch::create();
    if (!scratch) return fail(scratch.error().message, kExitFailed);
    if (auto st = write_file_atomically((scratch->path() / "tasks").string(), tasks_text); !st) {
      return fail(st.error().message, kExitFailed);
    }
    auto run = run_level(exe, scratch->path(), jobs, o, old_mask);
    if (!run) return fail(run.error().message, kExitFailed);
    if (run->interrupted) {
      std::fprintf(stderr, "jr scaling: interrupted by %s at -j %d; nothing written\n",
                   signal_name(run->interrupted).c_str(), jobs);
      int code = run->exit_code == 130 || run->exit_code == 143 ? run->exit_code : 128 + run->interrupted;
      return code;
    }
    if (run->exit_code != 0 && run->exit_code != kExitFailed) {
      return fail("jr run -j " + std::to_string(jobs) + " failed (exit " + std::to_string(run->exit_code) + ")" +
                      (run->log_tail.empty() ? "" : ": " + run->log_tail),
                  kExitFailed);
    }
    FactsOptions fo;
    fo.longest = 0;
    fo.failures = 1;
    auto facts = load_run_facts(scratch->path() / "state", "", fo);
    if (!facts) return fail(facts.error().message, kExitFailed);
    if (facts->failures_total > 0) return fail(describe_failure(*facts, jobs), kExitFailed);
    auto succeeded = facts->counts[static_cast<std::size_t>(TaskState::Succeeded)];
    if (run->exit_code != 0 || succeeded != static_cast<std::int64_t>(result.sample.size())) {
      return fail("jr run -j " + std::to_string(jobs) + " ended (exit " + std::to_string(run->exit_code) + ") with " +
                      std::to_string(succeeded) + " of " + std::to_string(result.sample.size()) + " tasks succeeded" +
                      (run->log_tail.empty() ? "" : ": " + run->log_tail),
                  kExitFailed);
    }
    ScalingLevel level;
    level.jobs = jobs;
    level.wall_ms = facts->wall_ms;
    level.task_time_ms = facts->task_time_ms;
    level.cpu_time_ms = facts->cpu_time_ms;
    result.levels.push_back(level);
    std::fprintf(stderr, "jr scaling: -j %d: wall %s\n", jobs, seconds(level.wall_ms).c_str());
  }
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);

  fill_ratios(result.levels);
  result.fit = fit_amdahl(result.levels);
  result.knee = find_knee(result.levels);
  result.written_ms = now_ms();
  if (auto st = write_file_atomically(o.output, scaling_html(result)); !st) return fail(st.error().message, kExitFailed);
  if (o.json) {
    std::printf("%s\n", result_json(result, o.output).dump(2, ' ', false, json::error_handler_t::replace).c_str());
  } else {
    print_text(result);
  }
  std::fprintf(stderr, "jr scaling: wrote %s\n", o.output.c_str());
  return 0;
}

}  // namespace jr
