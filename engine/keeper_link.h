// KeeperLink: the engine's end of its connection to a keeper (engine/keeper.h).
//
// start() forks a new keeper; find() connects to the one a dead engine of the same state left
// behind and learns what it holds. Every call is on the engine's thread. A spawn order is sent
// without waiting: the keeper answers each with a Spawned, in the order the orders went, and
// reports each exit on its own; poll() reads both when fd() is readable. A send that finds the
// socket full reads what the keeper says meanwhile (kept for poll(): holds_news()), so neither
// side can wait on the other for room. A keeper that closes the connection, or sends what does
// not decode, is gone for good: poll() says so once.
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

  // Has the keeper start a task; its Spawned comes through poll(). Io error (cannot_run) when
  // the keeper is gone.
  Status spawn(const keeper::SpawnOrder& order);
  // "cannot run PROGRAM: its keeper is gone": why a task whose keeper went did not start.
  static Error cannot_run(const std::vector<std::string>& argv);
  void signal(const keeper::SignalOrder& order);
  // Every exit up to `seq` is in the store. Said with the next order, or by flush(): each
  // message wakes the keeper, and on a busy machine a wake costs more than the message.
  void ack(std::uint64_t seq) { ack_due_ = seq; }
  // Sends an ack that no order has carried yet.
  void flush();
  // What the keeper said since the last call (reading what the socket holds now): the tasks it
  // started or could not start, in the order of their spawn orders, and the exits it reaped.
  // A task's Spawned always comes before its exit, in this call or an earlier one.
  struct News {
    std::vector<keeper::Spawned> spawned;
    std::vector<keeper::Ended> ended;
  };
  News poll();
  // Whether news read while a send waited for room waits for poll(): the socket no longer
  // says so, since it has left it.
  bool holds_news() const { return !news_.spawned.empty() || !news_.ended.empty(); }

 private:
  // Reads what the socket holds now and decodes what completed; false when the keeper is gone.
  bool read_some();
  // Decodes the frames read and not yet decoded into news_; false (and gone) when one does
  // not decode.
  bool decode_buffered();
  // Sends a whole frame, after the ack due if any, reading the keeper's news whenever the
  // socket is full; false when the keeper is gone.
  bool send(const std::string& frame);

  int fd_;
  pid_t pid_;
  bool gone_ = false;
  keeper::FrameReader reader_;
  News news_;
  std::uint64_t ack_due_ = 0;  // 0: none
};

}  // namespace jr
