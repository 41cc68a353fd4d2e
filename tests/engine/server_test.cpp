// Server fairness, turn by turn: one client's backlog of requests delays another client's reply
// by one slice of work at most, and the backlog is still answered in full, in order. The
// loop is driven one turn at a time in this thread, so what is counted is turns, never time.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/event_loop.h"
#include "daemon/server.h"
#include "protocol/frame.h"
#include "protocol/protocol.h"
#include "tests/integration/harness.h"

namespace jr {
namespace {

using json = nlohmann::json;

int connect_to(const std::filesystem::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  return fd;
}

std::string frame(const json& request) { return encode_frame(request.dump()); }

// The replies a client has been sent so far, without blocking.
class Replies {
 public:
  explicit Replies(int fd) : fd_(fd) {}
  int count() {
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      decoder_.append(buf, static_cast<std::size_t>(n));
    }
    for (;;) {
      auto next = decoder_.next();
      if (!next || !*next) break;
      last_ = json::parse(**next);
      ++count_;
    }
    return count_;
  }
  const json& last() const { return last_; }

 private:
  int fd_;
  FrameDecoder decoder_;
  int count_ = 0;
  json last_;
};

TEST(ServerTest, OneClientsBacklogDelaysAnotherByOneSliceAtMost) {
  test::TempDir dir;
  auto loop = EventLoop::create({});
  ASSERT_TRUE(loop.ok()) << loop.error().message;
  auto server = Server::listen(**loop, dir / "sock");
  ASSERT_TRUE(server.ok()) << server.error().message;
  int served = 0;
  (*server)->on("ping", [&](const json&, const Peer&) -> Result<json> {
    ++served;
    return json{{"served", served}};
  });
  auto turn = [&] { ASSERT_TRUE((*loop)->wait_once(0).ok()); };

  // The flooding client: hello, then a thousand pings in one write (they fit one slice).
  int flood = connect_to(dir / "sock");
  constexpr int kPings = 1000;
  std::string burst = frame({{"id", 0}, {"method", "hello"}, {"params", {{"protocol", kMaxProtocol}}}});
  for (int i = 1; i <= kPings; ++i) burst += frame({{"id", i}, {"method", "ping"}});
  ASSERT_LT(burst.size(), 64u << 10);
  ASSERT_EQ(::send(flood, burst.data(), burst.size(), 0), static_cast<ssize_t>(burst.size()));
  int other = connect_to(dir / "sock");
  std::string hello = frame({{"id", 0}, {"method", "hello"}, {"params", {{"protocol", kMaxProtocol}}}}) +
                      frame({{"id", 1}, {"method", "ping"}});
  ASSERT_EQ(::send(other, hello.data(), hello.size(), 0), static_cast<ssize_t>(hello.size()));

  Replies flood_replies(flood), other_replies(other);
  int turns = 0;
  while (other_replies.count() < 2 && turns < 10) {
    turn();
    ++turns;
  }
  ASSERT_EQ(other_replies.count(), 2) << "the second client was not answered in " << turns << " turns";
  // Answered while most of the flood still waits: only a slice of it went first.
  int flood_served_before = other_replies.last()["result"]["served"].get<int>() - 1;
  EXPECT_LT(flood_served_before, kPings / 4) << "the second client waited for the whole backlog";

  while (flood_replies.count() < kPings + 1 && turns < 10 * kPings) {
    turn();
    ++turns;
  }
  ASSERT_EQ(flood_replies.count(), kPings + 1) << "the backlog was not answered in full";
  EXPECT_EQ(flood_replies.last()["id"], kPings) << "replies came out of order";
  EXPECT_EQ(served, kPings + 1);
  ::close(flood);
  ::close(other);
}

}  // namespace
}  // namespace jr
