#include "storage/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/duration.h"
#include "storage/codec.h"
#include "storage/schema.h"
#include "storage/state_dir.h"
#include "storage/state_files.h"
#include "storage/store_db.h"

namespace jr {
namespace {

int st(TaskState s) { return static_cast<int>(s); }

std::string random_id() {
  unsigned char bytes[6] = {};
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (::read(fd, bytes, sizeof bytes) != static_cast<ssize_t>(sizeof bytes)) {
      std::int64_t t = now_ms() ^ getpid();
      std::memcpy(bytes, &t, sizeof bytes);
    }
    ::close(fd);
  }
  char hex[13];
  for (int i = 0; i < 6; ++i) std::snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  return hex;
}

// Whether `path` is there, looked at before SQLite opens it: a link there is refused, never
// followed (nor replaced by a new store), and so is anything but a regular file.
Result<bool> regular_file_exists(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return make_error(ErrorCode::Io, "cannot open " + path + ": " + std::strerror(errno));
  }
  if (S_ISLNK(st.st_mode)) return symbolic_link_refused(path);
  if (!S_ISREG(st.st_mode)) return make_error(ErrorCode::Conflict, path + " is not a regular file; remove it");
  return true;
}

// Whether the store is there. Its -wal and -shm files are checked too: SQLite opens them by
// name, following links, and even a reader may write the -shm file (it truncates it when it
// is the first to open the store).
Result<bool> store_exists(const std::filesystem::path& path) {
  for (const char* suffix : {state_files::kWalSuffix, state_files::kShmSuffix}) {
    auto found = regular_file_exists(path.string() + suffix);
    if (!found) return found.error();
  }
  return regular_file_exists(path.string());
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& path, SyncMode sync) {
  auto exists = store_exists(path);
  if (!exists) return exists.error();
  if (!*exists) JR_TRY(create(path, sync));
  auto db = sql::Db::open(path, sql::Db::Mode::ReadWrite);
  if (!db) return db.error();
  std::unique_ptr<Store> store(new Store(std::move(*db)));
  JR_TRY(store->init(Access::ReadWrite, sync, path));
  return store;
}

// A new database is made whole under another name, then renamed into place: a kill at any
// moment leaves no database or a complete one. Made in place, a kill during its very first
// transaction (before the switch to WAL) leaves a hot rollback journal, which a read-only
// reader (jr status --state, jr top) cannot roll back and so fails on until a writer opens it.
Status Store::create(const std::filesystem::path& path, SyncMode sync) {
  std::string fresh = path.string() + state_files::kNewStoreSuffix;
  for (const char* suffix : {"", state_files::kJournalSuffix, state_files::kWalSuffix, state_files::kShmSuffix}) ::unlink((fresh + suffix).c_str());
  {
    auto db = sql::Db::open(fresh, sql::Db::Mode::ReadWrite);
    if (!db) {
      // Name the file the user knows of, not the temporary one.
      std::string message = db.error().message;
      if (auto at = message.find(fresh); at != std::string::npos) message.replace(at, fresh.size(), path.string());
      return make_error(db.error().code, message);
    }
    Store store(std::move(*db));
    JR_TRY(store.init(Access::Create, sync, fresh));
  }
  // Closing the last connection checkpointed and removed the WAL: the file is all there is.
  std::error_code ec;
  if (std::filesystem::exists(fresh + state_files::kWalSuffix, ec)) {
    return make_error(ErrorCode::Io, "cannot create " + path.string() + ": its write-ahead log was not merged");
  }
  if (auto st = rename_durably(fresh, path.string()); !st) {
    return make_error(ErrorCode::Io, "cannot create " + path.string() + ": " + st.error().message);
  }
  return {};
}

sql::Db& store_db(Store& store) { return *store.db_; }

namespace {
constexpr int kWalMergePages = 1000;  // SQLite's own default for its automatic checkpoint
}  // namespace

int Store::on_wal_commit(void* self, sqlite3* /*db*/, const char* /*name*/, int pages) {
  static_cast<Store*>(self)->wal_pages_ = pages;
  return SQLITE_OK;
}

void Store::merge_wal_if_due() {
  if (wal_pages_ < kWalMergePages || db_->in_transaction()) return;
  wal_pages_ = 0;
  sqlite3_wal_checkpoint_v2(db_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
}

Result<std::unique_ptr<Store>> Store::open_read_only(const std::filesystem::path& path) {
  auto exists = store_exists(path);
  if (!exists) return exists.error();
  if (!*exists) return make_error(ErrorCode::NotFound, "no jr state at " + path.parent_path().string());
  auto db = sql::Db::open(path, sql::Db::Mode::ReadOnly);
  if (!db) return db.error();
  std::unique_ptr<Store> store(new Store(std::move(*db)));
  JR_TRY(store->init(Access::ReadOnly, SyncMode::Normal, path));
  return store;
}

Status Store::init(Access access, SyncMode sync, const std::filesystem::path& path) {
  // Every pragma the store relies on, in one place:
  // - busy_timeout: readers (jr status) and the writer may briefly contend for the WAL index.
  // - journal_mode=WAL: readers never block the engine, and a commit is one append.
  // - synchronous: NORMAL survives process death, FULL also power loss (see store.h).
  // - foreign_keys: a task cannot point at a job that is not there.
  JR_TRY(db_->exec("PRAGMA busy_timeout = 5000"));
  // Refuse a file that is not ours (only the one create() just made may be empty) before any
  // pragma changes it.
  if (access != Access::Create) JR_TRY(check_openable(*db_, path.string()));
  if (access != Access::ReadOnly) {
    // WAL before migrating, so that a reader never finds a hot rollback journal it may not
    // roll back.
    JR_TRY(db_->exec("PRAGMA journal_mode = WAL"));
    JR_TRY(db_->exec(sync == SyncMode::Full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"));
    JR_TRY(db_->exec("PRAGMA foreign_keys = ON"));
    // Replaces SQLite's automatic checkpoint after a commit: see merge_wal_if_due().
    sqlite3_wal_hook(db_->raw(), &Store::on_wal_commit, this);
    JR_TRY(migrate(*db_, path.string()));
    auto ins = db_->prepare("INSERT OR IGNORE INTO meta(key, value) VALUES ('state_id', ?1)");
    if (!ins) return ins.error();
    JR_TRY(ins->bind(1, random_id()).run());
  }
  auto sel = db_->prepare("SELECT value FROM meta WHERE key = 'state_id'");
  if (!sel) return sel.error();
  auto row = sel->step();
  if (!row) return row.error();
  if (*row) state_id_ = sel->text(0);
  return {};
}

Status Store::renew_state_id() {
  std::string id = random_id();
  JR_TRY(set_meta_value("state_id", id));
  state_id_ = id;
  return {};
}

Result<std::string> Store::meta_value(const std::string& key) {
  auto sel = db_->prepare("SELECT value FROM meta WHERE key = ?1");
  if (!sel) return sel.error();
  sel->bind(1, key);
  auto row = sel->step();
  if (!row) return row.error();
  return *row ? sel->text(0) : std::string();
}

Status Store::set_meta_value(const std::string& key, const std::string& value) {
  auto up = db_->prepare("INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2");
  if (!up) return up.error();
  return up->bind(1, key).bind(2, value).run();
}

Status Store::add_event(JobId job, TaskId task, std::optional<TaskState> from,
                        std::optional<TaskState> to, int attempt, const std::string& detail) {
  auto ins = db_->prepare(
      "INSERT INTO events(ms, job_id, task_id, from_state, to_state, attempt, detail) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!ins) return ins.error();
  ins->bind(1, now_ms()).bind(2, job);
  if (task) ins->bind(3, task); else ins->bind_null(3);
  if (from) ins->bind(4, st(*from)); else ins->bind_null(4);
  if (to) ins->bind(5, st(*to)); else ins->bind_null(5);
  ins->bind(6, attempt).bind(7, detail);
  return ins->run();
}

Status Store::task_event(TaskId id, TaskState from, TaskState to, int attempt,
                         const std::string& detail) {
  auto ins = db_->prepare(
      "INSERT INTO events(ms, job_id, task_id, from_state, to_state, attempt, detail) "
      "SELECT ?1, job_id, id, ?2, ?3, ?4, ?5 FROM tasks WHERE id = ?6");
  if (!ins) return ins.error();
  return ins->bind(1, now_ms()).bind(2, st(from)).bind(3, st(to)).bind(4, attempt)
      .bind(5, detail).bind(6, id).run();
}

Error Store::illegal(TaskId id, const char* transition) {
  auto sel = db_->prepare("SELECT state FROM tasks WHERE id = ?1");
  if (sel) {
    sel->bind(1, id);
    auto row = sel->step();
    if (row && *row) {
      return make_error(ErrorCode::Illegal,
                        "task " + std::to_string(id) + " is " +
                            std::string(to_string(static_cast<TaskState>(sel->i32(0)))) +
                            ": cannot " + transition);
    }
  }
  return make_error(ErrorCode::NotFound, "no task " + std::to_string(id));
}

Result<JobId> Store::create_job(const JobSpec& spec, const std::string& template_id) {
  auto tx = transaction();
  JR_TRY(tx.begin_status());
  auto ins = db_->prepare(
      "INSERT INTO jobs(name, created_ms, template_id, spec) VALUES (?1, ?2, ?3, ?4)");
  if (!ins) return ins.error();
  JR_TRY(ins->bind(1, spec.name).bind(2, now_ms()).bind(3, template_id)
             .bind_blob(4, encode_job_spec(spec)).run());
  JobId id = db_->last_insert_id();
  JR_TRY(add_event(id, 0, std::nullopt, std::nullopt, 0, "job created"));
  JR_TRY(tx.commit());
  return id;
}

Status Store::update_job_spec(JobId id, const JobSpec& spec) {
  auto up = db_->prepare("UPDATE jobs SET spec = ?2 WHERE id = ?1");
  if (!up) return up.error();
  JR_TRY(up->bind(1, id).bind_blob(2, encode_job_spec(spec)).run());
  if (db_->changes() != 1) return make_error(ErrorCode::NotFound, "no job " + std::to_string(id));
  return {};
}

Result<std::vector<JobRow>> Store::jobs() {
  auto sel = db_->prepare(
      "SELECT id, name, created_ms, template_id, spec, cancelled, paused, reason FROM jobs ORDER BY id");
  if (!sel) return sel.error();
  std::vector<JobRow> out;
  for (;;) {
    auto row = sel->step();
    if (!row) return row.error();
    if (!*row) break;
    JobRow j;
    j.id = sel->i64(0);
    j.name = sel->text(1);
    j.created_ms = sel->i64(2);
    j.template_id = sel->text(3);
    auto spec = decode_job_spec(sel->blob(4));
    if (!spec) return spec.error();
    j.spec = std::move(*spec);
    j.cancelled = sel->i32(5) != 0;
    j.paused = sel->i32(6) != 0;
    j.reason = sel->text(7);
    out.push_back(std::move(j));
  }
  return out;
}

Result<std::optional<JobRow>> Store::job(JobId id) {
  auto all = jobs();
  if (!all) return all.error();
  for (auto& j : *all) {
    if (j.id == id) return std::optional<JobRow>(std::move(j));
  }
  return std::optional<JobRow>();
}

Result<StateCounts> Store::count_states(JobId job) {
  auto sel = db_->prepare("SELECT state, count(*) FROM tasks WHERE job_id = ?1 GROUP BY state");
  if (!sel) return sel.error();
  sel->bind(1, job);
  StateCounts counts{};
  for (;;) {
    auto row = sel->step();
    if (!row) return row.error();
    if (!*row) break;
    int s = sel->i32(0);
    if (s >= 0 && s < kTaskStateCount) counts[static_cast<std::size_t>(s)] = sel->i64(1);
  }
  return counts;
}

Result<std::vector<RunnableTask>> Store::runnable(JobId job, int limit, std::int64_t now) {
  auto sel = db_->prepare(
      "SELECT id, idx, attempts, failures, spec FROM tasks "
      "WHERE job_id = ?1 AND state = 0 AND next_run_ms <= ?2 ORDER BY idx LIMIT ?3");
  if (!sel) return sel.error();
  sel->bind(1, job).bind(2, now).bind(3, limit);
  std::vector<RunnableTask> out;
  for (;;) {
    auto row = sel->step();
    if (!row) return row.error();
    if (!*row) break;
    RunnableTask t;
    t.id = sel->i64(0);
    t.job = job;
    t.index = sel->i64(1);
    t.attempts = sel->i32(2);
    t.failures = sel->i32(3);
    auto spec = decode_task_spec(sel->blob(4));
    if (!spec) return spec.error();
    t.spec = std::move(*spec);
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::optional<std::int64_t>> Store::next_backoff(JobId job) {
  auto sel = db_->prepare(
      "SELECT min(next_run_ms) FROM tasks WHERE job_id = ?1 AND state = 0 AND next_run_ms > 0");
  if (!sel) return sel.error();
  sel->bind(1, job);
  auto row = sel->step();
  if (!row) return row.error();
  if (!*row || sel->is_null(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(sel->i64(0));
}

Result<int> Store::start_task(TaskId id, int slot, std::int64_t now) {
  auto tx = transaction();
  JR_TRY(tx.begin_status());
  auto upd = db_->prepare(
      "UPDATE tasks SET state = 1, attempts = attempts + 1, slot = ?2, start_ms = ?3, "
      "end_ms = NULL, pid = NULL, proc_start = NULL, next_run_ms = 0, checkpoints_saved = 0 "
      "WHERE id = ?1 AND state = 0 RETURNING attempts");
  if (!upd) return upd.error();
  upd->bind(1, id).bind(2, slot).bind(3, now);
  auto row = upd->step();
  if (!row) return row.error();
  if (!*row) return illegal(id, "start it");
  int attempt = upd->i32(0);
  JR_TRY(upd->run());
  JR_TRY(task_event(id, TaskState::Pending, TaskState::Running, attempt, ""));
  JR_TRY(tx.commit());
  return attempt;
}

Status Store::record_process(TaskId id, std::int64_t pgid, std::int64_t proc_start) {
  auto upd = db_->prepare("UPDATE tasks SET pid = ?2, proc_start = ?3 WHERE id = ?1 AND state = 1");
  if (!upd) return upd.error();
  JR_TRY(upd->bind(1, id).bind(2, pgid).bind(3, proc_start).run());
  if (db_->changes() == 0) return illegal(id, "record its process");
  return {};
}

Status Store::record_attempt(TaskId id, TaskState outcome, const Exit& exit, std::int64_t now) {
  auto ins = db_->prepare(
      "INSERT OR REPLACE INTO attempts(task_id, attempt, engine_run, slot, start_ms, end_ms, "
      "outcome, exit_code, signal, utime_ms, stime_ms, maxrss_kb, detail, progress, message, stalled, "
      "checkpoints_saved) "
      "SELECT id, attempts, ?2, slot, coalesce(start_ms, ?3), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
      "checkpoints_saved "
      "FROM tasks WHERE id = ?1");
  if (!ins) return ins.error();
  ins->bind(1, id).bind(3, now).bind(4, st(outcome)).bind(7, exit.utime_ms)
      .bind(8, exit.stime_ms).bind(9, exit.maxrss_kb).bind(10, exit.detail).bind(12, exit.message)
      .bind(13, exit.stalled ? 1 : 0);
  if (exit.progress >= 0) ins->bind(11, exit.progress); else ins->bind_null(11);
  if (engine_run_) ins->bind(2, engine_run_); else ins->bind_null(2);
  if (exit.signal) ins->bind_null(5).bind(6, exit.signal);
  else if (exit.exit_code >= 0) ins->bind(5, exit.exit_code).bind_null(6);
  else ins->bind_null(5).bind_null(6);
  return ins->run();
}

TaskState end_state(const Exit& exit, int failures_before, int retries) {
  if (exit.succeeded()) return TaskState::Succeeded;
  return failures_before + 1 <= retries ? TaskState::Pending : TaskState::Failed;
}

Result<TaskState> Store::finish_task(TaskId id, const Exit& exit, int retries, std::int64_t now,
                                     std::int64_t retry_at_ms) {
  auto tx = transaction();
  JR_TRY(tx.begin_status());
  auto sel = db_->prepare("SELECT attempts, failures FROM tasks WHERE id = ?1 AND state = 1");
  if (!sel) return sel.error();
  sel->bind(1, id);
  auto row = sel->step();
  if (!row) return row.error();
  if (!*row) return illegal(id, "finish it");
  int attempt = sel->i32(0);
  int failures_before = sel->i32(1);
  int failures = failures_before + (exit.succeeded() ? 0 : 1);
  JR_TRY(sel->run());

  TaskState to = end_state(exit, failures_before, retries);
  JR_TRY(record_attempt(id, exit.succeeded() ? TaskState::Succeeded : TaskState::Failed, exit, now));
  auto upd = db_->prepare(
      "UPDATE tasks SET state = ?2, failures = ?3, exit_code = ?4, signal = ?5, end_ms = ?6, "
      "pid = NULL, proc_start = NULL, next_run_ms = ?7 WHERE id = ?1");
  if (!upd) return upd.error();
  upd->bind(1, id).bind(2, st(to)).bind(3, failures).bind(6, now)
      .bind(7, to == TaskState::Pending ? retry_at_ms : 0);
  if (exit.signal) upd->bind_null(4).bind(5, exit.signal);
  else upd->bind(4, exit.exit_code).bind_null(5);
  JR_TRY(upd->run());
  std::string detail = exit.detail;
  if (!exit.succeeded()) {
    std::string how = exit.signal ? "signal " + std::to_string(exit.signal)
                                  : "exit " + std::to_string(exit.exit_code);
    detail = detail.empty() ? how : detail + ", " + how;
    if (to == TaskState::Pending) detail += ", retry " + std::to_string(failures) + " of " + std::to_string(retries);
  }
  JR_TRY(task_event(id, TaskState::Running, to, attempt, detail));
  JR_TRY(tx.commit());
  return to;
}

Status Store::interrupt_task(TaskId id, const Exit& exit, std::int64_t now) {
  auto tx = transaction();
  JR_TRY(tx.begin_status());
  // Check the state before writing anything: inside a caller's transaction a refusal must
  // leave no trace.
  auto upd = db_->prepare(
      "UPDATE tasks SET state = 4, end_ms = ?2, pid = NULL, proc_start = NULL "
      "WHERE id = ?1 AND state = 1 RETURNING attempts");
  if (!upd) return upd.error();
  upd->bind(1, id).bind(2, now);
  auto row = upd->step();
  if (!row) return row.error();
  if (!*row) return illegal(id, "interrupt it");
  int attempt = upd->i32(0);
  JR_TRY(upd->run());
  JR_TRY(record_attempt(id, TaskState::Interrupted, exit, now));
  JR_TRY(task_event(id, TaskState::Running, TaskState::Interrupted, attempt, exit.detail));
  return tx.commit();
}

Result<std::vector<RunningTask>> Store::running_tasks() {
  auto sel = db_->prepare(
      "SELECT id, job_id, attempts, coalesce(pid, 0), coalesce(proc_start, 0), coalesce(start_ms, 0), "
      "coalesce(slot, 0), idx, failures, spec FROM tasks WHERE state = 1");
  if (!sel) return sel.error();
  std::vector<RunningTask> out;
  for (;;) {
    auto row = sel->step();
    if (!row) return row.error();
    if (!*row) break;
    RunningTask t;
    t.id = sel->i64(0);
    t.job = sel->i64(1);
    t.attempt = sel->i32(2);
    t.pgid = sel->i64(3);
    t.proc_start = sel->i64(4);
    t.start_ms = sel->i64(5);
    t.slot = sel->i32(6);
    t.index = sel->i64(7);
    t.failures = sel->i32(8);
    auto spec = decode_task_spec(sel->blob(9));
    if (!spec) return spec.error();
    t.spec = std::move(*spec);
    out.push_back(std::move(t));
  }
  return out;
}

Status Store::add_sample(TaskId id, int attempt, std::int64_t ms, std::int64_t cpu_ms, std::int64_t rss_kb) {
  auto ins = db_->prepare("INSERT INTO samples(task_id, attempt, ms, cpu_ms, rss_kb) VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!ins) return ins.error();
  return ins->bind(1, id).bind(2, attempt).bind(3, ms).bind(4, cpu_ms).bind(5, rss_kb).run();
}

Result<std::int64_t> Store::begin_engine_run(std::int64_t pid, const std::string& host,
                                             const std::string& slurm_job_id) {
  auto ins = db_->prepare(
      "INSERT INTO engine_runs(pid, start_ms, host, slurm_job_id) VALUES (?1, ?2, ?3, ?4)");
  if (!ins) return ins.error();
  JR_TRY(ins->bind(1, pid).bind(2, now_ms()).bind(3, host).bind(4, slurm_job_id).run());
  engine_run_ = db_->last_insert_id();
  // One event per job, so that `jr events` shows each engine start (and its Slurm job).
  std::string detail = "engine " + std::to_string(engine_run_) + " started (pid " + std::to_string(pid) +
                       (slurm_job_id.empty() ? "" : ", Slurm job " + slurm_job_id) + ")";
  auto ev = db_->prepare(
      "INSERT INTO events(ms, job_id, detail) SELECT ?1, id, ?2 FROM jobs WHERE finished_ms IS NULL");
  if (!ev) return ev.error();
  JR_TRY(ev->bind(1, now_ms()).bind(2, detail).run());
  return engine_run_;
}

Status Store::end_engine_run(std::int64_t run_id) {
  auto upd = db_->prepare("UPDATE engine_runs SET end_ms = ?2 WHERE id = ?1");
  if (!upd) return upd.error();
  return upd->bind(1, run_id).bind(2, now_ms()).run();
}

}  // namespace jr
