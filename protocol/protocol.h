// The request/reply envelope of jr's socket protocol and its versions (docs/protocol.md).
//
//   request  {"id": 7, "method": "status", "params": {...}}
//   reply    {"id": 7, "result": {...}}   or   {"id": 7, "error": {"code": "not_found", "message": "..."}}
// The first request on a connection must be "hello" with {"protocol": P} (the highest version
// the client speaks) and, optionally, {"min_protocol": M} (its lowest; absent: P). The server
// answers with the highest version both speak, or an error naming both ranges, then the close.
// A newer server keeps speaking older versions, so a task built against an older SDK still
// talks to it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace jr {

// The versions this build speaks, as a server and as a client.
inline constexpr int kMinProtocol = 1;
inline constexpr int kMaxProtocol = 1;

// The version a client speaking [client_min, client_max] and this build have in common: the
// highest. Usage error when client_min > client_max; Unsupported, naming both ranges, when
// they do not meet.
Result<int> negotiate_protocol(std::int64_t client_min, std::int64_t client_max);

// Error codes on the wire: stable strings, one per ErrorCode.
std::string_view wire_code(ErrorCode code);
ErrorCode from_wire_code(std::string_view code);

}  // namespace jr
