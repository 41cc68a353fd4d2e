// Connection: a blocking client of jr's socket protocol (docs/protocol.md).
//
// open() connects, checks that the server runs as this user or root (SO_PEERCRED) before
// sending anything, and says hello; call() sends one request and waits for its reply (at most
// 300 s), turning an error reply into an Error with the server's code and message. A socket
// this user may not connect to is an Io error ("permission denied"), not Unavailable. Used by the jr commands
// that talk to jrd, and by tasks that talk to their engine through JR_SOCKET.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"
#include "protocol/frame.h"

namespace jr {

class Connection {
 public:
  // Unavailable, with where it looked, when nothing answers at `socket_path`.
  static Result<std::unique_ptr<Connection>> open(const std::string& socket_path);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Result<nlohmann::json> call(const std::string& method, const nlohmann::json& params);

 private:
  explicit Connection(int fd) : fd_(fd) {}
  int fd_;
  std::int64_t next_id_ = 1;
  FrameDecoder decoder_;
};

}  // namespace jr
