#include "engine/scheduler.h"

#include <algorithm>

namespace jr {
namespace {

constexpr int kQueueBatch = 256;

std::int64_t& count_of(StateCounts& counts, TaskState s) { return counts[static_cast<std::size_t>(s)]; }
std::int64_t count_of(const StateCounts& counts, TaskState s) { return counts[static_cast<std::size_t>(s)]; }

}  // namespace

Scheduler::Scheduler(int workers, const ResourcePool& pool)
    : pool_(pool), workers_(workers), slot_busy_(static_cast<std::size_t>(std::max(1, workers)), false) {}

bool Scheduler::eligible(const JobRun& job, const std::map<JobId, JobRun>& jobs) {
  if (job.row.paused || job.row.cancelled) return false;
  if (!job.row.spec.after_job) return true;
  auto dep = jobs.find(job.row.spec.after_job);
  if (dep == jobs.end()) return false;
  const JobRun& d = dep->second;
  return count_of(d.counts, TaskState::Succeeded) > 0 && d.running == 0 && count_of(d.counts, TaskState::Pending) == 0 &&
         count_of(d.counts, TaskState::Interrupted) == 0;
}

Result<bool> Scheduler::refill(JobRun& job, std::int64_t now_ms, Source& source) {
  if (!job.queue.empty()) return true;
  if (count_of(job.counts, TaskState::Pending) == 0) return false;
  auto batch = source.runnable(job.row.id, kQueueBatch, now_ms);
  if (!batch) return batch.error();
  if (batch->empty()) {
    auto at = source.next_backoff(job.row.id);
    if (!at) return at.error();
    if (*at) backoff_until_ = backoff_until_ ? std::min(backoff_until_, **at) : **at;
    return false;
  }
  for (auto& t : *batch) job.queue.push_back(std::move(t));
  return true;
}

Status Scheduler::fill(std::map<JobId, JobRun>& jobs, std::int64_t now_ms, Source& source, const Place& place) {
  if (halted_) return {};
  backoff_until_ = 0;
  // Higher priority first, then older jobs.
  std::vector<JobRun*> order;
  for (auto& [id, job] : jobs) order.push_back(&job);
  std::stable_sort(order.begin(), order.end(), [](const JobRun* x, const JobRun* y) {
    return x->row.spec.priority > y->row.spec.priority;
  });
  for (JobRun* job : order) {
    if (!eligible(*job, jobs)) continue;
    while (job->running < std::max(1, job->row.spec.parallelism) && busy_ < workers_) {
      auto more = refill(*job, now_ms, source);
      if (!more) return more.error();
      if (!*more) break;
      // Head of line: a task waits for its cores, GPUs and memory; later ones wait behind it.
      if (!pool_.can_start(job->queue.front().spec)) break;
      if (!source.ends_in_time(*job)) break;
      RunnableTask t = std::move(job->queue.front());
      job->queue.pop_front();
      auto free_slot = std::find(slot_busy_.begin(), slot_busy_.end(), false);
      int slot = static_cast<int>(free_slot - slot_busy_.begin()) + 1;
      JR_TRY(place(*job, std::move(t), slot));
      *free_slot = true;
      ++busy_;
      ++job->running;
      --count_of(job->counts, TaskState::Pending);
      ++count_of(job->counts, TaskState::Running);
    }
  }
  return {};
}

void Scheduler::adopt(int slot, JobRun& job) {
  slot = std::max(1, slot);
  if (static_cast<std::size_t>(slot) > slot_busy_.size()) slot_busy_.resize(static_cast<std::size_t>(slot), false);
  slot_busy_[static_cast<std::size_t>(slot - 1)] = true;
  ++busy_;
  ++job.running;
}

void Scheduler::release(int slot, JobRun* job, TaskState to) {
  slot = std::max(1, slot);
  slot_busy_[static_cast<std::size_t>(slot - 1)] = false;
  --busy_;
  // A slot beyond this engine's (an adopted attempt's, started with more workers) goes.
  while (slot_busy_.size() > static_cast<std::size_t>(std::max(1, workers_)) && !slot_busy_.back()) slot_busy_.pop_back();
  if (!job) return;
  --job->running;
  --count_of(job->counts, TaskState::Running);
  ++count_of(job->counts, to);
}

}  // namespace jr
