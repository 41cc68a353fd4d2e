// The reads behind jrd's `tasks` method: pages in index order, and the tasks at one index,
// found through an index of the tasks table rather than by reading the whole job.
#include "storage/task_reads.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "storage/store_db.h"
#include "tests/integration/harness.h"

namespace jr {
namespace {

class TaskReadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::open(dir_ / "jr.db", SyncMode::Normal);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    job_ = new_job();
  }

  JobId new_job() {
    auto job = store_->create_job(JobSpec{}, "template");
    EXPECT_TRUE(job.ok()) << job.error().message;
    return job.ok() ? *job : 0;
  }
  // Tasks named by their input: "a" runs `work a`.
  void sync(JobId job, const std::vector<std::string>& inputs) {
    auto r = store_->sync_tasks(job, inputs.size(), [&](std::uint64_t i) {
      TaskSpec spec;
      spec.argv = {"work", inputs[i]};
      return spec;
    }, false);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  // "input@index:state" of each task, in the order read.
  static std::string describe(const Result<std::vector<TaskListing>>& tasks) {
    if (!tasks) return "error: " + tasks.error().message;
    std::string out;
    for (const TaskListing& t : *tasks) {
      out += (out.empty() ? "" : " ") + t.argv.at(1) + "@" + std::to_string(t.index) + ":" +
             std::string(to_string(t.state));
    }
    return out;
  }
  // The query plan of a statement the reads prepared, found among the cached ones.
  std::string plan_of_statement_with(const std::string& fragment) {
    sqlite3* db = store_db(*store_).raw();
    for (sqlite3_stmt* st = sqlite3_next_stmt(db, nullptr); st; st = sqlite3_next_stmt(db, st)) {
      std::string sql = sqlite3_sql(st);
      if (sql.find(fragment) == std::string::npos) continue;
      sqlite3_stmt* explain = nullptr;
      std::string query = "EXPLAIN QUERY PLAN " + sql;
      if (sqlite3_prepare_v2(db, query.c_str(), -1, &explain, nullptr) != SQLITE_OK) return sqlite3_errmsg(db);
      std::string plan;
      while (sqlite3_step(explain) == SQLITE_ROW) {
        plan += std::string(reinterpret_cast<const char*>(sqlite3_column_text(explain, 3))) + "\n";
      }
      sqlite3_finalize(explain);
      return plan;
    }
    return "no statement with " + fragment;
  }

  test::TempDir dir_;
  std::unique_ptr<Store> store_;
  JobId job_ = 0;
};

TEST_F(TaskReadsTest, PagesInIndexOrder) {
  sync(job_, {"a", "b", "c", "d"});
  EXPECT_EQ(describe(list_tasks(*store_, job_, std::nullopt, 0, 1000)),
            "a@0:pending b@1:pending c@2:pending d@3:pending");
  EXPECT_EQ(describe(list_tasks(*store_, job_, std::nullopt, 1, 2)), "b@1:pending c@2:pending");
  EXPECT_EQ(describe(list_tasks(*store_, job_, TaskState::Failed, 0, 1000)), "");
}

TEST_F(TaskReadsTest, AtIndexFindsTheTaskAndDroppedOnesThatKeptTheIndex) {
  JobId other = new_job();
  sync(other, {"x", "y"});
  sync(job_, {"a", "b", "c"});
  EXPECT_EQ(describe(tasks_at_index(*store_, job_, 1, std::nullopt)), "b@1:pending");
  // A second run: z is new at index 0, b moves to 1, a (index 0) and c (index 2) are dropped.
  sync(job_, {"z", "b"});
  EXPECT_EQ(describe(tasks_at_index(*store_, job_, 0, std::nullopt)), "a@0:dropped z@0:pending");
  EXPECT_EQ(describe(tasks_at_index(*store_, job_, 0, TaskState::Pending)), "z@0:pending");
  EXPECT_EQ(describe(tasks_at_index(*store_, job_, 2, std::nullopt)), "c@2:dropped");
  EXPECT_EQ(describe(tasks_at_index(*store_, job_, 3, std::nullopt)), "");
  EXPECT_EQ(describe(tasks_at_index(*store_, other, 1, std::nullopt)), "y@1:pending");
}

TEST_F(TaskReadsTest, AtIndexSeeksTheIndexInsteadOfReadingTheJob) {
  sync(job_, {"a", "b"});
  ASSERT_EQ(describe(tasks_at_index(*store_, job_, 1, std::nullopt)), "b@1:pending");
  ASSERT_EQ(describe(tasks_at_index(*store_, job_, 1, TaskState::Pending)), "b@1:pending");
  // Both columns of the index constrained: a seek, never a scan of the job's entries.
  const std::string plan = plan_of_statement_with("idx = ?2 AND (?3 < 0");
  EXPECT_NE(plan.find("USING INDEX tasks_order (job_id=? AND idx=?)"), std::string::npos) << plan;
}

TEST_F(TaskReadsTest, APageReadsTheIndexInOrderInsteadOfSortingTheJob) {
  sync(job_, {"a", "b", "c"});
  ASSERT_EQ(describe(list_tasks(*store_, job_, std::nullopt, 1, 1)), "b@1:pending");
  ASSERT_EQ(describe(list_tasks(*store_, job_, TaskState::Pending, 2, 1)), "c@2:pending");
  // A sort would read (and compute the columns of) every task of the job before the page's
  // first row: 180 ms deep into a 100,000-task job, with every other client of jrd waiting.
  const std::string plan = plan_of_statement_with("LIMIT ?3 OFFSET ?4");
  EXPECT_NE(plan.find("USING INDEX tasks_order (job_id=?)"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
}

}  // namespace
}  // namespace jr
