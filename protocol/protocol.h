// The request/reply envelope of jr's socket protocol and its version (docs/protocol.md).
//
//   request  {"id": 7, "method": "status", "params": {...}}
//   reply    {"id": 7, "result": {...}}   or   {"id": 7, "error": {"code": "not_found", "message": "..."}}
// The first request on a connection must be "hello" with {"protocol": kProtocolVersion};
// a peer speaking another version gets an error reply naming both versions, then the close.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace jr {

inline constexpr int kProtocolVersion = 1;

// Error codes on the wire: stable strings, one per ErrorCode.
std::string_view wire_code(ErrorCode code);
ErrorCode from_wire_code(std::string_view code);

}  // namespace jr
