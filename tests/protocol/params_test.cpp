// check_params against protocol/methods.h's table, and the hello version negotiation: what is
// refused (with a message naming the parameter, the type and the value), what is accepted,
// and the integer limits on both sides.
#include "protocol/params.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "protocol/methods.h"
#include "protocol/protocol.h"

namespace jr {
namespace {

using json = nlohmann::json;

const MethodSpec& method(std::string_view name) {
  const MethodSpec* m = find_method(name);
  EXPECT_NE(m, nullptr) << name;
  return *m;
}

// The error message, or "ok".
std::string check(std::string_view name, const json& params) {
  auto st = check_params(method(name), params);
  if (st) return "ok";
  EXPECT_EQ(st.error().code, ErrorCode::Usage);
  return st.error().message;
}

TEST(ProtocolParamsTest, NamesTheParameterTheTypeAndTheValue) {
  json submit = {{"command", {"true"}}};
  submit["parallelism"] = 1.5;
  EXPECT_EQ(check("submit", submit), "submit: parallelism: expected an integer from 1 to 2147483647, got 1.5");
  submit["parallelism"] = 4294967297;
  EXPECT_EQ(check("submit", submit), "submit: parallelism: expected an integer from 1 to 2147483647, got 4294967297");
  submit["parallelism"] = "4";
  EXPECT_EQ(check("submit", submit), "submit: parallelism: expected an integer from 1 to 2147483647, got \"4\"");
  submit["parallelism"] = true;
  EXPECT_EQ(check("submit", submit), "submit: parallelism: expected an integer from 1 to 2147483647, got true");
  EXPECT_EQ(check("hello", json::object()), "hello: protocol: expected an integer, got nothing");
  EXPECT_EQ(check("hello", {{"protocol", nullptr}}), "hello: protocol: expected an integer, got null");
  EXPECT_EQ(check("retry", {{"job", 1}, {"failed_only", "yes"}}), "retry: failed_only: expected a bool, got \"yes\"");
  EXPECT_EQ(check("tasks", {{"job", 1}, {"offset", -1}}), "tasks: offset: expected an integer ≥ 0, got -1");
  EXPECT_EQ(check("status", {{"job", "one"}}), "status: job: expected an integer ≥ 1, got \"one\"");
}

TEST(ProtocolParamsTest, ParamsMustBeAnObject) {
  EXPECT_EQ(check("ping", json::array()), "ping: params must be an object, got []");
  EXPECT_EQ(check("ping", nullptr), "ping: params must be an object, got null");
  EXPECT_EQ(check("ping", json::object()), "ok");
}

TEST(ProtocolParamsTest, UnknownKeysAreIgnored) {
  EXPECT_EQ(check("ping", {{"verbose", 1.5}}), "ok");
  EXPECT_EQ(check("status", {{"job", 3}, {"colour", nullptr}}), "ok");
}

TEST(ProtocolParamsTest, OneOfJobOrName) {
  EXPECT_EQ(check("status", json::object()), "status: give \"job\" or \"name\"");
  EXPECT_EQ(check("status", {{"name", "x"}}), "ok");
  EXPECT_EQ(check("submit", {{"name", "x"}}), "submit: give \"command\" or \"tasks\"");
  EXPECT_EQ(check("submit", {{"tasks", {"echo"}}}), "ok");
}

TEST(ProtocolParamsTest, IntegerLimitsOnBothSides) {
  constexpr auto i64max = std::numeric_limits<std::int64_t>::max();
  constexpr auto i64min = std::numeric_limits<std::int64_t>::min();
  auto submit = [](const char* key, const json& v) { return check("submit", {{"tasks", {"true"}}, {key, v}}); };
  EXPECT_EQ(submit("parallelism", 2147483647), "ok");
  EXPECT_NE(submit("parallelism", 2147483648), "ok");
  EXPECT_NE(submit("parallelism", 0), "ok");
  EXPECT_EQ(submit("priority", -2147483648), "ok");
  EXPECT_NE(submit("priority", -2147483649), "ok");
  EXPECT_EQ(submit("retries", 0), "ok");
  EXPECT_NE(submit("retries", -1), "ok");
  EXPECT_EQ(submit("timeout_ms", i64max), "ok");
  // Above INT64_MAX the parser gives an unsigned integer; beyond 64 bits, a float.
  EXPECT_NE(submit("timeout_ms", static_cast<std::uint64_t>(i64max) + 1), "ok");
  EXPECT_NE(submit("timeout_ms", std::numeric_limits<std::uint64_t>::max()), "ok");
  EXPECT_NE(submit("timeout_ms", json::parse("18446744073709551616")), "ok");
  EXPECT_EQ(check("hello", {{"protocol", i64min}}), "ok");  // an integer; negotiation refuses it
  EXPECT_NE(check("hello", {{"protocol", json::parse("-9223372036854775809")}}), "ok");
  EXPECT_NE(submit("timeout_ms", 1.0), "ok");
}

TEST(ProtocolParamsTest, ContainersOfStrings) {
  auto submit = [](const char* key, const json& v) { return check("submit", {{"tasks", {"true"}}, {key, v}}); };
  EXPECT_EQ(submit("command", json::array()), "ok");
  EXPECT_EQ(submit("command", {"a", "b"}), "ok");
  EXPECT_EQ(submit("command", {"a", 1}), "submit: command: expected an array of strings, got [\"a\",1]");
  EXPECT_NE(submit("command", "a"), "ok");
  EXPECT_EQ(submit("sources", json::parse(R"([["a"], []])")), "ok");
  EXPECT_NE(submit("sources", json::parse(R"(["a"])")), "ok");
  EXPECT_NE(submit("sources", json::parse(R"([[null]])")), "ok");
  EXPECT_EQ(submit("env", {{"K", "v"}}), "ok");
  EXPECT_EQ(submit("env", {{"K", 1}}), "submit: env: expected an object of strings, got {\"K\":1}");
  EXPECT_NE(submit("env", json::array({"K=v"})), "ok");
}

TEST(ProtocolParamsTest, LongValuesAreCutInTheMessage) {
  std::string message = check("status", {{"job", std::string(1000, 'x')}});
  EXPECT_LT(message.size(), 120u) << message;
  EXPECT_NE(message.find("…"), std::string::npos) << message;
}

TEST(ProtocolParamsTest, ReadersReturnValuesAsSent) {
  json p = json::parse(R"({"n": 9223372036854775807, "s": "x", "b": true, "l": ["a"], "ll": [["a", "b"]],
                            "m": {"K": "v"}})");
  EXPECT_EQ(int_param(p, "n", 0), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(int_param(p, "absent", 7), 7);
  EXPECT_EQ(string_param(p, "s", ""), "x");
  EXPECT_TRUE(bool_param(p, "b", false));
  EXPECT_EQ(strings_param(p, "l"), std::vector<std::string>{"a"});
  EXPECT_TRUE(strings_param(p, "absent").empty());
  EXPECT_EQ(string_arrays_param(p, "ll"), (std::vector<std::vector<std::string>>{{"a", "b"}}));
  EXPECT_EQ(string_map_param(p, "m"), (std::vector<std::pair<std::string, std::string>>{{"K", "v"}}));
}

TEST(ProtocolVersionTest, HighestCommonVersion) {
  auto v = negotiate_protocol(kMinProtocol, kMaxProtocol);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, kMaxProtocol);
  // A newer client that still speaks this server's versions gets the highest of them.
  v = negotiate_protocol(kMinProtocol, kMaxProtocol + 5);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, kMaxProtocol);
}

TEST(ProtocolVersionTest, NoCommonVersionNamesBothRanges) {
  auto v = negotiate_protocol(kMaxProtocol + 1, kMaxProtocol + 2);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, ErrorCode::Unsupported);
  EXPECT_EQ(v.error().message, "protocol versions 2 to 3 are not spoken here: this server speaks version 1; "
                               "upgrade the server or use an older client");
  v = negotiate_protocol(0, 0);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().message, "protocol version 0 is not spoken here: this server speaks version 1; "
                               "use a newer client");
  v = negotiate_protocol(std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(v.error().code, ErrorCode::Unsupported);
}

TEST(ProtocolVersionTest, MinAboveMaxIsABadRequest) {
  auto v = negotiate_protocol(2, 1);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, ErrorCode::Usage);
  EXPECT_EQ(v.error().message, "hello: min_protocol 2 is above protocol 1");
}

}  // namespace
}  // namespace jr
