#include "protocol/params.h"

#include <nlohmann/json.hpp>

namespace jr {
namespace {

using json = nlohmann::json;

// A value as an error message quotes it: its JSON, cut short so one line stays one line.
std::string quote(const json& value) {
  constexpr std::size_t kMaxQuoted = 40;
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() <= kMaxQuoted) return text;
  std::size_t cut = kMaxQuoted;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
  return text.substr(0, cut) + "…";
}

bool all_strings(const json& array) {
  for (const json& item : array) {
    if (!item.is_string()) return false;
  }
  return true;
}

bool in_range(const json& value, const ParamSpec& param) {
  // A JSON integer above INT64_MAX arrives unsigned; one beyond 64 bits arrives as a float.
  if (value.is_number_unsigned()) {
    return param.max >= 0 && value.get<std::uint64_t>() <= static_cast<std::uint64_t>(param.max) &&
           static_cast<std::int64_t>(value.get<std::uint64_t>()) >= param.min;
  }
  std::int64_t v = value.get<std::int64_t>();
  return v >= param.min && v <= param.max;
}

bool matches(const json& value, const ParamSpec& param) {
  switch (param.type) {
    case ParamType::Integer: return value.is_number_integer() && in_range(value, param);
    case ParamType::String: return value.is_string();
    case ParamType::Bool: return value.is_boolean();
    case ParamType::Strings: return value.is_array() && all_strings(value);
    case ParamType::StringArrays:
      if (!value.is_array()) return false;
      for (const json& item : value) {
        if (!item.is_array() || !all_strings(item)) return false;
      }
      return true;
    case ParamType::StringMap:
      if (!value.is_object()) return false;
      for (const auto& [key, item] : value.items()) {
        if (!item.is_string()) return false;
      }
      return true;
  }
  return false;
}

std::string with_article(const std::string& noun) {
  bool vowel = !noun.empty() && std::string_view("aeiou").find(noun[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + noun;
}

}  // namespace

Status check_params(const MethodSpec& method, const json& params) {
  std::string where(method.name);
  if (!params.is_object()) {
    return make_error(ErrorCode::Usage, where + ": params must be an object, got " + quote(params));
  }
  for (const ParamSpec& param : method.params) {
    auto it = params.find(param.name);
    if (it == params.end() ? !param.required : matches(*it, param)) continue;
    return make_error(ErrorCode::Usage, where + ": " + std::string(param.name) + ": expected " +
                                            with_article(describe_type(param)) + ", got " +
                                            (it == params.end() ? std::string("nothing") : quote(*it)));
  }
  if (method.one_of.empty()) return {};
  std::string names;
  for (std::string_view name : method.one_of) {
    if (params.contains(name)) return {};
    names += (names.empty() ? "\"" : " or \"") + std::string(name) + "\"";
  }
  return make_error(ErrorCode::Usage, where + ": give " + names);
}

std::int64_t int_param(const json& params, std::string_view name, std::int64_t fallback) {
  auto it = params.find(name);
  return it == params.end() ? fallback : it->get<std::int64_t>();
}

std::string string_param(const json& params, std::string_view name, std::string fallback) {
  auto it = params.find(name);
  return it == params.end() ? fallback : it->get<std::string>();
}

bool bool_param(const json& params, std::string_view name, bool fallback) {
  auto it = params.find(name);
  return it == params.end() ? fallback : it->get<bool>();
}

std::vector<std::string> strings_param(const json& params, std::string_view name) {
  auto it = params.find(name);
  return it == params.end() ? std::vector<std::string>() : it->get<std::vector<std::string>>();
}

std::vector<std::vector<std::string>> string_arrays_param(const json& params, std::string_view name) {
  using Arrays = std::vector<std::vector<std::string>>;
  auto it = params.find(name);
  return it == params.end() ? Arrays() : it->get<Arrays>();
}

std::vector<std::pair<std::string, std::string>> string_map_param(const json& params, std::string_view name) {
  std::vector<std::pair<std::string, std::string>> out;
  auto it = params.find(name);
  if (it == params.end()) return out;
  for (const auto& [key, value] : it->items()) out.emplace_back(key, value.get<std::string>());
  return out;
}

}  // namespace jr
