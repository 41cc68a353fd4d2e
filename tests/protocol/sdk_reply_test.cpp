// The C++ SDK reads a reply's envelope without a JSON library (sdk/jr/checkpoint.hpp): an
// "error" anywhere but at the top level of the reply is not the engine refusing.
#include <gtest/gtest.h>

#include <jr/checkpoint.hpp>
#include <initializer_list>
#include <string>

namespace jr::sdk_detail {
namespace {

TEST(SdkReply, ATopLevelResultIsSuccessWhateverItHolds) {
  EXPECT_EQ(reply_problem(R"({"id":2,"result":{"saved":true}})"), "");
  EXPECT_EQ(reply_problem(R"({"id":2,"result":{"error":"a word a task chose"}})"), "");
  EXPECT_EQ(reply_problem(R"( { "id" : 1 , "result" : ["error", "\"error\":", {"error": [1, {}]}] } )"), "");
  EXPECT_EQ(reply_problem(R"({"result":"say \"error\" twice \\","id":1})"), "");
}

TEST(SdkReply, ATopLevelErrorIsTheEnginesRefusalAndSaysWhy) {
  EXPECT_EQ(reply_problem(R"({"error":{"code":"not_found","message":"no attempt 3.1.2"},"id":2})"),
            R"({"code":"not_found","message":"no attempt 3.1.2"})");
  EXPECT_EQ(reply_problem(R"({"id":2, "error": {"code": "busy"}})"), R"({"code": "busy"})");
}

TEST(SdkReply, AnythingElseIsUnreadableNeverSuccess) {
  for (const std::string& bad : std::initializer_list<std::string>{"", "null", "[]", "{}", R"({"id":1})", R"({"id":1,"result")",
                                R"({"id":1,"result":)", R"({"id":1,"result":[1,2)", R"({"id":1 "result":1})",
                                std::string("{\"id\":[\0]}", 9), R"({"id":"unterminated)"}) {
    EXPECT_NE(reply_problem(bad), "") << bad;
  }
}

}  // namespace
}  // namespace jr::sdk_detail
