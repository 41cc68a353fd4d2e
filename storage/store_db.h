// The SQL connection under a Store, for the code of storage/ alone (and its tests).
//
// The schema is storage's: everything above it reads and writes through functions of the
// store (store.h, *_reads.h, checkpoints.h, …) that return plain structs, as LevelDB's
// include/ stands to its db/. tests/no_sql_outside_storage.sh fails the build's tests when
// this header, or any SQL, shows up in client/, daemon/, protocol/, sdk/ or python/jr.
#pragma once

#include "storage/sqlite.h"
#include "storage/store.h"

namespace jr {

sql::Db& store_db(Store& store);

}  // namespace jr
