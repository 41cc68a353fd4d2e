// The store under kill -9: a child process runs transitions and reports each one after its
// commit; the parent kills it after a random number of them, then checks that the database is
// intact, that every task is where the committed transitions left it, and that nothing the child
// reported is lost.
//
// The parent plans each round's transitions before forking, so it can replay them on its own
// copy of the rows: after the kill, the database must equal the plan applied up to the last
// reported transition, or up to the one after it (committed, killed before reporting).
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/store.h"
#include "storage/types.h"
#include "tests/integration/harness.h"

namespace jr {
namespace {

namespace fs = std::filesystem;

constexpr int kRetries = 1;
constexpr int kRounds = 100;
constexpr std::uint64_t kInitialInputs = 12;

TaskSpec input(std::uint64_t i) {
  TaskSpec spec;
  spec.argv = {"work", std::to_string(i)};
  return spec;
}

enum class OpKind { Start, Record, Finish, Interrupt, Sync };

struct Op {
  OpKind kind;
  TaskId task = 0;
  int exit_code = 0;         // Finish
  std::uint64_t inputs = 0;  // Sync
};

struct Row {
  int state = 0;
  int attempts = 0;
  int failures = 0;
  int attempt_rows = 0;
  int events = 0;
  bool operator==(const Row&) const = default;
};

// The job's tasks by id, and how many inputs the job asks for.
struct Model {
  std::map<TaskId, Row> tasks;
  std::uint64_t inputs = 0;
};

std::string scalar(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) return std::string("error: ") + sqlite3_errmsg(db);
  std::string out = "no row";
  if (sqlite3_step(st) == SQLITE_ROW) {
    auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    out = text ? text : "null";
  }
  sqlite3_finalize(st);
  return out;
}

// Reads the tasks through a connection of its own, and checks what must hold whatever the
// moment of the kill. Opening it also recovers the WAL the killed child left.
Model read_and_check(const fs::path& path) {
  Model m;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path;
    sqlite3_close(db);
    return m;
  }
  EXPECT_EQ(scalar(db, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(scalar(db, "PRAGMA foreign_key_check"), "no row");
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM tasks WHERE state NOT BETWEEN 0 AND 6"), "0");
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM tasks t WHERE attempts < "
                       "(SELECT count(*) FROM attempts a WHERE a.task_id = t.id)"), "0");
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM tasks WHERE state = 2 AND exit_code IS NOT 0"), "0");
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM tasks WHERE state = 1 AND pid IS NOT NULL "
                       "AND proc_start IS NULL"), "0");
  sqlite3_stmt* st = nullptr;
  const char* sql =
      "SELECT t.id, t.state, t.attempts, t.failures, "
      "(SELECT count(*) FROM attempts a WHERE a.task_id = t.id), "
      "(SELECT count(*) FROM events e WHERE e.task_id = t.id) FROM tasks t";
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(db);
  } else {
    while (sqlite3_step(st) == SQLITE_ROW) {
      m.tasks[sqlite3_column_int64(st, 0)] = {sqlite3_column_int(st, 1), sqlite3_column_int(st, 2),
                                              sqlite3_column_int(st, 3), sqlite3_column_int(st, 4),
                                              sqlite3_column_int(st, 5)};
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  m.inputs = m.tasks.size();
  return m;
}

void apply(Model& m, const Op& op) {
  if (op.kind == OpKind::Sync) {
    for (auto& [id, row] : m.tasks) {
      if (row.state == static_cast<int>(TaskState::Running) ||
          row.state == static_cast<int>(TaskState::Interrupted)) {
        row.state = static_cast<int>(TaskState::Pending);
        ++row.events;
      }
    }
    m.inputs = op.inputs;
    return;
  }
  Row& t = m.tasks[op.task];
  if (op.kind != OpKind::Record) ++t.events;
  switch (op.kind) {
    case OpKind::Start:
      t.state = static_cast<int>(TaskState::Running);
      ++t.attempts;
      break;
    case OpKind::Record:
      break;
    case OpKind::Finish:
      ++t.attempt_rows;
      if (op.exit_code == 0) {
        t.state = static_cast<int>(TaskState::Succeeded);
      } else {
        ++t.failures;
        t.state = static_cast<int>(t.failures <= kRetries ? TaskState::Pending : TaskState::Failed);
      }
      break;
    case OpKind::Interrupt:
      ++t.attempt_rows;
      t.state = static_cast<int>(TaskState::Interrupted);
      break;
    case OpKind::Sync:
      break;
  }
}

// Whether the database holds what `expected` says; tasks it does not know must be new ones.
bool matches(const Model& expected, const Model& db) {
  if (db.tasks.size() != expected.inputs) return false;
  for (const auto& [id, row] : expected.tasks) {
    auto it = db.tasks.find(id);
    if (it == db.tasks.end() || !(it->second == row)) return false;
  }
  for (const auto& [id, row] : db.tasks) {
    if (!expected.tasks.count(id) && !(row == Row{})) return false;
  }
  return true;
}

std::string describe(const Model& m) {
  std::string out = "inputs=" + std::to_string(m.inputs);
  for (const auto& [id, r] : m.tasks) {
    out += " " + std::to_string(id) + ":" + std::to_string(r.state) + "/" + std::to_string(r.attempts) + "/" +
           std::to_string(r.failures) + "/" + std::to_string(r.attempt_rows) + "/" + std::to_string(r.events);
  }
  return out;
}

Status sync(Store& store, JobId job, std::uint64_t inputs) {
  auto r = store.sync_tasks(job, inputs, input, false);
  if (!r) return r.error();
  return {};
}

// The child: runs the plan, writing one byte after each committed transition, then waits to
// be killed. Exits non-zero at the first transition the store refuses.
[[noreturn]] void run_child(const fs::path& path, JobId job, const std::vector<Op>& plan, int report_fd) {
  auto store = Store::open(path, SyncMode::Normal);
  if (!store) ::_exit(2);
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const Op& op = plan[i];
    bool ok = false;
    Exit exit;
    switch (op.kind) {
      case OpKind::Start: ok = (*store)->start_task(op.task, 1, 1000 + static_cast<std::int64_t>(i)).ok(); break;
      case OpKind::Record: ok = (*store)->record_process(op.task, 100000 + op.task, 42).ok(); break;
      case OpKind::Finish:
        exit.exit_code = op.exit_code;
        ok = (*store)->finish_task(op.task, exit, kRetries, 2000, 0).ok();
        break;
      case OpKind::Interrupt:
        exit.signal = 15;
        exit.detail = "shutdown";
        ok = (*store)->interrupt_task(op.task, exit, 3000).ok();
        break;
      case OpKind::Sync: ok = sync(**store, job, op.inputs).ok(); break;
    }
    if (!ok) ::_exit(10);
    char byte = 'c';
    if (::write(report_fd, &byte, 1) != 1) ::_exit(3);
  }
  for (;;) ::pause();
}

// Before a round, what the engine's recovery does: interrupt what the killed child left running,
// then make interrupted tasks pending again.
void recover(const fs::path& path, JobId job, std::uint64_t inputs) {
  auto store = Store::open(path, SyncMode::Normal);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto running = (*store)->running_tasks();
  ASSERT_TRUE(running.ok());
  for (const auto& t : *running) {
    Exit exit;
    exit.signal = 9;
    exit.detail = "recovery";
    ASSERT_TRUE((*store)->interrupt_task(t.id, exit, 4000).ok());
  }
  ASSERT_TRUE(sync(**store, job, inputs).ok());
}

std::vector<Op> make_plan(const Model& base, std::mt19937& rng) {
  std::vector<TaskId> pending;
  for (const auto& [id, row] : base.tasks) {
    if (row.state == static_cast<int>(TaskState::Pending)) pending.push_back(id);
  }
  std::shuffle(pending.begin(), pending.end(), rng);
  pending.resize(std::min<std::size_t>(pending.size(), 6));
  std::size_t sync_at = std::uniform_int_distribution<std::size_t>(0, pending.size())(rng);
  std::vector<Op> plan;
  for (std::size_t i = 0; i <= pending.size(); ++i) {
    if (i == sync_at) plan.push_back({OpKind::Sync, 0, 0, base.inputs + 2});
    if (i == pending.size()) break;
    TaskId t = pending[i];
    plan.push_back({OpKind::Start, t});
    plan.push_back({OpKind::Record, t});
    int outcome = std::uniform_int_distribution<int>(0, 3)(rng);
    if (outcome == 3) plan.push_back({OpKind::Interrupt, t});
    else plan.push_back({OpKind::Finish, t, outcome == 2 ? 1 : 0});
  }
  return plan;
}

TEST(CrashTest, KilledWriterLosesNothingItReported) {
  char pattern[] = "/tmp/jr_crash_test.XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  fs::path dir = pattern;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  fs::path path = dir / "jr.db";
  JobId job = 0;
  {
    auto store = Store::open(path, SyncMode::Normal);
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto created = (*store)->create_job(JobSpec{}, "template");
    ASSERT_TRUE(created.ok());
    job = *created;
    ASSERT_TRUE(sync(**store, job, kInitialInputs).ok());
  }
  std::mt19937 rng(20240611);
  std::set<TaskId> reported_succeeded;
  int killed_mid_commit = 0;
  Model after = read_and_check(path);
  for (int round = 0; round < kRounds && !HasFailure(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    recover(path, job, after.inputs);
    Model base = read_and_check(path);
    std::vector<Op> plan = make_plan(base, rng);
    std::size_t k = std::uniform_int_distribution<std::size_t>(0, plan.size())(rng);

    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      run_child(path, job, plan, fds[1]);
    }
    ::close(fds[1]);
    std::size_t reported = 0;
    char buf[64];
    while (reported < k) {
      ssize_t n = ::read(fds[0], buf, std::min(sizeof buf, k - reported));
      if (n <= 0) break;
      reported += static_cast<std::size_t>(n);
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child stopped by itself, status " << status << ", after " << reported << " transitions";
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) reported += static_cast<std::size_t>(n);
    ::close(fds[0]);
    ASSERT_LE(reported, plan.size());

    after = read_and_check(path);
    // Exactly the reported transitions, or one more: a running task only where the child was
    // killed between the start of an attempt and its end.
    Model expected = base;
    for (std::size_t i = 0; i < reported; ++i) {
      apply(expected, plan[i]);
      if (plan[i].kind == OpKind::Finish && plan[i].exit_code == 0) reported_succeeded.insert(plan[i].task);
    }
    bool as_reported = matches(expected, after);
    Model one_more = expected;
    if (reported < plan.size()) apply(one_more, plan[reported]);
    bool one_unreported = reported < plan.size() && matches(one_more, after);
    if (one_unreported && !as_reported) ++killed_mid_commit;
    EXPECT_TRUE(as_reported || one_unreported)
        << "after " << reported << " of " << plan.size() << " transitions\n  database: " << describe(after)
        << "\n  expected: " << describe(expected) << "\n  or:       " << describe(one_more);
    for (TaskId id : reported_succeeded) {
      EXPECT_EQ(after.tasks[id].state, static_cast<int>(TaskState::Succeeded)) << "task " << id;
    }
  }
  EXPECT_FALSE(reported_succeeded.empty());
  RecordProperty("killed_after_unreported_commit", killed_mid_commit);
}

// A store killed while it is being created: what is left is no database, or one that a
// read-only reader (jr status --state, jr top) opens and finds whole.
TEST(CrashTest, KilledDuringCreationLeavesNoDatabaseOrAWholeOne) {
  char tmpl[] = "/tmp/jr-create-crash-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  fs::path root = tmpl;
  std::mt19937 rng(test::test_seed());
  // How long a creation takes here: the kills are spread over that window, which widens while
  // no kill has landed after the rename (a loaded machine makes creation slower than timed).
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(Store::open(root / "timed.db", SyncMode::Normal));
  auto window_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  // Both outcomes must be seen, or the test has not tested a kill on each side of the rename.
  constexpr int kMinRounds = 40, kMaxRounds = 400;
  int absent = 0, whole = 0, round = 0;
  for (; round < kMinRounds || ((absent == 0 || whole == 0) && round < kMaxRounds); ++round) {
    if (round >= kMinRounds && whole == 0) window_us = window_us * 5 / 4 + 1;
    fs::path dir = root / std::to_string(round);
    fs::create_directories(dir);
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    pid_t child = ::fork();
    if (child == 0) {
      ::close(ready[0]);
      (void)!::write(ready[1], "x", 1);
      auto store = Store::open(dir / "jr.db", SyncMode::Normal);
      _exit(store ? 0 : 1);
    }
    ::close(ready[1]);
    char c;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    ::close(ready[0]);
    // The kill lands anywhere from before the open to after the rename (a busy wait: this
    // chooses a moment, it synchronises nothing).
    auto at = std::chrono::steady_clock::now() +
              std::chrono::microseconds(std::uniform_int_distribution<std::int64_t>(0, window_us * 6 / 5)(rng));
    while (std::chrono::steady_clock::now() < at) {
    }
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    if (!fs::exists(dir / "jr.db")) {
      ++absent;
      continue;
    }
    auto reader = Store::open_read_only(dir / "jr.db");
    ASSERT_TRUE(reader) << "round " << round << ": " << reader.error().message;
    ++whole;
    auto reopened = Store::open(dir / "jr.db", SyncMode::Normal);
    ASSERT_TRUE(reopened) << reopened.error().message;
  }
  std::printf("creation killed %d times: %d left no database, %d a whole one\n", round, absent, whole);
  EXPECT_EQ(absent + whole, round);
  EXPECT_GT(absent, 0) << "no kill landed before the store was in place";
  EXPECT_GT(whole, 0) << "no kill landed after the store was in place";
  fs::remove_all(root);
}

}  // namespace
}  // namespace jr
