// write_file_atomically: a file written beside its target and renamed over it, so a reader
// never sees half of it (reports, scaling plots). Io error naming the path on failure.
#pragma once

#include <string>

#include "base/result.h"

namespace jr {

Status write_file_atomically(const std::string& path, const std::string& text);

}  // namespace jr
