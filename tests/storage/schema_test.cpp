// Opening a store: schema version and application id, files that are not jr stores, newer
// schemas, unwritable paths, file modes; and the engine lock across processes.
#include "storage/schema.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>

#include "base/result.h"
#include "storage/codec.h"
#include "storage/engine_lock.h"
#include "storage/run_reads.h"
#include "storage/state_dir.h"
#include "storage/store.h"

namespace jr {
namespace {

namespace fs = std::filesystem;

std::string rows(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    return std::string("error: ") + sqlite3_errmsg(db);
  }
  std::string out;
  for (int row = 0; sqlite3_step(st) == SQLITE_ROW; ++row) {
    if (row) out += ';';
    for (int c = 0; c < sqlite3_column_count(st); ++c) {
      if (c) out += '|';
      auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
      out += text ? text : "null";
    }
  }
  sqlite3_finalize(st);
  return out;
}

// Runs the statements of `sql` on `path` through a plain sqlite3 connection; the rows of the
// last one.
std::string raw(const fs::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out = "cannot open";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) == SQLITE_OK) {
    auto last = sql.rfind(';');
    if (last != std::string::npos && sqlite3_exec(db, sql.substr(0, last).c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      out = std::string("error: ") + sqlite3_errmsg(db);
    } else {
      out = rows(db, last == std::string::npos ? sql : sql.substr(last + 1));
    }
  }
  sqlite3_close(db);
  return out;
}

class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/jr_schema_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ / "jr.db";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Error open_error(const fs::path& path) {
    auto store = Store::open(path, SyncMode::Normal);
    EXPECT_FALSE(store.ok());
    return store.ok() ? Error{} : store.error();
  }

  fs::path dir_;
  fs::path path_;
};

TEST_F(SchemaTest, FreshFileGetsCurrentVersion) {
  std::string state_id;
  {
    auto store = Store::open(path_, SyncMode::Normal);
    ASSERT_TRUE(store.ok()) << store.error().message;
    state_id = (*store)->state_id();
  }
  EXPECT_EQ(current_schema_version(), 6);
  EXPECT_EQ(raw(path_, "PRAGMA user_version"), std::to_string(current_schema_version()));
  EXPECT_EQ(raw(path_, "PRAGMA application_id"), std::to_string(kApplicationId));
  EXPECT_EQ(raw(path_, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(state_id.size(), 12u);
  EXPECT_EQ(state_id.find_first_not_of("0123456789abcdef"), std::string::npos) << state_id;
  // Opening again migrates nothing and keeps the state id; a reader sees the same.
  auto again = Store::open(path_, SyncMode::Full);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ((*again)->state_id(), state_id);
  auto reader = Store::open_read_only(path_);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  EXPECT_EQ((*reader)->state_id(), state_id);
  EXPECT_EQ(raw(path_, "SELECT count(*) FROM meta"), "1");
}

// A store an older jr left (schema 2, attempts in a rowid table) keeps every attempt's figures
// through migration 3.
TEST_F(SchemaTest, AttemptsSurviveTheMoveToAKeyedTable) {
  {
    auto db = sql::Db::open(path_, sql::Db::Mode::ReadWrite);
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE(migrate_to(**db, 2, path_.string()).ok());
    ASSERT_TRUE((*db)->exec("INSERT INTO jobs(id, name, created_ms, template_id, spec) VALUES (1, 'j', 5, 't', x'00');"
                            "INSERT INTO tasks(id, job_id, idx, identity, spec, submit_ms) VALUES (7, 1, 0, 'i', x'00', 5);"
                            "INSERT INTO attempts(task_id, attempt, start_ms, end_ms, outcome, exit_code, utime_ms, "
                            "maxrss_kb, detail, progress, message, stalled) "
                            "VALUES (7, 1, 10, 20, 3, 4, 11, 999, 'timeout', 0.5, 'half', 1),"
                            "       (7, 2, 30, 40, 2, 0, 12, 888, NULL, 1.0, 'done', 0);")
                    .ok());
  }
  ASSERT_EQ(raw(path_, "PRAGMA user_version"), "2");
  {
    auto db = sql::Db::open(path_, sql::Db::Mode::ReadWrite);
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE(migrate_to(**db, 3, path_.string()).ok());
  }
  EXPECT_EQ(raw(path_, "PRAGMA user_version"), "3");
  EXPECT_EQ(raw(path_, "SELECT group_concat(task_id || ':' || attempt || ':' || start_ms || ':' || end_ms || ':' || "
                       "outcome || ':' || exit_code || ':' || utime_ms || ':' || maxrss_kb || ':' || "
                       "coalesce(detail, '-') || ':' || progress || ':' || message || ':' || stalled, ' ') "
                       "FROM (SELECT * FROM attempts ORDER BY attempt)"),
            "7:1:10:20:3:4:11:999:timeout:0.5:half:1 7:2:30:40:2:0:12:888:-:1.0:done:0");
  EXPECT_EQ(raw(path_, "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE name = 'attempts'"), "1");
  EXPECT_EQ(raw(path_, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(raw(path_, "PRAGMA foreign_key_check"), "");
}

// A store an older jr left (schema 3) counted checkpoints from the words of its events:
// migration 4 carries those counts into the columns, for each ended attempt and for the
// attempt a task runs now, and counts nothing else.
TEST_F(SchemaTest, CheckpointCountsAreCarriedOverFromTheEvents) {
  std::string spec = "x'";
  for (unsigned char c : encode_task_spec(TaskSpec{})) spec += "0123456789abcdef"[c >> 4], spec += "0123456789abcdef"[c & 15];
  spec += "'";
  {
    auto db = sql::Db::open(path_, sql::Db::Mode::ReadWrite);
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE(migrate_to(**db, 3, path_.string()).ok());
    ASSERT_TRUE((*db)->exec("INSERT INTO jobs(id, name, created_ms, template_id, spec) VALUES (1, 'j', 5, 't', x'00');"
                            "INSERT INTO tasks(id, job_id, idx, identity, spec, submit_ms, state, attempts) "
                            "VALUES (7, 1, 0, 'a', " + spec + ", 5, 1, 3), (8, 1, 1, 'b', " + spec + ", 5, 2, 1);"
                            "INSERT INTO attempts(task_id, attempt, start_ms, end_ms, outcome) "
                            "VALUES (7, 1, 10, 20, 4), (7, 2, 30, 40, 4), (8, 1, 10, 50, 2);"
                            "INSERT INTO events(ms, job_id, task_id, attempt, detail) VALUES "
                            "(11, 0, 7, 1, 'checkpoint 1 saved (10 bytes)'), (12, 0, 7, 1, 'checkpoint 2 saved (10 bytes)'),"
                            "(31, 0, 7, 2, 'engine died'), (51, 0, 7, 3, 'checkpoint 3 saved (10 bytes)'),"
                            "(13, 0, 8, 1, 'checkpoint 1 saved (4 bytes)'), (14, 1, NULL, NULL, 'engine 1 started (pid 1)');")
                    .ok());
  }
  // Read before any engine has migrated it: the counts come from the events, as they did.
  auto counted = [](Store& store) {
    std::string out;
    auto ended = ended_attempts(store, 1);
    auto running = running_attempts(store, 1);
    if (!ended.ok() || !running.ok()) return std::string("error");
    std::sort(ended->begin(), ended->end(), [](auto& x, auto& y) { return std::pair(x.task, x.attempt) < std::pair(y.task, y.attempt); });
    for (auto& a : *ended) out += std::to_string(a.task) + ":" + std::to_string(a.attempt) + "=" + std::to_string(a.checkpoints_saved) + " ";
    for (auto& a : *running) out += "running " + std::to_string(a.task) + ":" + std::to_string(a.attempt) + "=" + std::to_string(a.checkpoints_saved);
    return out;
  };
  {
    auto reader = Store::open_read_only(path_);
    ASSERT_TRUE(reader.ok()) << reader.error().message;
    EXPECT_EQ(raw(path_, "PRAGMA user_version"), "3");
    EXPECT_EQ(counted(**reader), "7:1=2 7:2=0 8:1=1 running 7:3=1");
  }
  {
    auto store = Store::open(path_, SyncMode::Normal);
    ASSERT_TRUE(store.ok()) << store.error().message;
    EXPECT_EQ(counted(**store), "7:1=2 7:2=0 8:1=1 running 7:3=1");
  }
  EXPECT_EQ(raw(path_, "PRAGMA user_version"), std::to_string(current_schema_version()));
  EXPECT_EQ(raw(path_, "SELECT group_concat(task_id || ':' || attempt || '=' || checkpoints_saved, ' ') "
                       "FROM (SELECT * FROM attempts ORDER BY task_id, attempt)"),
            "7:1=2 7:2=0 8:1=1");
  EXPECT_EQ(raw(path_, "SELECT group_concat(id || '=' || checkpoints_saved, ' ') FROM (SELECT * FROM tasks ORDER BY id)"),
            "7=1 8=1");
  EXPECT_EQ(raw(path_, "SELECT count(*) FROM sqlite_temp_master"), "0");
  EXPECT_EQ(raw(path_, "PRAGMA integrity_check"), "ok");
}

TEST_F(SchemaTest, ReadOnlyStoreRefusesWrites) {
  ASSERT_TRUE(Store::open(path_, SyncMode::Normal).ok());
  auto reader = Store::open_read_only(path_);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  auto job = (*reader)->create_job(JobSpec{}, "t");
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.error().code, ErrorCode::Io) << job.error().message;
  EXPECT_EQ(raw(path_, "SELECT count(*) FROM jobs"), "0");
}

TEST_F(SchemaTest, TextFileIsADamagedStoreNamedWithTheWayOut) {
  std::ofstream(path_) << "hello";
  const std::string said = path_.string() + " is damaged (file is not a database); `jr run --fresh` moves it aside "
                                            "and starts afresh, or restore it from a copy";
  Error e = open_error(path_);
  EXPECT_EQ(e.code, ErrorCode::Corrupt) << e.message;
  EXPECT_EQ(e.message, said);
  auto reader = Store::open_read_only(path_);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.error().code, ErrorCode::Corrupt) << reader.error().message;
  EXPECT_EQ(reader.error().message, said);
  std::ifstream in(path_);
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(contents, "hello");
}

TEST_F(SchemaTest, OtherApplicationsDatabaseIsRefusedAndLeftAlone) {
  ASSERT_EQ(raw(path_, "CREATE TABLE notes(x); INSERT INTO notes VALUES (1); PRAGMA application_id = 1234"), "");
  Error e = open_error(path_);
  EXPECT_EQ(e.code, ErrorCode::Corrupt) << e.message;
  EXPECT_EQ(e.message, path_.string() + " is not a jr database");
  EXPECT_EQ(raw(path_, "SELECT name FROM sqlite_master"), "notes");
  EXPECT_EQ(raw(path_, "PRAGMA application_id"), "1234");
  EXPECT_EQ(raw(path_, "PRAGMA journal_mode"), "delete");  // not switched to WAL behind its back
}

TEST_F(SchemaTest, DatabaseWithTablesButNoApplicationIdIsRefused) {
  ASSERT_EQ(raw(path_, "CREATE TABLE jobs(x)"), "");
  Error e = open_error(path_);
  EXPECT_EQ(e.code, ErrorCode::Corrupt) << e.message;
  EXPECT_EQ(e.message, path_.string() + " is not a jr database");
}

TEST_F(SchemaTest, NewerSchemaIsUnsupported) {
  ASSERT_TRUE(Store::open(path_, SyncMode::Normal).ok());
  ASSERT_EQ(raw(path_, "PRAGMA user_version = 99"), "");
  Error e = open_error(path_);
  EXPECT_EQ(e.code, ErrorCode::Unsupported) << e.message;
  EXPECT_NE(e.message.find("newer jr"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("schema 99"), std::string::npos) << e.message;
  auto reader = Store::open_read_only(path_);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.error().code, ErrorCode::Unsupported) << reader.error().message;
  EXPECT_EQ(raw(path_, "PRAGMA user_version"), "99");
}

TEST_F(SchemaTest, UnwritablePathIsAnIoError) {
  Error e = open_error("/proc/nonexistent/jr.db");
  EXPECT_EQ(e.code, ErrorCode::Io) << e.message;
  EXPECT_NE(e.message.find("/proc/nonexistent/jr.db"), std::string::npos) << e.message;
  std::ofstream(dir_ / "file") << "x";
  Error under_file = open_error(dir_ / "file" / "jr.db");
  EXPECT_EQ(under_file.code, ErrorCode::Io) << under_file.message;
}

TEST_F(SchemaTest, ReadOnlyOpenOfMissingFileIsNotFound) {
  auto reader = Store::open_read_only(dir_ / "missing.db");
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.error().code, ErrorCode::NotFound) << reader.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "missing.db"));
}

// jr makes a store whole under another name and renames it into place (Store::create), so an
// empty jr.db is something else's: neither a writer nor a reader turns it into a store.
TEST_F(SchemaTest, EmptyFileIsAnErrorNotANewStore) {
  std::ofstream(path_).flush();
  Error e = open_error(path_);
  EXPECT_EQ(e.code, ErrorCode::Corrupt) << e.message;
  EXPECT_EQ(e.message, path_.string() + " is empty: jr never leaves an empty store, so something else made it; "
                                        "remove it if it holds nothing of yours");
  auto reader = Store::open_read_only(path_);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.error().message, e.message);
  EXPECT_EQ(fs::file_size(path_), 0u);
}

TEST_F(SchemaTest, SymbolicLinkIsRefusedAndItsTargetLeftAlone) {
  auto target = dir_ / "target";
  std::ofstream(target).flush();
  fs::create_symlink(target, path_);
  Error e = open_error(path_);
  EXPECT_EQ(e.code, ErrorCode::Conflict) << e.message;
  EXPECT_EQ(e.message, path_.string() + " is a symbolic link, which jr does not follow in a state directory; remove it");
  EXPECT_FALSE(Store::open_read_only(path_).ok());
  EXPECT_EQ(fs::file_size(target), 0u);
  fs::remove(path_);
  fs::create_symlink(dir_ / "missing", path_);  // dangling: no new store behind it either
  EXPECT_EQ(open_error(path_).message, e.message);
  EXPECT_FALSE(fs::exists(dir_ / "missing"));
}

TEST_F(SchemaTest, NewDatabaseIsPrivateWhateverTheUmask) {
  mode_t old = ::umask(0);
  auto store = Store::open(path_, SyncMode::Normal);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto job = (*store)->create_job(JobSpec{}, "t");  // makes SQLite create the -wal file
  ASSERT_TRUE(job.ok());
  auto state_dir = dir_ / "state" / "sub";
  Status prepared = prepare_state_dir(state_dir);
  ::umask(old);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((path_.string() + "-wal").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(state_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

// Runs `body` in a forked child and returns what it wrote to the pipe it is given.
std::string in_child(const std::function<std::string()>& body) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string out = body();
    ssize_t n = ::write(fds[1], out.data(), out.size());
    ::_exit(n == static_cast<ssize_t>(out.size()) ? 0 : 1);
  }
  ::close(fds[1]);
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) out += " (child failed)";
  return out;
}

std::string try_lock(const fs::path& dir) {
  auto lock = EngineLock::acquire(dir);
  if (lock.ok()) return "locked";
  return std::to_string(static_cast<int>(lock.error().code)) + " " + lock.error().message;
}

TEST_F(SchemaTest, SecondEngineGetsConflictNamingTheHolder) {
  auto lock = EngineLock::acquire(dir_);
  ASSERT_TRUE(lock.ok()) << lock.error().message;
  std::string expected = std::to_string(static_cast<int>(ErrorCode::Conflict)) + " another jr engine (pid " +
                         std::to_string(::getpid()) + ") is using " + dir_.string();
  EXPECT_EQ(in_child([&] { return try_lock(dir_); }), expected);
  EXPECT_EQ(in_child([&] { return std::to_string(EngineLock::holder(dir_)); }), std::to_string(::getpid()));
  lock->reset();
  EXPECT_EQ(in_child([&] { return try_lock(dir_); }), "locked");
  EXPECT_EQ(EngineLock::holder(dir_), 0);
}

TEST_F(SchemaTest, LockOfAKilledEngineIsFree) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(ready[0]);
    auto lock = EngineLock::acquire(dir_);
    char c = lock.ok() ? 'y' : 'n';
    if (::write(ready[1], &c, 1) != 1) ::_exit(1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(c, 'y');
  auto held = EngineLock::acquire(dir_);
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.error().code, ErrorCode::Conflict);
  EXPECT_EQ(held.error().message,
            "another jr engine (pid " + std::to_string(pid) + ") is using " + dir_.string());
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  auto lock = EngineLock::acquire(dir_);
  ASSERT_TRUE(lock.ok()) << lock.error().message;
  EXPECT_EQ(in_child([&] { return std::to_string(EngineLock::holder(dir_)); }), std::to_string(::getpid()));
}

}  // namespace
}  // namespace jr
