// The state directory as a trust boundary (docs/DESIGN.md): an engine refuses a directory, or
// an entry of it, that another user owns or can write, and follows no symbolic link there.
// The tests that need a second user run jr as nobody, and skip unless they run as root.
#include <gtest/gtest.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Gives `path` to nobody:nogroup; false when there is no such user or it cannot.
bool give_to_nobody(const fs::path& path) {
  auto* pw = ::getpwnam("nobody");
  auto* gr = ::getgrnam("nogroup");
  return pw && gr && ::lchown(path.c_str(), pw->pw_uid, gr->gr_gid) == 0;
}

TEST(StateDirTest, AnotherUsersDirectoryIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to make a state directory as a second user (nobody)";
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  auto theirs = dir / "theirs";
  fs::create_directory(theirs);
  ASSERT_TRUE(give_to_nobody(theirs));
  // nobody's attempt at the task fails (it may not write in dir), and stays in its store.
  std::vector<std::string> run = {"run", "--state", (theirs / "state").string(), "--retry-failed", "--",
                                  "touch", "{}", ":::", (dir / "ran").string()};
  auto made = run_jr_as_nobody(run, theirs);
  ASSERT_EQ(made.exit_code, 1) << made.err;

  // Root running the same command would run nobody's task, as root: jr refuses the directory.
  auto state = theirs / "state";
  auto out = run_jr(run, theirs);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_EQ(out.err, "jr run: refusing state directory " + state.string() +
                         ": it is owned by nobody (uid 65534), not by you (root); use a state directory of your own\n");
  EXPECT_FALSE(fs::exists(dir / "ran"));
  struct stat st {};
  ASSERT_EQ(::stat(state.c_str(), &st), 0);
  EXPECT_NE(st.st_uid, 0u);  // root did not take it over
}

TEST(StateDirTest, AnEntryOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to give a file to a second user (nobody)";
  TempDir dir;
  ASSERT_EQ(run_jr({"run", "--state", "st", "--", "true", ":::", "x"}, dir.path()).exit_code, 0);
  auto db = dir / "st/jr.db";
  ASSERT_TRUE(give_to_nobody(db));
  auto out = run_jr({"run", "--state", "st", "--fresh", "--", "touch", "{}", ":::", "ran"}, dir.path());
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_EQ(out.err, "jr run: refusing state directory " + (dir / "st").string() + ": " + db.string() +
                         " is owned by nobody (uid 65534), not by you (root); use a state directory of your own\n");
  EXPECT_FALSE(fs::exists(dir / "ran"));
}

TEST(StateDirTest, ADirectoryOthersCanWriteIsRefused) {
  TempDir dir;
  auto st = dir / "st";
  fs::create_directory(st);
  ::chmod(st.c_str(), 0777);
  auto out = run_jr({"run", "--state", "st", "--", "touch", "{}", ":::", "ran"}, dir.path());
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_EQ(out.err, "jr run: refusing state directory " + st.string() +
                         ": it is writable by group or others (mode 0777); run chmod go-w " + st.string() + "\n");
  EXPECT_FALSE(fs::exists(dir / "ran"));

  ::chmod(st.c_str(), 0755);
  fs::create_directory(st / "logs");
  ::chmod((st / "logs").c_str(), 0770);
  out = run_jr({"run", "--state", "st", "--", "touch", "{}", ":::", "ran"}, dir.path());
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_TRUE(has(out.err, (st / "logs").string() + " is writable by group or others (mode 0770)")) << out.err;
  EXPECT_FALSE(fs::exists(dir / "ran"));

  // Once no one else can write it, the directory is used, and made private.
  ::chmod((st / "logs").c_str(), 0700);
  out = run_jr({"run", "--state", "st", "--", "touch", "{}", ":::", "ran"}, dir.path());
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_TRUE(fs::exists(dir / "ran"));
  struct stat sb {};
  ASSERT_EQ(::stat(st.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0700u);
}

TEST(StateDirTest, ASymbolicLinkInPlaceOfAnEntryIsRefused) {
  TempDir dir;
  auto st = dir / "st";
  fs::create_directory(st);
  write_file(dir / "victim", "");
  fs::create_symlink(dir / "victim", st / "jr.db");
  auto out = run_jr({"run", "--state", "st", "--", "true", ":::", "x"}, dir.path());
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_EQ(out.err, "jr run: refusing state directory " + st.string() + ": " + (st / "jr.db").string() +
                         " is a symbolic link, which jr does not follow in a state directory; remove it\n");
  EXPECT_EQ(fs::file_size(dir / "victim"), 0u);
}

TEST(StateDirTest, APlantedLogLinkIsNotFollowed) {
  TempDir dir;
  auto logs = dir / "st/logs";
  fs::create_directories(logs);
  ::chmod((dir / "st").c_str(), 0700);
  ::chmod(logs.c_str(), 0700);
  write_file(dir / "victim", "precious\n");
  fs::create_symlink(dir / "victim", logs / "1.out");  // task 1's stdout
  auto out = run_jr({"run", "--state", "st", "--", "echo", "{}", ":::", "hello"}, dir.path());
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(read_file(dir / "victim"), "precious\n");
  EXPECT_TRUE(has(read_file(logs / "1.err"), "cannot open its log " + (logs / "1.out").string() +
                                                 ": it is a symbolic link"))
      << read_file(logs / "1.err");
}

// A task that moves its JR_CHECKPOINT_DIR away and leaves a link to it in its place: the next
// task of the slot gets a directory again, not the link.
TEST(StateDirTest, ALinkInPlaceOfAWorkDirectoryIsReplaced) {
  TempDir dir;
  write_file(dir / "task.sh", "#!/bin/sh\n"
             "if [ \"$1\" = first ]; then mv \"$JR_CHECKPOINT_DIR\" moved && ln -s \"$PWD/moved\" \"$JR_CHECKPOINT_DIR\"; "
             "else echo x > \"$JR_CHECKPOINT_DIR/f\"; fi\n");
  ::chmod((dir / "task.sh").c_str(), 0755);
  auto out = run_jr({"run", "-j", "1", "./task.sh", ":::", "first", "second"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_TRUE(fs::is_empty(dir / "moved"));
  EXPECT_FALSE(fs::is_symlink(dir / ".jr/work/1"));
}

}  // namespace
}  // namespace jr::test
