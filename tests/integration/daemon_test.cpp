// jrd and the jr commands that talk to it, driven as a user drives them: each test starts its
// own jrd on a temporary state directory and socket, and waits on conditions, never on time.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

using json = nlohmann::json;

std::map<std::string, int> count_lines(const std::filesystem::path& file) {
  std::map<std::string, int> counts;
  for (auto& line : read_lines(file)) ++counts[line];
  return counts;
}

// Whether a process holds a connected Unix socket: a `jr wait` that does has reached jrd.
bool connected(pid_t pid) {
  std::set<std::string> inodes;
  std::error_code ec;
  for (auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    auto target = std::filesystem::read_symlink(fd.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  // /proc/net/unix: Num RefCount Protocol Flags Type St Inode Path; St 03 is connected.
  for (auto& line : read_lines("/proc/net/unix")) {
    std::istringstream fields(line);
    std::string num, refs, protocol, flags, type, st, inode;
    fields >> num >> refs >> protocol >> flags >> type >> st >> inode;
    if (st == "03" && inodes.count(inode)) return true;
  }
  return false;
}

std::set<std::string> keys(const json& object) {
  std::set<std::string> out;
  for (auto& [k, v] : object.items()) out.insert(k);
  return out;
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override { start_daemon("jrd"); }

  void TearDown() override {
    if (jrd_ > 0) {
      kill(jrd_, SIGTERM);
      // A clean exit also says that the sanitizers, in that build, found nothing in jrd.
      EXPECT_EQ(wait_exit(jrd_), 0) << read_file(dir / (jrd_log_ + ".err"));
    }
  }

  void start_daemon(const std::string& log) {
    jrd_log_ = log;
    jrd_ = start_jrd(dir / "state", socket(), {"--workers", "4", "--grace", "2s"}, dir.path(), log);
    ASSERT_TRUE(wait_for([&] { return jr({"ping"}).exit_code == 0; }))
        << read_file(dir / (log + ".err"));
  }

  std::string socket() const { return (dir / "jrd.sock").string(); }
  std::filesystem::path db() const { return dir / "state/jr.db"; }

  // `jr COMMAND --socket SOCK ARGS…`: the flag goes right after the command, before any `--`.
  std::vector<std::string> with_socket(std::vector<std::string> args) const {
    args.insert(args.begin() + 1, {"--socket", socket()});
    return args;
  }
  Output jr(const std::vector<std::string>& args) const { return run_jr(with_socket(args), dir.path()); }
  pid_t start(const std::vector<std::string>& args, const std::string& log) const {
    return start_jr(with_socket(args), dir.path(), log);
  }

  std::string submit(const std::vector<std::string>& args) {
    auto out = jr(cat({"submit"}, args));
    EXPECT_EQ(out.exit_code, 0) << out.err;
    EXPECT_TRUE(std::regex_match(out.out, std::regex("[0-9]+\n"))) << "stdout: " << out.out;
    return out.out.substr(0, out.out.size() - 1);
  }

  json status(const std::string& job) {
    auto out = jr({"status", job, "--json"});
    EXPECT_EQ(out.exit_code, 0) << out.err;
    return json::parse(out.out, nullptr, false);
  }
  std::int64_t count(const std::string& job, const std::string& state) {
    return status(job)["counts"].value(state, std::int64_t{-1});
  }

  TempDir dir;
  pid_t jrd_ = -1;
  std::string jrd_log_;
};

TEST_F(DaemonTest, SubmitPrintsTheIdAloneAndQueriesHaveStableJsonFields) {
  auto id = submit({"-j", "2", "--name", "greet", "--", "echo", "hi", ":::", "a", "b"});
  auto waited = jr({"wait", id});
  ASSERT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_EQ(waited.out, "");

  auto job = status(id);
  EXPECT_EQ(keys(job), (std::set<std::string>{"id", "name", "state", "created_ms", "parallelism", "priority", "after",
                                              "paused", "reason", "command", "total", "counts"}));
  EXPECT_EQ(keys(job["counts"]), (std::set<std::string>{"pending", "running", "succeeded", "failed", "interrupted",
                                                        "cancelled", "dropped"}));
  EXPECT_EQ(job["state"], "succeeded");
  EXPECT_EQ(job["name"], "greet");
  EXPECT_EQ(job["total"], 2);
  EXPECT_EQ(job["parallelism"], 2);
  EXPECT_EQ(job["command"], json({"echo", "hi"}));

  for (auto* cmd : {"list", "status"}) {
    auto list = json::parse(jr({cmd, "--json"}).out, nullptr, false);
    ASSERT_EQ(keys(list), std::set<std::string>{"jobs"}) << cmd;
    ASSERT_EQ(list["jobs"].size(), 1u);
    EXPECT_EQ(list["jobs"][0], job);
  }
  EXPECT_EQ(json::parse(jr({"list", "--only", "failed", "--json"}).out)["jobs"].size(), 0u);

  auto tasks = json::parse(jr({"tasks", id, "--json"}).out, nullptr, false);
  ASSERT_EQ(tasks["tasks"].size(), 2u);
  EXPECT_EQ(keys(tasks["tasks"][0]),
            (std::set<std::string>{"id", "index", "state", "attempts", "exit_code", "signal", "start_ms", "end_ms",
                                   "argv", "detail", "stdout", "stderr"}));
  EXPECT_EQ(tasks["tasks"][1]["argv"], json({"echo", "hi", "b"}));
  auto events = json::parse(jr({"events", "greet", "--json"}).out, nullptr, false);
  ASSERT_FALSE(events["events"].empty());
  EXPECT_EQ(keys(events["events"][0]),
            (std::set<std::string>{"id", "ms", "task", "index", "from", "to", "attempt", "detail"}));
  EXPECT_EQ(keys(json::parse(jr({"ping", "--json"}).out, nullptr, false)), (std::set<std::string>{"pid", "state_dir", "containment", "keeping"}));

  // The same facts for people, and the logs read from the files jrd names.
  auto human = jr({"status"});
  EXPECT_NE(human.out.find("DONE/TOTAL"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("greet"), std::string::npos) << human.out;
  EXPECT_EQ(jr({"logs", id + ":1"}).out, "hi b\n");
  EXPECT_EQ(jr({"logs", id}).out, "==> task " + id + ":0 (succeeded) <==\nhi a\n==> task " + id + ":1 (succeeded) <==\nhi b\n");
  // And the same JSON from the state directory without asking jrd.
  EXPECT_EQ(json::parse(run_jr({"status", id, "--state", (dir / "state").string(), "--json"}, dir.path()).out), job);
}

TEST_F(DaemonTest, SubmitTasksFileWithWait) {
  write_file(dir / "tasks.txt", "# three lines of shell\necho one >> out.txt\n\necho two >> out.txt\necho three >> out.txt\n");
  auto out = jr({"submit", "--wait", "--tasks", "tasks.txt"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  ASSERT_TRUE(std::regex_match(out.out, std::regex("[0-9]+\n"))) << out.out;
  EXPECT_EQ(count_lines(dir / "out.txt"), (std::map<std::string, int>{{"one", 1}, {"two", 1}, {"three", 1}}));
  EXPECT_EQ(jr({"submit", "--tasks", "missing.txt"}).exit_code, 2);
  EXPECT_EQ(jr({"tasks", "1", "--only", "bogus"}).exit_code, 2);
  auto none = jr({"status", "99"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err, "jr status: no job 99\n");
}

TEST_F(DaemonTest, EightClientsSubmitAThousandTasksEachAtOnce) {
  // The sanitizer build (JR_TEST_QUICK) checks the same with fewer tasks: it is there for
  // memory errors, and 8,000 shells under ASan would take most of the suite's time.
  const int per_client = std::getenv("JR_TEST_QUICK") ? 150 : 1000;
  std::vector<pid_t> clients;
  for (int c = 0; c < 8; ++c) {
    auto token = "c" + std::to_string(c) + "-{}";
    clients.push_back(start(cat({"submit", "-j", "4", "--", "sh", "-c", "echo $0 >> runs.txt", token, ":::"}, seq(1, per_client)),
                            "submit" + std::to_string(c)));
  }
  std::set<std::string> ids;
  for (int c = 0; c < 8; ++c) {
    ASSERT_EQ(wait_exit(clients[static_cast<std::size_t>(c)]), 0) << read_file(dir / ("submit" + std::to_string(c) + ".err"));
    auto id = read_file(dir / ("submit" + std::to_string(c) + ".out"));
    ASSERT_TRUE(std::regex_match(id, std::regex("[0-9]+\n"))) << id;
    ids.insert(id.substr(0, id.size() - 1));
  }
  ASSERT_EQ(ids.size(), 8u);
  for (auto& id : ids) ASSERT_EQ(jr({"wait", id}).exit_code, 0) << id;

  EXPECT_EQ(query_int(db(), "SELECT count(*) FROM tasks"), 8 * per_client);
  EXPECT_EQ(query_int(db(), "SELECT count(*) FROM tasks WHERE state = 2 AND attempts = 1"), 8 * per_client);
  auto runs = count_lines(dir / "runs.txt");
  EXPECT_EQ(runs.size(), static_cast<std::size_t>(8 * per_client));
  for (auto& [token, n] : runs) EXPECT_EQ(n, 1) << token << " ran " << n << " times";
}

TEST_F(DaemonTest, KillNineDuringAJobThenRestartCompletesItWithoutRerunningSuccesses) {
  auto id = submit(cat({"-j", "4", "--", "sh", "-c", "echo $0 >> runs.txt; sleep 0.02", "{}", ":::"}, seq(1, 200)));
  pid_t waiter = start({"wait", id}, "wait");
  ASSERT_TRUE(wait_for([&] { return connected(waiter); }));
  ASSERT_TRUE(wait_for([&] { return query_int(db(), "SELECT count(*) FROM tasks WHERE state = 2") >= 40; }));
  kill(jrd_, SIGKILL);
  ASSERT_EQ(wait_exit(jrd_), 128 + SIGKILL);
  auto succeeded_before = query_ints(db(), "SELECT idx + 1 FROM tasks WHERE state = 2");
  ASSERT_LT(succeeded_before.size(), 200u);

  start_daemon("jrd-restarted");
  int waited = wait_exit(waiter);
  auto wait_err = read_file(dir / "wait.err");
  // Either it reconnected and saw the job through, or it says clearly why it stopped.
  EXPECT_TRUE(waited == 0 || (waited == 5 && wait_err.find("lost the engine") != std::string::npos)) << waited << ": " << wait_err;
  EXPECT_NE(wait_err.find("jr wait: lost the engine, reconnecting"), std::string::npos) << wait_err;
  ASSERT_EQ(jr({"wait", id}).exit_code, 0);

  EXPECT_EQ(count(id, "succeeded"), 200);
  auto runs = count_lines(dir / "runs.txt");
  EXPECT_EQ(runs.size(), 200u);
  for (auto idx : succeeded_before) EXPECT_EQ(runs[std::to_string(idx)], 1) << "task " << idx << " ran again";
}

TEST_F(DaemonTest, PauseStartsNothingNewAndResumeGoesOn) {
  auto id = submit(cat({"-j", "2", "--", "sh", "-c", "echo $0 >> started.txt; while [ ! -f go ]; do sleep 0.01; done", "{}",
                        ":::"}, seq(1, 6)));
  ASSERT_TRUE(wait_for([&] { return count(id, "running") == 2; }));
  ASSERT_EQ(jr({"pause", id}).exit_code, 0);
  write_file(dir / "go", "");
  // jrd starts the next tasks in the same step that records the previous ones' end, so once
  // two have succeeded, a paused job that was going to start more would show them running.
  ASSERT_TRUE(wait_for([&] { return count(id, "succeeded") == 2; }));
  auto job = status(id);
  EXPECT_EQ(job["state"], "paused");
  EXPECT_EQ(job["counts"]["running"], 0);
  EXPECT_EQ(job["counts"]["pending"], 4);
  EXPECT_EQ(json::parse(jr({"tasks", id, "--only", "running", "--json"}).out)["tasks"].size(), 0u);
  EXPECT_EQ(read_lines(dir / "started.txt").size(), 2u);

  ASSERT_EQ(jr({"resume", id}).exit_code, 0);
  ASSERT_EQ(jr({"wait", id}).exit_code, 0);
  EXPECT_EQ(count_lines(dir / "started.txt").size(), 6u);
}

TEST_F(DaemonTest, CancelKillsTheRunningTaskAndWaitExitsThree) {
  auto id = submit({"-j", "1", "--", "sleep", "{}", ":::", "1000", "1001", "1002"});
  pid_t waiter = start({"wait", id}, "wait");
  std::string running_pid = "SELECT pid FROM tasks WHERE job_id = " + id + " AND state = 1 AND pid IS NOT NULL";
  ASSERT_TRUE(wait_for([&] { return query_int(db(), running_pid) > 0; }));
  auto pid = static_cast<pid_t>(query_int(db(), running_pid));
  ASSERT_TRUE(process_alive(pid));
  EXPECT_EQ(jr({"wait", id, "--timeout", "100ms"}).exit_code, 4);

  auto one = jr({"cancel", id + ":2"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(json::parse(jr({"tasks", id, "--only", "cancelled", "--json"}).out)["tasks"][0]["index"], 2);
  ASSERT_EQ(jr({"cancel", id}).exit_code, 0);
  EXPECT_EQ(wait_exit(waiter), 3) << read_file(dir / "wait.err");
  auto job = status(id);
  EXPECT_EQ(job["state"], "cancelled");
  EXPECT_EQ(job["counts"]["cancelled"], 3);
  EXPECT_FALSE(process_alive(pid));
  bool running_to_cancelled = false;
  auto events = json::parse(jr({"events", id, "--json"}).out)["events"];
  for (auto& e : events) running_to_cancelled |= e["index"] == 0 && e["from"] == "running" && e["to"] == "cancelled";
  EXPECT_TRUE(running_to_cancelled) << events.dump();
}

TEST_F(DaemonTest, RetryFailedRunsTheFailedTasksAgain) {
  write_file(dir / "ok-1", "");
  write_file(dir / "ok-2", "");
  auto id = submit({"-j", "2", "--", "sh", "-c", "echo $0 >> runs.txt; test -f ok-$0", "{}", ":::", "1", "2", "3", "4"});
  auto failed = jr({"wait", id});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find("2 of 4 tasks failed"), std::string::npos) << failed.err;
  write_file(dir / "ok-3", "");
  write_file(dir / "ok-4", "");
  auto retried = jr({"retry", id, "--failed"});
  ASSERT_EQ(retried.exit_code, 0) << retried.err;
  EXPECT_EQ(retried.out, "job " + id + ": 2 tasks pending again\n");
  ASSERT_EQ(jr({"wait", id}).exit_code, 0);
  EXPECT_EQ(count_lines(dir / "runs.txt"), (std::map<std::string, int>{{"1", 1}, {"2", 1}, {"3", 2}, {"4", 2}}));
}

TEST_F(DaemonTest, AfterWaitsForItsJobAndFailsWithAReasonWhenThatOneFails) {
  auto blocker = [](const std::string& file, int code) {
    return std::vector<std::string>{"--", "sh", "-c", "while [ ! -f " + file + " ]; do sleep 0.01; done; exit " + std::to_string(code)};
  };
  auto a = submit(blocker("go-a", 0));
  auto b = submit(cat({"--after", a}, {"--", "sh", "-c", "echo b > b.txt"}));
  ASSERT_TRUE(wait_for([&] { return count(a, "running") == 1; }));
  auto waiting = status(b);
  EXPECT_EQ(waiting["state"], "pending");
  EXPECT_EQ(waiting["after"], std::stoll(a));
  EXPECT_EQ(waiting["counts"]["running"], 0);
  write_file(dir / "go-a", "");
  EXPECT_EQ(jr({"wait", b}).exit_code, 0);
  EXPECT_EQ(read_file(dir / "b.txt"), "b\n");

  auto a2 = submit(blocker("go-a2", 1));
  auto b2 = submit(cat({"--after", a2}, {"--", "sh", "-c", "echo b2 > b2.txt"}));
  write_file(dir / "go-a2", "");
  auto failed = jr({"wait", b2});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find("job " + a2 + " it waits for did not succeed"), std::string::npos) << failed.err;
  auto job = status(b2);
  EXPECT_EQ(job["state"], "failed");
  EXPECT_NE(job["reason"].get<std::string>().find("did not succeed"), std::string::npos) << job.dump();
  EXPECT_FALSE(std::filesystem::exists(dir / "b2.txt"));
}

TEST_F(DaemonTest, LogsFollowsARunningTaskToItsEnd) {
  auto id = submit({"--", "sh", "-c", "i=0; while [ ! -f stop ]; do echo line $i; i=$((i+1)); sleep 0.01; done; echo end"});
  pid_t follower = start({"logs", "-f", id + ":0"}, "follow");
  ASSERT_TRUE(wait_for([&] { return read_file(dir / "follow.out").find("line 3\n") != std::string::npos; }));
  write_file(dir / "stop", "");
  ASSERT_EQ(wait_exit(follower), 0) << read_file(dir / "follow.err");
  auto followed = read_file(dir / "follow.out");
  EXPECT_TRUE(followed.size() >= 4 && followed.substr(followed.size() - 4) == "end\n") << followed;
  auto tasks = json::parse(jr({"tasks", id, "--json"}).out);
  EXPECT_EQ(followed, read_file(tasks["tasks"][0]["stdout"].get<std::string>()));
}

TEST(DaemonClientTest, NoDaemonSaysWhereItLookedAndHowToStartOne) {
  TempDir dir;
  auto socket = (dir / "nobody.sock").string();
  auto out = run_jr({"status", "--socket", socket}, dir.path());
  EXPECT_EQ(out.exit_code, 5);
  EXPECT_EQ(out.err, "jr status: no jr daemon answers at " + socket +
                         "; start one with 'jrd &' or 'systemctl --user start jrd.socket'\n");
  ::setenv("JR_DAEMON_SOCKET", socket.c_str(), 1);
  auto via_env = run_jr({"wait", "1"}, dir.path());
  ::unsetenv("JR_DAEMON_SOCKET");
  EXPECT_EQ(via_env.exit_code, 5);
  EXPECT_NE(via_env.err.find(socket), std::string::npos) << via_env.err;
}

}  // namespace
}  // namespace jr::test
