#include "storage/engine_gone.h"

#include "storage/engine_lock.h"
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
  auto last = store_db(store).prepare("SELECT pid, end_ms IS NULL FROM engine_runs ORDER BY id DESC LIMIT 1");
  if (!last) return last.error();
  auto found = last->step();
  if (!found) return found.error();
  GoneEngine gone;
  if (*found && last->i32(1) != 0) gone.pid = last->i64(0);
  JR_TRY(last->run());
  return std::optional<GoneEngine>(gone);
}

}  // namespace jr
