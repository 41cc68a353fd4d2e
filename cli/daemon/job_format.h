// Human output of the query commands: aligned columns in the style of `pueue status`, built
// from the same JSON that `--json` prints (daemon/queries.h), so both views show one truth.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "storage/store.h"

namespace jr {

// Columns separated by two spaces; numbers right-aligned; the last column is not padded, so
// a long command or reason never widens the others.
class Table {
 public:
  struct Column {
    std::string name;
    bool right = false;
  };
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::FILE* out) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// A job object's "counts" as the engine's array (unknown names are ignored).
StateCounts counts_from_json(const nlohmann::json& job);
std::int64_t count_of(const StateCounts& counts, TaskState state);

// `jr status` / `jr list`: one line per job. With one job, its command and counts follow.
void print_jobs(const nlohmann::json& jobs, bool details);
void print_tasks(const nlohmann::json& tasks);
void print_events(const nlohmann::json& events);

// A task's argv as a line a shell would accept.
std::string command_line(const nlohmann::json& argv);

}  // namespace jr
