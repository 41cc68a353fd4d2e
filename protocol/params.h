// A request's params checked against its method's declaration (protocol/methods.h), and read
// back without coercion.
//
// check_params refuses what docs/protocol.md refuses: params that are not an object, a
// required parameter that is missing, a value of another JSON type (1.5, "1" or true where an
// integer is wanted; null for anything), an integer outside its declared range or beyond 64
// bits. Unknown keys are ignored. The error is ErrorCode::Usage with one line naming the
// method, the parameter, the type expected and the value given:
//   submit: parallelism: expected an integer from 1 to 2147483647, got 1.5
// The readers below return a parameter's value exactly as sent, or `fallback` when it is
// absent. REQUIRES: check_params accepted `params`; they never convert one type to another.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "protocol/methods.h"

namespace jr {

Status check_params(const MethodSpec& method, const nlohmann::json& params);

std::int64_t int_param(const nlohmann::json& params, std::string_view name, std::int64_t fallback);
std::string string_param(const nlohmann::json& params, std::string_view name, std::string fallback);
bool bool_param(const nlohmann::json& params, std::string_view name, bool fallback);
// Absent: empty.
std::vector<std::string> strings_param(const nlohmann::json& params, std::string_view name);
std::vector<std::vector<std::string>> string_arrays_param(const nlohmann::json& params, std::string_view name);
std::vector<std::pair<std::string, std::string>> string_map_param(const nlohmann::json& params,
                                                                  std::string_view name);

}  // namespace jr
