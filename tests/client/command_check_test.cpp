#include "job/command_check.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "job/command_text.h"
#include "tests/integration/harness.h"

namespace jr {
namespace {

std::string refusal(const Status& st) { return st.ok() ? "(accepted)" : st.error().message; }

TEST(CommandCheck, FindsProgramsOnPathAndByPath) {
  test::TempDir dir;
  EXPECT_TRUE(check_command_runs("sh", dir.path()).ok());
  EXPECT_TRUE(check_command_runs("/bin/sh", dir.path()).ok());
  test::write_file(dir / "tool", "#!/bin/sh\n");
  ::chmod((dir / "tool").c_str(), 0700);
  EXPECT_TRUE(check_command_runs("./tool", dir.path()).ok());
}

TEST(CommandCheck, NamesWhatCannotRun) {
  test::TempDir dir;
  EXPECT_EQ(refusal(check_command_runs("no-such-program-jr", dir.path())),
            "command not found: no-such-program-jr (not on PATH)");
  EXPECT_EQ(refusal(check_command_runs("./missing", dir.path())), "command not found: ./missing");
  test::write_file(dir / "script", "echo\n");
  EXPECT_EQ(refusal(check_command_runs("./script", dir.path())), "cannot run ./script: it is not executable");
  EXPECT_EQ(refusal(check_command_runs(dir.path().string(), "/")),
            "cannot run " + dir.path().string() + ": it is a directory");
}

TEST(CommandCheck, AShellLineInOneWordSaysUseShell) {
  test::TempDir dir;
  EXPECT_EQ(refusal(check_not_a_shell_line("echo {} > out_{}.txt")),
            "'echo {} > out_{}.txt' is one word holding shell syntax (>); to run it through a shell, add --shell");
  EXPECT_EQ(refusal(check_not_a_shell_line("ls | wc -l")),
            "'ls | wc -l' is one word holding shell syntax (|); to run it through a shell, add --shell");
  EXPECT_EQ(refusal(check_not_a_shell_line("make && make install")),
            "'make && make install' is one word holding shell syntax (&&); to run it through a shell, add --shell");
  EXPECT_EQ(refusal(check_not_a_shell_line("cd x; ls")),
            "'cd x; ls' is one word holding shell syntax (;); to run it through a shell, add --shell");
  EXPECT_TRUE(check_not_a_shell_line("a>b").ok());
  EXPECT_EQ(refusal(check_command_runs("echo hi", dir.path())),
            "command not found: 'echo hi' (one word holding spaces; to run it through a shell, add --shell)");
}

TEST(CommandText, QuotesArgvAndKeepsShellLines) {
  EXPECT_EQ(command_text({"echo", "a b", "it's", "", "x"}), "echo 'a b' 'it'\\''s' '' x");
  EXPECT_EQ(command_text({"/bin/sh", "-c", "echo a | wc"}), "echo a | wc");
}

}  // namespace
}  // namespace jr
