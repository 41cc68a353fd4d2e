// write_checkpoint_files: an archive is restored only inside its directory, whatever it names
// and whatever the directory already holds (jr checkpoint get -o DIR, and the engine filling
// JR_CHECKPOINT_DIR before a task starts).
#include "storage/checkpoint_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace jr {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

std::string contents(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(CheckpointFilesTest, NothingIsWrittenOutsideTheDirectory) {
  TempDir dir;
  auto out = dir / "a/b";
  fs::create_directories(out);
  std::vector<std::string> outside = {"../escape", "../../escape", "x/../../escape", (dir / "escape").string(), "", "."};
  for (auto& name : outside) {
    auto st = write_checkpoint_files(out, {{name, 0600, "x"}});
    ASSERT_FALSE(st.ok()) << name;
    EXPECT_EQ(st.error().code, ErrorCode::Corrupt) << name;
    EXPECT_EQ(st.error().message, "checkpoint names a file outside its directory: " + name);
  }
  EXPECT_FALSE(fs::exists(dir / "escape"));
  EXPECT_FALSE(fs::exists(dir / "a/escape"));
  EXPECT_TRUE(fs::is_empty(out));
  ASSERT_TRUE(write_checkpoint_files(out, {{"./c/./d", 0600, "inside"}}).ok());
  EXPECT_EQ(contents(out / "c/d"), "inside");
}

TEST(CheckpointFilesTest, SetuidSetgidAndStickyBitsAreDropped) {
  TempDir dir;
  mode_t old = ::umask(0);
  auto st = write_checkpoint_files(dir.path(), {{"u", 04755, "u"}, {"g", 02750, "g"}, {"t", 01700, "t"}});
  ::umask(old);
  ASSERT_TRUE(st.ok()) << st.error().message;
  struct stat sb {};
  ASSERT_EQ(::stat((dir / "u").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((dir / "g").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0750u);
  ASSERT_EQ(::stat((dir / "t").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0700u);
}

TEST(CheckpointFilesTest, NoLinkBelowTheDirectoryIsFollowed) {
  TempDir dir;
  auto out = dir / "out";
  fs::create_directories(out);
  fs::create_directories(dir / "elsewhere");
  std::ofstream(dir / "victim") << "precious";
  fs::create_directory_symlink(dir / "elsewhere", out / "sub");
  fs::create_symlink(dir / "victim", out / "f");

  auto st = write_checkpoint_files(out, {{"sub/g", 0600, "x"}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "cannot write " + (out / "sub/g").string() + ": " + (out / "sub").string() +
                                    " is a symbolic link, which jr does not follow");
  EXPECT_TRUE(fs::is_empty(dir / "elsewhere"));

  // A link in place of a file is replaced by the file, never written through.
  ASSERT_TRUE(write_checkpoint_files(out, {{"f", 0600, "restored"}}).ok());
  EXPECT_EQ(contents(dir / "victim"), "precious");
  EXPECT_FALSE(fs::is_symlink(out / "f"));
  EXPECT_EQ(contents(out / "f"), "restored");
}

}  // namespace
}  // namespace jr
