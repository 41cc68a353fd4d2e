#include "engine/sampler.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace jr {

std::unordered_map<pid_t, GroupUsage> sample_groups(const std::unordered_map<pid_t, bool>& wanted) {
  std::unordered_map<pid_t, GroupUsage> out;
  if (wanted.empty()) return out;
  static const long ticks = sysconf(_SC_CLK_TCK);
  static const long page_kb = sysconf(_SC_PAGESIZE) / 1024;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  char path[300];
  char buf[1024];
  while (auto* e = ::readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    // The fields after the command name, which may hold spaces: index k is field k + 3 of
    // proc(5), so state is 0, pgrp 2, utime 11, stime 12, rss 21.
    char* p = std::strrchr(buf, ')');
    if (!p || p[1] != ' ') continue;
    char state = p[2];
    if (state == 'Z' || state == 'X') continue;
    long long f[22] = {};
    char* cur = p + 4;
    for (int k = 1; k < 22 && cur && *cur; ++k) {
      f[k] = std::strtoll(cur, &cur, 10);
      if (*cur == ' ') ++cur;
    }
    auto pgrp = static_cast<pid_t>(f[2]);
    if (!wanted.count(pgrp)) continue;
    GroupUsage& u = out[pgrp];
    u.cpu_ms += (f[11] + f[12]) * 1000 / ticks;
    u.rss_kb += f[21] * page_kb;
    ++u.processes;
  }
  ::closedir(d);
  return out;
}

}  // namespace jr
