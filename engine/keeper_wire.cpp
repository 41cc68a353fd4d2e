#include "engine/keeper_wire.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

namespace jr {

template <class Archive>
void serialize(Archive& ar, SpawnRequest& r) {
  ar(r.argv, r.env, r.cwd, r.stdout_path, r.stderr_path, r.cpu_ids, r.subreaper);
}

namespace keeper {

template <class Archive>
void serialize(Archive& ar, Hello& m) { ar(m.version, m.state_id); }
template <class Archive>
void serialize(Archive& ar, Child& m) { ar(m.task, m.attempt, m.slot, m.pid, m.proc_start, m.group); }
template <class Archive>
void serialize(Archive& ar, Ended& m) {
  ar(m.seq, m.task, m.attempt, m.pid, m.exit_code, m.signal, m.utime_ms, m.stime_ms, m.maxrss_kb, m.end_ms, m.group_killed);
}
template <class Archive>
void serialize(Archive& ar, Welcome& m) { ar(m.version, m.state_id, m.keeper_pid, m.children, m.ended); }
template <class Archive>
void serialize(Archive& ar, SpawnOrder& m) { ar(m.child, m.request); }
template <class Archive>
void serialize(Archive& ar, Spawned& m) { ar(m.task, m.attempt, m.pid, m.proc_start, m.error); }
template <class Archive>
void serialize(Archive& ar, SignalOrder& m) { ar(m.task, m.attempt, m.signal, m.kill_group); }
template <class Archive>
void serialize(Archive& ar, Ack& m) { ar(m.seq); }

namespace {

template <class M>
std::string frame(Op op, const M& m) {
  std::ostringstream out;
  out.write("\0\0\0\0", 4);
  out.put(static_cast<char>(op));
  {
    cereal::BinaryOutputArchive ar(out);
    ar(m);
  }
  std::string bytes = out.str();
  auto n = static_cast<std::uint32_t>(bytes.size() - 4);
  std::memcpy(bytes.data(), &n, 4);
  return bytes;
}

template <class M>
Result<M> decode(const std::string& payload, const char* what) {
  M m;
  try {
    std::istringstream in(payload);
    cereal::BinaryInputArchive ar(in);
    ar(m);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::Corrupt, std::string("a keeper's ") + what + " does not decode: " + e.what());
  }
  return m;
}

// Reads a decimal field of a journal line; false when there is none.
template <class T>
bool field(std::istringstream& in, T* out) {
  long long v = 0;
  if (!(in >> v)) return false;
  *out = static_cast<T>(v);
  return static_cast<long long>(*out) == v;
}

}  // namespace

std::string encode(const Hello& m) { return frame(Op::Hello, m); }
std::string encode(const Welcome& m) { return frame(Op::Welcome, m); }
std::string encode(const SpawnOrder& m) { return frame(Op::Spawn, m); }
std::string encode(const Spawned& m) { return frame(Op::Spawned, m); }
std::string encode(const SignalOrder& m) { return frame(Op::Signal, m); }
std::string encode(const Ack& m) { return frame(Op::Ack, m); }
std::string encode(const Ended& m) { return frame(Op::Ended, m); }

Result<Hello> decode_hello(const std::string& p) { return decode<Hello>(p, "hello"); }
Result<Welcome> decode_welcome(const std::string& p) { return decode<Welcome>(p, "welcome"); }
Result<SpawnOrder> decode_spawn(const std::string& p) { return decode<SpawnOrder>(p, "spawn order"); }
Result<Spawned> decode_spawned(const std::string& p) { return decode<Spawned>(p, "spawn reply"); }
Result<SignalOrder> decode_signal(const std::string& p) { return decode<SignalOrder>(p, "signal order"); }
Result<Ack> decode_ack(const std::string& p) { return decode<Ack>(p, "acknowledgement"); }
Result<Ended> decode_ended(const std::string& p) { return decode<Ended>(p, "exit"); }

Result<std::optional<Frame>> FrameReader::next() {
  if (buffer_.size() - used_ < 5) return std::optional<Frame>{};
  std::uint32_t n = 0;
  std::memcpy(&n, buffer_.data() + used_, 4);
  if (n == 0 || n > kMaxFrame) return make_error(ErrorCode::Corrupt, "a keeper frame of " + std::to_string(n) + " bytes");
  if (buffer_.size() - used_ - 4 < n) return std::optional<Frame>{};
  auto op = static_cast<std::uint8_t>(buffer_[used_ + 4]);
  if (op < static_cast<std::uint8_t>(Op::Hello) || op > static_cast<std::uint8_t>(Op::Ended)) {
    return make_error(ErrorCode::Corrupt, "a keeper frame of unknown kind " + std::to_string(op));
  }
  Frame f{static_cast<Op>(op), buffer_.substr(used_ + 5, n - 1)};
  used_ += 4 + n;
  if (used_ == buffer_.size()) {
    buffer_.clear();
    used_ = 0;
  } else if (used_ > 1 << 16) {
    buffer_.erase(0, used_);
    used_ = 0;
  }
  return std::optional<Frame>(std::move(f));
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string journal_line(const Ended& e) {
  std::ostringstream out;
  out << "E " << e.seq << ' ' << e.task << ' ' << e.attempt << ' ' << e.pid << ' ' << e.exit_code << ' ' << e.signal << ' '
      << e.utime_ms << ' ' << e.stime_ms << ' ' << e.maxrss_kb << ' ' << e.end_ms << ' ' << (e.group_killed ? 1 : 0) << '\n';
  return out.str();
}

std::vector<Ended> parse_journal(const std::string& text) {
  std::vector<Ended> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    std::string tag;
    Ended e;
    int killed = 0;
    bool ok = (in >> tag) && tag == "E" && field(in, &e.seq) && field(in, &e.task) && field(in, &e.attempt) &&
              field(in, &e.pid) && field(in, &e.exit_code) && field(in, &e.signal) && field(in, &e.utime_ms) &&
              field(in, &e.stime_ms) && field(in, &e.maxrss_kb) && field(in, &e.end_ms) && field(in, &killed);
    std::string rest;
    if (!ok || (in >> rest) || e.task <= 0 || e.attempt <= 0 || e.pid <= 0) continue;
    e.group_killed = killed != 0;
    out.push_back(e);
  }
  return out;
}

}  // namespace keeper
}  // namespace jr
