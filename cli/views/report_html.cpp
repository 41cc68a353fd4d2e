#include "cli/views/report_html.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>

#include "base/signals.h"
#include "cli/views/figure_format.h"

namespace jr {
namespace {

using json = nlohmann::ordered_json;

constexpr std::size_t kChartPoints = 400;

// JSON made safe inside <script>: no "<" (so no "</script>"), and "http" spelled with an escape.
std::string script_safe(const std::string& dumped) {
  std::string out;
  out.reserve(dumped.size());
  auto lower = [&dumped](std::size_t k) {
    return k < dumped.size() ? std::tolower(static_cast<unsigned char>(dumped[k])) : 0;
  };
  for (std::size_t i = 0; i < dumped.size(); ++i) {
    char c = dumped[i];
    if (c == '<') out += "\\u003c";
    else if ((c == 't' || c == 'T') && i > 0 && lower(i - 1) == 'h' && lower(i + 1) == 't' && lower(i + 2) == 'p')
      out += c == 't' ? "\\u0074" : "\\u0054";
    else out += c;
  }
  return out;
}

// A JSON string; bytes that are not UTF-8 (a command may hold any) become U+FFFD.
std::string quoted(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// A command cut into tokens that each keep their trailing blanks: joined, they give it back.
std::vector<std::string_view> tokens(const std::string& text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    while (j < text.size() && std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    out.push_back(std::string_view(text).substr(i, j - i));
    i = j;
  }
  return out;
}

std::string how_it_ended(const std::optional<int>& exit_code, const std::optional<int>& signal) {
  if (signal) return "signal " + signal_name(*signal);
  if (exit_code) return "exit " + std::to_string(*exit_code);
  return "-";
}

// One figure of the summary: a big value, a label and a line below it.
struct Card {
  std::string label, value, stat, stat_value, note;
};

std::string stat_attrs(const std::string& stat, const std::string& value) {
  return " data-stat=\"" + stat + "\" data-value=\"" + html_escape(value) + "\"";
}

std::string summary(const RunFacts& f, const json& stats) {
  auto dump = [&stats](const char* key) { return stats[key].dump(); };
  // Ratios are shown from the figures `jr stats --json` gives (rounded), never from the raw
  // ones: 2.83498 and its rounding 2.835 print differently to two places.
  auto ratio = [&stats](const char* key) { return stats[key].get<double>(); };
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f×", ratio("speedup"));
  std::string speedup = buf;
  // "13:41:22 → 13:41:32", with the dates when the span crosses midnight.
  std::string from = local_timestamp(f.start_ms).substr(0, 19), to = local_timestamp(f.end_ms).substr(0, 19);
  bool same_day = from.compare(0, 10, to, 0, 10) == 0;
  std::string wall_note = (same_day ? from.substr(11) : from) + " → " +
                          (f.running ? std::string("now (running)") : same_day ? to.substr(11) : to);
  if (f.between_runs_ms >= 1000) wall_note += ", incl. " + nextflow_duration(f.between_runs_ms) + " with no engine running";
  std::vector<Card> cards = {
      {"wall time", nextflow_duration(f.wall_ms), "wall_ms", dump("wall_ms"), wall_note},
      {"speedup", speedup, "speedup", dump("speedup"),
       "task time " + nextflow_duration(f.task_time_ms) + " / wall " + nextflow_duration(f.wall_ms)},
      {"parallel efficiency", percent(ratio("parallel_efficiency")), "parallel_efficiency", dump("parallel_efficiency"),
       "speedup / -j " + std::to_string(f.parallelism)},
      {"CPU efficiency", percent(ratio("cpu_efficiency")), "cpu_efficiency", dump("cpu_efficiency"),
       "CPU time " + nextflow_duration(f.cpu_time_ms) + " / (" + std::to_string(f.parallelism) + " × wall)"},
      {"attempts", grouped(static_cast<std::int64_t>(f.attempts.size())), "attempts", dump("attempts"),
       "retries and resumes included"},
      {"interruptions", grouped(f.interruptions), "interruptions", dump("interruptions"),
       "attempts stopped by preemption or shutdown"},
      {"resumes", std::to_string(f.resumes), "resumes", dump("resumes"),
       std::to_string(f.epochs.size()) + (f.epochs.size() == 1 ? " engine run" : " engine runs")},
      {"checkpoints saved", grouped(f.checkpoints), "checkpoints", dump("checkpoints"), "over all attempts"},
  };
  std::string out = "<section class=\"cards\">";
  // Tasks by final state: the first card, with one chip per state that has tasks.
  out += "<div class=\"card wide\"><div class=\"label\">tasks</div><div class=\"value\"" +
         stat_attrs("tasks.total", std::to_string(f.total)) + ">" + grouped(f.total) + "</div><div class=\"chips\">";
  for (int s = 0; s < kTaskStateCount; ++s) {
    std::int64_t n = f.counts[static_cast<std::size_t>(s)];
    if (n == 0) continue;
    std::string name(to_string(static_cast<TaskState>(s)));
    out += "<span class=\"chip st-" + name + "\"><b" + stat_attrs("tasks." + name, std::to_string(n)) + ">" +
           grouped(n) + "</b> " + name + "</span>";
  }
  out += "</div></div>";
  for (auto& c : cards) {
    out += "<div class=\"card\"><div class=\"label\">" + html_escape(c.label) + "</div><div class=\"value\"" +
           stat_attrs(c.stat, c.stat_value) + ">" + html_escape(c.value) + "</div><div class=\"note\">" +
           html_escape(c.note) + "</div></div>";
  }
  out += "<div class=\"card wide\"><div class=\"label\">peak memory (RSS) per task</div>";
  if (f.rss_tasks == 0) {
    out += "<div class=\"value\">not measured</div>";
  } else {
    auto& rss = stats["peak_rss_kb"];
    out += "<div class=\"value small\">median <span" + stat_attrs("peak_rss_kb.median", rss["median"].dump()) + ">" +
           kib(f.rss_median_kb) + "</span> · p95 <span" + stat_attrs("peak_rss_kb.p95", rss["p95"].dump()) + ">" +
           kib(f.rss_p95_kb) + "</span> · max <span" + stat_attrs("peak_rss_kb.max", rss["max"].dump()) + ">" +
           kib(f.rss_max_kb) + "</span></div><div class=\"note\">over " + std::to_string(f.rss_tasks) +
           " tasks: request the p95 or the max from the scheduler</div>";
  }
  return out + "</div></section>";
}

std::string longest_table(const RunFacts& f) {
  if (f.longest.empty()) return "<p class=\"empty\">No task has run yet.</p>";
  std::string out = "<table class=\"list\"><thead><tr><th class=\"num\">index</th><th class=\"num\">time</th>"
                    "<th class=\"num\">attempts</th><th class=\"state\">state</th><th class=\"num\">peak RSS</th>"
                    "<th class=\"cmd\">command</th></tr></thead><tbody>";
  for (auto i : f.longest) {
    const TaskFact& t = f.tasks[i];
    std::string state(to_string(t.state));
    out += "<tr><td class=\"num\">" + std::to_string(t.index) + "</td><td class=\"num\">" + nextflow_duration(t.run_ms) +
           "</td><td class=\"num\">" + std::to_string(t.attempts) + "</td><td><span class=\"chip st-" + state + "\">" +
           state + "</span></td><td class=\"num\">" + kib(t.peak_rss_kb) + "</td><td class=\"cmd\" title=\"" +
           html_escape(t.command) + "\">" + html_escape(t.command) + "</td></tr>";
  }
  return out + "</tbody></table>";
}

std::string failures_list(const RunFacts& f) {
  if (f.failures_total == 0) return "<p class=\"empty\">No task failed.</p>";
  std::string out;
  if (static_cast<std::int64_t>(f.failures.size()) < f.failures_total) {
    out += "<p>The first " + std::to_string(f.failures.size()) + " of " + std::to_string(f.failures_total) +
           " failed tasks; <code>jr stats</code> and the task table below list them all.</p>";
  }
  for (auto& fail : f.failures) {
    const TaskFact& t = f.tasks[fail.task_pos];
    out += "<div class=\"failure\"><div class=\"head\"><span class=\"chip st-failed\">task " + std::to_string(t.index) +
           "</span> <b>" + html_escape(how_it_ended(t.exit_code, t.signal)) + "</b> after " + std::to_string(t.attempts) +
           (t.attempts == 1 ? " attempt" : " attempts") + " <code class=\"cmd\" title=\"" + html_escape(t.command) +
           "\">" + html_escape(t.command) + "</code></div>";
    if (fail.stderr_tail.empty()) {
      out += "<div class=\"note\">stderr is empty</div>";
    } else {
      out += "<pre class=\"tail\">";
      for (auto& line : fail.stderr_tail) out += html_escape(line) + "\n";
      out += "</pre>";
    }
    out += fail.stderr_path.empty() ? std::string("</div>") : "<div class=\"note\">" + html_escape(fail.stderr_path) + "</div></div>";
  }
  return out;
}

std::string legend() {
  return "<div class=\"legend\"><span><i class=\"ok\"></i>succeeded</span><span><i class=\"fail\"></i>failed</span>"
         "<span><i class=\"int\"></i>interrupted</span><span><i class=\"cancel\"></i>cancelled</span>"
         "<span><i class=\"run\"></i>running</span><span><i class=\"gap\"></i>no engine running</span>"
         "<span><i class=\"epoch\"></i>engine restart (resume)</span><span><i class=\"int-mark\"></i>interruption</span></div>";
}

}  // namespace

std::string task_table_json(const RunFacts& f) {
  // Written by hand rather than through json objects: at 100,000 tasks this is most of the
  // report's time, and most values are plain integers.
  std::unordered_map<std::string_view, std::int64_t> ids;
  std::string words = "[";
  auto word = [&](std::string_view w) {
    auto [it, added] = ids.emplace(w, static_cast<std::int64_t>(ids.size()));
    if (added) words += (it->second ? "," : "") + quoted(w);
    return it->second;
  };
  std::vector<std::vector<std::string_view>> toks;
  toks.reserve(f.tasks.size());
  for (auto& t : f.tasks) toks.push_back(tokens(t.command));
  const std::vector<std::string_view> empty;
  const auto& ref = toks.empty() ? empty : toks.front();
  // Where commands of the first one's shape differ, and what their values there share in front
  // and behind (a directory, an extension), so that only the middles are stored.
  std::vector<bool> varies(ref.size(), false);
  std::vector<std::string_view> front(ref), back(ref);
  std::vector<std::size_t> shortest(ref.size(), SIZE_MAX);
  for (auto& tk : toks) {
    if (tk.size() != ref.size()) continue;
    for (std::size_t i = 0; i < tk.size(); ++i) {
      varies[i] = varies[i] || tk[i] != ref[i];
      front[i] = front[i].substr(0, std::mismatch(front[i].begin(), front[i].end(), tk[i].begin(), tk[i].end()).first - front[i].begin());
      auto r = std::mismatch(back[i].rbegin(), back[i].rend(), tk[i].rbegin(), tk[i].rend()).first - back[i].rbegin();
      back[i] = back[i].substr(back[i].size() - static_cast<std::size_t>(r));
      shortest[i] = std::min(shortest[i], tk[i].size());
    }
  }
  std::string ref_ids, slots, affix;
  std::vector<std::size_t> varying;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    ref_ids += (i ? "," : "") + std::to_string(word(ref[i]));
    if (!varies[i]) continue;
    // Cut only between ASCII bytes, so every stored piece stays valid UTF-8, and never let the
    // two overlap in the shortest value.
    while (!front[i].empty() && static_cast<unsigned char>(front[i].back()) >= 0x80) front[i].remove_suffix(1);
    back[i] = back[i].substr(back[i].size() - std::min(back[i].size(), shortest[i] - front[i].size()));
    while (!back[i].empty() && static_cast<unsigned char>(back[i].front()) >= 0x80) back[i].remove_prefix(1);
    slots += (slots.empty() ? "" : ",") + std::to_string(i);
    affix += std::string(affix.empty() ? "" : ",") + "[" + quoted(front[i]) + "," + quoted(back[i]) + "]";
    varying.push_back(i);
  }
  // A middle that occurs once is written in place; one that repeats, once in the word table.
  auto middle = [&](std::size_t i, std::string_view v) { return v.substr(front[i].size(), v.size() - front[i].size() - back[i].size()); };
  std::unordered_map<std::string_view, int> seen;
  for (auto& tk : toks) {
    if (tk.size() != ref.size()) continue;
    for (auto i : varying) ++seen[middle(i, tk[i])];
  }
  std::string index, state, attempts, exit, run, cpu, rss, ckpt, cmd;
  std::int64_t previous = 0;
  for (std::size_t k = 0; k < f.tasks.size(); ++k) {
    const TaskFact& t = f.tasks[k];
    const char* sep = k ? "," : "";
    index += sep + std::to_string(t.index - previous);  // deltas: mostly 1, two bytes a task
    previous = t.index;
    state += sep + std::to_string(static_cast<int>(t.state));
    attempts += sep + std::to_string(t.attempts);
    exit += sep + (t.signal ? std::to_string(-*t.signal) : t.exit_code ? std::to_string(*t.exit_code) : "null");
    run += sep + std::to_string(t.run_ms);
    cpu += sep + std::to_string(t.cpu_ms);
    rss += sep + std::to_string(t.peak_rss_kb);
    ckpt += sep + std::to_string(t.checkpoints);
    cmd += sep;
    cmd += '[';
    if (toks[k].size() == ref.size()) {
      for (std::size_t n = 0; n < varying.size(); ++n) {
        auto m = middle(varying[n], toks[k][varying[n]]);
        cmd += (n ? "," : "") + (seen[m] > 1 ? std::to_string(word(m)) : quoted(m));
      }
    } else {
      cmd += "-1";  // a command of another shape: all its tokens
      for (auto w : toks[k]) cmd += "," + std::to_string(word(w));
    }
    cmd += ']';
  }
  words += "]";
  std::string doc = "{\"index\":[" + index + "],\"state\":[" + state + "],\"attempts\":[" + attempts +
                    "],\"exit\":[" + exit + "],\"run\":[" + run + "],\"cpu\":[" + cpu + "],\"rss\":[" + rss +
                    "],\"ckpt\":[" + ckpt + "],\"words\":" + words + ",\"ref\":[" + ref_ids + "],\"slots\":[" +
                    slots + "],\"affix\":[" + affix + "],\"cmd\":[" + cmd + "]}";
  return script_safe(doc);
}

std::string report_html(const RunFacts& f, const std::vector<CpuSample>& samples) {
  json stats = stats_json(f);
  std::string title = "job " + std::to_string(f.job.id) + (f.job.name.empty() ? "" : " · " + f.job.name);
  std::string command;
  for (auto& w : f.job.spec.command) command += (command.empty() ? "" : " ") + w;
  std::string out;
  out.reserve(1 << 20);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>jr report: " +
         html_escape(title) + "</title><style>" + kReportCss + "</style></head><body><main>";
  out += "<header><h1>jr report <span class=\"sub\">" + html_escape(title) + "</span> <span class=\"chip st-" +
         html_escape(f.job_state) + "\"" + stat_attrs("job.state", stats["job"]["state"].dump()) + ">" +
         html_escape(f.job_state) + "</span></h1><div class=\"meta\"><div><b>command</b> <code>" +
         html_escape(command.empty() ? "(one shell line per task, from --tasks)" : command) +
         "</code></div><div><b>state</b> <code>" + html_escape(f.state_dir.string()) + "</code> · <b>-j</b> " +
         std::to_string(f.parallelism) + " · <b>written</b> " + local_timestamp(f.now_ms).substr(0, 19) +
         "</div></div></header>";
  out += summary(f, stats);
  out += "<section><h2>Task stream</h2><p class=\"hint\">One lane per worker slot, one bar per attempt; "
         "hover a bar for its task.</p>" + legend() + task_stream_svg(f) + "</section>";
  out += "<section class=\"pair\"><div><h2>Tasks running over time</h2>" +
         series_svg(f, running_series(f, kChartPoints), "tasks running", f.parallelism, "-j " + std::to_string(f.parallelism)) +
         "</div><div><h2>CPU use over time</h2>" +
         series_svg(f, cpu_series(f, samples, kChartPoints), "cores busy", f.parallelism, std::to_string(f.parallelism) + " cores (-j)") +
         "</div></section>";
  out += "<section><h2>Longest tasks</h2>" + longest_table(f) + "</section>";
  out += "<section><h2>Failures <span class=\"count\">" + grouped(f.failures_total) + "</span></h2>" +
         failures_list(f) + "</section>";
  out += "<section><h2>All tasks <span class=\"count\">" + grouped(static_cast<std::int64_t>(f.tasks.size())) +
         "</span></h2><div class=\"controls\"><input id=\"filter\" type=\"search\" placeholder=\"filter: text in the "
         "command, or an index\" aria-label=\"filter\"><select id=\"state-filter\" aria-label=\"state\"><option "
         "value=\"\">every state</option></select><span id=\"shown\"></span></div><div class=\"scroller\" "
         "id=\"scroller\" tabindex=\"0\"><table class=\"list\" id=\"tasks\"><thead><tr></tr></thead><tbody></tbody>"
         "</table></div></section>";
  out += "<footer>written by jr " JR_VERSION " from " + html_escape(f.state_dir.string()) + "</footer></main>";
  out += "<script type=\"application/json\" id=\"jr-tasks\">" + task_table_json(f) + "</script>";
  out += "<script>" + std::string(kReportJs) + "</script></body></html>\n";
  return out;
}

}  // namespace jr
