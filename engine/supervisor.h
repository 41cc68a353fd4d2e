// Supervisor: the processes of the engine's task attempts and --on-finish hooks: spawning them
// into their slot's containment, reaping them, signalling them, and killing what is left of
// them when their grace period or timeout runs out.
//
// With a keeper (the default; --no-adopt turns it off: engine/keeper.h), tasks are started and reaped by the keeper,
// which outlives the engine, and their exits arrive from it; without, by the engine itself. Attempts a dead engine left running are adopted (adopt()): kept by its
// keeper, or, when that keeper was killed too, watched through a pidfd until they end, their
// exit status unknown. When the engine's own keeper dies, its tasks are reparented to the
// engine (a subreaper) and reaped by it as in the keeper-less case.
//
// The Engine (engine/engine.h) decides what starts and what each end means, and records it;
// the supervisor only deals with processes. It owns the attempts that have, or are about to
// have, a process (running(), keyed by task: a task has one attempt at a time, and a pid, unknown
// until a keeper answers and reusable once reaped, would be no key) and the hooks, and keeps
// the exits it reaps, under the same keys, until the engine takes them. A spawn through the keeper does not wait for the keeper's answer:
// until it comes, the attempt is in running() with pid 0, can be stopped like any other, and
// its pid is reported by take_started(); a spawn the keeper could not make comes back as an
// exit with status 127. A task's leader is killed with its whole
// group and slot before it is reaped, so its processes never outlive the record that says it
// runs. Single-threaded: the engine's thread (reap() from its SIGCHLD).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <filesystem>
#include <string>

#include "base/duration.h"
#include "base/result.h"
#include "engine/containment.h"
#include "engine/event_loop.h"
#include "engine/keeper_link.h"
#include "engine/resources.h"
#include "engine/spawn.h"
#include "storage/store.h"

namespace jr {

// One attempt of a task, from its placement in a slot to its end.
struct Attempt {
  TaskId task = 0;
  JobId job = 0;
  std::int64_t index = 0;
  int attempt = 0;
  int slot = 0;
  pid_t pid = 0;                // 0 until spawned
  std::int64_t proc_start = 0;  // known start time (process_start_time's unit); 0: unknown
  int failures = 0;
  TaskSpec spec;
  std::int64_t start_ms = 0;
  std::int64_t timeout_at = 0;  // monotonic; 0: none
  std::int64_t kill_at = 0;     // monotonic; 0: not signalled yet
  bool timed_out = false;
  bool cancelled = false;
  bool stalled = false;
  bool halted = false;          // stopped by Engine::halt(true)
  int samples = 0;
  std::int64_t peak_sampled_kb = 0;  // the largest RSS the sampler saw
  std::optional<Containment::CpuTime> cpu_at_start;  // its slot group's, when it has one
  Allocation alloc;
  // Who reaps it: the engine (its child), the keeper, or nobody (its keeper was killed after
  // its engine died: watched through `pidfd` until it ends).
  enum class Keeping { Engine, Keeper, Watched } keeping = Keeping::Engine;
  bool adopted = false;  // started by an engine that died: it runs in that engine's group
  std::string group;     // the cgroup it was created in; empty: none
  int pidfd = -1;        // Watched only
  std::int64_t exit_asked_until = 0;  // Watched, exited: its exit is asked of the kernel until then (monotonic)
  std::string spawn_log;  // its stderr log, until its keeper says whether it started
};

// Where a keeper keeps its files and whose tasks it keeps; `use` false: no keeper.
struct KeeperPlace {
  bool use = false;
  std::filesystem::path dir;
  std::string state_id;
};

class Supervisor {
 public:
  // A task's process that has exited and been reaped.
  struct Reaped {
    TaskId task;  // its key in running()
    int attempt;  // which of the task's attempts: an end is never taken for a later one
    pid_t pid;    // the process that ended; 0: none started
    Exit exit;
    std::int64_t held_until = 0;  // monotonic; for the engine, which may hold an exit back
  };
  using Running = std::unordered_map<TaskId, std::unique_ptr<Attempt>>;

  // `containment` keeps each slot's processes together; `grace` is SIGTERM to SIGKILL; a
  // keeper, when `keeper.use`, is started at the first spawn and watched on `loop`.
  Supervisor(Containment& containment, EventLoop& loop, Millis grace, KeeperPlace keeper);
  ~Supervisor();

  // The keeper a dead engine left, found by recovery (KeeperLink::find): it keeps the
  // adopted attempts and starts the new ones. `last_seq`: the last exit it reported in its
  // Welcome, acknowledged once the store holds what the engine took of them.
  void use_keeper(std::unique_ptr<KeeperLink> keeper, std::uint64_t last_seq);
  // Takes over an attempt a dead engine started: kept by the keeper given to use_keeper, or
  // (a.keeping == Watched) watched until it ends. With `ended`, it has ended already (an exit
  // from the keeper's journal, or unknown), and its end is taken at the next turn.
  void adopt(std::unique_ptr<Attempt> a, std::optional<Exit> ended);
  // Every exit taken so far is in the store: the keeper may forget it (told with the next
  // order to the keeper, or by flush()).
  void exits_recorded();
  // Sends what the keeper has not been told yet; at the end of each of the engine's turns.
  void flush() {
    if (keeper_) keeper_->flush();
  }
  // Recovery took exits from the journal of a keeper that is gone: it is removed once they
  // are in the store.
  void journal_imported() { journal_imported_ = true; }
  // "keeper (pid N)" or "none (…)" with --no-adopt: what `jr ping --json` shows.
  std::string describe_keeping() const;

  // Spawns `a` as `req` says, in its slot's group, and sets its timeout, and its pid and start
  // time when the engine spawned it (with a keeper, they come later: take_started()). On
  // failure writes why to the task's stderr log and returns the error; `a` has no process. (A
  // keeper that cannot start it says so later: an exit with status 127.)
  Status spawn(Attempt& a, SpawnRequest req);
  // Takes a spawned attempt into running().
  void watch(std::unique_ptr<Attempt> a);
  // A task the keeper has started since the last call, and its process's identity.
  struct Started {
    TaskId task;
    pid_t pid;
    std::int64_t proc_start;
  };
  std::vector<Started> take_started() { return std::exchange(started_, {}); }
  // Spawn orders the keeper has not answered yet.
  int spawns_pending() const { return spawns_pending_; }
  // The attempts that have a process, or are about to. The engine forgets one once it has
  // taken its end.
  Running& running() { return running_; }
  void forget(Running::iterator it);
  const Running& running() const { return running_; }
  // The running attempt `attempt` of `task`; nullptr when none.
  Attempt* find(TaskId task, int attempt);

  // Sends `sig` to the attempt's process group; SIGKILL follows at `kill_at` (monotonic).
  void stop(Attempt& a, int sig, std::int64_t kill_at);
  // SIGKILL to the attempt's process group and slot, at once.
  void kill_now(Attempt& a);
  // Timeouts due get SIGTERM (and count as timed out), grace periods run out get SIGKILL;
  // the kernel is asked again for the exits of watched attempts.
  void check_timers();
  // When check_timers() has something to do next (monotonic); 0: nothing.
  std::int64_t next_timer() const;

  // Reaps every child that has exited (SIGCHLD): a task's exit is kept for take_reaped(), a
  // hook's outcome for take_hook_ends().
  void reap();
  // What the keeper said while the engine waited to send it an order counts too: the socket no
  // longer wakes the loop for it.
  bool has_reaped() const { return !reaped_.empty() || !started_.empty() || (keeper_ && keeper_->holds_news()); }
  std::vector<Reaped> take_reaped();
  // A --on-finish hook of `job` started by the engine: reaped like a task, spared by
  // kill_orphans.
  void watch_hook(pid_t pid, JobId job) { hooks_.emplace(pid, job); }
  bool hooks_running() const { return !hooks_.empty() || !hook_ends_.empty(); }
  std::vector<std::pair<JobId, Status>> take_hook_ends() { return std::exchange(hook_ends_, {}); }
  // Under the subreaper containment, after a task has ended: kills every child of the engine
  // that is not a running attempt, a hook, or one of `also_known` (exits held back).
  void kill_orphans_if_any(const std::vector<pid_t>& also_known);

 private:
  Status start_keeper();
  void on_keeper();
  // The keeper closed its connection: what it kept is reaped by the engine (reparented to it),
  // taken from its journal, or watched with its status unknown.
  void keeper_lost();
  void watch_orphan(Attempt& a);
  // A watched attempt has exited: its status, once the kernel knows it (pidfd_exit), else
  // asked again at the next check_timers() until `exit_asked_until`, then unknown.
  void ask_exit(Attempt& a);
  // The attempt whose process is the engine's child `pid`; end() when none.
  Running::iterator child_attempt(pid_t pid);
  // The keeper's answer to a spawn order: the attempt gets its pid, or ends (127).
  void on_spawned(const keeper::Spawned& s);
  // A pending attempt that will never start: why goes to its log and its end to the engine.
  void could_not_start(Attempt& a, const std::string& why);
  // Sends `sig` to the attempt through whoever keeps it; `kill_group` also kills its cgroup.
  void send(Attempt& a, int sig, bool kill_group);
  Reaped exit_of(const keeper::Ended& e, Attempt& a);

  Containment& containment_;
  EventLoop& loop_;
  Millis grace_;
  KeeperPlace keeper_place_;
  std::unique_ptr<KeeperLink> keeper_;
  std::uint64_t keeper_seq_ = 0;  // the last exit received from the keeper
  std::uint64_t acked_seq_ = 0;
  bool journal_imported_ = false;
  Running running_;
  int spawns_pending_ = 0;
  std::vector<Started> started_;
  std::vector<Reaped> reaped_;
  std::unordered_map<pid_t, JobId> hooks_;
  std::vector<std::pair<JobId, Status>> hook_ends_;
  bool orphans_possible_ = false;  // a child was reaped since the last kill_orphans
};

}  // namespace jr
