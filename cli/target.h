// Target: what a jr command talks to, by one rule for every command (docs/cli.md, "Where
// commands look"):
//
//   --socket PATH   the engine listening there (jrd, or a `jr run`);
//   --state DIR     that state directory: through the socket of the engine running there (jrd's
//                   or a `jr run`'s; every engine serves DIR's own socket), else, when no
//                   engine runs there, from its store opened read-only;
//   neither         $JR_DAEMON_SOCKET when set; else ./.jr when it holds a store (what `jr run`
//                   writes by default); else jrd's default socket.
//
// Either way a command makes the same requests (docs/protocol.md) and gets the same JSON:
// without an engine, status, list, tasks and events are answered here from the store, and a
// request that needs a running engine (cancel, pause, retry, …) is Unavailable with a line that
// says no engine runs on DIR.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "base/result.h"

namespace jr {

struct TargetFlags {
  std::string socket;     // --socket
  std::string state_dir;  // --state
};

class Target {
 public:
  // Usage error when both flags are given; Unavailable when a socket is named (or found by the
  // rule) and nothing answers there; NotFound when DIR holds no jr state.
  static Result<std::unique_ptr<Target>> open(const TargetFlags& flags);
  virtual ~Target() = default;

  virtual Result<nlohmann::json> call(const std::string& method, const nlohmann::json& params) = 0;
  // The state directory: given, or asked of the engine (its `ping`).
  virtual Result<std::filesystem::path> state_dir() = 0;
  // Whether an engine answers (false: the store is read directly).
  virtual bool live() const = 0;
};

// A Target that outlives its engine: when the engine goes away mid-call (jrd restarted, a
// `jr run` ended), prints one line ("jr COMMAND: lost the engine, reconnecting…") and opens the
// target again by the same rule for up to `patience` (a state directory whose engine has
// ended is then read from its store), then repeats the call. For requests that are safe to
// repeat (queries), used by jr wait and jr logs -f.
class TargetSession {
 public:
  TargetSession(TargetFlags flags, std::string command, std::int64_t patience_ms = 30'000);
  Result<nlohmann::json> call(const std::string& method, const nlohmann::json& params);
  bool live() const { return target_ && target_->live(); }
  // Runs before the "lost" line is printed (jr wait erases its progress line there).
  std::function<void()> on_lost;

 private:
  Status reconnect();

  TargetFlags flags_;
  std::string command_;
  std::int64_t patience_ms_;
  std::unique_ptr<Target> target_;
};

// The state directory the rule names, for commands that read a store themselves (stats,
// trace, report, top, checkpoint): DIR, else the state of the engine at the socket.
Result<std::filesystem::path> target_state_dir(const TargetFlags& flags);

}  // namespace jr
