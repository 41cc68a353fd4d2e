// Store: the task state machine's transitions, their events and attempts, runnable order, and
// sync_tasks' matching of a run's tasks by identity.
#include "storage/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/codec.h"
#include "storage/types.h"

namespace jr {
namespace {

namespace fs = std::filesystem;

// Every row `sql` returns: columns joined by '|', rows by ';', NULL written "null".
std::string rows(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    return std::string("error: ") + sqlite3_errmsg(db);
  }
  std::string out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    if (!out.empty()) out += ';';
    for (int c = 0; c < sqlite3_column_count(st); ++c) {
      if (c) out += '|';
      auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
      out += text ? text : "null";
    }
  }
  sqlite3_finalize(st);
  return out;
}

std::string describe(const SyncSummary& s) {
  return "total=" + std::to_string(s.total) + " added=" + std::to_string(s.added) +
         " skipped=" + std::to_string(s.skipped) + " resumed=" + std::to_string(s.resumed) +
         " pending=" + std::to_string(s.pending) + " retried=" + std::to_string(s.retried) +
         " kept_failed=" + std::to_string(s.kept_failed) + " dropped=" + std::to_string(s.dropped) +
         " duplicates=" + std::to_string(s.duplicates);
}

TaskSpec spec_for(const std::string& input) {
  TaskSpec spec;
  spec.argv = {"work", input};
  return spec;
}

Exit exited(int code) {
  Exit e;
  e.exit_code = code;
  return e;
}

Exit killed(int signal) {
  Exit e;
  e.exit_code = -1;
  e.signal = signal;
  return e;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/jr_store_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ / "jr.db";
    auto store = Store::open(path_, SyncMode::Normal);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    JobSpec spec;
    spec.name = "test";
    auto job = store_->create_job(spec, "template");
    ASSERT_TRUE(job.ok()) << job.error().message;
    job_ = *job;
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  SyncSummary sync(const std::vector<std::string>& inputs, bool retry_failed = false) {
    auto r = store_->sync_tasks(job_, inputs.size(), [&](std::uint64_t i) { return spec_for(inputs[i]); },
                                retry_failed);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : SyncSummary{};
  }
  std::string q(const std::string& sql) { return rows(store_->db().raw(), sql); }
  TaskId id_of(const std::string& input) {
    return std::stoll("0" + q("SELECT id FROM tasks WHERE identity = '" + task_identity(spec_for(input)) + "'"));
  }
  // state|attempts|failures|exit_code|signal|next_run_ms|idx
  std::string task(TaskId id) {
    return q("SELECT state, attempts, failures, exit_code, signal, next_run_ms, idx FROM tasks WHERE id = " +
             std::to_string(id));
  }
  // from|to|attempt|detail of a task's events, oldest first.
  std::string events(TaskId id) {
    return q("SELECT from_state, to_state, attempt, detail FROM events WHERE task_id = " + std::to_string(id) +
             " ORDER BY id");
  }
  // attempt|outcome|exit_code|signal|detail of a task's finished attempts.
  std::string attempts(TaskId id) {
    return q("SELECT attempt, outcome, exit_code, signal, detail FROM attempts WHERE task_id = " +
             std::to_string(id) + " ORDER BY attempt");
  }
  // Everything a refused transition must leave alone.
  std::string everything() {
    return q("SELECT * FROM tasks ORDER BY id") + "\n" + q("SELECT * FROM attempts ORDER BY task_id, attempt") +
           "\n" + q("SELECT * FROM events ORDER BY id") + "\n" + q("SELECT * FROM jobs");
  }
  void start(TaskId id) {
    auto r = store_->start_task(id, 1, 1000);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  void finish(TaskId id, const Exit& exit, int retries = 0, std::int64_t retry_at = 0) {
    auto r = store_->finish_task(id, exit, retries, 2000, retry_at);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  void interrupt(TaskId id) {
    Exit e = killed(15);
    e.detail = "shutdown";
    auto r = store_->interrupt_task(id, e, 3000);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  std::vector<TaskId> runnable_ids(int limit, std::int64_t now) {
    auto r = store_->runnable(job_, limit, now);
    EXPECT_TRUE(r.ok()) << r.error().message;
    std::vector<TaskId> ids;
    if (r.ok()) for (auto& t : *r) ids.push_back(t.id);
    return ids;
  }

  fs::path dir_;
  fs::path path_;
  std::unique_ptr<Store> store_;
  JobId job_ = 0;
};

TEST_F(StoreTest, CreateJobWritesOneJobEvent) {
  EXPECT_EQ(q("SELECT job_id, task_id, from_state, to_state, detail FROM events"),
            std::to_string(job_) + "|null|null|null|job created");
  auto row = store_->job(job_);
  ASSERT_TRUE(row.ok());
  ASSERT_TRUE(row->has_value());
  EXPECT_EQ((*row)->name, "test");
  EXPECT_EQ((*row)->template_id, "template");
}

TEST_F(StoreTest, StartMovesPendingToRunning) {
  sync({"a"});
  TaskId a = id_of("a");
  EXPECT_EQ(task(a), "0|0|0|null|null|0|0");
  auto attempt = store_->start_task(a, 3, 1234);
  ASSERT_TRUE(attempt.ok()) << attempt.error().message;
  EXPECT_EQ(*attempt, 1);
  EXPECT_EQ(task(a), "1|1|0|null|null|0|0");
  EXPECT_EQ(q("SELECT slot, start_ms FROM tasks WHERE id = " + std::to_string(a)), "3|1234");
  EXPECT_EQ(events(a), "0|1|1|");
  EXPECT_EQ(q("SELECT count(*) FROM events WHERE task_id IS NOT NULL"), "1");
  EXPECT_EQ(attempts(a), "");
}

TEST_F(StoreTest, RecordProcessThenFinishSucceeded) {
  sync({"a"});
  TaskId a = id_of("a");
  start(a);
  ASSERT_TRUE(store_->record_process(a, 4242, 777).ok());
  auto running = store_->running_tasks();
  ASSERT_TRUE(running.ok());
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0].id, a);
  EXPECT_EQ((*running)[0].job, job_);
  EXPECT_EQ((*running)[0].attempt, 1);
  EXPECT_EQ((*running)[0].pgid, 4242);
  EXPECT_EQ((*running)[0].proc_start, 777);
  auto to = store_->finish_task(a, exited(0), 0, 2000, 0);
  ASSERT_TRUE(to.ok()) << to.error().message;
  EXPECT_EQ(*to, TaskState::Succeeded);
  EXPECT_EQ(task(a), "2|1|0|0|null|0|0");
  EXPECT_EQ(q("SELECT pid, proc_start, end_ms FROM tasks WHERE id = " + std::to_string(a)), "null|null|2000");
  EXPECT_EQ(events(a), "0|1|1|;1|2|1|");
  EXPECT_EQ(attempts(a), "1|2|0|null|");
  EXPECT_EQ(q("SELECT start_ms, end_ms, slot FROM attempts"), "1000|2000|1");
  EXPECT_TRUE(store_->running_tasks()->empty());
}

TEST_F(StoreTest, FinishWithoutRetriesFails) {
  sync({"a", "b"});
  TaskId a = id_of("a"), b = id_of("b");
  start(a);
  start(b);
  auto to = store_->finish_task(a, exited(3), 0, 2000, 0);
  ASSERT_TRUE(to.ok());
  EXPECT_EQ(*to, TaskState::Failed);
  EXPECT_EQ(task(a), "3|1|1|3|null|0|0");
  EXPECT_EQ(events(a), "0|1|1|;1|3|1|exit 3");
  EXPECT_EQ(attempts(a), "1|3|3|null|");
  auto tb = store_->finish_task(b, killed(9), 0, 2000, 0);
  ASSERT_TRUE(tb.ok());
  EXPECT_EQ(*tb, TaskState::Failed);
  EXPECT_EQ(task(b), "3|1|1|null|9|0|1");
  EXPECT_EQ(events(b), "0|1|1|;1|3|1|signal 9");
  EXPECT_EQ(attempts(b), "1|3|null|9|");
}

TEST_F(StoreTest, FailureWithRetriesLeftGoesBackToPendingAfterBackoff) {
  sync({"a"});
  TaskId a = id_of("a");
  EXPECT_EQ(*store_->next_backoff(job_), std::nullopt);
  start(a);
  auto to = store_->finish_task(a, exited(1), 2, 2000, 5000);
  ASSERT_TRUE(to.ok());
  EXPECT_EQ(*to, TaskState::Pending);
  EXPECT_EQ(task(a), "0|1|1|1|null|5000|0");
  EXPECT_EQ(*store_->next_backoff(job_), std::optional<std::int64_t>(5000));
  EXPECT_EQ(runnable_ids(10, 4999), std::vector<TaskId>{});
  EXPECT_EQ(runnable_ids(10, 5000), std::vector<TaskId>{a});
  auto r = store_->runnable(job_, 10, 5000);
  EXPECT_EQ((*r)[0].attempts, 1);
  EXPECT_EQ((*r)[0].failures, 1);
  EXPECT_EQ(*store_->start_task(a, 1, 5000), 2);
  EXPECT_EQ(*store_->next_backoff(job_), std::nullopt);
  EXPECT_EQ(*store_->finish_task(a, exited(1), 2, 6000, 0), TaskState::Pending);
  start(a);
  EXPECT_EQ(*store_->finish_task(a, exited(1), 2, 7000, 0), TaskState::Failed);
  EXPECT_EQ(task(a), "3|3|3|1|null|0|0");
  EXPECT_EQ(attempts(a), "1|3|1|null|;2|3|1|null|;3|3|1|null|");
  EXPECT_EQ(events(a), "0|1|1|;1|0|1|exit 1, retry 1 of 2;0|1|2|;1|0|2|exit 1, retry 2 of 2;0|1|3|;1|3|3|exit 1");
}

TEST_F(StoreTest, InterruptThenSyncMakesPendingAgain) {
  sync({"a", "b"});
  TaskId a = id_of("a");
  start(a);
  interrupt(a);
  EXPECT_EQ(task(a), "4|1|0|null|null|0|0");
  EXPECT_EQ(attempts(a), "1|4|null|15|shutdown");
  EXPECT_EQ(events(a), "0|1|1|;1|4|1|shutdown");
  EXPECT_EQ(runnable_ids(10, 1 << 30), std::vector<TaskId>{id_of("b")});
  EXPECT_EQ(describe(sync({"a", "b"})),
            "total=2 added=0 skipped=0 resumed=1 pending=1 retried=0 kept_failed=0 dropped=0 duplicates=0");
  EXPECT_EQ(task(a), "0|1|0|null|null|0|0");
  EXPECT_EQ(events(a), "0|1|1|;1|4|1|shutdown;4|0|0|resume");
  EXPECT_EQ(*store_->start_task(a, 1, 4000), 2);
}

TEST_F(StoreTest, CountStates) {
  sync({"p", "r", "s", "f", "i", "x"});
  start(id_of("r"));
  start(id_of("s"));
  finish(id_of("s"), exited(0));
  start(id_of("f"));
  finish(id_of("f"), exited(1));
  start(id_of("i"));
  interrupt(id_of("i"));
  sync({"p", "r", "s", "f", "i"});  // x dropped; r (running, no recovery ran) and i resumed
  start(id_of("r"));
  auto counts = store_->count_states(job_);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(*counts, (StateCounts{2, 1, 1, 1, 0, 0, 1}));
  auto other = store_->count_states(job_ + 1);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, (StateCounts{}));
}

TEST_F(StoreTest, RunnableInIndexOrderUpToLimit) {
  sync({"a", "b", "c", "d", "e"});
  TaskId a = id_of("a"), b = id_of("b"), c = id_of("c"), d = id_of("d"), e = id_of("e");
  EXPECT_EQ(runnable_ids(3, 0), (std::vector<TaskId>{a, b, c}));
  start(a);
  EXPECT_EQ(runnable_ids(3, 0), (std::vector<TaskId>{b, c, d}));
  EXPECT_EQ(runnable_ids(0, 0), (std::vector<TaskId>{}));
  sync({"e", "d", "c", "b", "a"});
  EXPECT_EQ(runnable_ids(10, 0), (std::vector<TaskId>{e, d, c, b}));
  auto r = store_->runnable(job_, 1, 0);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].index, 0);
  EXPECT_EQ((*r)[0].job, job_);
  EXPECT_EQ((*r)[0].spec.argv, (std::vector<std::string>{"work", "e"}));
}

TEST_F(StoreTest, RefusedTransitionsChangeNothing) {
  sync({"p", "r", "s", "f", "i", "d"});
  start(id_of("r"));
  start(id_of("s"));
  finish(id_of("s"), exited(0));
  start(id_of("f"));
  finish(id_of("f"), exited(2));
  start(id_of("i"));
  interrupt(id_of("i"));
  sync({"p", "r", "s", "f", "i"});  // d dropped; r and i back to pending
  start(id_of("r"));
  start(id_of("i"));
  interrupt(id_of("i"));
  ASSERT_EQ(*store_->count_states(job_), (StateCounts{1, 1, 1, 1, 1, 0, 1}));

  auto refused = [&](const std::string& what, const std::function<Error()>& op, const std::string& message) {
    std::string before = everything();
    Error e = op();
    EXPECT_EQ(e.code, ErrorCode::Illegal) << what << ": " << e.message;
    EXPECT_EQ(e.message, message) << what;
    EXPECT_EQ(everything(), before) << what << " changed the store";
  };
  auto start_err = [&](TaskId id) { return [=, this] { auto r = store_->start_task(id, 1, 9000); return r.ok() ? Error{} : r.error(); }; };
  auto finish_err = [&](TaskId id) { return [=, this] { auto r = store_->finish_task(id, exited(0), 3, 9000, 0); return r.ok() ? Error{} : r.error(); }; };
  auto interrupt_err = [&](TaskId id) { return [=, this] { auto r = store_->interrupt_task(id, killed(9), 9000); return r.ok() ? Error{} : r.error(); }; };
  auto record_err = [&](TaskId id) { return [=, this] { auto r = store_->record_process(id, 1, 1); return r.ok() ? Error{} : r.error(); }; };
  auto id = [&](const std::string& n) { return std::to_string(id_of(n)); };

  for (const char* n : {"r", "s", "f", "i", "d"}) {
    std::string st(to_string(static_cast<TaskState>(std::stoi(q("SELECT state FROM tasks WHERE id = " + id(n))))));
    refused(std::string("start ") + n, start_err(id_of(n)), "task " + id(n) + " is " + st + ": cannot start it");
  }
  for (const char* n : {"p", "s", "f", "i", "d"}) {
    std::string st(to_string(static_cast<TaskState>(std::stoi(q("SELECT state FROM tasks WHERE id = " + id(n))))));
    refused(std::string("finish ") + n, finish_err(id_of(n)), "task " + id(n) + " is " + st + ": cannot finish it");
    refused(std::string("interrupt ") + n, interrupt_err(id_of(n)), "task " + id(n) + " is " + st + ": cannot interrupt it");
    refused(std::string("record ") + n, record_err(id_of(n)), "task " + id(n) + " is " + st + ": cannot record its process");
  }
  std::string before = everything();
  auto missing = store_->start_task(999999, 1, 0);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
  EXPECT_EQ(store_->finish_task(999999, exited(0), 0, 0, 0).error().code, ErrorCode::NotFound);
  EXPECT_EQ(everything(), before);
}

// The engine's group commit: a refused transition inside a transaction that is then committed
// must have changed nothing either (the store's contract: "changing nothing").
TEST_F(StoreTest, RefusedTransitionsInsideGroupCommitChangeNothing) {
  sync({"p", "s", "f"});
  start(id_of("s"));
  finish(id_of("s"), exited(0));
  start(id_of("f"));
  finish(id_of("f"), exited(2));
  std::string before = everything();
  {
    auto tx = store_->transaction();
    ASSERT_TRUE(tx.begin_status().ok());
    for (const char* n : {"p", "s", "f"}) {
      EXPECT_EQ(store_->interrupt_task(id_of(n), killed(9), 9000).error().code, ErrorCode::Illegal) << n;
      EXPECT_EQ(store_->finish_task(id_of(n), exited(0), 0, 9000, 0).error().code, ErrorCode::Illegal) << n;
      EXPECT_EQ(store_->record_process(id_of(n), 1, 1).error().code, ErrorCode::Illegal) << n;
    }
    EXPECT_EQ(store_->start_task(id_of("s"), 1, 9000).error().code, ErrorCode::Illegal);
    ASSERT_TRUE(tx.commit().ok());
  }
  EXPECT_EQ(everything(), before);
}

TEST_F(StoreTest, GroupCommitNotCommittedChangesNothing) {
  sync({"a", "b"});
  TaskId a = id_of("a"), b = id_of("b");
  std::string before = everything();
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  {
    auto tx = store_->transaction();
    ASSERT_TRUE(tx.begin_status().ok());
    start(a);
    finish(a, exited(0));
    start(b);
    EXPECT_EQ(task(a), "2|1|0|0|null|0|0");  // the writer sees its own transaction
    EXPECT_EQ(rows(reader, "SELECT state FROM tasks ORDER BY id"), "0;0");
  }
  sqlite3_close(reader);
  EXPECT_EQ(everything(), before);
  EXPECT_EQ(runnable_ids(10, 0), (std::vector<TaskId>{a, b}));
}

TEST_F(StoreTest, GroupCommitCommitsAllAtOnce) {
  sync({"a", "b"});
  TaskId a = id_of("a"), b = id_of("b");
  {
    auto tx = store_->transaction();
    ASSERT_TRUE(tx.begin_status().ok());
    start(a);
    finish(a, exited(0));
    start(b);
    ASSERT_TRUE(tx.commit().ok());
  }
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  EXPECT_EQ(rows(reader, "SELECT id, state, attempts FROM tasks ORDER BY id"),
            std::to_string(a) + "|2|1;" + std::to_string(b) + "|1|1");
  EXPECT_EQ(rows(reader, "SELECT count(*) FROM events WHERE task_id IS NOT NULL"), "3");
  sqlite3_close(reader);
}

TEST_F(StoreTest, SyncNewJobAddsEveryTaskInOrder) {
  EXPECT_EQ(describe(sync({"a", "b", "c"})),
            "total=3 added=3 skipped=0 resumed=0 pending=0 retried=0 kept_failed=0 dropped=0 duplicates=0");
  EXPECT_EQ(q("SELECT idx, state, attempts FROM tasks ORDER BY idx"), "0|0|0;1|0|0;2|0|0");
  EXPECT_EQ(q("SELECT count(*) FROM events WHERE task_id IS NOT NULL"), "0");
  auto missing = store_->sync_tasks(
      job_ + 100, 1, [](std::uint64_t) { return spec_for("a"); }, false);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
}

TEST_F(StoreTest, SyncIdenticalRunSkipsSucceededAndKeepsPending) {
  sync({"a", "b", "c"});
  for (const char* n : {"a", "b"}) {
    start(id_of(n));
    finish(id_of(n), exited(0));
  }
  std::string tasks_before = q("SELECT id, idx, state, attempts FROM tasks ORDER BY id");
  std::string events_before = q("SELECT count(*) FROM events");
  EXPECT_EQ(describe(sync({"a", "b", "c"})),
            "total=3 added=0 skipped=2 resumed=0 pending=1 retried=0 kept_failed=0 dropped=0 duplicates=0");
  EXPECT_EQ(q("SELECT id, idx, state, attempts FROM tasks ORDER BY id"), tasks_before);
  EXPECT_EQ(q("SELECT count(*) FROM events"), events_before);
  EXPECT_EQ(runnable_ids(10, 0), std::vector<TaskId>{id_of("c")});
}

TEST_F(StoreTest, SyncAddedInputsKeepsKnownTasks) {
  sync({"a", "b", "c"});
  TaskId a = id_of("a"), b = id_of("b"), c = id_of("c");
  start(a);
  finish(a, exited(0));
  EXPECT_EQ(describe(sync({"a", "b", "c", "d", "e"})),
            "total=5 added=2 skipped=1 resumed=0 pending=2 retried=0 kept_failed=0 dropped=0 duplicates=0");
  EXPECT_EQ(id_of("a"), a);
  EXPECT_EQ(id_of("b"), b);
  EXPECT_EQ(id_of("c"), c);
  EXPECT_EQ(q("SELECT count(*) FROM tasks"), "5");
  EXPECT_EQ(runnable_ids(10, 0), (std::vector<TaskId>{b, c, id_of("d"), id_of("e")}));
  EXPECT_EQ(q("SELECT idx FROM tasks ORDER BY id"), "0;1;2;3;4");
}

TEST_F(StoreTest, SyncRemovedInputsAreDropped) {
  sync({"a", "b", "c"});
  TaskId b = id_of("b");
  start(b);
  finish(b, exited(4));
  EXPECT_EQ(describe(sync({"a", "c"})),
            "total=2 added=0 skipped=0 resumed=0 pending=2 retried=0 kept_failed=0 dropped=1 duplicates=0");
  EXPECT_EQ(task(b), "6|1|1|4|null|0|1");
  EXPECT_EQ(events(b), "0|1|1|;1|3|1|exit 4;3|6|1|no longer asked for");
  EXPECT_EQ(q("SELECT idx FROM tasks WHERE id = " + std::to_string(id_of("c"))), "1");
  EXPECT_EQ(runnable_ids(10, 0), (std::vector<TaskId>{id_of("a"), id_of("c")}));
  EXPECT_EQ(*store_->count_states(job_), (StateCounts{2, 0, 0, 0, 0, 0, 1}));
  // Dropped once: a second run without it neither counts nor records it again.
  EXPECT_EQ(sync({"a", "c"}).dropped, 0);
  EXPECT_EQ(q("SELECT count(*) FROM events WHERE to_state = 6"), "1");
}

TEST_F(StoreTest, SyncReorderedInputsReindexSameTasks) {
  sync({"a", "b", "c"});
  TaskId a = id_of("a"), b = id_of("b"), c = id_of("c");
  std::string events_before = q("SELECT count(*) FROM events");
  EXPECT_EQ(describe(sync({"c", "a", "b"})),
            "total=3 added=0 skipped=0 resumed=0 pending=3 retried=0 kept_failed=0 dropped=0 duplicates=0");
  EXPECT_EQ(q("SELECT id, idx FROM tasks ORDER BY id"),
            std::to_string(a) + "|1;" + std::to_string(b) + "|2;" + std::to_string(c) + "|0");
  EXPECT_EQ(q("SELECT count(*) FROM events"), events_before);
  EXPECT_EQ(runnable_ids(10, 0), (std::vector<TaskId>{c, a, b}));
}

TEST_F(StoreTest, SyncFoldsDuplicateIdentities) {
  EXPECT_EQ(describe(sync({"a", "b", "a", "b", "c"})),
            "total=3 added=3 skipped=0 resumed=0 pending=0 retried=0 kept_failed=0 dropped=0 duplicates=2");
  EXPECT_EQ(q("SELECT count(*) FROM tasks"), "3");
  EXPECT_EQ(describe(sync({"c", "c", "a", "b"})),
            "total=3 added=0 skipped=0 resumed=0 pending=3 retried=0 kept_failed=0 dropped=0 duplicates=1");
  EXPECT_EQ(runnable_ids(10, 0), (std::vector<TaskId>{id_of("c"), id_of("a"), id_of("b")}));
}

TEST_F(StoreTest, SyncKeepsFailedUnlessRetryFailed) {
  sync({"a", "b"});
  TaskId a = id_of("a");
  start(a);
  finish(a, exited(7));
  EXPECT_EQ(describe(sync({"a", "b"}, false)),
            "total=2 added=0 skipped=0 resumed=0 pending=1 retried=0 kept_failed=1 dropped=0 duplicates=0");
  EXPECT_EQ(task(a), "3|1|1|7|null|0|0");
  EXPECT_EQ(describe(sync({"a", "b"}, true)),
            "total=2 added=0 skipped=0 resumed=0 pending=1 retried=1 kept_failed=0 dropped=0 duplicates=0");
  EXPECT_EQ(task(a), "0|1|0|7|null|0|0");
  EXPECT_EQ(events(a), "0|1|1|;1|3|1|exit 7;3|0|0|requeue");
  EXPECT_EQ(*store_->start_task(a, 1, 5000), 2);
  EXPECT_EQ(*store_->finish_task(a, exited(7), 0, 6000, 0), TaskState::Failed);
}

TEST_F(StoreTest, SyncRevivesDroppedTasks) {
  sync({"a", "b", "c"});
  TaskId a = id_of("a"), b = id_of("b"), c = id_of("c");
  start(a);
  finish(a, exited(0));
  start(b);
  finish(b, exited(1));
  EXPECT_EQ(describe(sync({"z"})),
            "total=1 added=1 skipped=0 resumed=0 pending=0 retried=0 kept_failed=0 dropped=3 duplicates=0");
  EXPECT_EQ(*store_->count_states(job_), (StateCounts{1, 0, 0, 0, 0, 0, 3}));
  EXPECT_EQ(describe(sync({"c", "b", "a"})),
            "total=3 added=2 skipped=1 resumed=0 pending=0 retried=0 kept_failed=0 dropped=1 duplicates=0");
  EXPECT_EQ(task(a), "2|1|0|0|null|0|2");
  EXPECT_EQ(q("SELECT state, attempts, idx FROM tasks WHERE id = " + std::to_string(b)), "0|1|1");
  EXPECT_EQ(task(c), "0|0|0|null|null|0|0");
  EXPECT_EQ(q("SELECT from_state, to_state FROM events WHERE task_id = " + std::to_string(a) + " ORDER BY id"),
            "0|1;1|2;2|6;6|2");
  EXPECT_EQ(q("SELECT from_state, to_state FROM events WHERE task_id = " + std::to_string(b) + " ORDER BY id"),
            "0|1;1|3;3|6;6|0");
  EXPECT_EQ(runnable_ids(10, 0), (std::vector<TaskId>{c, b}));
}

TEST_F(StoreTest, HundredThousandTasksInOneTransaction) {
  constexpr std::uint64_t kCount = 100000;
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  std::string seen_midway;
  auto summary = store_->sync_tasks(
      job_, kCount,
      [&](std::uint64_t i) {
        if (i == kCount / 2) seen_midway = rows(reader, "SELECT count(*) FROM tasks");
        return spec_for(std::to_string(i));
      },
      false);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(seen_midway, "0");  // nothing is visible before the one commit
  EXPECT_EQ(rows(reader, "SELECT count(*), min(idx), max(idx) FROM tasks"), "100000|0|99999");
  sqlite3_close(reader);
  EXPECT_EQ(summary->total, 100000);
  EXPECT_EQ(summary->added, 100000);
  EXPECT_EQ(*store_->count_states(job_), (StateCounts{100000, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(runnable_ids(2, 0).size(), 2u);
}

}  // namespace
}  // namespace jr
