// The HTML of `jr report`: one self-contained page (inline CSS, JS and SVG; no reference to
// anything outside the file, and not even the letters of one: see html_escape).
//
// Its parts: the summary figures (each element carries data-stat="<field of jr stats --json>"
// and data-value="<that field's JSON value>", so a test or a script can check the page against
// `jr stats --json`), the task stream, tasks running and CPU use over time, the longest tasks,
// the failures with their log tails, and a table of every task. The table's data is one
// compact, columnar JSON document in <script type="application/json" id="jr-tasks">, so a job
// of 100,000 tasks stays a few MB; the page's script builds the rows in blocks of 50 as they
// scroll into view (a spacer stands for the rest), so opening it costs the same at any size.
#pragma once

#include <string>
#include <vector>

#include "cli/views/report_charts.h"
#include "cli/views/run_facts.h"

namespace jr {

std::string report_html(const RunFacts& facts, const std::vector<CpuSample>& samples);

// The task table's data (see report_assets.cpp for the reader): commands stored as a token
// table plus, per task, only the tokens that differ from the first task's command.
std::string task_table_json(const RunFacts& facts);

// The page's stylesheet and script (report_assets.cpp).
extern const char* const kReportCss;
extern const char* const kReportJs;

}  // namespace jr
