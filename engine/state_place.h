// StatePlace: where a store's engine last ran, so that a new engine signals only processes that
// can be its own (docs/DESIGN.md, "Containment").
//
// Every engine records its place in the store (meta "engine_place") before it starts a task:
// the host, the boot id, the state directory's device and inode, and its containment group. The
// next engine may signal what the last one left (recorded process groups, JR_RUN carriers, the
// recorded group) only when host, boot id and directory are all the same. A state directory
// copied (`cp -r A B`), moved to another file system, opened on another host or after a reboot
// signals nothing; a copied or moved one also gets a new state id, so that its tasks' JR_RUN
// tokens never match the original's.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "base/result.h"
#include "storage/store.h"

namespace jr {

struct StatePlace {
  std::string host;
  std::string boot_id;
  std::string dir;  // "DEVICE:INODE" of the state directory
  std::string group;  // the engine's cgroup; empty: none

  static StatePlace here(const std::filesystem::path& state_dir);
};

// What the last engine recorded, compared with here.
struct PlaceCheck {
  std::optional<StatePlace> last;  // none: no engine recorded one (a store older than this)
  bool may_signal = true;          // the last engine's processes, if any live, are on this machine, this boot, this directory
  bool copied = false;             // the directory is not the one the last engine ran in
};

// Reads the last place and compares it with `here`; when the directory was copied or moved,
// gives the store a new state id (in its own transaction). Call before anything uses the state id.
Result<PlaceCheck> check_place(Store& store, const StatePlace& here);
// Records `here` as the engine's place (inside the caller's transaction, if any).
Status record_place(Store& store, const StatePlace& here);

}  // namespace jr
