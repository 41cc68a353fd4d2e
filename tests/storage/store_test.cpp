// Store: the task state machine's transitions, their events and attempts, runnable order, and
// sync_tasks' matching of a run's tasks by identity.
#include "storage/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/checkpoints.h"
#include "storage/codec.h"
#include "storage/run_reads.h"
#include "storage/store_db.h"
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

// total/added/skipped/resumed/pending/retried/kept_failed/dropped
std::string describe(const SyncSummary& s) {
  std::string out;
  for (auto n : {s.total, s.added, s.skipped, s.resumed, s.pending, s.retried, s.kept_failed, s.dropped}) {
    out += (out.empty() ? "" : "/") + std::to_string(n);
  }
  return out;
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

Exit killed(int signal, const std::string& detail = "") {
  Exit e = exited(-1);
  e.signal = signal;
  e.detail = detail;
  return e;
}

template <typename R>
Error error_of(const R& r) {
  return r.ok() ? Error{ErrorCode::Internal, "accepted"} : r.error();
}

// A store with one job; tasks are named by their input ("a" runs `work a`).
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
  std::string q(const std::string& sql) { return rows(store_db(*store_).raw(), sql); }
  // What another connection (a reader, like `jr status`) sees.
  std::string peek(const std::string& sql) {
    sqlite3* reader = nullptr;
    std::string out = sqlite3_open_v2(path_.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK
                          ? rows(reader, sql) : "cannot open";
    sqlite3_close(reader);
    return out;
  }
  TaskId id(const std::string& n) {
    return std::stoll("0" + q("SELECT id FROM tasks WHERE identity = '" + task_identity(spec_for(n)) + "'"));
  }
  std::string sid(const std::string& n) { return std::to_string(id(n)); }
  std::vector<TaskId> ids(const std::vector<std::string>& names) {
    std::vector<TaskId> out;
    for (const auto& n : names) out.push_back(id(n));
    return out;
  }
  // state|attempts|failures|exit_code|signal|next_run_ms|idx
  std::string task(const std::string& n) {
    return q("SELECT state, attempts, failures, exit_code, signal, next_run_ms, idx FROM tasks WHERE id = " + sid(n));
  }
  // from|to|attempt|detail of a task's events, oldest first.
  std::string events(const std::string& n) {
    return q("SELECT from_state, to_state, attempt, detail FROM events WHERE task_id = " + sid(n) + " ORDER BY id");
  }
  // attempt|outcome|exit_code|signal|detail of a task's finished attempts.
  std::string attempts(const std::string& n) {
    return q("SELECT attempt, outcome, exit_code, signal, detail FROM attempts WHERE task_id = " + sid(n) +
             " ORDER BY attempt");
  }
  // The rows of every table a refused transition must leave alone.
  std::vector<std::string> snapshot() {
    return {q("SELECT * FROM tasks ORDER BY id"), q("SELECT * FROM attempts ORDER BY task_id, attempt"),
            q("SELECT * FROM events ORDER BY id"), q("SELECT * FROM jobs")};
  }
  // Empty when no table changed since `before`, else the first that did, before -> after.
  std::string changes(const std::vector<std::string>& before) {
    const char* names[] = {"tasks", "attempts", "events", "jobs"};
    auto now = snapshot();
    for (std::size_t i = 0; i < now.size(); ++i) {
      if (now[i] != before[i]) return std::string(names[i]) + ": " + before[i] + "  ->  " + now[i];
    }
    return "";
  }
  void start(const std::string& n) { ASSERT_TRUE(store_->start_task(id(n), 1, 1000).ok()) << n; }
  void end(const std::string& n, const Exit& exit) {
    ASSERT_TRUE(store_->finish_task(id(n), exit, 0, 2000, 0).ok()) << n;
  }
  void succeed(const std::string& n) { start(n); end(n, exited(0)); }
  void fail(const std::string& n, int code) { start(n); end(n, exited(code)); }
  void interrupt(const std::string& n) {
    ASSERT_TRUE(store_->interrupt_task(id(n), killed(15, "shutdown"), 3000).ok()) << n;
  }
  std::vector<TaskId> runnable(int limit, std::int64_t now) {
    auto r = store_->runnable(job_, limit, now);
    EXPECT_TRUE(r.ok()) << r.error().message;
    std::vector<TaskId> out;
    if (r.ok()) for (auto& t : *r) out.push_back(t.id);
    return out;
  }

  fs::path dir_;
  fs::path path_;
  std::unique_ptr<Store> store_;
  JobId job_ = 0;
};

TEST_F(StoreTest, StartRecordFinishSucceeded) {
  sync({"a"});
  EXPECT_EQ(task("a"), "0|0|0|null|null|0|0");
  auto attempt = store_->start_task(id("a"), 3, 1234);
  ASSERT_TRUE(attempt.ok()) << attempt.error().message;
  EXPECT_EQ(*attempt, 1);
  EXPECT_EQ(task("a"), "1|1|0|null|null|0|0");
  EXPECT_EQ(events("a"), "0|1|1|");
  EXPECT_EQ(attempts("a"), "");
  ASSERT_TRUE(store_->record_process(id("a"), 4242, 777).ok());
  EXPECT_EQ(q("SELECT slot, start_ms, pid, proc_start FROM tasks WHERE id = " + sid("a")), "3|1234|4242|777");
  auto running = store_->running_tasks();
  ASSERT_TRUE(running.ok() && running->size() == 1u);
  const RunningTask& r = (*running)[0];
  EXPECT_EQ(std::vector<std::int64_t>({r.id, r.job, r.attempt, r.pgid, r.proc_start}),
            std::vector<std::int64_t>({id("a"), job_, 1, 4242, 777}));
  EXPECT_EQ(*store_->finish_task(id("a"), exited(0), 0, 2000, 0), TaskState::Succeeded);
  EXPECT_EQ(task("a"), "2|1|0|0|null|0|0");
  EXPECT_EQ(q("SELECT pid, proc_start, end_ms FROM tasks WHERE id = " + sid("a")), "null|null|2000");
  EXPECT_EQ(events("a"), "0|1|1|;1|2|1|");
  EXPECT_EQ(attempts("a"), "1|2|0|null|");
  EXPECT_EQ(q("SELECT start_ms, end_ms, slot FROM attempts"), "1234|2000|3");
  EXPECT_TRUE(store_->running_tasks()->empty());
}

TEST_F(StoreTest, FinishWithoutRetriesFails) {
  sync({"a", "b"});
  start("a");
  start("b");
  EXPECT_EQ(*store_->finish_task(id("a"), exited(3), 0, 2000, 0), TaskState::Failed);
  EXPECT_EQ(task("a"), "3|1|1|3|null|0|0");
  EXPECT_EQ(events("a"), "0|1|1|;1|3|1|exit 3");
  EXPECT_EQ(attempts("a"), "1|3|3|null|");
  EXPECT_EQ(*store_->finish_task(id("b"), killed(9), 0, 2000, 0), TaskState::Failed);
  EXPECT_EQ(task("b"), "3|1|1|null|9|0|1");
  EXPECT_EQ(events("b"), "0|1|1|;1|3|1|signal 9");
  EXPECT_EQ(attempts("b"), "1|3|null|9|");
}

TEST_F(StoreTest, FailureWithRetriesLeftGoesBackToPendingAfterBackoff) {
  sync({"a"});
  TaskId a = id("a");
  EXPECT_EQ(*store_->next_backoff(job_), std::nullopt);
  start("a");
  EXPECT_EQ(*store_->finish_task(a, exited(1), 2, 2000, 5000), TaskState::Pending);
  EXPECT_EQ(task("a"), "0|1|1|1|null|5000|0");
  EXPECT_EQ(*store_->next_backoff(job_), std::optional<std::int64_t>(5000));
  EXPECT_EQ(runnable(10, 4999), std::vector<TaskId>{});
  EXPECT_EQ(runnable(10, 5000), std::vector<TaskId>{a});
  auto r = store_->runnable(job_, 10, 5000);
  EXPECT_EQ((*r)[0].attempts, 1);
  EXPECT_EQ((*r)[0].failures, 1);
  EXPECT_EQ(*store_->start_task(a, 1, 5000), 2);
  EXPECT_EQ(*store_->next_backoff(job_), std::nullopt);
  EXPECT_EQ(*store_->finish_task(a, exited(1), 2, 6000, 0), TaskState::Pending);
  start("a");
  EXPECT_EQ(*store_->finish_task(a, exited(1), 2, 7000, 0), TaskState::Failed);
  EXPECT_EQ(task("a"), "3|3|3|1|null|0|0");
  EXPECT_EQ(attempts("a"), "1|3|1|null|;2|3|1|null|;3|3|1|null|");
  EXPECT_EQ(events("a"), "0|1|1|;1|0|1|exit 1, retry 1 of 2;0|1|2|;1|0|2|exit 1, retry 2 of 2;0|1|3|;1|3|3|exit 1");
}

TEST_F(StoreTest, InterruptThenSyncMakesPendingAgain) {
  sync({"a", "b"});
  start("a");
  interrupt("a");
  EXPECT_EQ(task("a"), "4|1|0|null|null|0|0");
  EXPECT_EQ(attempts("a"), "1|4|null|15|shutdown");
  EXPECT_EQ(events("a"), "0|1|1|;1|4|1|shutdown");
  EXPECT_EQ(runnable(10, 1 << 30), ids({"b"}));
  EXPECT_EQ(describe(sync({"a", "b"})), "2/0/0/1/1/0/0/0");
  EXPECT_EQ(task("a"), "0|1|0|null|null|0|0");
  EXPECT_EQ(events("a"), "0|1|1|;1|4|1|shutdown;4|0|0|resume");
  EXPECT_EQ(*store_->start_task(id("a"), 1, 4000), 2);
}

// Checkpoints are counted where they are saved, per attempt: a new attempt starts from none,
// an ended one keeps its count in its row (storage/run_reads.h reads both).
TEST_F(StoreTest, CheckpointsSavedAreCountedPerAttempt) {
  sync({"a"});
  TaskId a = id("a");
  start("a");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(save_checkpoint(*store_, a, "bytes", 1).ok());
  auto running = running_attempts(*store_, job_);
  ASSERT_TRUE(running.ok()) << running.error().message;
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0].checkpoints_saved, 3);
  ASSERT_TRUE(store_->interrupt_task(a, killed(15, "shutdown"), 3000).ok());
  sync({"a"});
  ASSERT_EQ(*store_->start_task(a, 1, 4000), 2);
  ASSERT_TRUE(save_checkpoint(*store_, a, "more", 1).ok());
  end("a", exited(0));
  auto ended = ended_attempts(*store_, job_);
  ASSERT_TRUE(ended.ok()) << ended.error().message;
  std::sort(ended->begin(), ended->end(), [](auto& x, auto& y) { return x.attempt < y.attempt; });
  std::string counts;
  for (auto& e : *ended) counts += std::to_string(e.attempt) + "=" + std::to_string(e.checkpoints_saved) + " ";
  EXPECT_EQ(counts, "1=3 2=1 ");
  // The checkpoints table kept only the last one; the counts are unaffected.
  EXPECT_EQ(q("SELECT count(*) FROM checkpoints"), "1");
}

TEST_F(StoreTest, CountStates) {
  sync({"p", "r", "s", "f", "i", "x"});
  succeed("s");
  fail("f", 1);
  start("i");
  interrupt("i");
  sync({"p", "r", "s", "f", "i"});  // x dropped, i pending again
  start("r");
  EXPECT_EQ(*store_->count_states(job_), (StateCounts{2, 1, 1, 1, 0, 0, 1}));
  start("i");
  interrupt("i");
  EXPECT_EQ(*store_->count_states(job_), (StateCounts{1, 1, 1, 1, 1, 0, 1}));
  EXPECT_EQ(*store_->count_states(job_ + 1), (StateCounts{}));
}

TEST_F(StoreTest, RunnableInIndexOrderUpToLimit) {
  sync({"a", "b", "c", "d", "e"});
  EXPECT_EQ(runnable(3, 0), ids({"a", "b", "c"}));
  start("a");
  EXPECT_EQ(runnable(3, 0), ids({"b", "c", "d"}));
  EXPECT_EQ(runnable(0, 0), std::vector<TaskId>{});
  end("a", exited(0));
  sync({"e", "d", "c", "b", "a"});
  EXPECT_EQ(runnable(10, 0), ids({"e", "d", "c", "b"}));
  auto r = store_->runnable(job_, 1, 0);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].index, 0);
  EXPECT_EQ((*r)[0].job, job_);
  EXPECT_EQ((*r)[0].spec.argv, (std::vector<std::string>{"work", "e"}));
}

// One task in each state: p(ending), r(unning), s(ucceeded), f(ailed), i(nterrupted), d(ropped),
// and every transition the state machine refuses from there.
class RefusedTest : public StoreTest {
 protected:
  struct Refusal {
    std::string what;
    std::function<Error()> op;
    std::string message;
  };
  void SetUp() override {
    StoreTest::SetUp();
    sync({"p", "r", "s", "f", "i", "d"});
    succeed("s");
    fail("f", 2);
    sync({"p", "r", "s", "f", "i"});
    start("r");
    start("i");
    interrupt("i");
    ASSERT_EQ(*store_->count_states(job_), (StateCounts{1, 1, 1, 1, 1, 0, 1}));
  }
  std::vector<Refusal> refusals() {
    std::vector<Refusal> out;
    auto add = [&](const std::string& verb, const std::string& n, std::function<Error(TaskId)> op) {
      TaskId t = id(n);
      std::string state(to_string(static_cast<TaskState>(std::stoi(q("SELECT state FROM tasks WHERE id = " + sid(n))))));
      out.push_back({verb + " " + n, [=] { return op(t); }, "task " + sid(n) + " is " + state + ": cannot " + verb});
    };
    for (const char* n : {"r", "s", "f", "i", "d"}) {
      add("start it", n, [this](TaskId t) { return error_of(store_->start_task(t, 1, 9000)); });
    }
    for (const char* n : {"p", "s", "f", "i", "d"}) {
      add("finish it", n, [this](TaskId t) { return error_of(store_->finish_task(t, exited(0), 3, 9000, 0)); });
      add("interrupt it", n, [this](TaskId t) { return error_of(store_->interrupt_task(t, killed(9), 9000)); });
      add("record its process", n, [this](TaskId t) { return error_of(store_->record_process(t, 1, 1)); });
    }
    return out;
  }
};

TEST_F(RefusedTest, EachRefusalIsIllegalAndChangesNothing) {
  for (const auto& r : refusals()) {
    auto before = snapshot();
    Error e = r.op();
    EXPECT_EQ(e.code, ErrorCode::Illegal) << r.what << ": " << e.message;
    EXPECT_EQ(e.message, r.message) << r.what;
    EXPECT_EQ(changes(before), "") << r.what << " changed the store";
  }
  auto before = snapshot();
  EXPECT_EQ(error_of(store_->start_task(999999, 1, 0)).code, ErrorCode::NotFound);
  EXPECT_EQ(error_of(store_->finish_task(999999, exited(0), 0, 0, 0)).code, ErrorCode::NotFound);
  EXPECT_EQ(error_of(store_->interrupt_task(999999, exited(0), 0)).code, ErrorCode::NotFound);
  EXPECT_EQ(changes(before), "");
}

// The engine's group commit: refusals inside a transaction that is then committed must have
// changed nothing either.
TEST_F(RefusedTest, RefusalsInsideGroupCommitChangeNothing) {
  for (const auto& r : refusals()) {
    auto before = snapshot();
    {
      auto tx = store_->transaction();
      ASSERT_TRUE(tx.begin_status().ok());
      EXPECT_EQ(r.op().code, ErrorCode::Illegal) << r.what;
      ASSERT_TRUE(tx.commit().ok());
    }
    EXPECT_EQ(changes(before), "") << r.what << " changed the store";
  }
}

// What the refusal above costs: the succeeded attempt, rewritten as interrupted, no longer
// protects the task when it is dropped and asked for again; it would run a second time.
TEST_F(StoreTest, RefusedInterruptInGroupCommitKeepsTaskSucceeded) {
  sync({"a"});
  succeed("a");
  {
    auto tx = store_->transaction();
    ASSERT_TRUE(tx.begin_status().ok());
    EXPECT_EQ(error_of(store_->interrupt_task(id("a"), killed(9), 9000)).code, ErrorCode::Illegal);
    ASSERT_TRUE(tx.commit().ok());
  }
  EXPECT_EQ(attempts("a"), "1|2|0|null|");
  sync({"z"});
  EXPECT_EQ(describe(sync({"a"})), "1/0/1/0/0/0/0/1");
  EXPECT_EQ(task("a"), "2|1|0|0|null|0|0");
}

// Transitions grouped in one transaction: none is seen by a reader before the commit, and none
// is left when the transaction ends without one.
TEST_F(StoreTest, GroupCommitIsAllOrNothing) {
  sync({"a", "b"});
  auto before = snapshot();
  {
    auto tx = store_->transaction();
    ASSERT_TRUE(tx.begin_status().ok());
    succeed("a");
    start("b");
    EXPECT_EQ(q("SELECT state FROM tasks ORDER BY id"), "2;1");  // the writer sees its own transaction
    EXPECT_EQ(peek("SELECT state FROM tasks ORDER BY id"), "0;0");
  }
  EXPECT_EQ(changes(before), "");
  EXPECT_EQ(runnable(10, 0), ids({"a", "b"}));
  {
    auto tx = store_->transaction();
    ASSERT_TRUE(tx.begin_status().ok());
    succeed("a");
    start("b");
    EXPECT_EQ(peek("SELECT state FROM tasks ORDER BY id"), "0;0");
    ASSERT_TRUE(tx.commit().ok());
  }
  EXPECT_EQ(peek("SELECT id, state, attempts FROM tasks ORDER BY id"), sid("a") + "|2|1;" + sid("b") + "|1|1");
  EXPECT_EQ(peek("SELECT task_id, from_state, to_state FROM events WHERE task_id IS NOT NULL ORDER BY id"),
            sid("a") + "|0|1;" + sid("a") + "|1|2;" + sid("b") + "|0|1");
}

TEST_F(StoreTest, SyncNewJobAddsEveryTaskInOrder) {
  EXPECT_EQ(q("SELECT job_id, task_id, from_state, to_state, detail FROM events"),
            std::to_string(job_) + "|null|null|null|job created");
  EXPECT_EQ(store_->job(job_)->value().template_id, "template");
  EXPECT_EQ(describe(sync({"a", "b", "c"})), "3/3/0/0/0/0/0/0");
  EXPECT_EQ(q("SELECT idx, state, attempts FROM tasks ORDER BY id"), "0|0|0;1|0|0;2|0|0");
  EXPECT_EQ(q("SELECT count(*) FROM events WHERE task_id IS NOT NULL"), "0");
  auto missing = store_->sync_tasks(job_ + 100, 1, [](std::uint64_t) { return spec_for("a"); }, false);
  EXPECT_EQ(error_of(missing).code, ErrorCode::NotFound);
}

TEST_F(StoreTest, SyncIdenticalRunSkipsSucceededAndKeepsPending) {
  sync({"a", "b", "c"});
  succeed("a");
  succeed("b");
  auto kept = [&] { return q("SELECT id, idx, state, attempts, exit_code FROM tasks") + q("SELECT * FROM events"); };
  std::string before = kept();
  EXPECT_EQ(describe(sync({"a", "b", "c"})), "3/0/2/0/1/0/0/0");
  EXPECT_EQ(kept(), before);
  EXPECT_EQ(runnable(10, 0), ids({"c"}));
}

TEST_F(StoreTest, SyncAddedInputsKeepsKnownTasks) {
  sync({"a", "b", "c"});
  std::vector<TaskId> known = ids({"a", "b", "c"});
  succeed("a");
  EXPECT_EQ(describe(sync({"a", "b", "c", "d", "e"})), "5/2/1/0/2/0/0/0");
  EXPECT_EQ(ids({"a", "b", "c"}), known);
  EXPECT_EQ(q("SELECT count(*) FROM tasks"), "5");
  EXPECT_EQ(runnable(10, 0), ids({"b", "c", "d", "e"}));
  EXPECT_EQ(q("SELECT idx FROM tasks ORDER BY id"), "0;1;2;3;4");
}

TEST_F(StoreTest, SyncRemovedInputsAreDropped) {
  sync({"a", "b", "c"});
  fail("b", 4);
  EXPECT_EQ(describe(sync({"a", "c"})), "2/0/0/0/2/0/0/1");
  EXPECT_EQ(task("b"), "6|1|1|4|null|0|1");
  EXPECT_EQ(events("b"), "0|1|1|;1|3|1|exit 4;3|6|1|no longer asked for");
  EXPECT_EQ(task("c"), "0|0|0|null|null|0|1");
  EXPECT_EQ(runnable(10, 0), ids({"a", "c"}));
  EXPECT_EQ(*store_->count_states(job_), (StateCounts{2, 0, 0, 0, 0, 0, 1}));
  // Dropped once: a second run without it neither counts nor records it again.
  EXPECT_EQ(sync({"a", "c"}).dropped, 0);
  EXPECT_EQ(q("SELECT count(*) FROM events WHERE to_state = 6"), "1");
}

TEST_F(StoreTest, SyncReorderedInputsReindexSameTasks) {
  sync({"a", "b", "c"});
  std::vector<TaskId> known = ids({"a", "b", "c"});
  std::string events_before = q("SELECT * FROM events");
  EXPECT_EQ(describe(sync({"c", "a", "b"})), "3/0/0/0/3/0/0/0");
  EXPECT_EQ(ids({"a", "b", "c"}), known);
  EXPECT_EQ(q("SELECT idx FROM tasks ORDER BY id"), "1;2;0");
  EXPECT_EQ(q("SELECT * FROM events"), events_before);
  EXPECT_EQ(runnable(10, 0), ids({"c", "a", "b"}));
}

// Every position is a task; the k-th copy of a spec matches the k-th copy of the next run.
TEST_F(StoreTest, SyncCopiesOfOneSpecAreTasksOfTheirOwn) {
  std::string a = task_identity(spec_for("a"));
  EXPECT_EQ(describe(sync({"a", "b", "a", "a", "c"})), "5/5/0/0/0/0/0/0");
  EXPECT_EQ(q("SELECT identity, idx FROM tasks WHERE identity LIKE '" + a + "%' ORDER BY idx"),
            a + "|0;" + a + ".1|2;" + a + ".2|3");
  auto copy = [&](int k) { return std::stoll(q("SELECT id FROM tasks WHERE identity = '" + occurrence_identity(a, k) + "'")); };
  TaskId second = copy(1);
  ASSERT_EQ(*store_->start_task(second, 1, 1000), 1);
  ASSERT_EQ(*store_->finish_task(second, exited(0), 0, 2000, 0), TaskState::Succeeded);
  // Two copies now: the first is still pending, the second succeeded; the third, b and c go.
  EXPECT_EQ(describe(sync({"a", "a"})), "2/0/1/0/1/0/0/3");
  EXPECT_EQ(copy(1), second);
  EXPECT_EQ(runnable(10, 0), std::vector<TaskId>{copy(0)});
  // Four: the third comes back from dropped, the fourth is new.
  EXPECT_EQ(describe(sync({"a", "a", "a", "a"})), "4/2/1/0/1/0/0/0");
  EXPECT_EQ(runnable(10, 0), (std::vector<TaskId>{copy(0), copy(2), copy(3)}));
  EXPECT_EQ(q("SELECT idx FROM tasks WHERE identity LIKE '" + a + "%' ORDER BY idx"), "0;1;2;3");
}

// A store from before copies were told apart holds one task per spec, under the digest alone:
// it is the first copy, so what succeeded there is not run again.
TEST_F(StoreTest, SyncMatchesAnOlderStoresOneTaskToTheFirstCopy) {
  std::string a = task_identity(spec_for("a"));
  ASSERT_TRUE(store_db(*store_).exec("INSERT INTO tasks(job_id, idx, identity, spec, submit_ms, state) VALUES (" +
                                std::to_string(job_) + ", 0, '" + a + "', x'00', 1, 2)").ok());
  EXPECT_EQ(describe(sync({"a", "a", "a"})), "3/2/1/0/0/0/0/0");
  EXPECT_EQ(q("SELECT identity, state FROM tasks ORDER BY idx"), a + "|2;" + a + ".1|0;" + a + ".2|0");
}

TEST_F(StoreTest, SyncKeepsFailedUnlessRetryFailed) {
  sync({"a", "b"});
  fail("a", 7);
  EXPECT_EQ(describe(sync({"a", "b"}, false)), "2/0/0/0/1/0/1/0");
  EXPECT_EQ(task("a"), "3|1|1|7|null|0|0");
  EXPECT_EQ(describe(sync({"a", "b"}, true)), "2/0/0/0/1/1/0/0");
  EXPECT_EQ(task("a"), "0|1|0|7|null|0|0");
  EXPECT_EQ(events("a"), "0|1|1|;1|3|1|exit 7;3|0|0|requeue");
  EXPECT_EQ(*store_->start_task(id("a"), 1, 5000), 2);
  EXPECT_EQ(*store_->finish_task(id("a"), exited(7), 0, 6000, 0), TaskState::Failed);
}

TEST_F(StoreTest, SyncRevivesDroppedTasks) {
  sync({"a", "b", "c"});
  succeed("a");
  fail("b", 1);
  EXPECT_EQ(describe(sync({"z"})), "1/1/0/0/0/0/0/3");
  EXPECT_EQ(*store_->count_states(job_), (StateCounts{1, 0, 0, 0, 0, 0, 3}));
  EXPECT_EQ(describe(sync({"c", "b", "a"})), "3/2/1/0/0/0/0/1");
  EXPECT_EQ(task("a"), "2|1|0|0|null|0|2");
  EXPECT_EQ(q("SELECT state, attempts, idx FROM tasks WHERE id = " + sid("b")), "0|1|1");
  EXPECT_EQ(task("c"), "0|0|0|null|null|0|0");
  EXPECT_EQ(q("SELECT from_state, to_state FROM events WHERE task_id = " + sid("a") + " ORDER BY id"), "0|1;1|2;2|6;6|2");
  EXPECT_EQ(q("SELECT from_state, to_state FROM events WHERE task_id = " + sid("b") + " ORDER BY id"), "0|1;1|3;3|6;6|0");
  EXPECT_EQ(runnable(10, 0), ids({"c", "b"}));
}

TEST_F(StoreTest, HundredThousandTasksInOneTransaction) {
  constexpr std::uint64_t kCount = 100000;
  std::string seen_midway;
  auto task_at = [&](std::uint64_t i) {
    if (i == kCount / 2) seen_midway = peek("SELECT count(*) FROM tasks");
    return spec_for(std::to_string(i));
  };
  auto summary = store_->sync_tasks(job_, kCount, task_at, false);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(seen_midway, "0");  // nothing is visible before the one commit
  EXPECT_EQ(peek("SELECT count(*), count(DISTINCT idx), min(idx), max(idx) FROM tasks"), "100000|100000|0|99999");
  EXPECT_EQ(summary->total, 100000);
  EXPECT_EQ(summary->added, 100000);
  EXPECT_EQ(*store_->count_states(job_), (StateCounts{100000, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(runnable(2, 0).size(), 2u);
}

// A value longer than SQLite takes (1,000,000,000 bytes by default, below the 1 GiB default of
// --max-result and --max-checkpoint) is refused by its bind: it must not turn into a NULL that
// fails as "NOT NULL constraint failed".
TEST_F(StoreTest, AValueAboveSQLitesLengthLimitIsNamedAsSuch) {
  sync({"a"});
  sqlite3_limit(store_db(*store_).raw(), SQLITE_LIMIT_LENGTH, 1000);
  auto st = save_result(*store_, id("a"), std::string(2000, 'x'));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "database: string or blob too big");
  EXPECT_TRUE(save_result(*store_, id("a"), "fits").ok());
  EXPECT_EQ(q("SELECT bytes FROM results"), "fits");
}

}  // namespace
}  // namespace jr
