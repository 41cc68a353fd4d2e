// TaskLogs (engine/task_logs.h): a task's log is its own file under its own name from its first
// byte; a log that stayed empty goes back to the pool for a later task, unless some process
// still has it open for writing.
#include "engine/task_logs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace jr {
namespace {

namespace fs = std::filesystem;

class TaskLogsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/jr-task-logs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static ino_t inode(const fs::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Writes as a task does: through its own open of the name.
  static void append(const fs::path& p, const std::string& text) {
    int fd = ::open(p.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0) << p;
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
  }

  fs::path dir_;
};

TEST_F(TaskLogsTest, AnEmptyLogLeavesNoFileAndServesTheNextTask) {
  TaskLogs logs(dir_);
  logs.prepare(10);
  ASSERT_TRUE(fs::exists(logs.stdout_path(10)));
  ASSERT_TRUE(fs::exists(logs.stderr_path(10)));
  ino_t out = inode(logs.stdout_path(10));
  logs.release(10);
  EXPECT_FALSE(fs::exists(logs.stdout_path(10)));
  EXPECT_FALSE(fs::exists(logs.stderr_path(10)));
  logs.prepare(11);
  EXPECT_EQ(inode(logs.stdout_path(11)), out);
  EXPECT_EQ(fs::file_size(logs.stdout_path(11)), 0u);
}

TEST_F(TaskLogsTest, TasksRunningAtOnceNeverShareAFile) {
  TaskLogs logs(dir_);
  logs.prepare(10);
  logs.prepare(11);
  ASSERT_NE(inode(logs.stdout_path(10)), inode(logs.stdout_path(11)));
  ino_t freed = inode(logs.stdout_path(10));
  logs.release(10);
  logs.prepare(12);  // while 11 still runs
  EXPECT_EQ(inode(logs.stdout_path(12)), freed);
  append(logs.stdout_path(11), "eleven\n");
  append(logs.stdout_path(12), "twelve\n");
  logs.release(11);
  logs.release(12);
  EXPECT_EQ(read(logs.stdout_path(11)), "eleven\n");
  EXPECT_EQ(read(logs.stdout_path(12)), "twelve\n");
}

TEST_F(TaskLogsTest, ALogWithOutputKeepsItsNameAndTheNextTaskGetsAnotherFile) {
  TaskLogs logs(dir_);
  logs.prepare(10);
  append(logs.stdout_path(10), "result\n");
  logs.release(10);
  EXPECT_EQ(read(logs.stdout_path(10)), "result\n");
  EXPECT_FALSE(fs::exists(logs.stderr_path(10)));  // stderr stayed empty
  logs.prepare(11);
  EXPECT_NE(inode(logs.stdout_path(11)), inode(logs.stdout_path(10)));
  append(logs.stdout_path(11), "next\n");
  logs.release(11);
  EXPECT_EQ(read(logs.stdout_path(10)), "result\n");
  EXPECT_EQ(read(logs.stdout_path(11)), "next\n");
}

TEST_F(TaskLogsTest, AnEmptyLogStillOpenForWritingIsNotHandedOn) {
  TaskLogs logs(dir_);
  logs.prepare(10);
  // A process that escaped the task's group still holds the log.
  int straggler = ::open(logs.stdout_path(10).c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(straggler, 0);
  logs.release(10);
  ASSERT_TRUE(fs::exists(logs.stdout_path(10)));
  logs.prepare(11);
  ASSERT_EQ(::write(straggler, "late\n", 5), 5);
  ::close(straggler);
  logs.release(11);
  EXPECT_EQ(read(logs.stdout_path(10)), "late\n");
  EXPECT_FALSE(fs::exists(logs.stdout_path(11)));
}

// Taking a lease makes the kernel signal the holder (SIGIO, fatal by default) when another
// process opens the file meanwhile: a reader opening logs while tasks end must not end the
// engine.
TEST_F(TaskLogsTest, ReadersOpeningLogsWhileTheyAreReleasedDoNotEndTheEngine) {
  TaskLogs logs(dir_);
  auto path = logs.stdout_path(7);
  pid_t reader = ::fork();
  if (reader == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // should the test die, so does its reader
    for (;;) {
      int fd = ::open(path.c_str(), O_RDONLY);
      if (fd >= 0) ::close(fd);
    }
  }
  ASSERT_GT(reader, 0);
  for (int i = 0; i < 3000; ++i) {
    logs.prepare(7);
    logs.release(7);
  }
  ::kill(reader, SIGKILL);
  ::waitpid(reader, nullptr, 0);
  // The reader may have kept the last log from going back to the pool: then it stays, empty.
  EXPECT_TRUE(!fs::exists(path) || fs::file_size(path) == 0);
}

TEST_F(TaskLogsTest, AnEarlierAttemptsLogIsKeptAndAppendedTo) {
  TaskLogs logs(dir_);
  { std::ofstream(logs.stdout_path(10)) << "attempt 1\n"; }
  ino_t first = inode(logs.stdout_path(10));
  logs.prepare(10);
  EXPECT_EQ(inode(logs.stdout_path(10)), first);
  logs.release(10);
  EXPECT_EQ(read(logs.stdout_path(10)), "attempt 1\n");
}

TEST_F(TaskLogsTest, SparesAKilledEngineLeftNeverReachAnotherTask) {
  // What a kill -9 leaves: a spare, with output, still linked under task 10's name.
  fs::create_directories(dir_ / ".spare");
  { std::ofstream(dir_ / ".spare" / "0.out") << "partial\n"; }
  ASSERT_EQ(::link((dir_ / ".spare" / "0.out").c_str(), (dir_ / "10.out").c_str()), 0);
  TaskLogs logs(dir_);
  logs.prepare(11);
  EXPECT_EQ(read(logs.stdout_path(10)), "partial\n");
  EXPECT_EQ(fs::file_size(logs.stdout_path(11)), 0u);
  EXPECT_NE(inode(logs.stdout_path(11)), inode(logs.stdout_path(10)));
}

}  // namespace
}  // namespace jr
