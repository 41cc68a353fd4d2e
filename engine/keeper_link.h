// KeeperLink: the engine's end of its connection to a keeper (engine/keeper.h).
//
// start() forks a new keeper; find() connects to the one a dead engine of the same state left
// behind and learns what it holds. Every call is on the engine's thread. A spawn is one round
// trip; exits arrive on their own and are read by poll() when fd() is readable (and kept when
// they arrive during a spawn's round trip). A keeper that closes the connection, or sends what
// does not decode, is gone for good: poll() says so once.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/keeper_wire.h"

namespace jr {

class KeeperLink {
 public:
  // A new keeper for the state `state_id` in `dir`.
  static Result<std::unique_ptr<KeeperLink>> start(const std::filesystem::path& dir, const std::string& state_id);

  // What a dead engine's keeper left: a live keeper (link set, with its Welcome), or none,
  // with the exits its journal holds. `died` when its socket is there but nobody listens: it
  // was killed, so its tasks' exits may be lost.
  struct Found {
    std::unique_ptr<KeeperLink> link;
    keeper::Welcome welcome;
    bool died = false;
    std::vector<keeper::Ended> journal;
  };
  // Io error when a keeper answers but not as one of this state and version, or not at all.
  static Result<Found> find(const std::filesystem::path& dir, const std::string& state_id);

  // The exits in DIR/keeper.journal; none when it is missing, not a regular file, or too
  // large to be one.
  static std::vector<keeper::Ended> read_journal(const std::filesystem::path& dir);

  KeeperLink(int fd, pid_t pid) : fd_(fd), pid_(pid) {}
  ~KeeperLink();
  KeeperLink(const KeeperLink&) = delete;
  KeeperLink& operator=(const KeeperLink&) = delete;

  int fd() const { return fd_; }
  pid_t pid() const { return pid_; }
  bool gone() const { return gone_; }

  // Has the keeper start a task; the pid, or why it could not start. Io error when the keeper
  // is gone.
  Result<keeper::Spawned> spawn(const keeper::SpawnOrder& order);
  void signal(const keeper::SignalOrder& order);
  void ack(std::uint64_t seq);
  // The exits received since the last call (reading what the socket holds now).
  std::vector<keeper::Ended> poll();
  // Whether exits read during a spawn's round trip wait for poll(): the socket no longer says
  // so, since they have left it.
  bool holds_exits() const { return !ended_.empty(); }

 private:
  // Reads once from the socket (blocking or not) and decodes what completed; false when the
  // keeper is gone.
  bool read_some(bool block);

  int fd_;
  pid_t pid_;
  bool gone_ = false;
  keeper::FrameReader reader_;
  std::vector<keeper::Ended> ended_;
  std::vector<keeper::Spawned> spawned_;
};

}  // namespace jr
