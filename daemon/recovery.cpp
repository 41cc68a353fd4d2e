// Engine::recover: dealing with what a dead engine left behind (docs/DESIGN.md, crash windows).
#include <signal.h>

#include <set>

#include "daemon/engine.h"
#include "daemon/proc.h"

namespace jr {
namespace {
constexpr std::int64_t kLeftoverKillTimeoutMs = 10'000;
}

Status Engine::recover() {
  auto running = store_.running_tasks();
  if (!running) return running.error();
  if (running->empty()) return {};

  // Find every leftover before killing any: by the token each task's environment carries
  // (this also finds a task that died before its pid was recorded, and children that left
  // the task's process group), and by the recorded group when its leader is still the very
  // process we started (same start time: a reused pid is someone else).
  std::set<pid_t> victims;
  for (pid_t pid : processes_with_env_prefix("JR_RUN=" + store_.state_id() + ".")) victims.insert(pid);
  for (auto& t : *running) {
    if (t.pgid <= 0) continue;
    auto pgid = static_cast<pid_t>(t.pgid);
    if (process_start_time(pgid) == t.proc_start) {
      for (pid_t pid : processes_in_group(pgid)) victims.insert(pid);
    }
  }
  JR_TRY(kill_and_wait(std::vector<pid_t>(victims.begin(), victims.end()), kLeftoverKillTimeoutMs));

  auto tx = store_.transaction();
  JR_TRY(tx.begin_status());
  for (auto& t : *running) {
    Exit exit;
    exit.detail = "engine died";
    JR_TRY(store_.interrupt_task(t.id, exit, now_ms()));
  }
  return tx.commit();
}

}  // namespace jr
