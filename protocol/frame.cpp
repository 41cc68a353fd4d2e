#include "protocol/frame.h"

namespace jr {

std::string encode_frame(std::string_view body) {
  std::string out;
  out.reserve(4 + body.size());
  auto n = static_cast<std::uint32_t>(body.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(body);
  return out;
}

Result<std::optional<std::string>> FrameDecoder::next() {
  if (pending() < 4) return std::optional<std::string>();
  auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + consumed_);
  std::uint32_t n = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                    (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
  if (n > kMaxFrameBytes) {
    return make_error(ErrorCode::Usage, "frame of " + std::to_string(n) + " bytes exceeds the limit of " +
                                            std::to_string(kMaxFrameBytes));
  }
  if (pending() < 4 + static_cast<std::size_t>(n)) return std::optional<std::string>();
  std::string body = buffer_.substr(consumed_ + 4, n);
  consumed_ += 4 + n;
  // Compact once the consumed prefix dominates, so the buffer does not grow without bound.
  if (consumed_ > 4096 && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return std::optional<std::string>(std::move(body));
}

}  // namespace jr
