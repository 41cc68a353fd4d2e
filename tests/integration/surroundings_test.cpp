// What jr keeps from hostile or broken surroundings (issue 15, "Sockets and the environment"):
// tasks inherit no descriptor and no systemd hand-over variable of jr's; jrd never deletes a
// file that sits where its socket should go; a client talks only to a server of its own user
// (or root); jrd out of descriptors refuses newcomers with a reason instead of spinning.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

int connect_to(const std::filesystem::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(SurroundingsTest, TasksInheritNoDescriptorAndNoSystemdVariable) {
  TempDir dir;
  // jr started with descriptor 7 open (not close-on-exec) and systemd's variables set.
  write_file(dir / "probe.sh", "#!/bin/sh\n"
                                "for fd in 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$fd ] && echo fd $fd; done\n"
                                "env | grep -E '^(NOTIFY_SOCKET|LISTEN_)' || true\n");
  ::chmod((dir / "probe.sh").c_str(), 0755);
  std::string script = "exec 7</dev/null; NOTIFY_SOCKET=/run/x LISTEN_FDS=1 LISTEN_PID=1 LISTEN_FDNAMES=x exec " +
                       std::string(JR_BIN) + " run -- ./probe.sh";
  auto out = run_jr({"run", "--state", "outer", "--", "sh", "-c", script}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto logs = dir / ".jr/logs";
  ASSERT_TRUE(std::filesystem::exists(logs));
  std::string seen;
  for (auto& e : std::filesystem::directory_iterator(logs)) {
    if (e.path().extension() == ".out") seen += read_file(e.path());
  }
  EXPECT_EQ(seen, "") << "the task saw jr's descriptors or systemd's variables";
}

TEST(SurroundingsTest, JrdWillNotReplaceAFileAtItsSocketPath) {
  TempDir dir;
  write_file(dir / "precious", "keep me\n");
  pid_t jrd = start_jrd(dir / "state", dir / "precious", {}, dir.path());
  EXPECT_EQ(wait_exit(jrd), 2);
  EXPECT_EQ(read_file(dir / "precious"), "keep me\n");
  EXPECT_NE(read_file(dir / "jrd.err").find("exists and is not a socket"), std::string::npos) << read_file(dir / "jrd.err");
}

TEST(SurroundingsTest, AClientTalksOnlyToAServerOfItsOwnUserOrRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run a server as another user (nobody)";
  TempDir dir;
  auto shared = dir / "shared";
  std::filesystem::create_directories(shared);
  ::chmod(dir.path().c_str(), 0755);
  ::chmod(shared.c_str(), 0777);
  auto sock = shared / "impostor.sock";
  pid_t server = ::fork();
  if (server == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(3);
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, sock.c_str());
    ::umask(0);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 8) != 0) _exit(4);
    for (;;) {
      int c = ::accept(fd, nullptr, nullptr);
      char buf[64];
      // Anything the client sends is what an impostor wanted: a task's JR_RUN token, say.
      if (c >= 0 && ::read(c, buf, sizeof buf) > 0) {
        int seen = ::open((shared / "received").c_str(), O_CREAT | O_WRONLY, 0666);
        ::close(seen);
      }
      if (c >= 0) ::close(c);
    }
  }
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(sock) || !process_alive(server); }));
  auto out = run_jr({"ping", "--socket", sock.string()}, dir.path());
  ::kill(server, SIGKILL);
  ::waitpid(server, nullptr, 0);
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("runs as uid 65534, not as you or root"), std::string::npos) << out.err;
  EXPECT_FALSE(std::filesystem::exists(shared / "received")) << "the client sent something to a stranger";
}

TEST(SurroundingsTest, JrdOutOfDescriptorsRefusesNewcomersAndServesAgainLater) {
  TempDir dir;
  auto sock = dir / "jrd.sock";
  // jrd with 64 descriptors at most, as under `ulimit -n 64`.
  pid_t jrd = ::fork();
  if (jrd == 0) {
    rlimit few{64, 64};
    ::setrlimit(RLIMIT_NOFILE, &few);
    ::execl(JRD_BIN, JRD_BIN, "--state", (dir / "state").c_str(), "--socket", sock.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_TRUE(wait_for([&] { return run_jr({"ping", "--socket", sock.string()}, dir.path()).exit_code == 0; }));
  std::vector<int> idle;
  for (int i = 0; i < 80; ++i) {
    int fd = connect_to(sock);
    if (fd >= 0) idle.push_back(fd);
  }
  // Full: a newcomer hears why, and does not hang.
  auto refused = run_jr({"ping", "--socket", sock.string()}, dir.path());
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("out of file descriptors"), std::string::npos) << refused.exit_code << ": " << refused.err;
  for (int fd : idle) ::close(fd);
  EXPECT_TRUE(wait_for([&] { return run_jr({"ping", "--socket", sock.string()}, dir.path()).exit_code == 0; }));
  ::kill(jrd, SIGTERM);
  EXPECT_EQ(wait_exit(jrd), 0);
}

}  // namespace
}  // namespace jr::test
