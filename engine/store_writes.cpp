// Engine: writing a turn's records to the store, and going on when the store cannot be written.
//
// A commit the system refuses (SQLITE_FULL, SQLITE_IOERR, a read-only file system) leaves no
// trace in the store: SQLite may roll the transaction back by itself, and Transaction rolls
// back what is left. So everything the commit held stays in the engine's memory (the ends in
// unwritten_ends_, the pids in unrecorded_pids_) and the next attempt writes all of it again in
// a new transaction; the tasks the commit would have started go back to their queues, and none
// starts until a commit succeeds. Running tasks are still reaped, timed out and stopped.
#include <signal.h>

#include <algorithm>

#include "engine/engine.h"
#include "engine/proc.h"
#include "storage/engine_runs.h"

namespace jr {
namespace {

constexpr std::int64_t kFirstStoreRetryMs = 1000;
constexpr std::int64_t kLastStoreRetryMs = 8000;
// How often, while tasks run, the engine writes its sign of life (storage/engine_runs.h): if it
// is killed, the attempts it ran end at most this long before it died. One small write a
// second, in the turn's own transaction.
constexpr std::int64_t kSignOfLifeMs = 1000;

}  // namespace

bool Engine::store_write_due() const {
  if (!store_failure_) return true;
  // Once jr stops and nothing runs any more, one last attempt before it exits.
  return monotonic_ms() >= store_retry_at_ || (shutting_down() && supervisor_.running().empty());
}

Status Engine::write_end(const UnwrittenEnd& e) {
  if (e.to == TaskState::Cancelled) return store_.cancel_running(e.task, e.exit, e.now_ms);
  if (e.to == TaskState::Interrupted) return store_.interrupt_task(e.task, e.exit, e.now_ms);
  auto to = store_.finish_task(e.task, e.exit, e.retries, e.now_ms, e.retry_at_ms);
  if (!to) return to.error();
  if (*to != e.to) {
    return make_error(ErrorCode::Internal, "task " + std::to_string(e.task) + " ended " + std::string(to_string(e.to)) +
                                               " in the engine but " + std::string(to_string(*to)) + " in the store");
  }
  return {};
}

Status Engine::write_turn(bool place_tasks) {
  auto tx = store_.transaction();
  JR_TRY(tx.begin_status());
  std::int64_t mono = monotonic_ms();
  flush_pids_at_ = 0;
  for (auto& p : unrecorded_pids_) {
    // An exit held back has no process left to find, and its pid may be another's by now;
    // finish() drops the entry once that exit is taken.
    if (std::any_of(held_.begin(), held_.end(), [&p](const Reaped& r) { return r.pid == p.pid; })) continue;
    if (mono < p.due && !shutting_down()) {
      flush_pids_at_ = flush_pids_at_ ? std::min(flush_pids_at_, p.due) : p.due;
      continue;
    }
    auto st = store_.record_process(p.task, p.pid, p.start ? p.start : process_start_time(p.pid));
    if (!st && st.error().code != ErrorCode::Illegal) return st;
    p.written = true;
  }
  for (auto& e : unwritten_ends_) JR_TRY(write_end(e));
  if (place_tasks) {
    if (opt_.sample_every.count() > 0 && monotonic_ms() >= next_sample_at_) JR_TRY(sample(true));
    if (!supervisor_.running().empty() && monotonic_ms() >= next_seen_at_) {
      next_seen_at_ = monotonic_ms() + kSignOfLifeMs;
      JR_TRY(record_engine_seen(store_, now_ms()));
    }
    JR_TRY(fill_slots());
    // Held back by the deadline with nothing left running: stop now, as at the deadline.
    if (deadline_blocked_ && supervisor_.running().empty() && starting_.empty() && !shutting_down()) {
      stopped_for_deadline_ = true;
      shutdown(SIGTERM);
    }
  }
  JR_TRY(tx.commit());
  unwritten_ends_.clear();
  std::erase_if(unrecorded_pids_, [](const UnrecordedPid& p) { return p.written; });
  return {};
}

Status Engine::write(bool place_tasks) {
  auto st = write_turn(place_tasks);
  if (st) {
    if (unwritten_ends_.empty() && held_.empty()) supervisor_.exits_recorded();
    if (store_failure_) {
      store_failure_.reset();
      wake_now_ = true;  // tasks may start again
      if (on_store_failure) on_store_failure(nullptr);
    }
    return {};
  }
  if (place_tasks) unplace();
  if (st.error().code != ErrorCode::Io) return st;
  store_retry_delay_ms_ = store_failure_ ? std::min(2 * store_retry_delay_ms_, kLastStoreRetryMs) : kFirstStoreRetryMs;
  store_retry_at_ = monotonic_ms() + store_retry_delay_ms_;
  if (!store_failure_) {
    store_failure_ = st.error();
    if (on_store_failure) on_store_failure(&*store_failure_);
  }
  return {};
}

void Engine::unplace() {
  // Their rows never said running: they are pending again, at the head of their queues, in
  // the order they were taken.
  for (auto it = starting_.rbegin(); it != starting_.rend(); ++it) {
    Attempt& a = **it;
    pool_.give_back(a.alloc);
    JobRun* job = job_run(a.job);
    scheduler_.release(a.slot, job, TaskState::Pending);
    if (job) {
      RunnableTask t;
      t.id = a.task;
      t.job = a.job;
      t.index = a.index;
      t.attempts = a.attempt - 1;
      t.failures = a.failures;
      t.spec = std::move(a.spec);
      job->queue.push_front(std::move(t));
    }
  }
  starting_.clear();
}

Status Engine::ensure_store_writable() {
  if (!store_failure_) return {};
  JR_TRY(write(false));
  if (store_failure_) return *store_failure_;
  return {};
}

}  // namespace jr
