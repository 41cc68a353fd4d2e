// EngineSession: a state directory opened for an engine, the one way `jr run` and jrd start.
//
// open() takes, in this order: the state directory (created 0700), its EngineLock, the store
// (after `fresh` has moved nothing but jr's own files aside), the event loop, the engine,
// recovery of what a dead engine left running (killed before anything that needs free space,
// so that a full disk cannot keep it alive), the state directory's own socket (DIR/sock: every
// command's `--state DIR` finds the engine there, cli/target.h), plus jrd's public socket
// when given, the progress board, and the methods every engine serves (task requests and job
// queries/control). begin() records the engine run (an epoch of reports and events); the
// destructor ends it. `jr run` and jrd differ only in what they do between.
//
// REQUIRES: one session per process; single-threaded like the loop it owns.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/engine.h"
#include "engine/event_loop.h"
#include "daemon/server.h"
#include "storage/engine_lock.h"
#include "storage/store.h"

namespace jr {

struct SessionOptions {
  std::filesystem::path state_dir;     // made absolute by open()
  SyncMode sync = SyncMode::Normal;
  std::vector<int> signals = {SIGCHLD, SIGINT, SIGTERM, SIGHUP};  // what the loop receives
  EngineOptions engine;                // state_dir, socket_path and board_path are filled in
  bool accept_submissions = true;      // jrd: yes; a jr run runs only its own job
  std::optional<int> inherited_socket; // a listening socket from systemd (jrd)
  std::filesystem::path public_socket; // jrd's own socket besides DIR's; empty: none
  // Runs with the lock held, before the store is opened (`jr run --fresh`); an error ends open().
  std::function<Status(const std::filesystem::path&)> before_open;
};

class EngineSession {
 public:
  static Result<std::unique_ptr<EngineSession>> open(SessionOptions options);
  ~EngineSession();
  EngineSession(const EngineSession&) = delete;
  EngineSession& operator=(const EngineSession&) = delete;

  // Records this engine's run (pid, Slurm job id) once the jobs are added.
  Status begin();

  const std::filesystem::path& state_dir() const { return dir_; }
  Store& store() { return *store_; }
  EventLoop& loop() { return *loop_; }
  Engine& engine() { return *engine_; }
  // The socket tasks are told (JR_SOCKET): jrd's public one when it has one, else DIR's.
  const std::filesystem::path& task_socket() const;

 private:
  EngineSession() = default;

  std::filesystem::path dir_;
  std::unique_ptr<EngineLock> lock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<Server> state_server_;
  std::unique_ptr<Server> public_server_;
  std::unique_ptr<Engine> engine_;
  std::optional<std::int64_t> run_id_;
};

}  // namespace jr
