#include "engine/engine.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "engine/outputs.h"
#include "engine/proc.h"
#include "jr/board.hpp"
#include "engine/spawn.h"
#include "engine/timeout_detail.h"
#include "job/template.h"
#include "storage/engine_runs.h"
#include "storage/state_dir.h"
#include "storage/state_files.h"

extern char** environ;

namespace jr {
namespace {

// A spawned task's pid is committed with the first turn's transitions this long after its
// start, unless it has ended by then (most short tasks): until then, recovery finds the task by
// its JR_RUN token.
constexpr std::int64_t kPidFlushDelayMs = 20;
// How long a task's death by SIGTERM, SIGINT or SIGKILL that jr did not send waits for jr's own
// shutdown signal before it counts as a failure.
constexpr std::int64_t kHoldKilledExitMs = 500;

}  // namespace

Engine::Engine(Store& store, EventLoop& loop, EngineOptions options, Containment containment)
    : store_(store),
      loop_(loop),
      opt_(std::move(options)),
      containment_(std::move(containment)),
      supervisor_(containment_, loop_, opt_.grace, KeeperPlace{opt_.adopt, opt_.state_dir, store_.state_id()}),
      pool_(opt_.capacity, opt_.pin),
      scheduler_(opt_.workers, pool_),
      logs_(state_files::logs(opt_.state_dir)),
      work_dirs_(state_files::work(opt_.state_dir), std::max(1, opt_.workers)) {
  // jr's own variables are set per task; systemd's hand-over variables name this process's
  // notification socket and descriptors, never a task's.
  for (char** e = environ; e && *e; ++e) {
    bool own = std::strncmp(*e, "JR_", 3) == 0 || std::strncmp(*e, "NOTIFY_SOCKET=", 14) == 0 ||
               std::strncmp(*e, "LISTEN_", 7) == 0;
    if (!own) base_env_.emplace_back(*e);
  }
  // Tasks find the jr that runs them (jr progress, jr checkpoint save) without relying on PATH:
  // this binary when it is jr, else the jr beside it (jrd).
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto jr = self.filename() == "jr" ? self : self.parent_path() / "jr";
    if (std::filesystem::exists(jr, ec)) jr_bin_ = jr.string();
  }
  loop_.on_signal([this](const signalfd_siginfo& info) { on_signal(info); });
}

Engine::~Engine() { loop_.on_signal(nullptr); }

Status Engine::open_board() {
  if (opt_.board_path.empty()) return {};
  std::string err;
  auto b = board::Board::create(opt_.board_path, static_cast<std::uint32_t>(scheduler_.slots()),
                                static_cast<std::uint32_t>(::getpid()), &err);
  if (!b) return make_error(ErrorCode::Io, err);
  board_ = std::make_unique<board::Board>(std::move(*b));
  return {};
}

JobRun* Engine::job_run(JobId id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

const JobSpec& Engine::job_spec(JobId id) const {
  static const JobSpec kDefaults;
  auto it = jobs_.find(id);
  return it == jobs_.end() ? kDefaults : it->second.row.spec;
}

Status Engine::add_job(JobId id, bool hook_ran) {
  auto row = store_.job(id);
  if (!row) return row.error();
  if (!*row) return make_error(ErrorCode::NotFound, "no job " + std::to_string(id));
  auto counts = store_.count_states(id);
  if (!counts) return counts.error();
  JobRun run;
  run.row = std::move(**row);
  run.counts = *counts;
  jobs_[id] = std::move(run);
  JobRun& job = jobs_[id];
  adopt_attempts(job);
  job.ended = hook_ran && job_has_ended(job);
  return make_private_dir(state_files::logs(opt_.state_dir));
}

StateCounts Engine::counts(JobId id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? StateCounts{} : it->second.counts;
}

bool Engine::idle() const {
  if (leaving_ && !shutting_down()) {
    return starting_.empty() && supervisor_.spawns_pending() == 0 && unwritten_ends_.empty() && unrecorded_pids_.empty();
  }
  if (!supervisor_.running().empty()) return false;
  if (!unwritten_ends_.empty() && !shutting_down()) return false;
  if (shutting_down()) return true;
  if (supervisor_.hooks_running()) return false;
  if (scheduler_.halted()) return true;
  for (auto& [id, job] : jobs_) {
    if (job.counts[static_cast<int>(TaskState::Pending)] > 0) return false;
  }
  return true;
}

void Engine::on_signal(const signalfd_siginfo& info) {
  if (info.ssi_signo == SIGCHLD) {
    supervisor_.reap();
  } else if (info.ssi_signo == SIGTERM && opt_.sigterm_leaves_tasks && !shutting_down()) {
    leave();
  } else {
    shutdown(static_cast<int>(info.ssi_signo));
  }
}

void Engine::leave() {
  if (!opt_.adopt) return shutdown(SIGTERM);
  leaving_ = true;
  scheduler_.halt();
  containment_.spare_group();
  wake_now_ = true;
}

void Engine::shutdown(int sig) {
  // A second Ctrl-C means "now": kill at once. Any other repeat is the same request again
  // (Slurm signals every process of a step, and a caller that dies of the signal may pass it
  // on): the tasks keep their grace period to save a checkpoint.
  bool now = shutdown_signal_ == SIGINT && sig == SIGINT;
  if (shutdown_signal_ != 0 && !now) return;
  if (shutdown_signal_ == 0) shutdown_signal_ = sig;
  std::int64_t deadline = monotonic_ms() + opt_.grace.count();
  // An attempt placed but not spawned yet is left as it is.
  for (auto& [task, a] : supervisor_.running()) {
    if (now) supervisor_.kill_now(*a);
    else supervisor_.stop(*a, sig, deadline);
  }
  wake_now_ = true;
}

void Engine::halt(bool stop_running) {
  scheduler_.halt();
  if (stop_running) {
    std::int64_t deadline = monotonic_ms() + opt_.grace.count();
    for (auto& [task, a] : supervisor_.running()) {
      if (a->kill_at != 0 || a->halted) continue;
      a->halted = true;
      supervisor_.stop(*a, SIGTERM, deadline);
    }
    // Not signalled, having no process yet: its failure is recorded as interrupted.
    for (auto& a : starting_) a->halted = true;
  }
  wake_now_ = true;
}

bool Engine::killed_from_outside(const Attempt& a, const Exit& exit) const {
  if (a.timed_out || a.cancelled || a.kill_at != 0) return false;
  auto killing = [](int sig) { return sig == SIGTERM || sig == SIGINT || sig == SIGKILL || sig == SIGHUP; };
  // A shell that runs the task reports its child's death as 128 + signal.
  return killing(exit.signal) || (exit.signal == 0 && exit.exit_code > 128 && killing(exit.exit_code - 128));
}

void Engine::finish(Attempt& a, Exit exit) {
  std::int64_t now = now_ms();
  TaskState to;
  std::int64_t retry_at = 0;
  read_progress(a, &exit);
  // The child starts as a vfork of the engine, and the kernel carries the engine's
  // peak RSS into the child's at exec: a figure no larger than the engine's own says nothing
  // about the task. The engine's peak only grows, so compare with it now; below it, use what
  // the sampler saw instead (0 for a task shorter than a sample).
  // (The engine's peak is asked of the kernel only when the figure exceeds the last one seen.)
  if (exit.maxrss_kb > engine_peak_rss_kb_) {
    rusage self{};
    if (getrusage(RUSAGE_SELF, &self) == 0) engine_peak_rss_kb_ = self.ru_maxrss;
  }
  if (exit.maxrss_kb <= engine_peak_rss_kb_) exit.maxrss_kb = a.peak_sampled_kb;
  if (!a.spec.outputs.empty()) {
    if (exit.succeeded() && !a.cancelled) commit_outputs(a.spec, a.adopted, &exit);
    else discard_partial_outputs(a.spec);
  }
  if (a.timed_out && exit.detail.empty()) {
    Millis limit = a.stalled ? Millis(job_spec(a.job).stall_timeout_ms) : Millis(a.spec.timeout_ms);
    exit.detail = timeout_detail(limit, a.stalled, opt_.grace, exit);
  }
  if (a.cancelled) {
    exit.detail = "cancelled";
    to = TaskState::Cancelled;
  } else if ((shutting_down() || a.halted) && !exit.succeeded() && !a.timed_out) {
    exit.detail = "shutdown";
    to = TaskState::Interrupted;
  } else {
    int shift = std::min(a.failures, 18);
    retry_at = now + std::min<std::int64_t>(opt_.retry_delay.count() << shift, 30'000);
    // An end nobody saw is shown as such, never retried behind the user's back.
    to = exit.unknown ? TaskState::Failed : end_state(exit, a.failures, a.spec.retries);
  }
  unwritten_ends_.push_back(UnwrittenEnd{a.task, to, exit, exit.unknown ? 0 : a.spec.retries, now, retry_at});
  // An ended task has no process left to record.
  std::erase_if(unrecorded_pids_, [task = a.task](const UnrecordedPid& p) { return p.task == task; });
  scheduler_.release(a.slot, job_run(a.job), to);
  ended_logs_.push_back(a.task);  // released once the next tasks have started: see process()
  pool_.give_back(a.alloc);
  if (on_task_end) {
    on_task_end(TaskEnd{a.job, a.task, a.index, a.attempt, to, exit, a.start_ms, now, &a.spec.argv});
  }
}

Status Engine::fill_slots() {
  if (shutting_down() || halted()) return {};
  check_deadline();
  if (shutting_down()) return {};
  std::int64_t now = now_ms();
  JR_TRY(settle_dependencies());
  return scheduler_.fill(jobs_, now, *this, [this, now](JobRun& job, RunnableTask t, int slot) -> Status {
    auto attempt = store_.start_task(t.id, slot, now);
    if (!attempt) return attempt.error();
    if (board_) board_->reset_slot(static_cast<std::uint32_t>(slot - 1), static_cast<std::uint64_t>(t.id),
                                   static_cast<std::uint32_t>(*attempt));
    auto a = std::make_unique<Attempt>();
    a->task = t.id;
    a->job = job.row.id;
    a->index = t.index;
    a->attempt = *attempt;
    a->slot = slot;
    a->failures = t.failures;
    a->alloc = pool_.take(t.spec);
    a->spec = std::move(t.spec);
    a->start_ms = now;
    starting_.push_back(std::move(a));
    return {};
  });
}

Result<std::vector<RunnableTask>> Engine::runnable(JobId job, int limit, std::int64_t now) {
  return store_.runnable(job, limit, now);
}

Result<std::optional<std::int64_t>> Engine::next_backoff(JobId job) { return store_.next_backoff(job); }

std::vector<std::string> Engine::environment(const Attempt& a) const {
  std::vector<std::string> env;
  env.reserve(base_env_.size() + 12 + a.spec.env.size());
  env = base_env_;
  auto add = [&env](const char* name, const std::string& value) {
    env.push_back(std::string(name) + "=" + value);
  };
  add("JR_JOB_ID", std::to_string(a.job));
  add("JR_TASK_ID", std::to_string(a.task));
  add("JR_TASK_INDEX", std::to_string(a.index));
  add("JR_ATTEMPT", std::to_string(a.attempt));
  add("JR_SLOT", std::to_string(a.slot));
  add("JR_STATE_DIR", opt_.state_dir.string());
  if (!jr_bin_.empty()) add("JR_BIN", jr_bin_);
  add("JR_RUN", run_token(store_.state_id(), a.task, a.attempt));
  add("JR_CHECKPOINT_DIR", work_dirs_.path(a.slot));
  if (!opt_.socket_path.empty()) add("JR_SOCKET", opt_.socket_path);
  if (board_) add("JR_BOARD", opt_.board_path);
  int cpus = std::max(1, a.alloc.cores);
  add("JR_CPUS", std::to_string(cpus));
  // Thread pools sized to the task's cores, not the node's: no oversubscription. A value the
  // user set wins.
  for (const char* var : {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"}) {
    std::string prefix = std::string(var) + "=";
    bool user_set = std::any_of(base_env_.begin(), base_env_.end(), [&](const std::string& e) { return e.rfind(prefix, 0) == 0; }) ||
                    std::any_of(a.spec.env.begin(), a.spec.env.end(), [&](const auto& kv) { return kv.first == var; });
    if (!user_set) add(var, std::to_string(cpus));
  }
  std::string gpus;
  for (auto& g : a.alloc.gpu_ids) gpus += (gpus.empty() ? "" : ",") + g;
  env.erase(std::remove_if(env.begin(), env.end(), [](const std::string& e) { return e.rfind("CUDA_VISIBLE_DEVICES=", 0) == 0; }), env.end());
  add("CUDA_VISIBLE_DEVICES", gpus);
  for (auto& [k, v] : a.spec.env) env.push_back(k + "=" + v);
  return env;
}

Status Engine::spawn(Attempt& a) {
  JR_TRY(prepare_checkpoint_dir(a));
  discard_partial_outputs(a.spec);
  SpawnRequest req;
  const JobRun* job = job_run(a.job);
  req.argv = job && job->row.spec.uses_slot ? with_slot(a.spec.argv, a.slot) : a.spec.argv;
  req.env = environment(a);
  req.cwd = a.spec.cwd;
  logs_.prepare(a.task);
  req.stdout_path = logs_.stdout_path(a.task).string();
  req.stderr_path = logs_.stderr_path(a.task).string();
  req.cpu_ids = a.alloc.cpu_ids;
  return supervisor_.spawn(a, std::move(req));
}

std::int64_t Engine::next_deadline() const {
  if (wake_now_ || supervisor_.has_reaped()) return 0;
  std::int64_t next = -1;
  auto consider = [&next](std::int64_t t) {
    if (t > 0 && (next < 0 || t < next)) next = t;
  };
  const auto& running = supervisor_.running();
  consider(supervisor_.next_timer());
  // While the store cannot be written, nothing is written or started before the next retry.
  if (store_failure_) consider(store_retry_at_);
  else if (!unrecorded_pids_.empty()) consider(flush_pids_at_);
  for (auto& r : held_) consider(r.held_until);
  if (!running.empty() && opt_.sample_every.count() > 0) consider(next_sample_at_);
  if (!running.empty()) consider(next_seen_at_);
  if (!running.empty() && tick_) consider(next_tick_at_);
  if (opt_.deadline_ms && !shutting_down()) {
    consider(monotonic_ms() + std::max<std::int64_t>(1, opt_.deadline_ms - opt_.grace.count() - now_ms()));
  }
  // Backoff is kept in wall-clock time in the store; convert to the monotonic clock.
  if (std::int64_t backoff_until = scheduler_.backoff_until(); backoff_until && !store_failure_) {
    consider(monotonic_ms() + std::max<std::int64_t>(1, backoff_until - now_ms()));
  }
  return next;
}

void Engine::set_ticker(Millis every, std::function<void()> tick) {
  tick_every_ = every;
  tick_ = std::move(tick);
}

Status Engine::turn() {
  JR_TRY(loop_.wait_once(next_deadline()));
  wake_now_ = false;
  JR_TRY(process());
  if (tick_ && monotonic_ms() >= next_tick_at_) {
    next_tick_at_ = monotonic_ms() + tick_every_.count();
    tick_();
  }
  return {};
}

// One turn: the ends since the last turn, one commit of them and of the tasks placed now,
// then the starts of those tasks. What is not on the path from an exit to the next start
// (the logs, the job ends, the WAL merge) comes after it.
Status Engine::process() {
  supervisor_.check_timers();
  check_deadline();
  take_ends();
  // The ends above are written, and the next tasks placed, in one commit (or, while the store
  // cannot be written, kept for the next retry: then nothing starts).
  if (store_write_due()) {
    JR_TRY(write(true));
  } else if (opt_.sample_every.count() > 0 && monotonic_ms() >= next_sample_at_) {
    JR_TRY(sample(false));
  }
  JR_TRY(start_placed());
  for (auto& p : unrecorded_pids_) flush_pids_at_ = flush_pids_at_ ? std::min(flush_pids_at_, p.due) : p.due;
  supervisor_.flush();
  settle_logs();
  notice_job_ends();
  // Last, once every reply of this turn has gone out (a checkpoint save's above all).
  store_.merge_wal_if_due();
  if (on_turn_end && !store_failure_) on_turn_end();
  return {};
}

void Engine::take_ends() {
  std::int64_t mono = monotonic_ms();
  std::vector<Reaped> reaped = supervisor_.take_reaped();
  // Before the ends below, which drop the pid of a task that has ended already.
  for (const auto& s : supervisor_.take_started()) {
    unrecorded_pids_.push_back({s.task, s.pid, s.proc_start, mono + kPidFlushDelayMs});
  }
  for (auto it = held_.begin(); it != held_.end();) {
    if (shutting_down() || mono >= it->held_until) {
      reaped.push_back(*it);
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
  auto& running = supervisor_.running();
  for (auto& r : reaped) {
    auto it = running.find(r.task);
    if (it == running.end() || it->second->attempt != r.attempt) continue;
    if (r.held_until == 0 && !shutting_down() && killed_from_outside(*it->second, r.exit)) {
      r.held_until = mono + kHoldKilledExitMs;
      held_.push_back(r);
      continue;
    }
    finish(*it->second, r.exit);
    supervisor_.forget(it);
  }
  std::vector<pid_t> held;
  for (auto& r : held_) held.push_back(r.pid);
  supervisor_.kill_orphans_if_any(held);
}

Status Engine::start_placed() {
  // The rows of the placed attempts are committed as running: now, and only now, start them.
  std::vector<std::unique_ptr<Attempt>> placed = std::move(starting_);
  starting_.clear();
  bool could_not_start = false;
  for (auto& a : placed) {
    if (on_task_start) on_task_start(TaskStart{a->job, a->task, a->index, a->attempt});
    auto st = spawn(*a);
    if (st) {
      // A keeper's spawn reports its pid later (take_started above, a later turn).
      if (a->pid > 0) unrecorded_pids_.push_back({a->task, a->pid, a->proc_start, monotonic_ms() + kPidFlushDelayMs});
      supervisor_.watch(std::move(a));
      continue;
    }
    Exit failed;
    failed.exit_code = 127;
    failed.detail = st.error().message;
    a->pid = 0;
    finish(*a, failed);
    could_not_start = true;
  }
  // Recorded before on_turn_end prints the task's output, as every other end.
  if (could_not_start) {
    JR_TRY(write(false));
    wake_now_ = true;
  }
  return {};
}

void Engine::settle_logs() {
  // Off the path from one task's exit to the next one's start: nothing waits on this.
  for (TaskId task : ended_logs_) logs_.release(task);
  ended_logs_.clear();
  // The next task of each job gets its log files now, while nothing waits; logs prepared for a
  // task that is no longer next (its job was cancelled) go back.
  std::vector<TaskId> next;
  for (auto& [id, job] : jobs_) {
    if (!job.queue.empty()) next.push_back(job.queue.front().id);
  }
  const auto& running = supervisor_.running();
  for (TaskId task : logs_.lent()) {
    bool runs = running.count(task) > 0;
    if (!runs && std::find(next.begin(), next.end(), task) == next.end()) logs_.release(task);
  }
  for (TaskId task : next) logs_.prepare(task);
}

Status Engine::run() {
  JR_TRY(process());
  while (!idle()) JR_TRY(turn());
  return {};
}

}  // namespace jr
