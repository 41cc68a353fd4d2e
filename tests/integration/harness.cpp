#include "tests/integration/harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace jr::test {
namespace {

pid_t spawn(const std::string& bin, const std::vector<std::string>& args, const std::filesystem::path& cwd,
            const std::string& out, const std::string& err) {
  put_jr_first_on_path();
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(cwd.c_str()) != 0) _exit(126);
    int in = open("/dev/null", O_RDONLY);
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(in, 0);
    dup2(o, 1);
    dup2(e, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(bin.c_str()));
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

Output run_to_end(const std::string& bin, const std::vector<std::string>& args, const std::filesystem::path& cwd) {
  std::string out = (cwd / ".jr-test-out").string();
  std::string err = (cwd / ".jr-test-err").string();
  Output o;
  o.exit_code = wait_exit(spawn(bin, args, cwd, out, err));
  o.out = read_file(out);
  o.err = read_file(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return o;
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "jr-test-XXXXXX").string();
  path_ = mkdtemp(tmpl.data());
}

// Tasks of an engine a test killed with kill -9 and did not restart run on, as jr promises
// (recovery kills them when the directory is next used); they go with the directory instead.
void kill_tasks_of(const std::filesystem::path& dir) {
  std::string mark = "JR_STATE_DIR=" + dir.string();
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "environ");
    std::string var;
    while (std::getline(in, var, '\0')) {
      if (var.rfind(mark, 0) != 0 || (var.size() > mark.size() && var[mark.size()] != '/')) continue;
      ::kill(static_cast<pid_t>(std::stol(name)), SIGKILL);
      break;
    }
  }
}

TempDir::~TempDir() {
  kill_tasks_of(path_);
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int wait_exit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

Output run_jr(const std::vector<std::string>& args, const std::filesystem::path& cwd) {
  return run_to_end(JR_BIN, args, cwd);
}

Output run_jr_as_nobody(const std::vector<std::string>& args, const std::filesystem::path& cwd) {
  return run_to_end("/usr/bin/setpriv", cat({"--reuid=nobody", "--regid=nogroup", "--clear-groups", JR_BIN}, args), cwd);
}

pid_t start_jr(const std::vector<std::string>& args, const std::filesystem::path& cwd,
               const std::string& log_name) {
  return spawn(JR_BIN, args, cwd, (cwd / (log_name + ".out")).string(), (cwd / (log_name + ".err")).string());
}

pid_t start_jrd(const std::filesystem::path& state, const std::filesystem::path& socket,
                const std::vector<std::string>& args, const std::filesystem::path& cwd,
                const std::string& log_name) {
  std::vector<std::string> all = {"--state", state.string(), "--socket", socket.string()};
  all.insert(all.end(), args.begin(), args.end());
  return spawn(JRD_BIN, all, cwd, (cwd / (log_name + ".out")).string(), (cwd / (log_name + ".err")).string());
}

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::uint32_t test_seed() {
  const char* given = std::getenv("JR_TEST_SEED");
  std::uint32_t seed = given && *given ? static_cast<std::uint32_t>(std::strtoul(given, nullptr, 10))
                                       : std::random_device{}();
  std::printf("seed %u (JR_TEST_SEED=%u replays it)\n", seed, seed);
  std::fflush(stdout);
  return seed;
}

std::vector<std::int64_t> query_ints(const std::filesystem::path& db, const std::string& sql) {
  std::vector<std::int64_t> out;
  if (!std::filesystem::exists(db)) return out;
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(h);
    return out;
  }
  sqlite3_busy_timeout(h, 5000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) out.push_back(sqlite3_column_int64(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

std::string query_text(const std::filesystem::path& db, const std::string& sql) {
  std::string out;
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(h, 5000);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      if (auto* t = sqlite3_column_text(st, 0)) out = reinterpret_cast<const char*>(t);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return out;
}

bool exec_sql(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  bool ok = sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK;
  if (ok) {
    sqlite3_busy_timeout(h, 5000);
    ok = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  sqlite3_close(h);
  return ok;
}

std::int64_t query_int(const std::filesystem::path& db, const std::string& sql) {
  auto v = query_ints(db, sql);
  return v.empty() ? -1 : v.front();
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

bool put_jr_first_on_path() {
  static const bool set = [] {
    const char* path = std::getenv("PATH");
    std::string first = std::filesystem::path(JR_BIN).parent_path().string();
    return ::setenv("PATH", (path ? first + ":" + path : first).c_str(), 1) == 0;
  }();
  return set;
}

bool process_alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = s.rfind(')');
  return close != std::string::npos && close + 2 < s.size() && s[close + 2] != 'Z';
}

std::vector<std::string> seq(int from, int to) {
  std::vector<std::string> v;
  for (int i = from; i <= to; ++i) v.push_back(std::to_string(i));
  return v;
}

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace jr::test
