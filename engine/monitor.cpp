// Engine: watching running tasks: CPU and memory samples, and progress from the board.
#include <signal.h>

#include <algorithm>

#include "engine/engine.h"
#include "engine/sampler.h"
#include "jr/board.hpp"

namespace jr {
namespace {

// Keep every sample for the first minutes of an attempt, then fewer and fewer: a bounded
// series that still spans the whole attempt.
bool keep_sample(int n) { return n < 120 || n % (n / 120 + 1) == 0; }

}  // namespace

void Engine::read_progress(const Attempt& a, Exit* exit) const {
  exit->stalled = a.stalled;
  if (!board_) return;
  auto rec = board_->read(static_cast<std::uint32_t>(a.slot - 1));
  if (!rec || rec->task_id != static_cast<std::uint64_t>(a.task) || rec->attempt != static_cast<std::uint32_t>(a.attempt)) return;
  exit->progress = rec->fraction;
  exit->message = rec->message;
}

Status Engine::sample(bool record) {
  std::int64_t mono = monotonic_ms();
  next_sample_at_ = mono + opt_.sample_every.count();
  std::unordered_map<pid_t, bool> groups;
  auto& running = supervisor_.running();
  for (auto& [task, a] : running) {
    if (a->pid > 0) groups[a->pid] = true;  // 0: its keeper has not said it started
  }
  auto usage = sample_groups(groups);
  std::int64_t now = now_ms();
  for (auto& [task, a] : running) {
    auto it = a->pid > 0 ? usage.find(a->pid) : usage.end();
    if (it != usage.end()) a->peak_sampled_kb = std::max(a->peak_sampled_kb, it->second.rss_kb);
    if (it != usage.end() && record && keep_sample(a->samples++)) {
      JR_TRY(store_.add_sample(a->task, a->attempt, now, it->second.cpu_ms, it->second.rss_kb));
    }
    const JobSpec& spec = job_spec(a->job);
    if (!board_ || spec.stall_timeout_ms <= 0 || a->stalled) continue;
    auto rec = board_->read(static_cast<std::uint32_t>(a->slot - 1));
    bool wrote = rec && rec->task_id == static_cast<std::uint64_t>(a->task) &&
                 (rec->fraction >= 0 || rec->message[0] != '\0');
    if (!wrote || now - rec->updated_ms < spec.stall_timeout_ms) continue;
    a->stalled = true;
    // Unrecorded while the store cannot be written: the attempt's end still says it stalled.
    if (record) {
      JR_TRY(store_.add_event(a->job, a->task, std::nullopt, std::nullopt, a->attempt,
                              "stalled: no progress for " + format_duration(Millis(now - rec->updated_ms))));
    }
    if (spec.stall_kill && a->kill_at == 0) {
      a->timed_out = true;
      supervisor_.stop(*a, SIGTERM, mono + opt_.grace.count());
    }
  }
  return {};
}

}  // namespace jr
