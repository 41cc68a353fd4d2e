// Framing of jr's socket protocol: each message is a 4-byte big-endian length, then that many
// bytes of JSON (docs/protocol.md).
//
// FrameDecoder is incremental: feed it whatever a non-blocking read returned, then take out
// the complete frames. A length above kMaxFrameBytes is an error the caller answers and then
// closes the connection on: the decoder never allocates what a peer merely announces.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace jr {

inline constexpr std::uint32_t kMaxFrameBytes = 16u << 20;

std::string encode_frame(std::string_view body);

class FrameDecoder {
 public:
  void append(const char* data, std::size_t n) { buffer_.append(data, n); }
  // The next complete frame's body; nullopt when more bytes are needed; an error when the
  // announced length is too large (the stream is then unusable).
  Result<std::optional<std::string>> next();
  // Bytes received but not yet part of a complete frame.
  std::size_t pending() const { return buffer_.size() - consumed_; }

 private:
  std::string buffer_;
  std::size_t consumed_ = 0;
};

}  // namespace jr
