// The pure parts of jr progress, stats, trace and report: parsing a fraction, Nextflow's
// duration and memory forms, log tails, percentiles, escaping and the task table's encoding.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/views/figure_format.h"
#include "cli/task/progress_command.h"
#include "cli/views/report_charts.h"
#include "cli/views/report_html.h"
#include "cli/views/run_facts.h"
#include "tests/integration/harness.h"

namespace jr {
namespace {

TEST(ParseFraction, AcceptsZeroToOneAndNOverM) {
  EXPECT_DOUBLE_EQ(*parse_fraction("0"), 0.0);
  EXPECT_DOUBLE_EQ(*parse_fraction("1"), 1.0);
  EXPECT_DOUBLE_EQ(*parse_fraction("0.25"), 0.25);
  EXPECT_DOUBLE_EQ(*parse_fraction("3/4"), 0.75);
  EXPECT_DOUBLE_EQ(*parse_fraction("0/7"), 0.0);
  EXPECT_DOUBLE_EQ(*parse_fraction("2.5/10"), 0.25);
  for (const char* bad : {"", "1.01", "-0.1", "x", "1/", "/2", "3/2", "1/0", " 0.5", "0.5 ", "inf", "nan", "1/2/3"}) {
    auto r = parse_fraction(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::Usage);
  }
}

TEST(FigureFormat, NextflowDurationsAndMemory) {
  EXPECT_EQ(nextflow_duration(0), "0ms");
  EXPECT_EQ(nextflow_duration(450), "450ms");
  EXPECT_EQ(nextflow_duration(1234), "1.2s");
  EXPECT_EQ(nextflow_duration(59'940), "59.9s");
  EXPECT_EQ(nextflow_duration(64'000), "1m 4s");
  EXPECT_EQ(nextflow_duration(3'725'000), "1h 2m 5s");
  EXPECT_EQ(nextflow_duration(90'000'000), "1d 1h");
  EXPECT_EQ(nextflow_memory(512), "512 B");
  EXPECT_EQ(nextflow_memory(1536), "1.5 KB");
  EXPECT_EQ(nextflow_memory(4 * 1024 * 1024), "4 MB");
  EXPECT_EQ(local_timestamp(1'000'123).size(), 23u);
  EXPECT_EQ(local_timestamp(1'000'123).substr(19), ".123");
  EXPECT_EQ(axis_label(0), "0");
  EXPECT_EQ(axis_label(90'000), "1m 30s");
  EXPECT_EQ(axis_label(7'200'000), "2h");
}

TEST(RunFactsHelpers, TailAndPercentile) {
  test::TempDir dir;
  test::write_file(dir / "log", "a\nb\nc\nd\ne\nf\ng\n\n");
  EXPECT_EQ(tail_lines(dir / "log", 3), (std::vector<std::string>{"e", "f", "g"}));
  EXPECT_EQ(tail_lines(dir / "log", 10).size(), 7u);
  EXPECT_TRUE(tail_lines(dir / "missing", 3).empty());
  std::vector<std::int64_t> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 0.5), 50);
  EXPECT_EQ(percentile(v, 0.95), 95);
  EXPECT_EQ(percentile({7}, 0.95), 7);
  EXPECT_EQ(percentile({}, 0.5), 0);
}

TEST(ReportHtml, EscapingLeavesNoMarkupAndNoHttp) {
  EXPECT_EQ(html_escape("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  std::string url = html_escape("curl HTTPS://example.org http://x");
  EXPECT_EQ(url.find("http"), std::string::npos);
  EXPECT_EQ(url.find("HTTP"), std::string::npos);
  EXPECT_NE(url.find("h&#116;tp://x"), std::string::npos);
}

// Decodes the table's commands as the page's script does, to check that they come back whole.
std::vector<std::string> decode_commands(const nlohmann::json& doc) {
  std::vector<std::string> out;
  for (auto& c : doc["cmd"]) {
    std::string s;
    if (!c.empty() && c[0] == -1) {
      for (std::size_t k = 1; k < c.size(); ++k) s += doc["words"][c[k].get<std::size_t>()].get<std::string>();
    } else {
      std::vector<std::string> parts;
      for (auto& w : doc["ref"]) parts.push_back(doc["words"][w.get<std::size_t>()].get<std::string>());
      for (std::size_t k = 0; k < c.size(); ++k) {
        std::string middle = c[k].is_string() ? c[k].get<std::string>() : doc["words"][c[k].get<std::size_t>()].get<std::string>();
        parts[doc["slots"][k].get<std::size_t>()] = doc["affix"][k][0].get<std::string>() + middle + doc["affix"][k][1].get<std::string>();
      }
      for (auto& p : parts) s += p;
    }
    out.push_back(s);
  }
  return out;
}

TEST(ReportHtml, TaskTableStoresOnlyWhatDiffersBetweenCommands) {
  RunFacts f;
  std::vector<std::string> commands = {"sh  -c 'work in/a1.txt && echo 1' sh", "sh  -c 'work in/a2.txt && echo 2' sh",
                                       "other  command", "sh  -c 'work in/a</script>.txt && echo 2' sh",
                                       "sh  -c 'work in/é.txt && echo 5' sh", "sh  -c 'work in/a1.txt && echo \xff' sh"};
  for (std::size_t i = 0; i < commands.size(); ++i) {
    TaskFact t;
    t.index = static_cast<std::int64_t>(i);
    t.command = commands[i];
    f.tasks.push_back(t);
  }
  std::string text = task_table_json(f);
  EXPECT_EQ(text.find("</script>"), std::string::npos);
  auto doc = nlohmann::json::parse(text);
  auto decoded = decode_commands(doc);
  commands.back() = "sh  -c 'work in/a1.txt && echo \xef\xbf\xbd' sh";  // not UTF-8: U+FFFD in its place
  EXPECT_EQ(decoded, commands);
  EXPECT_EQ(doc["slots"].size(), 2u);  // the file and the echoed word vary; the rest is shared
  EXPECT_EQ(doc["affix"][0], nlohmann::json::array({"in/", ".txt "}));  // the shared directory and extension
  EXPECT_EQ(doc["index"], nlohmann::json::array({0, 1, 1, 1, 1, 1}));
}

}  // namespace
}  // namespace jr
