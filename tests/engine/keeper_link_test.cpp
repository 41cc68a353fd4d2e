// KeeperLink (engine/keeper_link.h) against a keeper played by the test on DIR/keeper.sock:
// what the keeper says in the same write as its Welcome (an exit just after it) reaches the
// engine without waiting for another message; a keeper of another version is refused; a
// socket nobody listens on is a keeper that died.
#include "engine/keeper_link.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "engine/keeper.h"
#include "engine/keeper_wire.h"
#include "tests/integration/harness.h"

namespace jr {
namespace {

namespace fs = std::filesystem;

sockaddr_un keeper_address(const fs::path& dir) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, keeper::socket_path(dir).c_str(), sizeof addr.sun_path - 1);
  return addr;
}

// A socket listening on DIR/keeper.sock that answers the first Hello with `answer`, in one
// write, then keeps the connection open until the test ends.
class FakeKeeper {
 public:
  FakeKeeper(const fs::path& dir, std::string answer) : answer_(std::move(answer)) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = keeper_address(dir);
    bound_ = listener_ >= 0 && ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
             ::listen(listener_, 1) == 0;
    if (bound_) thread_ = std::thread([this] { serve(); });
  }
  ~FakeKeeper() {
    if (thread_.joinable()) thread_.join();
    if (conn_ >= 0) ::close(conn_);
    if (listener_ >= 0) ::close(listener_);
  }
  bool bound() const { return bound_; }

 private:
  void serve() {
    conn_ = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn_ < 0) return;
    keeper::FrameReader reader;
    char buf[4096];
    for (;;) {
      auto frame = reader.next();
      if (!frame) return;
      if (*frame) break;
      ssize_t n = ::recv(conn_, buf, sizeof buf, 0);
      if (n <= 0) return;
      reader.append(buf, static_cast<std::size_t>(n));
    }
    (void)keeper::send_all(conn_, answer_);
  }

  std::string answer_;
  int listener_ = -1;
  int conn_ = -1;
  bool bound_ = false;
  std::thread thread_;
};

keeper::Welcome welcome(int version) {
  keeper::Welcome w;
  w.version = version;
  w.state_id = "state";
  w.keeper_pid = 4242;
  w.children.push_back(keeper::Child{7, 1, 1, 5151, 99, ""});
  return w;
}

TEST(KeeperLinkTest, AnExitSentWithTheWelcomeIsNewsAtOnce) {
  test::TempDir dir;
  keeper::Ended e;
  e.seq = 1;
  e.task = 7;
  e.attempt = 1;
  e.pid = 5151;
  e.exit_code = 3;
  FakeKeeper fake(dir.path(), keeper::encode(welcome(keeper::kVersion)) + keeper::encode(e));
  ASSERT_TRUE(fake.bound());
  auto found = KeeperLink::find(dir.path(), "state");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->link);
  EXPECT_EQ(found->link->pid(), 4242);
  ASSERT_EQ(found->welcome.children.size(), 1u);
  EXPECT_EQ(found->welcome.children[0].pid, 5151);
  // Nothing more will come on the socket: the exit must not wait for it.
  EXPECT_TRUE(found->link->holds_news());
  auto news = found->link->poll();
  ASSERT_EQ(news.ended.size(), 1u);
  EXPECT_EQ(news.ended[0].pid, 5151);
  EXPECT_EQ(news.ended[0].exit_code, 3);
  EXPECT_FALSE(found->link->gone());
}

TEST(KeeperLinkTest, AKeeperOfAnotherVersionIsRefused) {
  test::TempDir dir;
  FakeKeeper fake(dir.path(), keeper::encode(welcome(keeper::kVersion + 1)));
  ASSERT_TRUE(fake.bound());
  auto found = KeeperLink::find(dir.path(), "state");
  ASSERT_FALSE(found);
  EXPECT_NE(found.error().message.find("speaks version"), std::string::npos) << found.error().message;
}

TEST(KeeperLinkTest, ASocketNobodyListensOnIsAKeeperThatDied) {
  test::TempDir dir;
  {
    FakeKeeper gone(dir.path(), "");
    ASSERT_TRUE(gone.bound());
    // Let it accept and finish, then close: the socket file stays, as a killed keeper's does.
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = keeper_address(dir.path());
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  auto found = KeeperLink::find(dir.path(), "state");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_FALSE(found->link);
  EXPECT_TRUE(found->died);
}

}  // namespace
}  // namespace jr
