// Engine::recover: dealing with what a dead engine left behind (docs/DESIGN.md, crash windows).
#include <signal.h>

#include <algorithm>

#include "engine/containment.h"
#include "engine/engine.h"
#include "engine/proc.h"
#include "storage/engine_runs.h"

namespace jr {
namespace {
constexpr std::int64_t kLeftoverKillTimeoutMs = 10'000;
}

Status Engine::recover(const PlaceCheck& place, const StatePlace& here) {
  auto running = store_.running_tasks();
  if (!running) return running.error();

  // Only what can be this store's own is signalled: never after a copy, a reboot, or on
  // another host (engine/state_place.h). Leftovers are killed whole, which races no fork:
  // first the last engine's cgroup group, then each recorded process group whose leader is
  // still the very process we started (same start time: a reused pid is someone else), then
  // every process that carries this store's token (a task that died before its pid was
  // recorded, children that left the task's group) with its group, scan after scan until none
  // is left. Only then is anything marked, so no attempt can start beside a leftover of an
  // earlier one.
  if (place.may_signal) {
    if (place.last && is_jr_group(place.last->group, "jr-" + store_.state_id() + "-")) {
      JR_TRY(kill_group_tree(place.last->group, kLeftoverKillTimeoutMs));
    }
    if (!running->empty()) {
      std::vector<pid_t> in_groups;
      for (auto& t : *running) {
        if (t.pgid <= 0) continue;
        auto pgid = static_cast<pid_t>(t.pgid);
        if (process_start_time(pgid) != t.proc_start) continue;
        auto members = processes_in_group(pgid);
        in_groups.insert(in_groups.end(), members.begin(), members.end());
        ::kill(-pgid, SIGKILL);
      }
      JR_TRY(kill_and_wait(in_groups, kLeftoverKillTimeoutMs));
      JR_TRY(kill_carriers("JR_RUN=" + store_.state_id() + ".", kLeftoverKillTimeoutMs));
    }
  }

  // Nothing above needed free space. A store that cannot be written now fails the start; what
  // was left running is gone, and the next start marks it.
  // What the last engine left running ends at its last sign of life, never at this start: the
  // time between is time no engine ran, and nothing saw those tasks run then (they may have
  // run on, or died with it). Its run, which recorded no end, ends there too.
  auto last = latest_engine_run(store_);
  if (!last) return last.error();
  std::int64_t last_seen = *last ? std::min((*last)->last_seen_ms, now_ms()) : now_ms();
  auto marked = [&]() -> Status {
    auto tx = store_.transaction();
    JR_TRY(tx.begin_status());
    for (auto& t : *running) {
      Exit exit;
      exit.detail = place.may_signal ? "engine died" : "engine died elsewhere (another host, boot or directory)";
      JR_TRY(store_.interrupt_task(t.id, exit, std::max(t.start_ms, last_seen)));
    }
    if (*last && !(*last)->ended) JR_TRY(close_engine_run(store_, (*last)->id, last_seen));
    JR_TRY(record_place(store_, here));
    return tx.commit();
  }();
  if (!marked && marked.error().code == ErrorCode::Io) {
    return make_error(ErrorCode::Io, "cannot write " + marked.error().message + "; start again once it can be written");
  }
  return marked;
}

}  // namespace jr
