// Scheduler (engine/scheduler.h) against a fake source and a fake owner: no store, no
// processes. Which task starts next and in which slot: never more than the slots, a job's -j,
// head of line within a job, priority, --after, pause, halt, the deadline and backoff.
#include "engine/scheduler.h"

#include <map>
#include <set>
#include <vector>

#include <gtest/gtest.h>

namespace jr {
namespace {

// Pending tasks per job, handed out in order, as the store's runnable() does.
class FakeSource : public Scheduler::Source {
 public:
  Result<std::vector<RunnableTask>> runnable(JobId job, int limit, std::int64_t) override {
    ++asked;
    std::vector<RunnableTask> out;
    auto& q = pending[job];
    while (!q.empty() && static_cast<int>(out.size()) < limit) {
      out.push_back(q.front());
      q.erase(q.begin());
    }
    return out;
  }
  Result<std::optional<std::int64_t>> next_backoff(JobId job) override {
    auto it = backoff.find(job);
    if (it == backoff.end()) return std::optional<std::int64_t>{};
    return std::optional<std::int64_t>{it->second};
  }
  bool ends_in_time(JobRun&) override { return in_time; }

  std::map<JobId, std::vector<RunnableTask>> pending;
  std::map<JobId, std::int64_t> backoff;
  bool in_time = true;
  int asked = 0;
};

struct Placed {
  JobId job;
  TaskId task;
  int slot;
  Allocation alloc;
};

class SchedulerTest : public ::testing::Test {
 protected:
  void make(int workers, int cores) {
    NodeCapacity cap;
    cap.cores = cores;
    pool_ = std::make_unique<ResourcePool>(cap, false);
    scheduler_ = std::make_unique<Scheduler>(workers, *pool_);
  }
  // A job of tasks asking for `cpus[i]` cores each; task ids are job * 100 + i.
  JobRun& add_job(JobId id, std::vector<int> cpus, int parallelism = 100, int priority = 0) {
    JobRun& job = jobs_[id];
    job.row.id = id;
    job.row.spec.parallelism = parallelism;
    job.row.spec.priority = priority;
    for (std::size_t i = 0; i < cpus.size(); ++i) {
      RunnableTask t;
      t.id = id * 100 + static_cast<TaskId>(i);
      t.job = id;
      t.index = static_cast<std::int64_t>(i);
      t.spec.cpus = cpus[i];
      source_.pending[id].push_back(t);
    }
    job.counts[static_cast<std::size_t>(TaskState::Pending)] = static_cast<std::int64_t>(cpus.size());
    return job;
  }
  // The owner's side of a placement: one attempt per slot, its resources taken.
  void fill() {
    auto st = scheduler_->fill(jobs_, 0, source_, [this](JobRun& job, RunnableTask t, int slot) -> Status {
      EXPECT_GE(slot, 1);
      EXPECT_LE(slot, scheduler_->slots());
      EXPECT_EQ(running_.count(slot), 0u) << "slot " << slot << " given twice";
      Placed p{job.row.id, t.id, slot, pool_->take(t.spec)};
      running_[slot] = p;
      placed_.push_back(p);
      return {};
    });
    ASSERT_TRUE(st) << st.error().message;
  }
  void end(int slot) {
    Placed p = running_.at(slot);
    running_.erase(slot);
    pool_->give_back(p.alloc);
    scheduler_->release(slot, &jobs_[p.job], TaskState::Succeeded);
  }
  std::vector<TaskId> placed_tasks() const {
    std::vector<TaskId> ids;
    for (auto& p : placed_) ids.push_back(p.task);
    return ids;
  }
  std::int64_t count(JobId job, TaskState s) { return jobs_[job].counts[static_cast<std::size_t>(s)]; }

  std::unique_ptr<ResourcePool> pool_;
  std::unique_ptr<Scheduler> scheduler_;
  std::map<JobId, JobRun> jobs_;
  FakeSource source_;
  std::map<int, Placed> running_;
  std::vector<Placed> placed_;
};

TEST_F(SchedulerTest, NeverFillsMoreSlotsThanWorkers) {
  make(3, 64);
  add_job(1, std::vector<int>(10, 0));
  add_job(2, std::vector<int>(10, 0));
  fill();
  EXPECT_EQ(placed_.size(), 3u);
  EXPECT_EQ(scheduler_->busy_slots(), 3);
  fill();
  EXPECT_EQ(placed_.size(), 3u);
  // Each end frees one slot, and the next fill takes exactly that one.
  for (int slot : {2, 1, 3, 2, 2}) {
    end(slot);
    fill();
    ASSERT_EQ(running_.size(), 3u);
    EXPECT_EQ(placed_.back().slot, slot);
  }
  EXPECT_EQ(placed_.size(), 8u);
  EXPECT_EQ(count(1, TaskState::Running) + count(2, TaskState::Running), 3);
  EXPECT_EQ(count(1, TaskState::Pending) + count(2, TaskState::Pending), 12);
}

TEST_F(SchedulerTest, AJobRunsNoMoreThanItsParallelism) {
  make(8, 64);
  add_job(1, std::vector<int>(5, 0), 2);
  add_job(2, std::vector<int>(5, 0), 1);
  fill();
  EXPECT_EQ(jobs_[1].running, 2);
  EXPECT_EQ(jobs_[2].running, 1);
  EXPECT_EQ(scheduler_->busy_slots(), 3);
}

TEST_F(SchedulerTest, ATaskThatDoesNotFitHoldsBackTheLaterTasksOfItsJobOnly) {
  make(8, 2);
  add_job(1, {1, 2, 1}, 100, 1);  // first in line: higher priority
  add_job(2, {1});
  fill();
  // Job 1's second task needs 2 cores and 1 is free: its third waits behind it, though it
  // would fit; job 2's task takes the free core.
  EXPECT_EQ(placed_tasks(), (std::vector<TaskId>{100, 200}));
  end(1);
  fill();
  EXPECT_EQ(placed_.size(), 2u) << "1 core free: the 2-core task still waits, and the rest behind it";
  end(2);
  fill();
  EXPECT_EQ(placed_tasks(), (std::vector<TaskId>{100, 200, 101}));
  end(1);
  fill();
  EXPECT_EQ(placed_tasks(), (std::vector<TaskId>{100, 200, 101, 102}));
}

TEST_F(SchedulerTest, AHaltedSchedulerStartsNothing) {
  make(4, 64);
  add_job(1, std::vector<int>(3, 0));
  scheduler_->halt();
  fill();
  EXPECT_TRUE(placed_.empty());
  EXPECT_EQ(scheduler_->busy_slots(), 0);
  EXPECT_EQ(source_.asked, 0);
  EXPECT_EQ(count(1, TaskState::Pending), 3);
}

TEST_F(SchedulerTest, ATaskThatWouldNotEndBeforeTheDeadlineDoesNotStart) {
  make(4, 64);
  add_job(1, std::vector<int>(3, 0));
  source_.in_time = false;
  fill();
  EXPECT_TRUE(placed_.empty());
  EXPECT_EQ(count(1, TaskState::Pending), 3);
  source_.in_time = true;
  fill();
  EXPECT_EQ(placed_.size(), 3u);
}

TEST_F(SchedulerTest, HigherPriorityFirstThenOlderJobs) {
  make(1, 64);
  add_job(1, {0});
  add_job(2, {0});
  add_job(3, {0}, 100, 5);
  fill();
  end(1);
  fill();
  end(1);
  fill();
  EXPECT_EQ(placed_tasks(), (std::vector<TaskId>{300, 100, 200}));
}

TEST_F(SchedulerTest, AJobAfterAnotherWaitsForItsSuccess) {
  make(4, 64);
  add_job(1, {0});
  add_job(2, {0, 0}).row.spec.after_job = 1;
  fill();
  EXPECT_EQ(placed_tasks(), (std::vector<TaskId>{100}));
  end(placed_.back().slot);
  fill();
  EXPECT_EQ(placed_tasks(), (std::vector<TaskId>{100, 200, 201}));
}

TEST_F(SchedulerTest, PausedAndCancelledJobsStartNothing) {
  make(4, 64);
  add_job(1, {0}).row.paused = true;
  add_job(2, {0}).row.cancelled = true;
  add_job(3, {0});
  fill();
  EXPECT_EQ(placed_tasks(), (std::vector<TaskId>{300}));
}

TEST_F(SchedulerTest, TasksWaitingOutABackoffAreReported) {
  make(4, 64);
  JobRun& job = add_job(1, {});
  job.counts[static_cast<std::size_t>(TaskState::Pending)] = 2;  // both in backoff
  source_.backoff[1] = 5000;
  fill();
  EXPECT_TRUE(placed_.empty());
  EXPECT_EQ(scheduler_->backoff_until(), 5000);
  source_.backoff.erase(1);
  fill();
  EXPECT_EQ(scheduler_->backoff_until(), 0);
}

TEST_F(SchedulerTest, APlacementThatFailsTakesNoSlot) {
  make(2, 64);
  add_job(1, {0, 0});
  auto st = scheduler_->fill(jobs_, 0, source_, [](JobRun&, RunnableTask, int) -> Status {
    return make_error(ErrorCode::Io, "disk full");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::Io);
  EXPECT_EQ(scheduler_->busy_slots(), 0);
  EXPECT_EQ(jobs_[1].running, 0);
  EXPECT_EQ(count(1, TaskState::Pending), 2);
  EXPECT_EQ(count(1, TaskState::Running), 0);
}

}  // namespace
}  // namespace jr
