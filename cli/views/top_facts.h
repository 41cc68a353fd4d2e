// What one frame of `jr top` shows, read fresh for every frame: the job's counts and rate from
// the store (read-only), each running task's progress from the board (DIR/board), its CPU and
// memory from its latest samples, the last line of its stdout log, and the node's CPU use from
// /proc/stat. Rendering is separate (top_view.h), so a frame can be tested as text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/engine_gone.h"
#include "storage/store.h"

namespace jr {

struct TopTask {
  TaskId id = 0;
  std::int64_t index = 0;
  int attempt = 0;
  int slot = 0;
  std::string command;
  std::int64_t elapsed_ms = 0;
  double progress = -1;         // from the board; < 0 unknown
  std::string message;          // from the board
  double cpu_percent = -1;      // between its last two samples; < 0 not sampled yet
  std::int64_t rss_kb = 0;      // at its latest sample
  std::string last_output;      // the last line of its stdout log
};

struct TopFacts {
  std::filesystem::path state_dir;
  JobRow job;
  std::string job_state;
  StateCounts counts{};
  std::int64_t total = 0;       // tasks, dropped ones left out
  std::int64_t done = 0;        // succeeded, failed or cancelled
  int parallelism = 1;
  bool engine = false;          // an engine runs on this state now
  // The store records running tasks but their engine is gone (storage/engine_gone.h): they are
  // counted as interrupted, and none is listed as running.
  std::optional<GoneEngine> engine_gone;
  bool board = false;           // the progress board could be read
  double rate = 0;              // tasks finished per second, over the last minute of this engine run
  std::int64_t eta_ms = -1;     // -1: unknown
  double node_cpu = -1;         // busy fraction of the node's CPUs since the last frame; < 0 unknown
  int node_cpus = 0;
  std::int64_t now_ms = 0;
  std::vector<TopTask> tasks;   // running, by index
};

// The node's CPU use between two readings of /proc/stat.
class NodeCpu {
 public:
  // Busy fraction since the previous call; < 0 on the first call or when /proc/stat is unreadable.
  double sample();
  int cpus() const { return cpus_; }

 private:
  std::uint64_t busy_ = 0, total_ = 0;
  int cpus_ = 0;
};

Result<TopFacts> load_top_facts(const std::filesystem::path& state_dir, const std::string& job_ref, NodeCpu& cpu);

// What `jr top --once --json` prints (docs/cli.md).
nlohmann::ordered_json top_json(const TopFacts& facts);

}  // namespace jr
