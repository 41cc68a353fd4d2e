// Store: the durable record of jobs, tasks and their transitions, in one SQLite file.
//
// Every method that changes state is one transaction, committed before it returns, unless the
// caller holds a Transaction from transaction(): then the changes join it and are committed
// together (the engine's group commit). Transitions check the state they leave and refuse an
// illegal one with ErrorCode::Illegal, changing nothing. A read-write Store assumes it is the
// only writer (the engine lock guarantees it); read-only Stores may be opened by any number
// of readers at once (WAL). Single-threaded: one thread uses a Store.
//
// Reads beyond a job's rows are free functions of the store (task_reads.h, run_reads.h,
// event_reads.h) that return plain structs: nothing outside storage/ sees SQL.
//
// Durability: WAL with synchronous=NORMAL by default: a commit survives any kill of the
// process; a power cut may lose the last commits, whose tasks then run again (at least once,
// never lost). SyncMode::Full makes every commit survive power loss, at about half the rate.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/sqlite.h"
#include "storage/types.h"

namespace jr {

enum class SyncMode { Normal, Full };

struct JobRow {
  JobId id = 0;
  std::string name;
  std::int64_t created_ms = 0;
  std::string template_id;
  JobSpec spec;
  bool cancelled = false;
  bool paused = false;
  std::string reason;  // why the job ended early (cancelled, or a job it waited for failed)
};

using StateCounts = std::array<std::int64_t, kTaskStateCount>;

// A task the engine may start now.
struct RunnableTask {
  TaskId id = 0;
  JobId job = 0;
  std::int64_t index = 0;
  int attempts = 0;   // attempts made so far; the next one is attempts + 1
  int failures = 0;   // failed attempts so far, counted against spec.retries
  TaskSpec spec;
};

// A task recorded as running, as recovery finds it.
struct RunningTask {
  TaskId id = 0;
  JobId job = 0;
  int attempt = 0;
  std::int64_t pgid = 0;        // 0 when the engine died before recording it
  std::int64_t proc_start = 0;  // the leader's start time, in clock ticks since boot
  std::int64_t start_ms = 0;    // when the attempt started
  int slot = 0;                 // the worker slot it was placed in
  std::int64_t index = 0;
  int failures = 0;             // failed attempts before this one
  TaskSpec spec;
};

// What matching a job's tasks against the store found and did (docs/DESIGN.md, identity).
struct SyncSummary {
  std::int64_t total = 0;        // tasks asked for
  std::int64_t added = 0;        // new identities
  std::int64_t skipped = 0;      // succeeded before: not run again
  std::int64_t resumed = 0;      // interrupted: run again from their last checkpoint
  std::int64_t pending = 0;      // known, never finished
  std::int64_t retried = 0;      // failed or cancelled, run again (--retry-failed)
  std::int64_t kept_failed = 0;  // failed or cancelled, left so
  std::int64_t dropped = 0;      // in the store but no longer asked for
  std::int64_t adopted = 0;      // still running, started by an engine that died (engine/keeper.h)
};

// Where finish_task moves a running task that ended with `exit`, having failed
// `failures_before` times before: the engine knows it before the store has it written.
TaskState end_state(const Exit& exit, int failures_before, int retries);

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& path, SyncMode sync);
  static Result<std::unique_ptr<Store>> open_read_only(const std::filesystem::path& path);

  // A random id fixed at creation; prefixes every task's JR_RUN token.
  const std::string& state_id() const { return state_id_; }
  // Gives the store a new state id: a copy of a state directory must not share its
  // original's tokens (engine/state_place.h).
  Status renew_state_id();
  // A value of the store's meta table; empty when it has none. Keys are jr's own.
  Result<std::string> meta_value(const std::string& key);
  Status set_meta_value(const std::string& key, const std::string& value);
  sql::Transaction transaction() { return sql::Transaction(*db_); }
  // One moment of the store for a series of reads (a view of a job that runs).
  sql::ReadSnapshot snapshot() { return sql::ReadSnapshot(*db_); }
  // Merges the write-ahead log into the database file (an SQLite checkpoint) once it holds
  // 1,000 pages or more. A commit never does this itself: a commit that carries a 100 MB
  // checkpoint would otherwise also copy and sync it before the task that saved it hears
  // back. The engine calls this after each turn, outside any transaction; a Store whose owner
  // never calls it merges at close.
  void merge_wal_if_due();

  // ---- jobs
  Result<JobId> create_job(const JobSpec& spec, const std::string& template_id);
  // A resumed job takes the spec of the run that resumes it (its -j, retries, limits); what
  // identifies it (template_id) does not change.
  Status update_job_spec(JobId id, const JobSpec& spec);
  Result<std::optional<JobRow>> job(JobId id);
  Result<std::vector<JobRow>> jobs();
  Result<StateCounts> count_states(JobId job);

  // Matches the tasks a run asks for (`count` of them, built by `task_at`) against the job's
  // stored tasks by identity, the k-th of equal specs being their k-th copy (storage/codec.h,
  // occurrence_identity): every position is a task of its own. New ones are added, known ones
  // kept with their history and reindexed, interrupted ones made pending again, failed ones too
  // when `retry_failed`, and tasks no longer asked for become Dropped.
  Result<SyncSummary> sync_tasks(JobId job, std::uint64_t count,
                                 const std::function<TaskSpec(std::uint64_t)>& task_at,
                                 bool retry_failed);

  // ---- the engine's transitions
  // Up to `limit` pending tasks of `job` whose backoff has passed, in index order.
  Result<std::vector<RunnableTask>> runnable(JobId job, int limit, std::int64_t now_ms);
  // The earliest time a pending task of `job` in backoff becomes runnable, if any.
  Result<std::optional<std::int64_t>> next_backoff(JobId job);
  // Pending -> Running; returns the attempt number (1-based).
  Result<int> start_task(TaskId id, int slot, std::int64_t now_ms);
  // Records the process group of a running attempt (after the spawn).
  Status record_process(TaskId id, std::int64_t pgid, std::int64_t proc_start);
  // Running -> Succeeded, or Failed, or Pending again for a retry after `retry_at_ms` when
  // the task has failed no more than `retries` times (end_state). Returns the state it went to.
  Result<TaskState> finish_task(TaskId id, const Exit& exit, int retries, std::int64_t now_ms,
                                std::int64_t retry_at_ms);
  // Running -> Interrupted (shutdown, preemption, a dead engine found by recovery).
  Status interrupt_task(TaskId id, const Exit& exit, std::int64_t now_ms);
  // Every task recorded as running: what recovery must deal with.
  Result<std::vector<RunningTask>> running_tasks();

  // ---- control of jobs (jrd)
  Status set_job_flags(JobId job, bool paused, bool cancelled, const std::string& reason);
  // Pending tasks of `job` (or its task at `index`) -> Cancelled; returns how many.
  Result<std::int64_t> cancel_pending(JobId job, std::optional<std::int64_t> index, const std::string& detail);
  // Running -> Cancelled, once a cancelled task's process has exited.
  Status cancel_running(TaskId id, const Exit& exit, std::int64_t now_ms);
  // Interrupted -> Pending for every task of `job` (a restarted jrd resumes them); returns how many.
  Result<std::int64_t> resume_interrupted(JobId job);
  // Failed (and cancelled, unless failed_only) -> Pending, failures reset; returns how many.
  Result<std::int64_t> requeue(JobId job, bool failed_only);

  // One reading of a running attempt's CPU time and memory (usage over time).
  Status add_sample(TaskId id, int attempt, std::int64_t ms, std::int64_t cpu_ms, std::int64_t rss_kb);

  // ---- engine runs (epochs on a report's time axis)
  Result<std::int64_t> begin_engine_run(std::int64_t pid, const std::string& host,
                                        const std::string& slurm_job_id);
  Status end_engine_run(std::int64_t run_id);
  std::int64_t engine_run() const { return engine_run_; }

  // Appends to the event history; part of every transition, public for job-level events.
  Status add_event(JobId job, TaskId task, std::optional<TaskState> from,
                   std::optional<TaskState> to, int attempt, const std::string& detail);

 private:
  // The SQL connection, for storage/ alone (storage/store_db.h): the schema stays inside.
  friend sql::Db& store_db(Store& store);

  enum class Access { Create, ReadWrite, ReadOnly };
  explicit Store(std::unique_ptr<sql::Db> db) : db_(std::move(db)) {}
  Status init(Access access, SyncMode sync, const std::filesystem::path& path);
  static Status create(const std::filesystem::path& path, SyncMode sync);
  Status task_event(TaskId id, TaskState from, TaskState to, int attempt, const std::string& detail);
  Status record_attempt(TaskId id, TaskState outcome, const Exit& exit, std::int64_t now_ms);
  Error illegal(TaskId id, const char* transition);
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int pages);

  std::unique_ptr<sql::Db> db_;
  int wal_pages_ = 0;  // pages in the write-ahead log after the last commit
  std::string state_id_;
  std::int64_t engine_run_ = 0;
};

}  // namespace jr
