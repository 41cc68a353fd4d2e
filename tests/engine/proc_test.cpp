// engine/proc.h: the start time the engine records for recovery is the one /proc reports.
#include "engine/proc.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace jr {
namespace {

TEST(ProcTest, BootTicksAroundAForkBracketTheChildsStartTime) {
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::int64_t before = boot_ticks_now();
  pid_t child = ::fork();
  if (child == 0) {
    ::close(gate[1]);
    char c;
    (void)!::read(gate[0], &c, 1);  // until the parent closes the pipe
    _exit(0);
  }
  std::int64_t after = boot_ticks_now();
  ASSERT_GT(child, 0);
  std::int64_t start = process_start_time(child);
  ::close(gate[1]);
  ::close(gate[0]);
  ::waitpid(child, nullptr, 0);
  EXPECT_LE(before, start);
  EXPECT_LE(start, after);
  EXPECT_EQ(process_start_time(child), 0);  // gone
}

}  // namespace
}  // namespace jr
