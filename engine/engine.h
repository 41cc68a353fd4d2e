// Engine: runs the tasks of one or more jobs from a Store, durably.
//
// The scheduler and worker supervisor of docs/DESIGN.md, used in-process by `jr run` and by
// jrd. One thread drives it through its EventLoop. Every transition is committed before the
// engine acts on it: a task's row says running (attempt + 1) before it is spawned, and a
// finished task's row is committed before its slot is given to the next task. Transitions
// seen in one turn of the loop share one commit (group commit). Tasks are read from the store
// a batch at a time, so a job's size does not bound memory.
//
// A store that cannot be written (a full disk, an I/O error: engine/store_writes.cpp) stops
// the engine from starting tasks, never from watching them: the ends it sees are kept in
// memory and written, with everything else the failed commit held, by a retry on a timer
// (1 s, doubling up to 8 s) or by the next request that needs the store. Only a stop
// (shutdown) gives up on them, after one last attempt: those tasks run again next time.
//
// REQUIRES: the caller holds the state directory's EngineLock, and calls recover() before
// add_job(), so that no leftover of a dead engine runs beside a new attempt.
#pragma once

#include <signal.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/duration.h"
#include "base/result.h"
#include "engine/containment.h"
#include "engine/event_loop.h"
#include "engine/resources.h"
#include "engine/scheduler.h"
#include "engine/state_place.h"
#include "engine/supervisor.h"
#include "engine/task_logs.h"
#include "engine/work_dirs.h"
#include "storage/checkpoints.h"
#include "storage/store.h"

namespace jr {
namespace board {
class Board;
}

struct EngineOptions {
  std::filesystem::path state_dir;  // absolute; holds logs/
  int workers = 1;                  // tasks at once, over all jobs
  Millis grace{10'000};             // SIGTERM (or the signal received) to SIGKILL
  Millis retry_delay{100};          // first retry's backoff; doubles per failure, up to 30 s
  std::string socket_path;          // JR_SOCKET: where tasks reach this engine
  std::string board_path;           // JR_BOARD: the progress board; empty: none
  Millis sample_every{1000};        // CPU and memory of running tasks, and stall checks; 0: off
  std::int64_t deadline_ms = 0;     // wall clock; 0: none. Stop --grace before it (walltime)
  NodeCapacity capacity = detect_capacity();
  bool pin = false;                 // give each task CPUs no other running task has
  // Tasks are started and reaped by a keeper that outlives the engine, and adopted by the next
  // one (engine/keeper.h); false (--no-adopt): by the engine, and a dead engine's are killed.
  bool adopt = true;
  // SIGTERM leaves the running tasks to the keeper instead of stopping them (jrd: a restart,
  // `systemctl restart jrd`, must not touch them). Only with `adopt`.
  bool sigterm_leaves_tasks = false;
  // What each job asks for itself (checkpoint and result limits, stall detection, --expect,
  // --output) is in its JobSpec, not here: jr run and jrd apply it per job the same way.
};

// An attempt about to start, its row committed as running: reported before the spawn, so
// that its log files hold nothing of this attempt yet (the printing of task output).
struct TaskStart {
  JobId job = 0;
  TaskId task = 0;
  std::int64_t index = 0;
  int attempt = 0;
};

// One finished attempt, as reported to the engine's owner (progress line, joblog).
struct TaskEnd {
  JobId job = 0;
  TaskId task = 0;
  std::int64_t index = 0;
  int attempt = 0;
  TaskState state = TaskState::Failed;  // what the task went to
  Exit exit;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  const std::vector<std::string>* argv = nullptr;
};

// The Engine asks its Scheduler (engine/scheduler.h) which task starts next and where, and is
// the scheduler's Source: the store's pending tasks and the deadline's verdict. Its Supervisor
// (engine/supervisor.h) spawns, reaps, signals and kills the attempts' processes.
class Engine : private Scheduler::Source {
 public:
  // `containment` is how every task's processes are kept together (engine/containment.h).
  Engine(Store& store, EventLoop& loop, EngineOptions options, Containment containment);
  // Creates the progress board when options name one; Io error when it cannot.
  Status open_board();
  ~Engine() override;

  // Adopts what a dead engine left running under a keeper that still lives (or watches it,
  // when its keeper was killed too; engine/keeper.h); kills the rest (when `place` says it
  // can be this store's own) and marks those tasks interrupted; records `here` as this
  // engine's place. The adopted attempts join their jobs in add_job.
  Status recover(const PlaceCheck& place, const StatePlace& here);
  const Containment& containment() const { return containment_; }
  // What the engine's tasks are kept by: "keeper (pid N)", or "none (…)" with --no-adopt.
  std::string keeping() const { return supervisor_.describe_keeping(); }
  // Starts scheduling a job's tasks, with the attempts of it that recovery adopted. When the job ends (nothing pending, interrupted or
  // running: at once for a job that has nothing to run, or after halt()), its --on-finish runs,
  // unless `hook_ran`: a job an earlier engine saw end (jrd's restart) does not run it again.
  Status add_job(JobId job, bool hook_ran = false);

  // Drives the loop until every added job has finished, or a shutdown has completed.
  Status run();
  // One turn: wait for events until the next deadline, then act on them. For owners that
  // run their own loop around the engine (jrd).
  Status turn();

  // Stops starting tasks, sends `sig` to every running task's process group, SIGKILLs what
  // remains after the grace period; a second SIGINT kills at once, other repeats change nothing.
  void shutdown(int sig);
  bool shutting_down() const { return shutdown_signal_ != 0; }
  // Stops starting tasks and lets the running ones be: their keeper outlives this engine and
  // the next one adopts them. idle() once what started is recorded. Only when tasks are kept
  // by a keeper (EngineOptions::adopt); without, it is shutdown(SIGTERM).
  void leave();
  bool leaving() const { return leaving_; }
  // True when the run stopped because of --deadline (a shutdown with SIGTERM's exit code).
  bool stopped_for_deadline() const { return stopped_for_deadline_; }
  int shutdown_signal() const { return shutdown_signal_; }
  // Stops starting tasks (`jr run --halt`); with `stop_running`, also sends SIGTERM to every
  // running task's process group (SIGKILL after the grace period) and records those tasks as
  // interrupted, for a later run to resume. Tasks that end on their own are recorded as usual.
  void halt(bool stop_running);
  bool halted() const { return scheduler_.halted(); }
  // True when nothing runs and no added job has work left (or a shutdown has completed), and
  // the store holds every end the engine saw (unless it is shutting down). A running
  // --on-finish hook keeps the engine busy, except in a shutdown, which leaves it be.
  bool idle() const;

  StateCounts counts(JobId job) const;
  // Usage error when a task asks for more than this node has at all (so it could never start).
  Status check_fits(const TaskSpec& spec) const { return pool_.check_fits(spec); }
  // Hooks for the engine's owner, called on the engine's thread. on_task_end comes once per
  // end, before the commit that records it (a later turn's, while the store cannot be
  // written) and before the turn starts anything; on_turn_end after a turn whose writes are
  // all committed.
  std::function<void(const TaskStart&)> on_task_start;
  std::function<void(const TaskEnd&)> on_task_end;
  // Called at least every `every` while tasks run, between turns (jr run's live line).
  void set_ticker(Millis every, std::function<void()> tick);
  std::function<void()> on_turn_end;
  // A job's --on-finish hook has ended (or could not start): ok, or why it failed. The job's
  // state is not changed by it.
  std::function<void(JobId, const Status&)> on_finish_end;

  // ---- a store that cannot be written (engine/store_writes.cpp)
  // Why the store cannot be written now ("/path/jr.db: database or disk is full"); nullptr
  // while it can.
  const Error* store_failure() const { return store_failure_ ? &*store_failure_ : nullptr; }
  // Task ends seen but not written to the store yet.
  std::size_t unwritten_ends() const { return unwritten_ends_.size(); }
  // Writes what the store lacks at once if an earlier write failed; that failure if it still
  // cannot. For requests that write the store (a submit, job control).
  Status ensure_store_writable();
  // Called on the engine's thread when a write first fails (with why) and once the store is
  // written again (nullptr).
  std::function<void(const Error*)> on_store_failure;

  // ---- requests from running tasks (engine/task_requests.cpp); `run_token` is the
  // task's JR_RUN, which must name an attempt that is running now.
  Result<CheckpointInfo> save_checkpoint(const std::string& run_token, const std::vector<std::string>& files);
  Status save_result(const std::string& run_token, const std::string& path);

  // ---- control of jobs (engine/job_control.cpp)
  // Pending tasks become cancelled; running ones are signalled and recorded as cancelled.
  // NotFound when the job, or its task at `index`, does not exist.
  Result<std::int64_t> cancel(JobId job, std::optional<std::int64_t> index);
  Status pause(JobId job, bool paused);
  // Failed (and, unless failed_only, cancelled) tasks become pending again.
  Result<std::int64_t> retry(JobId job, bool failed_only);
  const JobRow* job_row(JobId job) const;
  std::vector<JobId> job_ids() const;
  // A worker slot's JR_CHECKPOINT_DIR, reused by the tasks that run in that slot.
  std::filesystem::path checkpoint_dir(int slot) const;
  const std::filesystem::path& state_dir() const { return opt_.state_dir; }

 private:
  using Reaped = Supervisor::Reaped;

  // An end seen and not yet in the store: written by write_turn, again after a failure.
  struct UnwrittenEnd {
    TaskId task = 0;
    TaskState to = TaskState::Failed;
    Exit exit;
    int retries = 0;
    std::int64_t now_ms = 0;
    std::int64_t retry_at_ms = 0;
  };

  void on_signal(const signalfd_siginfo& info);
  // Whether an exit looks like the task was killed by a signal it was not sent by us.
  bool killed_from_outside(const Attempt& a, const Exit& exit) const;
  Status process();
  // The steps of a turn (process()): takes the exits reaped and the held ones now due, each
  // finished (or held back); spawns the attempts the turn's commit placed; releases the logs
  // of ended tasks and lends the next ones theirs.
  void take_ends();
  Status start_placed();
  void settle_logs();
  // Gives the attempts of `job` that recovery adopted their slots and resources, and hands
  // them to the supervisor (engine/recovery.cpp).
  void adopt_attempts(JobRun& job);
  // Concludes an attempt in memory (its slot, counts, on_task_end) and queues its end for the
  // store (unwritten_ends_).
  void finish(Attempt& a, Exit exit);
  // Store writes (engine/store_writes.cpp). write_turn commits, in one transaction, the pids
  // due, every unwritten end and, with `place_tasks`, the samples due and the tasks placed now
  // (fill_slots, into starting_). write runs it and turns a store the system refuses to write
  // into the failure state instead of an error; the tasks it placed are then put back.
  Status write_turn(bool place_tasks);
  Status write(bool place_tasks);
  Status write_end(const UnwrittenEnd& end);
  void unplace();
  bool store_write_due() const;
  // Places the tasks the scheduler chooses (into starting_), their rows marked running.
  Status fill_slots();
  // Scheduler::Source.
  Result<std::vector<RunnableTask>> runnable(JobId job, int limit, std::int64_t now_ms) override;
  Result<std::optional<std::int64_t>> next_backoff(JobId job) override;
  bool ends_in_time(JobRun& job) override;
  Status spawn(Attempt& a);
  std::int64_t next_deadline() const;
  std::vector<std::string> environment(const Attempt& a) const;
  JobRun* job_run(JobId id);
  // The spec of a job this engine runs; a default spec for one it does not know.
  const JobSpec& job_spec(JobId id) const;
  Attempt* running_attempt(const std::string& run_token);
  Status prepare_checkpoint_dir(const Attempt& a);
  Status refresh_counts(JobRun& job);
  Status settle_dependencies();
  // With `record`, also writes the samples and stall events (inside write_turn's transaction).
  Status sample(bool record);
  // Deadline (engine/deadline.cpp): whether a task of `job` started now would end in time,
  // and the shutdown at the deadline minus the grace period.
  bool ends_before_deadline(JobRun& job);
  void check_deadline();
  std::int64_t expected_run_ms(JobRun& job);
  void read_progress(const Attempt& a, Exit* exit) const;
  // Job ends (engine/job_end.cpp): starts the --on-finish hook of each job that has just ended,
  // and reports the hooks reaped since the last turn. After the turn's commit: a hook sees
  // the job's end in the store.
  void notice_job_ends();
  // Nothing of `job` runs, and nothing is left to start (or the engine is halted).
  bool job_has_ended(const JobRun& job) const;

  Store& store_;
  EventLoop& loop_;
  EngineOptions opt_;
  Containment containment_;
  Supervisor supervisor_;  // uses containment_
  std::vector<std::string> base_env_;
  std::map<JobId, JobRun> jobs_;
  // Attempts placed in a slot by fill_slots, their rows being committed as running, not
  // spawned yet: in the order placed. Empty between turns: process() spawns them (or unplace()
  // puts them back) in the turn that placed them. The attempts that have a process are the
  // supervisor's (Supervisor::running).
  std::vector<std::unique_ptr<Attempt>> starting_;
  // Attempts a dead engine left running, adopted by recover() and not yet given to their job
  // by add_job; with the exit they already had, if any.
  struct Adopted {
    std::unique_ptr<Attempt> attempt;
    std::optional<Exit> ended;
  };
  std::vector<Adopted> adopted_;
  // Exits held back briefly: when a whole allocation is signalled (Slurm's requeue sends TERM
  // to every process of the job, in no fixed order), a task may die before the engine gets
  // its own signal; that task was interrupted, not failed.
  std::vector<Reaped> held_;
  struct UnrecordedPid {
    TaskId task;
    pid_t pid;
    std::int64_t start;  // the process's start time; 0: read it from /proc
    std::int64_t due;    // monotonic: record it from then on
    bool written = false;  // in the transaction being written
  };
  std::vector<UnrecordedPid> unrecorded_pids_;
  std::int64_t flush_pids_at_ = 0;
  std::vector<UnwrittenEnd> unwritten_ends_;
  std::optional<Error> store_failure_;
  std::int64_t store_retry_at_ = 0;  // monotonic
  std::int64_t store_retry_delay_ms_ = 0;
  int shutdown_signal_ = 0;
  bool leaving_ = false;
  Millis tick_every_{0};
  std::function<void()> tick_;
  std::int64_t next_tick_at_ = 0;  // monotonic
  std::string jr_bin_;  // JR_BIN for tasks
  bool wake_now_ = false;
  std::unique_ptr<board::Board> board_;
  ResourcePool pool_;
  Scheduler scheduler_;  // reads pool_
  TaskLogs logs_;
  std::vector<TaskId> ended_logs_;
  std::int64_t engine_peak_rss_kb_ = 0;  // the engine's own peak RSS when last asked  // tasks whose logs are to be released (TaskLogs::release)
  WorkDirs work_dirs_;
  std::int64_t next_sample_at_ = 0;  // monotonic
  std::int64_t next_seen_at_ = 0;    // monotonic: the next sign of life (storage/engine_runs.h)
  bool deadline_blocked_ = false;    // a task was held back because it would not finish
  bool stopped_for_deadline_ = false;
};

}  // namespace jr
