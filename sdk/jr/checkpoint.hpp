// The C++ SDK for tasks run by jr: save and load a checkpoint of any cereal-serializable value.
//
//   struct State { std::uint64_t step; std::mt19937_64 rng; template <class A> void serialize(A&); };
//   State s = jr::load_checkpoint<State>().value_or(State{});   // restored on a resumed attempt
//   ... every N steps: jr::save_checkpoint(s);                   // durable when it returns
//
// save_checkpoint writes the value as a cereal binary archive to JR_CHECKPOINT_DIR/jr-sdk.bin
// (a temporary file renamed over the old one, so a crash leaves old or new bytes), then asks
// the task's engine (JR_SOCKET, the attempt named by JR_RUN) to store the directory in its
// database; it returns true only once the engine has committed it. The engine restores the
// last stored checkpoint into JR_CHECKPOINT_DIR before an attempt starts, which is where
// load_checkpoint reads it. Outside jr (no JR_CHECKPOINT_DIR), load returns nothing and save
// returns false with a reason. Header-only; needs cereal, and <cereal/types/...> headers for
// the members T uses. Errors are values: nothing here throws.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cereal/archives/binary.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

namespace jr {
namespace sdk_detail {

inline std::string checkpoint_file() {
  const char* dir = std::getenv("JR_CHECKPOINT_DIR");
  return dir && *dir ? std::string(dir) + "/jr-sdk.bin" : std::string();
}

// One request/reply exchange of jr's framed JSON protocol (docs/protocol.md) on `fd`.
inline bool exchange(int fd, const std::string& body, std::string* reply) {
  std::uint32_t n = static_cast<std::uint32_t>(body.size());
  unsigned char len[4] = {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
                          static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  std::string frame(reinterpret_cast<char*>(len), 4);
  frame += body;
  for (std::size_t sent = 0; sent < frame.size();) {
    ssize_t w = ::send(fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (w <= 0) return false;
    sent += static_cast<std::size_t>(w);
  }
  std::string in;
  char buf[4096];
  while (in.size() < 4 || in.size() < 4 + ((std::uint32_t(static_cast<unsigned char>(in[0])) << 24) |
                                           (std::uint32_t(static_cast<unsigned char>(in[1])) << 16) |
                                           (std::uint32_t(static_cast<unsigned char>(in[2])) << 8) |
                                           std::uint32_t(static_cast<unsigned char>(in[3])))) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) return false;
    in.append(buf, static_cast<std::size_t>(r));
  }
  *reply = in.substr(4);
  return true;
}

// Asks the engine to store JR_CHECKPOINT_DIR; true once it has committed it.
inline bool store_checkpoint(std::string* error) {
  const char* socket_path = std::getenv("JR_SOCKET");
  const char* run = std::getenv("JR_RUN");
  if (!socket_path || !run) {
    *error = "not inside a jr task (JR_SOCKET and JR_RUN are not set)";
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (std::strlen(socket_path) >= sizeof addr.sun_path) {
    *error = "JR_SOCKET is too long";
    return false;
  }
  std::strcpy(addr.sun_path, socket_path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) ::close(fd);
    *error = std::string("cannot reach the jr engine at ") + socket_path;
    return false;
  }
  // JR_RUN is digits, hex and dots: it needs no JSON escaping.
  std::string reply;
  bool ok = exchange(fd, R"({"id":1,"method":"hello","params":{"protocol":1}})", &reply) &&
            reply.find("\"error\"") == std::string::npos &&
            exchange(fd, std::string(R"({"id":2,"method":"checkpoint.save","params":{"run":")") + run + "\"}}", &reply);
  ::close(fd);
  if (!ok) {
    *error = "the jr engine went away during the save";
    return false;
  }
  if (reply.find("\"error\"") != std::string::npos) {
    *error = "the jr engine refused the checkpoint: " + reply;
    return false;
  }
  return true;
}

}  // namespace sdk_detail

// Stores `value` as this task's checkpoint; true once it is durable. On false, `error` (if
// given) says why, and the previous checkpoint is intact.
template <typename T>
bool save_checkpoint(const T& value, std::string* error = nullptr) {
  std::string ignored;
  std::string& err = error ? *error : ignored;
  std::string path = sdk_detail::checkpoint_file();
  if (path.empty()) {
    err = "not inside a jr task (JR_CHECKPOINT_DIR is not set)";
    return false;
  }
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      err = "cannot write " + tmp;
      return false;
    }
    cereal::BinaryOutputArchive ar(out);
    ar(value);
    out.flush();
    if (!out) {
      err = "cannot write " + tmp;
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = "cannot rename " + tmp;
    return false;
  }
  return sdk_detail::store_checkpoint(&err);
}

// The value of the last checkpoint this task saved, restored by jr before this attempt
// started; nothing on a first attempt, outside jr, or when the bytes do not decode as T.
template <typename T>
std::optional<T> load_checkpoint() {
  std::string path = sdk_detail::checkpoint_file();
  if (path.empty()) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  try {
    cereal::BinaryInputArchive ar(in);
    T value;
    ar(value);
    return value;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace jr
