// Helpers for integration tests that drive the real jr binaries on a temporary state.
//
// Nothing here sleeps to synchronise: wait_for() polls a condition until a deadline, which is
// generous (tests fail by assertion, never by timing).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace jr::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct Output {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;
  std::string err;
};

// Runs `jr ARGS…` in `cwd` to completion; stdin is /dev/null.
Output run_jr(const std::vector<std::string>& args, const std::filesystem::path& cwd);

// Runs `jr ARGS…` as the user nobody (group nogroup, no other groups), through setpriv: the
// other user of the tests of trust boundaries. REQUIRES: root; such tests skip without it.
Output run_jr_as_nobody(const std::vector<std::string>& args, const std::filesystem::path& cwd);

// Starts `jr ARGS…` in `cwd` in the background, stdout and stderr to files in cwd.
pid_t start_jr(const std::vector<std::string>& args, const std::filesystem::path& cwd,
               const std::string& log_name = "jr-bg");
// Starts `jrd --state STATE --socket SOCKET ARGS…` in the background, in `cwd`, its output to
// files named `log_name`.out/.err there. Callers wait for it to answer (`jr ping`) themselves.
pid_t start_jrd(const std::filesystem::path& state, const std::filesystem::path& socket,
                const std::vector<std::string>& args, const std::filesystem::path& cwd,
                const std::string& log_name = "jrd");
// Waits for a child started by start_jr or start_jrd; returns its exit code (128 + signal if killed).
int wait_exit(pid_t pid);

// "FROM".."TO" as decimal strings: the inputs of a `:::`.
std::vector<std::string> seq(int from, int to);
// `a` followed by `b`: a command line and its inputs.
std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b);

// Polls `condition` until it holds or `limit` passes; returns whether it held. The limit only
// ends a test that would otherwise hang: long enough for a sanitizer build on a busy machine.
bool wait_for(const std::function<bool()>& condition,
              std::chrono::milliseconds limit = std::chrono::seconds(120));

// The seed of a randomised test: JR_TEST_SEED when it is set (to replay a failure), else a new
// one. Printed at once, so that even a test that times out names the seed that replays it.
std::uint32_t test_seed();

// One integer from a query on a jr store, opened read-only; -1 when it cannot be read.
std::int64_t query_int(const std::filesystem::path& db, const std::string& sql);
// One text value from a query; empty when it cannot be read.
std::string query_text(const std::filesystem::path& db, const std::string& sql);
// Runs `sql` on a store opened read-write (a test that fakes what jr cannot be made to do, such
// as a reboot); false when it fails.
bool exec_sql(const std::filesystem::path& db, const std::string& sql);
// One column of integers.
std::vector<std::int64_t> query_ints(const std::filesystem::path& db, const std::string& sql);

std::string read_file(const std::filesystem::path& path);
std::vector<std::string> read_lines(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& text);
// Whether a process with this pid exists and is not a zombie.
bool process_alive(pid_t pid);

// Puts the directory of the jr under test first on PATH, once per process, for tasks that call
// `jr` (checkpoint, result, progress) as a user's tasks do, never an installed one. Every
// process the harness starts gets it. False when PATH could not be set.
bool put_jr_first_on_path();

}  // namespace jr::test
