// Checkpoint/restart through the real binaries: the C++ SDK, jr checkpoint save from a shell
// task, preemption by signal, and the limits on what is kept.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

std::string shell_output(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  if (p) pclose(p);
  return out;
}

TEST(CheckpointTest, MonteCarloInterruptedEqualsUninterrupted) {
  ASSERT_TRUE(put_jr_first_on_path());
  TempDir dir;
  std::string bin = MONTE_CARLO_BIN;
  std::vector<std::string> seeds = {"1", "2", "3"};
  // Without a keeper, so that a kill -9 interrupts the tasks (adopt_test.cpp: with one).
  std::vector<std::string> args = {"run", "--no-adopt", "-j", "3", "--", bin, "{}", "3000000", "100000", ":::"};
  args.insert(args.end(), seeds.begin(), seeds.end());
  auto db = dir / ".jr/jr.db";
  for (int round = 0; round < 2; ++round) {
    pid_t pid = start_jr(args, dir.path());
    auto saved = query_int(db, "SELECT count(*) FROM events WHERE detail LIKE 'checkpoint%'");
    ASSERT_TRUE(wait_for([&] {
      return query_int(db, "SELECT count(*) FROM events WHERE detail LIKE 'checkpoint%'") >= saved + 4;
    }));
    kill(pid, SIGKILL);
    wait_exit(pid);
  }
  auto out = run_jr(args, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  for (auto id : query_ints(db, "SELECT id FROM tasks ORDER BY idx")) {
    auto idx = query_int(db, "SELECT idx FROM tasks WHERE id = " + std::to_string(id));
    auto seed = seeds[static_cast<std::size_t>(idx)];
    EXPECT_EQ(read_file(dir / (".jr/logs/" + std::to_string(id) + ".out")),
              shell_output(bin + " " + seed + " 3000000 100000"));
  }
  EXPECT_GT(query_int(db, "SELECT count(*) FROM tasks WHERE attempts > 1"), 0);
  EXPECT_NE(shell_output("cat " + (dir / ".jr/logs/*.err").string()).find("resumed at"), std::string::npos);
}

TEST(CheckpointTest, ShellTaskResumesFromItsLastSavedStep) {
  TempDir dir;
  std::string steps = std::string(JR_SOURCE_DIR) + "/examples/shell/steps.sh";
  // The first attempt of each task saves 3 steps, then dies of SIGKILL (by its own hand, so
  // the moment is the same however busy the machine); the second resumes from step 3.
  write_file(dir / "task.sh", "#!/bin/sh\n"
             "if [ \"$JR_ATTEMPT\" = 1 ]; then " + steps + " \"$1\" 3 && kill -9 $$; fi\n"
             "exec " + steps + " \"$1\" 6\n");
  chmod((dir / "task.sh").c_str(), 0755);
  auto out = run_jr({"run", "-j", "2", "--retries", "1", "--", "./task.sh", ":::", "a", "b"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(read_file(dir / "out/a"), "91\n");  // 1+4+9+16+25+36
  EXPECT_EQ(read_file(dir / "out/b"), "91\n");
  // Each task did its 6 steps once: the second attempt began after the saved step 3.
  auto work = read_lines(dir / "work.log");
  EXPECT_EQ(work.size(), 12u);
  EXPECT_EQ(query_int(dir / ".jr/jr.db", "SELECT max(attempts) FROM tasks"), 2);
}

TEST(CheckpointTest, DirectoryIsEmptyFirstThenHoldsExactlyTheLastCheckpoint) {
  TempDir dir;
  write_file(dir / "task.sh", "#!/bin/sh\nset -e\n"
             "ls -A \"$JR_CHECKPOINT_DIR\" > listing-$JR_ATTEMPT.txt\n"
             "stat -c %a \"$JR_CHECKPOINT_DIR\" > mode.txt\n"
             "echo kept > \"$JR_CHECKPOINT_DIR/kept\"\n"
             "jr checkpoint save\n"
             "echo unsaved > \"$JR_CHECKPOINT_DIR/unsaved\"\n"
             "[ \"$JR_ATTEMPT\" = 2 ]\n");
  chmod((dir / "task.sh").c_str(), 0755);
  auto out = run_jr({"run", "--retries", "1", "./task.sh"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(read_file(dir / "listing-1.txt"), "");
  EXPECT_EQ(read_file(dir / "listing-2.txt"), "kept\n");
  EXPECT_EQ(read_file(dir / "mode.txt"), "700\n");
}

TEST(CheckpointTest, KeepsOnlyTheLastNAndRefusesOversizedSaves) {
  TempDir dir;
  write_file(dir / "task.sh", "#!/bin/sh\nset -e\nfor i in 1 2 3 4 5; do echo $i > \"$JR_CHECKPOINT_DIR/i\"; jr checkpoint save; done\n"
             "head -c 5000 /dev/zero > \"$JR_CHECKPOINT_DIR/big\"\n"
             "if jr checkpoint save 2> save.err; then exit 1; fi\n");
  chmod((dir / "task.sh").c_str(), 0755);
  auto out = run_jr({"run", "--keep-checkpoints", "3", "--max-checkpoint", "4K", "./task.sh"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto db = dir / ".jr/jr.db";
  EXPECT_EQ(query_ints(db, "SELECT seq FROM checkpoints ORDER BY seq"), (std::vector<std::int64_t>{3, 4, 5}));
  EXPECT_NE(read_file(dir / "save.err").find("exceeds --max-checkpoint"), std::string::npos) << read_file(dir / "save.err");
  auto get = run_jr({"checkpoint", "get", "1:0", "--seq", "4", "-o", "restored"}, dir.path());
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(read_file(dir / "restored/i"), "4\n");
}

TEST(CheckpointTest, PreemptSignalIsForwardedAndTheRunExitsToBeRequeued) {
  TempDir dir;
  // On USR1 a task saves its progress and stops; a task that finishes in the grace period counts.
  write_file(dir / "task.sh", "#!/bin/sh\n"
             "if [ \"$1\" = quick ]; then trap 'exit 0' USR1; else "
             "trap 'echo preempted > \"$JR_CHECKPOINT_DIR/note\"; jr checkpoint save; exit 1' USR1; fi\n"
             "[ -f \"$JR_CHECKPOINT_DIR/note\" ] && { cat \"$JR_CHECKPOINT_DIR/note\" > resumed-$1.txt; exit 0; }\n"
             "echo started >> started.txt\n"
             "while :; do sleep 0.01; done\n");
  chmod((dir / "task.sh").c_str(), 0755);
  std::vector<std::string> args = {"run", "-j", "2", "--preempt-signal", "USR1", "--grace", "20s", "./task.sh", ":::", "slow", "quick"};
  pid_t pid = start_jr(args, dir.path());
  ASSERT_TRUE(wait_for([&] { return read_lines(dir / "started.txt").size() == 2; }));
  kill(pid, SIGUSR1);
  EXPECT_EQ(wait_exit(pid), 143);
  auto db = dir / ".jr/jr.db";
  EXPECT_EQ(query_int(db, "SELECT state FROM tasks WHERE idx = 0"), 4);  // interrupted
  EXPECT_EQ(query_int(db, "SELECT state FROM tasks WHERE idx = 1"), 2);  // finished in the grace period
  auto out = run_jr(args, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(read_file(dir / "resumed-slow.txt"), "preempted\n");
}

}  // namespace
}  // namespace jr::test
