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
#include <time.h>

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

// The top-level member `name` of the JSON object `text`, as its raw JSON text; empty when
// `text` is not an object or has no such member. Enough JSON to read a reply's envelope
// (`result` or `error`) without a JSON library: strings are skipped with their escapes, nesting
// is counted, so an "error" inside a result or a message is never taken for the reply's own.
inline std::string top_level_member(const std::string& text, const std::string& name) {
  std::size_t i = 0;
  auto skip_space = [&] { while (i < text.size() && std::strchr(" \t\r\n", text[i]) && text[i]) ++i; };
  auto skip_string = [&]() -> bool {  // at the opening quote; ends past the closing one
    for (++i; i < text.size(); ++i) {
      if (text[i] == '\\') ++i;
      else if (text[i] == '"') return ++i, true;
    }
    return false;
  };
  auto skip_value = [&]() -> bool {  // ends past the value, at depth 0
    int depth = 0;
    do {
      skip_space();
      if (i >= text.size()) return false;
      char c = text[i];
      if (c == '"') {
        if (!skip_string()) return false;
      } else if (c == '{' || c == '[') {
        ++depth, ++i;
      } else if (c == '}' || c == ']') {
        if (--depth < 0) return false;
        ++i;
      } else if (c == ',' || c == ':') {
        if (depth == 0) return false;
        ++i;
      } else {
        std::size_t scalar_start = i;
        while (i < text.size() && !std::strchr(",:]} \t\r\n", text[i])) ++i;
        if (i == scalar_start) return false;
      }
    } while (depth > 0);
    return true;
  };
  skip_space();
  if (i >= text.size() || text[i] != '{') return {};
  ++i;
  for (;;) {
    skip_space();
    if (i >= text.size() || text[i] != '"') return {};
    std::size_t key_start = i;
    if (!skip_string()) return {};
    std::string key = text.substr(key_start + 1, i - key_start - 2);
    skip_space();
    if (i >= text.size() || text[i] != ':') return {};
    ++i;
    skip_space();
    std::size_t value_start = i;
    if (!skip_value()) return {};
    if (key == name) return text.substr(value_start, i - value_start);
    skip_space();
    if (i >= text.size() || text[i] != ',') return {};
    ++i;
  }
}

// Empty when `reply` is a successful reply (it has a top-level `result`); otherwise what to
// tell the caller: the engine's error object, or that the reply made no sense.
inline std::string reply_problem(const std::string& reply) {
  std::string error = top_level_member(reply, "error");
  if (!error.empty()) return error;
  if (top_level_member(reply, "result").empty()) return "an unreadable reply: " + reply;
  return {};
}

enum class SaveOutcome { Saved, Refused, NoEngine };

// One attempt to have the engine store JR_CHECKPOINT_DIR.
inline SaveOutcome try_store_checkpoint(const char* socket_path, const char* run, std::string* error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (std::strlen(socket_path) >= sizeof addr.sun_path) {
    *error = "JR_SOCKET is too long";
    return SaveOutcome::Refused;
  }
  std::strcpy(addr.sun_path, socket_path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) ::close(fd);
    *error = std::string("cannot reach the jr engine at ") + socket_path;
    return SaveOutcome::NoEngine;
  }
  // JR_RUN is digits, hex and dots: it needs no JSON escaping.
  std::string reply;
  std::string problem;
  bool ok = exchange(fd, R"({"id":1,"method":"hello","params":{"protocol":1}})", &reply) &&
            (problem = reply_problem(reply)).empty() &&
            exchange(fd, std::string(R"({"id":2,"method":"checkpoint.save","params":{"run":")") + run + "\"}}", &reply) &&
            (problem = reply_problem(reply)).empty();
  ::close(fd);
  if (!problem.empty()) {
    *error = "the jr engine refused the checkpoint: " + problem;
    return SaveOutcome::Refused;
  }
  if (!ok) {
    *error = "the jr engine went away during the save";
    return SaveOutcome::NoEngine;
  }
  return SaveOutcome::Saved;
}

// Asks the engine to store JR_CHECKPOINT_DIR; true once it has committed it. A task outlives
// its engine (the next one adopts it), so while no engine answers the request waits for the
// next one, up to JR_ENGINE_WAIT seconds (default 600), as `jr checkpoint save` does.
inline bool store_checkpoint(std::string* error) {
  const char* socket_path = std::getenv("JR_SOCKET");
  const char* run = std::getenv("JR_RUN");
  if (!socket_path || !run) {
    *error = "not inside a jr task (JR_SOCKET and JR_RUN are not set)";
    return false;
  }
  const char* wait_env = std::getenv("JR_ENGINE_WAIT");
  long wait_ms = (wait_env ? std::atol(wait_env) : 600) * 1000;
  long waited_ms = 0;
  for (long pause_ms = 50;; pause_ms = pause_ms < 500 ? 2 * pause_ms : 1000) {
    SaveOutcome outcome = try_store_checkpoint(socket_path, run, error);
    if (outcome != SaveOutcome::NoEngine) return outcome == SaveOutcome::Saved;
    if (waited_ms >= wait_ms) return false;
    timespec ts{pause_ms / 1000, (pause_ms % 1000) * 1000000L};
    ::nanosleep(&ts, nullptr);
    waited_ms += pause_ms;
  }
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
