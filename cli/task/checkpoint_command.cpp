#include "cli/task/checkpoint_command.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

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

// The engine a task belongs to, from the variables it was started with.
Result<std::unique_ptr<Connection>> task_engine(std::string* run) {
  const char* socket = std::getenv("JR_SOCKET");
  const char* token = std::getenv("JR_RUN");
  if (!socket || !token) {
    return make_error(ErrorCode::Usage, "not inside a jr task (JR_SOCKET and JR_RUN are not set)");
  }
  *run = token;
  return Connection::open(socket);
}

}  // namespace

int checkpoint_save_command(const std::vector<std::string>& files) {
  std::string run;
  auto conn = task_engine(&run);
  if (!conn) return report("checkpoint save", conn.error());
  auto reply = (*conn)->call("checkpoint.save", {{"run", run}, {"files", files}});
  if (!reply) return report("checkpoint save", reply.error());
  return 0;
}

int result_save_command(const std::string& file) {
  std::string run;
  auto conn = task_engine(&run);
  if (!conn) return report("result save", conn.error());
  std::error_code ec;
  auto path = std::filesystem::absolute(file, ec);
  auto reply = (*conn)->call("result.save", {{"run", run}, {"path", path.string()}});
  if (!reply) return report("result save", reply.error());
  return 0;
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
