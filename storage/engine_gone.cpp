#include "storage/engine_gone.h"

#include "storage/engine_lock.h"
#include "storage/engine_runs.h"
#include "storage/state_files.h"
#include "storage/store_db.h"

namespace jr {

Result<std::optional<GoneEngine>> find_gone_engine(Store& store, const std::filesystem::path& state_dir) {
  auto running = store_db(store).prepare("SELECT EXISTS (SELECT 1 FROM tasks WHERE state = 1)");
  if (!running) return running.error();
  auto row = running->step();
  if (!row) return row.error();
  bool any = *row && running->i32(0) != 0;
  JR_TRY(running->run());
  if (!any || EngineLock::holder(state_dir) != 0) return std::optional<GoneEngine>();
  auto last = latest_engine_run(store);
  if (!last) return last.error();
  GoneEngine gone;
  std::error_code ec;
  gone.kept = std::filesystem::is_socket(state_dir / state_files::kKeeperSocket, ec);
  if (*last) {
    if (!(*last)->ended) gone.pid = (*last)->pid;
    gone.last_seen_ms = (*last)->last_seen_ms;
  }
  return std::optional<GoneEngine>(gone);
}

}  // namespace jr
