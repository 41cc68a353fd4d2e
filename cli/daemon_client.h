// Finding and talking to jrd, for the jr commands that are its clients (docs/cli.md).
//
// The socket is `--socket PATH` if given, else $JR_DAEMON_SOCKET, else jrd's default
// (engine/paths.h). JR_SOCKET is deliberately not consulted: inside a task it names the task's
// own engine, which may be a `jr run` and not the daemon. Every error a command reports goes
// through report(): one line on stderr, and the exit code its kind maps to.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"
#include "cli/connection.h"

namespace jr {

// Exit codes of the commands that talk to jrd.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;      // the request failed, or the job waited for failed
inline constexpr int kExitUsage = 2;      // malformed flags or references
inline constexpr int kExitCancelled = 3;  // jr wait: the job was cancelled
inline constexpr int kExitTimeout = 4;    // jr wait --timeout: still not finished
inline constexpr int kExitNoDaemon = 5;   // no jrd answers, or it went away and did not come back

std::string daemon_socket_path(const std::string& socket_flag);
// Unavailable with where it looked and how to start a daemon, when nothing answers.
Result<std::unique_ptr<Connection>> connect_daemon(const std::string& socket_path);
// One request on a fresh connection.
Result<nlohmann::json> call_daemon(const std::string& socket_path, const std::string& method,
                                   const nlohmann::json& params);

// Prints "jr COMMAND: message" on stderr; returns the exit code for the error's kind.
int report(const std::string& command, const Error& e);

// A job as users name it: digits are an id ({"job": 12}), anything else a name ({"name": …},
// the latest job of that name).
Result<nlohmann::json> job_params(const std::string& ref);
// JOB or JOB:INDEX (index 0-based): job_params plus "index" when given.
Result<nlohmann::json> task_params(const std::string& ref);

// One request and its reply, over whichever connection a command holds.
using DaemonCall = std::function<Result<nlohmann::json>(const std::string& method, const nlohmann::json& params)>;
// Replaces a job name in `params` by the id it names now, so that a command that makes several
// requests keeps talking about one job even if another of that name is submitted meanwhile.
Result<nlohmann::json> resolve_job(const DaemonCall& call, nlohmann::json params);
// Every item of a list the daemon hands out a page at a time ("tasks" by offset, "events"
// after the last id seen): complete however large the job.
Result<nlohmann::json> fetch_all(const DaemonCall& call, const std::string& method, nlohmann::json params);

}  // namespace jr
