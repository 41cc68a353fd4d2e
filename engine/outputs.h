// Declared outputs (--output): a task writes partial_path(f); jr gives the file its name only
// after the task exited 0, in the same turn that records it succeeded, so a file under a
// declared name is always complete (never half-written, never from a failed attempt).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "job/template.h"
#include "storage/types.h"

namespace jr {

// For an attempt that exited 0: fsyncs each partial file, renames it to its declared name
// and fsyncs the directory. A missing partial file sets exit->output_missing (the attempt
// fails with "declared output missing: F"), unless the attempt is `adopted` and its declared
// file is there: the engine that died may have taken the same exit (from the keeper) and
// renamed its files, then died before the store held the end.
void commit_outputs(const TaskSpec& spec, bool adopted, Exit* exit);
// Removes partial files an attempt left (before it starts, and after it failed).
void discard_partial_outputs(const TaskSpec& spec);

// Whether `output` (--output, a template over the same `source_count` sources) may declare a
// file per task of `command`: the command must say where the task writes it ({out}). One
// usage error line otherwise. jr run and jrd's submit both ask this.
Status check_output_template(const std::vector<std::string>& command, const std::string& output,
                             std::size_t source_count);
// Task i's declared output: `output` (a TaskExpander over the --output template alone)
// expanded for it, made absolute against `cwd`.
std::string declared_output(const TaskExpander& output, std::uint64_t i, const std::string& cwd);

}  // namespace jr
