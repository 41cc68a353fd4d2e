// Engine::recover: dealing with what a dead engine left behind (docs/DESIGN.md, crash windows).
#include <signal.h>

#include <algorithm>

#include "engine/containment.h"
#include "engine/engine.h"
#include "engine/keeper_link.h"
#include "engine/proc.h"
#include "storage/engine_runs.h"

namespace jr {
namespace {

constexpr std::int64_t kLeftoverKillTimeoutMs = 10'000;

Exit exit_from(const keeper::Ended& e) {
  Exit x;
  x.exit_code = e.signal ? -1 : e.exit_code;
  x.signal = e.signal;
  x.utime_ms = e.utime_ms;
  x.stime_ms = e.stime_ms;
  x.maxrss_kb = e.maxrss_kb;
  return x;
}

}  // namespace

Status Engine::recover(const PlaceCheck& place, const StatePlace& here) {
  auto all_running = store_.running_tasks();
  if (!all_running) return all_running.error();

  // First what a keeper kept (engine/keeper.h): an attempt its keeper still runs is adopted,
  // one whose exit it recorded takes that exit, and one whose keeper was killed too is
  // watched until it ends, its status unknown. Never on another host, boot or directory.
  std::vector<RunningTask> leftovers;
  std::vector<std::string> spared;  // the JR_RUN tokens of adopted attempts
  if (opt_.adopt && place.may_signal && !all_running->empty()) {
    auto found = KeeperLink::find(opt_.state_dir, store_.state_id());
    if (!found) return found.error();
    std::vector<keeper::Ended> ended = found->link ? found->welcome.ended : found->journal;
    std::uint64_t last_seq = 0;
    for (auto& e : ended) last_seq = std::max(last_seq, e.seq);
    for (auto& t : *all_running) {
      auto a = std::make_unique<Attempt>();
      a->task = t.id;
      a->job = t.job;
      a->index = t.index;
      a->attempt = t.attempt;
      a->slot = t.slot;
      a->failures = t.failures;
      a->spec = t.spec;
      a->start_ms = t.start_ms;
      a->pid = static_cast<pid_t>(t.pgid);
      a->proc_start = t.proc_start;
      a->keeping = Attempt::Keeping::Keeper;
      auto same = [&t](const auto& x) { return x.task == t.id && x.attempt == t.attempt; };
      auto exit = std::find_if(ended.begin(), ended.end(), same);
      const auto& kept = found->welcome.children;
      auto child = std::find_if(kept.begin(), kept.end(), same);
      std::optional<Exit> end;
      if (exit != ended.end()) {
        a->pid = exit->pid;
        end = exit_from(*exit);
      } else if (found->link && child != kept.end()) {
        a->pid = child->pid;
        a->proc_start = child->proc_start;
        a->group = child->group;
      } else if (found->died && t.pgid > 0) {
        a->keeping = Attempt::Keeping::Watched;  // alive or not, nobody saw it end
      } else {
        leftovers.push_back(t);  // never started, or there was no keeper: as without one
        continue;
      }
      spared.push_back("JR_RUN=" + run_token(store_.state_id(), t.id, t.attempt));
      adopted_.push_back(Adopted{std::move(a), std::move(end)});
    }
    if (found->link) supervisor_.use_keeper(std::move(found->link), last_seq);
    else if (!found->journal.empty()) supervisor_.journal_imported();
  } else {
    leftovers = *all_running;
  }
  auto* running = &leftovers;

  // Only what can be this store's own is signalled: never after a copy, a reboot, or on
  // another host (engine/state_place.h). Leftovers are killed whole, which races no fork:
  // first the last engine's cgroup group, then each recorded process group whose leader is
  // still the very process we started (same start time: a reused pid is someone else), then
  // every process that carries this store's token (a task that died before its pid was
  // recorded, children that left the task's group) with its group, scan after scan until none
  // is left. Only then is anything marked, so no attempt can start beside a leftover of an
  // earlier one.
  if (place.may_signal) {
    // Adopted tasks live in the last engine's group: it is left to them, and removed by a
    // later engine once empty.
    if (adopted_.empty() && place.last && is_jr_group(place.last->group, "jr-" + store_.state_id() + "-")) {
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
      JR_TRY(kill_carriers("JR_RUN=" + store_.state_id() + ".", spared, kLeftoverKillTimeoutMs));
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

void Engine::adopt_attempts(JobRun& job) {
  for (auto it = adopted_.begin(); it != adopted_.end();) {
    if (it->attempt->job != job.row.id) {
      ++it;
      continue;
    }
    std::unique_ptr<Attempt> a = std::move(it->attempt);
    std::optional<Exit> ended = std::move(it->ended);
    it = adopted_.erase(it);
    // It keeps the slot it was started in: its JR_SLOT and JR_CHECKPOINT_DIR name it.
    scheduler_.adopt(a->slot, job);
    if (pool_.can_start(a->spec)) a->alloc = pool_.take(a->spec);
    // Its timeout runs from its recorded start, not from this engine's.
    if (a->spec.timeout_ms > 0) {
      a->timeout_at = monotonic_ms() + std::max<std::int64_t>(0, a->start_ms + a->spec.timeout_ms - now_ms());
    }
    unrecorded_pids_.push_back({a->task, a->pid, a->proc_start, monotonic_ms()});
    supervisor_.adopt(std::move(a), std::move(ended));
  }
}

}  // namespace jr
