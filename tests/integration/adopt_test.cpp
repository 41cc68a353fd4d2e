// Tasks outlive the engine (issue 17, engine/keeper.h): `jr run --adopt` killed with kill -9
// while its tasks run, then started again, adopts them. Every task starts exactly once, its
// recorded exit status is the real one (index % 4), and its log holds every line, whether the
// tasks end while the next engine watches them or while no engine runs at all (their exits
// then wait in the keeper's journal). No timing: the tasks wait for a file the test writes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <map>
#include <string>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

constexpr int kTasks = 8;

class AdoptTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(put_jr_first_on_path());
    write_file(dir_ / "task.sh",
               "#!/bin/sh\n"
               "echo \"$1\" >> starts\n"
               "echo start \"$1\"\n"
               "while [ ! -e go ]; do sleep 0.02; done\n"
               "for i in $(seq 1 40); do echo \"$i\"; done\n"
               "exit $(($1 % 4))\n");
    ::chmod((dir_ / "task.sh").c_str(), 0755);
    args_ = cat({"run", "--adopt", "-j", std::to_string(kTasks), "--", "./task.sh", ":::"}, seq(0, kTasks - 1));
  }

  TempDir dir_;
  std::vector<std::string> args_;
};

TEST_P(AdoptTest, KillNineThenTheSameCommandAdoptsTheRunningTasks) {
  const bool end_while_no_engine = GetParam();
  pid_t first = start_jr(args_, dir_.path(), "first");
  ASSERT_TRUE(wait_for([&] { return read_lines(dir_ / "starts").size() == kTasks || !process_alive(first); }));
  ASSERT_TRUE(process_alive(first)) << read_file(dir_ / "first.err");
  ::kill(first, SIGKILL);
  wait_exit(first);

  if (end_while_no_engine) {
    write_file(dir_ / "go", "");
    // The keeper reaps them with no engine to tell: each exit waits in its journal.
    ASSERT_TRUE(wait_for([&] { return read_lines(dir_ / ".jr/keeper.journal").size() == kTasks; }));
  }
  pid_t second = start_jr(args_, dir_.path(), "second");
  if (!end_while_no_engine) {
    ASSERT_TRUE(wait_for([&] {
      return read_file(dir_ / "second.err").find(std::to_string(kTasks) + " still running (adopted)") != std::string::npos ||
             !process_alive(second);
    })) << read_file(dir_ / "second.err");
    write_file(dir_ / "go", "");
  }
  EXPECT_EQ(wait_exit(second), 1) << read_file(dir_ / "second.err");  // tasks 1, 2, 3, 5, 6, 7 fail

  std::map<std::string, int> starts;
  for (auto& line : read_lines(dir_ / "starts")) ++starts[line];
  auto db = dir_ / ".jr/jr.db";
  for (int i = 0; i < kTasks; ++i) {
    std::string index = std::to_string(i);
    EXPECT_EQ(starts[index], 1) << "task " << i << " started again";
    std::string task = "(SELECT id FROM tasks WHERE idx = " + index + ")";
    EXPECT_EQ(query_int(db, "SELECT attempts FROM tasks WHERE idx = " + index), 1) << i;
    EXPECT_EQ(query_int(db, "SELECT count(*) FROM attempts WHERE task_id = " + task), 1) << i;
    EXPECT_EQ(query_int(db, "SELECT exit_code FROM attempts WHERE task_id = " + task), i % 4) << i;
    auto id = query_int(db, "SELECT id FROM tasks WHERE idx = " + index);
    EXPECT_EQ(read_lines(dir_ / (".jr/logs/" + std::to_string(id) + ".out")).size(), 41u) << i;
  }
  // The keeper is gone with its tasks, and took its files with it.
  EXPECT_FALSE(std::filesystem::exists(dir_ / ".jr/keeper.sock"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / ".jr/keeper.journal"));
}

INSTANTIATE_TEST_SUITE_P(Ending, AdoptTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WhileNoEngineRuns" : "UnderTheNextEngine"; });

}  // namespace
}  // namespace jr::test
