// The keeper's wire: what an engine and its keeper (engine/keeper.h) say to each other over a
// Unix socket, and the keeper's journal of exits.
//
// A frame is a 4-byte length (host order: both ends run on one machine) and a payload of at
// most kMaxFrame bytes: one byte saying which message, then the message in cereal's binary
// form. The engine says Hello first on every connection; the keeper answers Welcome, with its
// version, the task processes it has started and not yet reaped, and the exits it has reaped
// that no engine has acknowledged. A version or state id that differs ends the connection:
// neither side guesses at the other's messages.
//
// The journal (DIR/keeper.journal) holds one line per exit the keeper reaped and no engine
// has acknowledged yet, written with one write() before the engine is told, so an exit
// outlives the death of both. It is a file a task could write (it runs as the same user), so
// a line that does not parse is skipped, never trusted in part.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "engine/spawn.h"
#include "storage/types.h"

namespace jr::keeper {

inline constexpr int kVersion = 2;
inline constexpr std::uint32_t kMaxFrame = 64u << 20;

enum class Op : std::uint8_t {
  Hello = 1,    // engine -> keeper: Hello
  Spawn = 2,    // engine -> keeper: SpawnOrder; answered by Spawned, in order
  Signal = 3,   // engine -> keeper: SignalOrder
  Ack = 4,      // engine -> keeper: Ack
  Welcome = 5,  // keeper -> engine: Welcome
  Spawned = 6,  // keeper -> engine: Spawned
  Ended = 7,    // keeper -> engine: Ended
};

struct Hello {
  int version = kVersion;
  std::string state_id;
};

// A task process the keeper started and has not reaped yet.
struct Child {
  TaskId task = 0;
  int attempt = 0;
  int slot = 0;
  pid_t pid = 0;
  std::int64_t proc_start = 0;  // engine/proc.h's unit; 0: unknown
  std::string group;            // the cgroup it was created in; empty: none
};

// One exit the keeper reaped. `seq` counts the keeper's exits from 1.
struct Ended {
  std::uint64_t seq = 0;
  TaskId task = 0;
  int attempt = 0;
  pid_t pid = 0;
  int exit_code = -1;  // -1: killed by `signal`
  int signal = 0;
  std::int64_t utime_ms = 0;
  std::int64_t stime_ms = 0;
  std::int64_t maxrss_kb = 0;
  std::int64_t end_ms = 0;    // wall clock
  bool group_killed = false;  // its cgroup still held processes and was killed (never reuse it)
};

struct Welcome {
  int version = kVersion;
  std::string state_id;
  pid_t keeper_pid = 0;
  std::vector<Child> children;
  std::vector<Ended> ended;
};

struct SpawnOrder {
  Child child;  // pid and proc_start unset
  SpawnRequest request;  // cgroup_fd unset: the keeper opens child.group
};

struct Spawned {
  TaskId task = 0;
  int attempt = 0;
  pid_t pid = 0;  // 0: could not start, and `error` says why
  std::int64_t proc_start = 0;
  std::string error;
};

// Names the child by its task and attempt, not its pid: the engine sends it without waiting
// for the Spawned of an order it sent before, and the keeper reads both in order.
struct SignalOrder {
  TaskId task = 0;
  int attempt = 0;
  int signal = 0;
  bool kill_group = false;  // also kill every process of its cgroup (cgroup.kill)
};

struct Ack {
  std::uint64_t seq = 0;  // every exit up to this one is in the store
};

// One decoded frame.
struct Frame {
  Op op{};
  std::string payload;  // the message, without the op byte
};

// A frame carrying `message`.
std::string encode(const Hello& m);
std::string encode(const Welcome& m);
std::string encode(const SpawnOrder& m);
std::string encode(const Spawned& m);
std::string encode(const SignalOrder& m);
std::string encode(const Ack& m);
std::string encode(const Ended& m);

// The message in a frame's payload; Corrupt error when it does not decode.
Result<Hello> decode_hello(const std::string& payload);
Result<Welcome> decode_welcome(const std::string& payload);
Result<SpawnOrder> decode_spawn(const std::string& payload);
Result<Spawned> decode_spawned(const std::string& payload);
Result<SignalOrder> decode_signal(const std::string& payload);
Result<Ack> decode_ack(const std::string& payload);
Result<Ended> decode_ended(const std::string& payload);

// Bytes read from a socket, split into frames as they complete.
class FrameReader {
 public:
  void append(const char* data, std::size_t n) { buffer_.append(data, n); }
  // The next whole frame; nullopt when none is complete yet; Corrupt error when the bytes
  // cannot be a frame (too long, an unknown op), after which the stream is unusable.
  Result<std::optional<Frame>> next();

 private:
  std::string buffer_;
  std::size_t used_ = 0;
};

// Writes all of `bytes` to `fd` (a blocking socket), with no SIGPIPE; false when the peer is
// gone.
bool send_all(int fd, std::string_view bytes);

// The journal's line for `e`, and the exits in a journal's text (lines that do not parse are
// skipped).
std::string journal_line(const Ended& e);
std::vector<Ended> parse_journal(const std::string& text);

}  // namespace jr::keeper
