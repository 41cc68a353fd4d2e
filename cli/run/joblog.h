// Joblog: GNU parallel's --joblog format, so existing tooling can read jr's runs.
//
// One header line, then one tab-separated line per finished attempt:
//   Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
// Host is ":" (this machine) and a task killed by a signal has Exitval 0, as in GNU parallel.
// Lines are appended as attempts finish and flushed each time, so a killed run leaves a
// readable log of what finished before it died.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "base/result.h"
#include "engine/engine.h"

namespace jr {

class Joblog {
 public:
  static Result<std::unique_ptr<Joblog>> open(const std::string& path);
  ~Joblog();
  void write(const TaskEnd& end);

 private:
  explicit Joblog(std::FILE* f) : file_(f) {}
  std::FILE* file_;
};

}  // namespace jr
