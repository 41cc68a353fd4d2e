#include "engine/resources.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace jr {
namespace {

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The cgroup v2 directory of this process, or empty.
std::string own_cgroup() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return "/sys/fs/cgroup" + line.substr(3);
  }
  return {};
}

std::uint64_t mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024;
  }
  return 0;
}

}  // namespace

Result<std::vector<std::string>> parse_id_list(const std::string& text) {
  std::vector<std::string> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    auto dash = item.find('-');
    if (dash != std::string::npos && dash > 0 && item.find_first_not_of("0123456789-") == std::string::npos) {
      int from = std::atoi(item.substr(0, dash).c_str());
      int to = std::atoi(item.substr(dash + 1).c_str());
      if (to < from || to - from > 4096) return make_error(ErrorCode::Usage, "invalid id range '" + item + "'");
      for (int i = from; i <= to; ++i) ids.push_back(std::to_string(i));
    } else {
      ids.push_back(item);
    }
  }
  return ids;
}

int usable_cpus() { return detect_capacity().cores; }

NodeCapacity detect_capacity() {
  NodeCapacity cap;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i) {
      if (CPU_ISSET(i, &set)) cap.cpu_ids.push_back(i);
    }
  }
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  cap.cores = !cap.cpu_ids.empty() ? static_cast<int>(cap.cpu_ids.size()) : static_cast<int>(std::max(1L, online));
  std::string cgroup = own_cgroup();
  if (!cgroup.empty()) {
    // cpu.max is "QUOTA PERIOD" or "max PERIOD".
    std::istringstream max(first_line(cgroup + "/cpu.max"));
    std::string quota;
    double period = 0;
    if (max >> quota >> period && quota != "max" && period > 0) {
      int limit = static_cast<int>(std::ceil(std::atof(quota.c_str()) / period));
      if (limit >= 1) cap.cores = std::min(cap.cores, limit);
    }
    std::string mem = first_line(cgroup + "/memory.max");
    if (!mem.empty() && mem != "max") cap.mem_bytes = std::strtoull(mem.c_str(), nullptr, 10);
  }
  if (const char* s = std::getenv("SLURM_CPUS_ON_NODE")) {
    if (int n = std::atoi(s); n > 0) cap.cores = n;
  }
  if (cap.mem_bytes == 0) cap.mem_bytes = mem_available();
  const char* gpus = std::getenv("CUDA_VISIBLE_DEVICES");
  if (!gpus || !*gpus) gpus = std::getenv("SLURM_JOB_GPUS");
  if (gpus && *gpus) {
    auto ids = parse_id_list(gpus);
    if (ids) cap.gpu_ids = *ids;
  }
  return cap;
}

ResourcePool::ResourcePool(NodeCapacity capacity, bool pin)
    : cap_(std::move(capacity)),
      pin_(pin),
      free_cores_(cap_.cores),
      free_cpus_(cap_.cpu_ids),
      free_gpus_(cap_.gpu_ids),
      free_mem_(cap_.mem_bytes) {
  if (pin_ && free_cpus_.size() > static_cast<std::size_t>(cap_.cores)) free_cpus_.resize(static_cast<std::size_t>(cap_.cores));
}

int ResourcePool::cores_needed(const TaskSpec& spec) const {
  // A task that declared no cores holds none, unless pinning gives it one CPU of its own.
  return spec.cpus > 0 ? spec.cpus : (pin_ ? 1 : 0);
}

Status ResourcePool::check_fits(const TaskSpec& spec) const {
  if (cores_needed(spec) > cap_.cores) {
    return make_error(ErrorCode::Usage, "a task asks for " + std::to_string(cores_needed(spec)) +
                                            " cores; this node has " + std::to_string(cap_.cores) + " (--cores)");
  }
  if (static_cast<std::size_t>(spec.gpus) > cap_.gpu_ids.size()) {
    return make_error(ErrorCode::Usage, "a task asks for " + std::to_string(spec.gpus) + " GPUs; this node has " +
                                            std::to_string(cap_.gpu_ids.size()) + " (--gpu-ids)");
  }
  if (spec.mem_bytes > 0 && cap_.mem_bytes > 0 && spec.mem_bytes > cap_.mem_bytes) {
    return make_error(ErrorCode::Usage, "a task asks for " + std::to_string(spec.mem_bytes >> 20) +
                                            " MiB of memory; this node has " + std::to_string(cap_.mem_bytes >> 20) + " MiB");
  }
  return {};
}

bool ResourcePool::can_start(const TaskSpec& spec) const {
  return cores_needed(spec) <= free_cores_ && static_cast<std::size_t>(spec.gpus) <= free_gpus_.size() &&
         (spec.mem_bytes == 0 || cap_.mem_bytes == 0 || spec.mem_bytes <= free_mem_);
}

Allocation ResourcePool::take(const TaskSpec& spec) {
  Allocation a;
  a.cores = cores_needed(spec);
  free_cores_ -= a.cores;
  if (pin_) {
    auto n = std::min<std::size_t>(static_cast<std::size_t>(a.cores), free_cpus_.size());
    a.cpu_ids.assign(free_cpus_.begin(), free_cpus_.begin() + static_cast<std::ptrdiff_t>(n));
    free_cpus_.erase(free_cpus_.begin(), free_cpus_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  auto g = static_cast<std::size_t>(spec.gpus);
  a.gpu_ids.assign(free_gpus_.begin(), free_gpus_.begin() + static_cast<std::ptrdiff_t>(g));
  free_gpus_.erase(free_gpus_.begin(), free_gpus_.begin() + static_cast<std::ptrdiff_t>(g));
  if (cap_.mem_bytes > 0) {
    a.mem_bytes = spec.mem_bytes;
    free_mem_ -= spec.mem_bytes;
  }
  return a;
}

void ResourcePool::give_back(const Allocation& a) {
  free_cores_ += a.cores;
  free_cpus_.insert(free_cpus_.end(), a.cpu_ids.begin(), a.cpu_ids.end());
  std::sort(free_cpus_.begin(), free_cpus_.end());
  free_gpus_.insert(free_gpus_.end(), a.gpu_ids.begin(), a.gpu_ids.end());
  free_mem_ += a.mem_bytes;
}

}  // namespace jr
