#include "cli/run/fresh_state.h"

#include <chrono>
#include <cstdio>

#include "storage/damaged_store.h"
#include "storage/state_files.h"

namespace jr {

Status start_afresh(const std::filesystem::path& dir) {
  auto db = state_files::store(dir);
  std::error_code ec;
  if (auto readable = check_store_readable(db); !readable && readable.error().code != ErrorCode::NotFound) {
    bool with_log =
        std::filesystem::exists(db.string() + state_files::kWalSuffix, ec) ||
        std::filesystem::exists(db.string() + state_files::kShmSuffix, ec);
    auto aside = set_store_aside(db, std::chrono::system_clock::now());
    if (!aside) return aside.error();
    std::fprintf(stderr, "jr run: %s could not be read; moved it aside to %s%s (nothing deleted); starting afresh\n",
                 db.c_str(), aside->c_str(), with_log ? " with its -wal and -shm" : "");
  }
  for (const char* name : {state_files::kStore, state_files::kStoreWal, state_files::kStoreShm, state_files::kBoard}) {
    std::filesystem::remove(dir / name, ec);
  }
  std::filesystem::remove_all(state_files::logs(dir), ec);
  std::filesystem::remove_all(state_files::work(dir), ec);
  return {};
}

}  // namespace jr
