#include "protocol/protocol.h"

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
}  // namespace

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
