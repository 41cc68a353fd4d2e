#include "protocol/protocol.h"

#include <algorithm>
#include <array>
#include <utility>

namespace jr {
namespace {
constexpr std::array<std::pair<ErrorCode, std::string_view>, 9> kCodes = {{
    {ErrorCode::Usage, "bad_request"},
    {ErrorCode::NotFound, "not_found"},
    {ErrorCode::Conflict, "conflict"},
    {ErrorCode::Illegal, "illegal_transition"},
    {ErrorCode::Io, "io"},
    {ErrorCode::Corrupt, "corrupt"},
    {ErrorCode::Unsupported, "unsupported_version"},
    {ErrorCode::Unavailable, "unavailable"},
    {ErrorCode::Internal, "internal"},
}};

// "version 2" or "versions 1 to 3".
std::string versions(std::int64_t low, std::int64_t high) {
  if (low == high) return "version " + std::to_string(low);
  return "versions " + std::to_string(low) + " to " + std::to_string(high);
}

}  // namespace

Result<int> negotiate_protocol(std::int64_t client_min, std::int64_t client_max) {
  if (client_min > client_max) {
    return make_error(ErrorCode::Usage, "hello: min_protocol " + std::to_string(client_min) + " is above protocol " +
                                            std::to_string(client_max));
  }
  std::int64_t common = std::min<std::int64_t>(client_max, kMaxProtocol);
  if (common >= std::max<std::int64_t>(client_min, kMinProtocol)) return static_cast<int>(common);
  std::string client = versions(client_min, client_max);
  std::string advice = client_max < kMinProtocol ? "use a newer client" : "upgrade the server or use an older client";
  return make_error(ErrorCode::Unsupported, "protocol " + client + (client_min == client_max ? " is" : " are") +
                                                " not spoken here: this server speaks " +
                                                versions(kMinProtocol, kMaxProtocol) + "; " + advice);
}

std::string_view wire_code(ErrorCode code) {
  for (auto& [c, s] : kCodes) {
    if (c == code) return s;
  }
  return "internal";
}

ErrorCode from_wire_code(std::string_view code) {
  for (auto& [c, s] : kCodes) {
    if (s == code) return c;
  }
  return ErrorCode::Internal;
}

}  // namespace jr
