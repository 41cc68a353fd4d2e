// Declared outputs (--output): a task writes partial_path(f); jr gives the file its name only
// after the task exited 0, in the same turn that records it succeeded, so a file under a
// declared name is always complete (never half-written, never from a failed attempt).
#pragma once

#include "storage/types.h"

namespace jr {

// For an attempt that exited 0: fsyncs each partial file, renames it to its declared name
// and fsyncs the directory. A missing partial file sets exit->output_missing (the attempt
// fails with "declared output missing: F").
void commit_outputs(const TaskSpec& spec, Exit* exit);
// Removes partial files an attempt left (before it starts, and after it failed).
void discard_partial_outputs(const TaskSpec& spec);

}  // namespace jr
