// `jr report [JOB] [--state DIR] -o report.html`: one self-contained HTML file showing where a
// job's time went (cli/views/report_html.h builds it). No network reference of any kind: it opens
// from a cluster's scratch directory, offline. Returns the process exit code.
#pragma once

#include <string>

#include "cli/views/stats_command.h"

namespace jr {

struct ReportOptions : ObserveOptions {
  std::string output = "report.html";
};

int report_command(const ReportOptions& options);

}  // namespace jr
