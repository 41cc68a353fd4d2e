#include "cli/task/checkpoint_command.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/duration.h"
#include "cli/connection.h"
#include "cli/task/task_ref.h"
#include "storage/checkpoints.h"
#include "storage/state_files.h"

namespace jr {
namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

int report(const char* command, const Error& e) {
  std::fprintf(stderr, "jr %s: %s\n", command, e.message.c_str());
  return e.code == ErrorCode::Usage ? kExitUsage : kExitError;
}

// How long a task's request waits for an engine when none answers (JR_ENGINE_WAIT, seconds).
constexpr int kDefaultEngineWaitS = 600;

// One request of this task to its engine (JR_SOCKET, for the attempt JR_RUN names). A task
// outlives its engine (engine/keeper.h), so while no engine answers, or one dies before it
// replies, the request waits for the next one, which adopts the task, and is sent again (a
// checkpoint sent twice is saved twice, nothing worse).
int task_call(const char* command, const std::string& method, nlohmann::json params) {
  const char* socket = std::getenv("JR_SOCKET");
  const char* token = std::getenv("JR_RUN");
  if (!socket || !token) {
    return report(command, make_error(ErrorCode::Usage, "not inside a jr task (JR_SOCKET and JR_RUN are not set)"));
  }
  params["run"] = token;
  const char* wait_env = std::getenv("JR_ENGINE_WAIT");
  int wait_s = wait_env ? std::atoi(wait_env) : kDefaultEngineWaitS;
  std::int64_t until = monotonic_ms() + static_cast<std::int64_t>(std::max(0, wait_s)) * 1000;
  bool said = false;
  for (std::int64_t pause_ms = 50;; pause_ms = std::min<std::int64_t>(2 * pause_ms, 1000)) {
    auto conn = Connection::open(socket);
    auto reply = conn ? (*conn)->call(method, params) : Result<nlohmann::json>(conn.error());
    if (reply) return 0;
    if (reply.error().code != ErrorCode::Unavailable || monotonic_ms() >= until) return report(command, reply.error());
    if (!said) {
      std::fprintf(stderr, "jr %s: %s; waiting up to %d s for an engine to adopt this task\n", command,
                   reply.error().message.c_str(), wait_s);
      said = true;
    }
    timespec ts{static_cast<time_t>(pause_ms / 1000), static_cast<long>(pause_ms % 1000) * 1'000'000};
    ::nanosleep(&ts, nullptr);
  }
}

}  // namespace

int checkpoint_save_command(const std::vector<std::string>& files) {
  return task_call("checkpoint save", "checkpoint.save", {{"files", files}});
}

int result_save_command(const std::string& file) {
  std::error_code ec;
  auto path = std::filesystem::absolute(file, ec);
  return task_call("result save", "result.save", {{"path", path.string()}});
}

int checkpoint_list_command(const std::string& state_dir, const std::string& ref, bool as_json) {
  auto store = Store::open_read_only(state_files::store(state_dir));
  if (!store) return report("checkpoint list", store.error());
  auto task = resolve_task_ref(**store, ref);
  if (!task) return report("checkpoint list", task.error());
  auto list = list_checkpoints(**store, *task);
  if (!list) return report("checkpoint list", list.error());
  if (as_json) {
    auto arr = nlohmann::json::array();
    for (auto& c : *list) {
      arr.push_back({{"seq", c.seq}, {"created_ms", c.created_ms}, {"size", c.size}, {"attempt", c.attempt}});
    }
    std::printf("%s\n", arr.dump().c_str());
    return 0;
  }
  std::printf("%-6s %-8s %-12s %s\n", "SEQ", "ATTEMPT", "BYTES", "SAVED (ms since epoch)");
  for (auto& c : *list) {
    std::printf("%-6lld %-8d %-12lld %lld\n", static_cast<long long>(c.seq), c.attempt,
                static_cast<long long>(c.size), static_cast<long long>(c.created_ms));
  }
  return 0;
}

int checkpoint_get_command(const std::string& state_dir, const std::string& ref, std::int64_t seq,
                           const std::string& out_dir) {
  auto store = Store::open_read_only(state_files::store(state_dir));
  if (!store) return report("checkpoint get", store.error());
  auto task = resolve_task_ref(**store, ref);
  if (!task) return report("checkpoint get", task.error());
  auto blob = load_checkpoint(**store, *task, seq);
  if (!blob) return report("checkpoint get", blob.error());
  auto files = decode_checkpoint(*blob);
  if (!files) return report("checkpoint get", files.error());
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return report("checkpoint get", make_error(ErrorCode::Io, "cannot create " + out_dir + ": " + ec.message()));
  if (auto st = write_checkpoint_files(out_dir, *files); !st) return report("checkpoint get", st.error());
  std::fprintf(stderr, "jr checkpoint get: %zu files written to %s\n", files->size(), out_dir.c_str());
  return 0;
}

}  // namespace jr
