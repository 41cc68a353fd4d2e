#include "storage/damaged_store.h"

#include <ctime>

#include "base/atomic_file.h"
#include "storage/store.h"
#include "storage/state_files.h"
#include "storage/store_db.h"

namespace jr {

Error damaged_store(const std::string& path, const std::string& why) {
  return make_error(ErrorCode::Corrupt, path + " is damaged (" + why +
                                            "); `jr run --fresh` moves it aside and starts afresh, or restore it "
                                            "from a copy");
}

Status check_store_readable(const std::filesystem::path& path) {
  auto store = Store::open_read_only(path);
  if (!store) return store.error();
  auto check = store_db(**store).prepare("PRAGMA quick_check");
  if (!check) return check.error();
  auto row = check->step();
  if (!row) return row.error();
  std::string verdict = *row ? check->text(0) : "no verdict";
  JR_TRY(check->run());
  if (verdict != "ok") return damaged_store(path.string(), verdict);
  return {};
}

Result<std::filesystem::path> set_store_aside(const std::filesystem::path& path,
                                              std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  localtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::string aside = path.string() + ".broken-" + stamp;
  // The log and index first: a kill between renames leaves the store where it was, never a
  // store beside a log that is not its own.
  for (const char* suffix : {state_files::kWalSuffix, state_files::kShmSuffix, ""}) {
    std::string from = path.string() + suffix;
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(from, ec))) continue;
    if (auto st = rename_durably(from, aside + suffix); !st) {
      return make_error(ErrorCode::Io, "cannot move " + from + " aside to " + aside + suffix + ": " +
                                           st.error().message);
    }
  }
  return std::filesystem::path(aside);
}

}  // namespace jr
