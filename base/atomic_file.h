// Files that appear whole or not at all.
//
// write_file_atomically: a file written beside its target and renamed over it, so a reader
// never sees half of it (reports, scaling plots). Io error naming the path on failure.
// rename_durably: a finished file given its name for good: its data synced, renamed, the
// directory synced, so that neither a kill nor a power cut leaves the name on partial data
// (declared outputs, a new store).
#pragma once

#include <string>

#include "base/result.h"

namespace jr {

Status write_file_atomically(const std::string& path, const std::string& text);
// Io error whose message is the system's reason alone ("No such file or directory"), for the
// caller to say what it was doing.
Status rename_durably(const std::string& from, const std::string& to);

}  // namespace jr
