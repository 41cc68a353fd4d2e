// Resources: the node's cores, GPUs and memory, and what running tasks hold of them.
//
// The scheduler starts a task only when what it asks for is free (docs/DESIGN.md: the cores,
// GPUs and memory that running tasks asked for never exceed the node's capacity). A task
// that declares no cores (cpus = 0, the default) holds none, so `-j` alone bounds tasks that
// sleep or wait on I/O, as in GNU parallel; `--cpus N` makes it hold N. GPU ids are handed
// out one by one and never shared; with pinning, each task gets CPU ids no other running task
// holds. Single-threaded, owned by the Engine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/types.h"

namespace jr {

struct NodeCapacity {
  int cores = 1;
  std::vector<int> cpu_ids;          // the CPUs this process may run on, for pinning
  std::vector<std::string> gpu_ids;  // "0", "1", … or UUIDs, as CUDA_VISIBLE_DEVICES names them
  std::uint64_t mem_bytes = 0;       // 0: unknown (memory is then not accounted)
};

// The capacity of this node as jr sees it: cores from SLURM_CPUS_ON_NODE, else the affinity
// mask capped by the cgroup's cpu.max, else nproc; GPUs from CUDA_VISIBLE_DEVICES or
// SLURM_JOB_GPUS; memory from the cgroup's memory.max, else MemAvailable.
NodeCapacity detect_capacity();
// The CPUs jr counts on: SLURM_CPUS_ON_NODE, else the affinity mask capped by the cgroup's
// cpu.max. What -j, jrd --workers and jr.Parallel(n_jobs=-1) mean when not given (`jr cpus`).
int usable_cpus();
// "0,1,3" or "0-3" to a list of ids; Usage error when malformed.
Result<std::vector<std::string>> parse_id_list(const std::string& text);

struct Allocation {
  int cores = 0;
  std::vector<int> cpu_ids;          // non-empty only when pinning
  std::vector<std::string> gpu_ids;
  std::uint64_t mem_bytes = 0;
};

class ResourcePool {
 public:
  ResourcePool(NodeCapacity capacity, bool pin);
  // Usage error naming what a task asks for that the node does not have at all.
  Status check_fits(const TaskSpec& spec) const;
  bool can_start(const TaskSpec& spec) const;
  Allocation take(const TaskSpec& spec);
  void give_back(const Allocation& a);
  const NodeCapacity& capacity() const { return cap_; }
  bool pinning() const { return pin_; }

 private:
  int cores_needed(const TaskSpec& spec) const;
  NodeCapacity cap_;
  bool pin_;
  int free_cores_;
  std::vector<int> free_cpus_;
  std::vector<std::string> free_gpus_;
  std::uint64_t free_mem_;
};

}  // namespace jr
