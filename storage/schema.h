// The store's schema and its forward migrations.
//
// Version N of the schema is what migrations 1..N produce, applied in order, each in its own
// transaction, so that a database left by any older jr is brought up to date on open. The
// version lives in PRAGMA user_version; PRAGMA application_id marks a file as a jr store.
// Never edit a released migration: add a new one.
#pragma once

#include <cstdint>

#include "base/result.h"
#include "storage/sqlite.h"

namespace jr {

inline constexpr std::int32_t kApplicationId = 0x6a720001;  // "jr" + format 1

// The schema version this build writes.
int current_schema_version();
// The schema version of `db` (0 for an empty database): lower than current_schema_version() in
// a store that an older jr wrote and only readers have opened since (they never migrate).
Result<int> schema_version(sql::Db& db);

// Checks that `db` is empty or a jr store of a version this build knows, then applies the
// migrations it lacks. Errors: Corrupt (not a jr database), Unsupported (a newer jr wrote it).
Status migrate(sql::Db& db, const std::string& path_for_messages);
// The same, up to version `target` only: the schema as an older jr left it, for the tests of a
// migration.
Status migrate_to(sql::Db& db, int target, const std::string& path_for_messages);

// Checks, without changing it, that `db` is a jr store this build can open. An empty database
// is not: jr never leaves one (Corrupt).
Status check_openable(sql::Db& db, const std::string& path_for_messages);

}  // namespace jr
