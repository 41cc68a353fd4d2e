// The methods of jr's socket protocol and their parameters, declared once (docs/protocol.md).
//
// One MethodSpec per method: its name and, for each parameter, its name, its JSON type,
// whether it is required and, for an integer, the range it must lie in. jrd checks every
// request against this table before a handler runs (protocol/params.h); a test checks that
// docs/protocol.md states the same methods and parameters. No daemon code: a client may use
// the table to check its requests too. Constant data: any thread may read it.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

namespace jr {

enum class ParamType {
  Integer,       // a JSON integer in [min, max]: never a float, a numeric string or a bool
  String,
  Bool,
  Strings,       // an array of strings
  StringArrays,  // an array of arrays of strings
  StringMap,     // an object whose values are strings
};

struct ParamSpec {
  std::string_view name;
  ParamType type = ParamType::String;
  bool required = false;
  std::int64_t min = std::numeric_limits<std::int64_t>::min();  // Integer only
  std::int64_t max = std::numeric_limits<std::int64_t>::max();  // Integer only
};

struct MethodSpec {
  std::string_view name;
  std::span<const ParamSpec> params;
  // Parameters of which a request must give at least one (`job` or `name`); empty: none.
  std::span<const std::string_view> one_of;
};

// Every method, in the order docs/protocol.md lists them.
std::span<const MethodSpec> protocol_methods();
// nullptr for a method the protocol does not have.
const MethodSpec* find_method(std::string_view name);

// A parameter's type as the doc and error messages write it: "integer ≥ 0",
// "integer from 1 to 2147483647", "array of strings", …
std::string describe_type(const ParamSpec& param);

}  // namespace jr
