#include "client/fresh_state.h"

#include <chrono>
#include <cstdio>

#include "storage/damaged_store.h"

namespace jr {

Status start_afresh(const std::filesystem::path& dir) {
  auto db = dir / "jr.db";
  std::error_code ec;
  if (auto readable = check_store_readable(db); !readable && readable.error().code != ErrorCode::NotFound) {
    bool with_log =
        std::filesystem::exists(db.string() + "-wal", ec) || std::filesystem::exists(db.string() + "-shm", ec);
    auto aside = set_store_aside(db, std::chrono::system_clock::now());
    if (!aside) return aside.error();
    std::fprintf(stderr, "jr run: %s could not be read; moved it aside to %s%s (nothing deleted); starting afresh\n",
                 db.c_str(), aside->c_str(), with_log ? " with its -wal and -shm" : "");
  }
  for (const char* name : {"jr.db", "jr.db-wal", "jr.db-shm", "board"}) std::filesystem::remove(dir / name, ec);
  std::filesystem::remove_all(dir / "logs", ec);
  std::filesystem::remove_all(dir / "work", ec);
  return {};
}

}  // namespace jr
