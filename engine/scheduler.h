// Scheduler: decides which pending task starts next, and in which worker slot.
//
// The Engine (engine/engine.h) asks it, once per turn, to fill the free slots; the scheduler
// walks the jobs (higher priority first, then older ones), skips the paused, cancelled and
// those whose --after job has not succeeded yet, and for each job takes the head of its
// queue while the job's -j and the engine's slots allow, the node's resources fit it (head
// of line: a task that does not fit holds back the later tasks of its job, not other jobs')
// and it would end before the deadline. It spawns, reaps and writes nothing itself: pending
// tasks come from its Source, and each decision goes to the owner's Place, which records the
// start (the store's row, the resources taken); a halted scheduler decides nothing.
// It owns the slots' occupancy and moves a placed task from pending to running in its job's
// counts; the owner frees the slot and recounts the job when the attempt ends (release).
// Single-threaded: the engine's thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "base/result.h"
#include "engine/resources.h"
#include "storage/store.h"

namespace jr {

// A job the engine runs, as it keeps it between turns.
struct JobRun {
  JobRow row;
  StateCounts counts{};
  std::deque<RunnableTask> queue;  // pending tasks read ahead from the store, in order
  int running = 0;                 // its attempts placed or running now
  std::int64_t median_ms = 0;      // of finished attempts, for the deadline
  std::int64_t median_at = 0;      // monotonic time it was computed
  bool ended = false;              // nothing left to run when last looked at (engine/job_end.cpp)
};

class Scheduler {
 public:
  // Where pending tasks come from, and the deadline's verdict.
  class Source {
   public:
    virtual ~Source() = default;
    // Up to `limit` tasks of `job` that may start at `now_ms` (wall clock), in order.
    virtual Result<std::vector<RunnableTask>> runnable(JobId job, int limit, std::int64_t now_ms) = 0;
    // When the earliest task of `job` waiting out a retry's backoff may start; nullopt: none.
    virtual Result<std::optional<std::int64_t>> next_backoff(JobId job) = 0;
    // Whether a task of `job` started now would end in time (always, without a deadline).
    virtual bool ends_in_time(JobRun& job) = 0;
  };
  // Records the start of `task` of `job` in `slot` (1-based), or fails having recorded
  // nothing. On success it has taken the task's resources from the pool.
  using Place = std::function<Status(JobRun& job, RunnableTask task, int slot)>;

  // `workers`: tasks at once over all jobs; `pool`: the owner's, which the scheduler reads.
  Scheduler(int workers, const ResourcePool& pool);

  // Places tasks until the slots are full or no job can start another. The first error of the
  // source or of `place` ends it and is returned.
  Status fill(std::map<JobId, JobRun>& jobs, std::int64_t now_ms, Source& source, const Place& place);
  // An attempt placed in `slot` has ended, as `to`, or was put back (`to` Pending): its slot is
  // free and `job` (nullptr: a job no longer known) counts it as `to`.
  void release(int slot, JobRun* job, TaskState to);
  // An attempt a dead engine started (engine/keeper.h) runs on in `slot`, counted in `job`'s
  // running tasks (its counts already say running). A slot beyond this engine's is added for
  // as long as it runs.
  void adopt(int slot, JobRun& job);

  // From now on nothing starts (jr run --halt).
  void halt() { halted_ = true; }
  bool halted() const { return halted_; }
  int slots() const { return static_cast<int>(slot_busy_.size()); }
  int busy_slots() const { return busy_; }
  // The earliest wall-clock time a task held back by its retry's backoff may start, as the
  // last fill saw it; 0: none waits.
  std::int64_t backoff_until() const { return backoff_until_; }

 private:
  // Whether `job` may start tasks at all now: not paused or cancelled, its --after job done.
  static bool eligible(const JobRun& job, const std::map<JobId, JobRun>& jobs);
  // Refills the queue of `job` from the source when it is empty; false when nothing is left.
  Result<bool> refill(JobRun& job, std::int64_t now_ms, Source& source);

  const ResourcePool& pool_;
  int workers_;
  std::vector<bool> slot_busy_;
  int busy_ = 0;
  std::int64_t backoff_until_ = 0;  // wall clock
  bool halted_ = false;
};

}  // namespace jr
