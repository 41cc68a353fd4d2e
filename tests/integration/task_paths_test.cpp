// Paths a task controls, handed to the engine (jr checkpoint save, jr result save) or written
// by jr checkpoint get: the engine never blocks on one, follows no link in one, and reads no
// more than its limit; get writes only inside its directory.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void write_script(const fs::path& path, const std::string& text) {
  write_file(path, "#!/bin/sh\n" + text);
  ::chmod(path.c_str(), 0755);
}

TEST(TaskPathTest, SavingAFifoIsRefusedAndTheRunCompletes) {
  ASSERT_TRUE(put_jr_first_on_path());
  TempDir dir;
  write_script(dir / "task.sh",
               "case $1 in\n"
               "  checkpoint) mkfifo \"$JR_CHECKPOINT_DIR/f\"; jr checkpoint save f 2> checkpoint.err; echo $? > checkpoint.rc ;;\n"
               "  result) mkfifo r; jr result save r 2> result.err; echo $? > result.rc ;;\n"
               "  other) echo done > other.txt ;;\n"
               "esac\n");
  pid_t pid = start_jr({"run", "-j", "3", "./task.sh", ":::", "checkpoint", "result", "other"}, dir.path());
  // An engine blocked in open() on a FIFO never ends the run: the limit only stops the test.
  bool ended = wait_for([&] { return !process_alive(pid); });
  if (!ended) ::kill(pid, SIGKILL);
  int code = wait_exit(pid);
  ASSERT_TRUE(ended) << "the engine hung on a task's FIFO";
  EXPECT_EQ(code, 0) << read_file(dir / "jr-bg.err");
  EXPECT_EQ(read_file(dir / "other.txt"), "done\n");
  EXPECT_EQ(read_file(dir / "checkpoint.rc"), "2\n");  // usage: not a file jr saves
  EXPECT_TRUE(has(read_file(dir / "checkpoint.err"), "/f is a FIFO; jr saves regular files only")) << read_file(dir / "checkpoint.err");
  EXPECT_EQ(read_file(dir / "result.rc"), "2\n");
  EXPECT_EQ(read_file(dir / "result.err"),
            "jr result save: " + (dir / "r").string() + " is a FIFO; jr saves regular files only\n");
}

TEST(TaskPathTest, ASymbolicLinkIsNeverSaved) {
  ASSERT_TRUE(put_jr_first_on_path());
  TempDir dir;
  write_file(dir / "secret", "secret\n");
  write_script(dir / "task.sh",
               "echo data > \"$JR_CHECKPOINT_DIR/data\"\n"
               "ln -s " + (dir / "secret").string() + " \"$JR_CHECKPOINT_DIR/link\"\n"
               "jr checkpoint save 2> all.err && echo saved > all.rc\n"
               "jr checkpoint save link 2> one.err && echo saved > one.rc\n"
               "rm \"$JR_CHECKPOINT_DIR/link\"\n"
               "jr checkpoint save\n");
  auto out = run_jr({"run", "./task.sh"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_FALSE(fs::exists(dir / "all.rc"));
  EXPECT_FALSE(fs::exists(dir / "one.rc"));
  EXPECT_TRUE(has(read_file(dir / "all.err"), "/link is a symbolic link; jr saves regular files only")) << read_file(dir / "all.err");
  EXPECT_TRUE(has(read_file(dir / "one.err"), "/link is a symbolic link; jr saves regular files only")) << read_file(dir / "one.err");
  EXPECT_EQ(query_int(dir / ".jr/jr.db", "SELECT count(*) FROM checkpoints"), 1);
  auto get = run_jr({"checkpoint", "get", "1:0", "-o", "restored"}, dir.path());
  ASSERT_EQ(get.exit_code, 0) << get.err;
  std::vector<std::string> names;
  for (auto& e : fs::recursive_directory_iterator(dir / "restored")) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"data"});
}

TEST(TaskPathTest, CheckpointGetFollowsNoLinkInsideItsDirectory) {
  ASSERT_TRUE(put_jr_first_on_path());
  TempDir dir;
  write_script(dir / "task.sh",
               "mkdir \"$JR_CHECKPOINT_DIR/sub\"\n"
               "echo new > \"$JR_CHECKPOINT_DIR/sub/f\"\n"
               "jr checkpoint save\n");
  ASSERT_EQ(run_jr({"run", "./task.sh"}, dir.path()).exit_code, 0);
  fs::create_directories(dir / "out");
  fs::create_directories(dir / "elsewhere");
  fs::create_directory_symlink(dir / "elsewhere", dir / "out/sub");
  auto get = run_jr({"checkpoint", "get", "1:0", "-o", "out"}, dir.path());
  EXPECT_EQ(get.exit_code, 1);
  EXPECT_EQ(get.err, "jr checkpoint get: cannot write out/sub/f: out/sub is a symbolic link, which jr does not follow\n");
  EXPECT_TRUE(fs::is_empty(dir / "elsewhere"));
}

TEST(TaskPathTest, AResultAboveMaxResultIsRefusedBeforeItIsRead) {
  ASSERT_TRUE(put_jr_first_on_path());
  TempDir dir;
  write_script(dir / "task.sh",
               "head -c 5000 /dev/zero > big\n"
               "jr result save big 2> big.err && echo saved > big.rc\n"
               "echo small > small\n"
               "jr result save small\n");
  auto out = run_jr({"run", "--max-result", "4K", "./task.sh"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_FALSE(fs::exists(dir / "big.rc"));
  EXPECT_EQ(read_file(dir / "big.err"), "jr result save: " + (dir / "big").string() +
                                            " exceeds --max-result (5000 bytes, limit 4096)\n");
  EXPECT_EQ(query_text(dir / ".jr/jr.db", "SELECT bytes FROM results"), "small\n");
}

}  // namespace
}  // namespace jr::test
