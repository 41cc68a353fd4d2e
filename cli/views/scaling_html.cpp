// The HTML of `jr scaling`: one self-contained page in the style of `jr report` (its stylesheet,
// inline SVG, system fonts; no reference to anything outside the file, every text escaped with
// html_escape, which spells even the letters of "http" as an entity).
//
// Two plots over -j on a log-2 axis: speedup (measured, ideal, the Amdahl fit) and efficiency
// (measured, CPU efficiency, the fit's, the 75% line), each with the knee marked; then the table
// of levels (<table id="levels">, a row per level with data-jobs, data-speedup, data-efficiency),
// and how each figure is defined.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "cli/views/figure_format.h"
#include "cli/views/report_charts.h"
#include "cli/views/report_html.h"
#include "cli/views/scaling_command.h"

namespace jr {
namespace {

constexpr double kWidth = 900, kLeft = 64, kRight = 24, kTop = 26, kHeight = 280, kAxis = 42;
constexpr double kPlotW = kWidth - kLeft - kRight;
constexpr int kCurvePoints = 160;

const char* const kScalingCss = R"css(
svg .ideal{fill:none;stroke:#8d8d8d;stroke-width:1.5;stroke-dasharray:6 4}
svg .fit{fill:none;stroke:#ef6c00;stroke-width:2}
svg .measured{fill:none;stroke:#1565c0;stroke-width:2.2}
svg .cpu{fill:none;stroke:#2e7d32;stroke-width:1.8}
svg circle.measured{fill:#1565c0;stroke:#fff;stroke-width:1.5}
svg circle.cpu{fill:#2e7d32;stroke:#fff;stroke-width:1.5}
svg .knee{stroke:#6a1b9a;stroke-width:1.5;stroke-dasharray:4 3}svg .knee-label{fill:#6a1b9a;font-weight:600}
svg .threshold{stroke:#c62828;stroke-dasharray:6 4}svg .threshold-label{fill:#c62828}
.legend .ideal{width:18px;height:0;border-top:2px dashed #8d8d8d;border-radius:0;vertical-align:3px}
.legend .fit{width:18px;height:0;border-top:2px solid #ef6c00;border-radius:0;vertical-align:3px}
.legend .measured{background:#1565c0;border-radius:50%}.legend .cpu{background:#2e7d32;border-radius:50%}
.legend .knee{width:0;height:13px;border-left:2px dashed #6a1b9a;border-radius:0}
.legend .threshold{width:18px;height:0;border-top:2px dashed #c62828;border-radius:0;vertical-align:3px}
#levels tr.knee-row td{background:#f3e9f8}
dl.defs{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dl.defs dt{font-weight:600}dl.defs dd{margin:0;color:var(--muted)}
)css";

std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// A step of 1, 2 or 5 times a power of ten that cuts [0, top] into at most 6 parts.
double tick_step(double top) {
  double raw = top / 6, power = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

// -j on a log-2 axis (a little wider than the levels, so that no point sits on the frame), and
// a linear y axis from 0 to `ymax`.
struct Frame {
  double lo, hi, ymax;
  Frame(const std::vector<ScalingLevel>& levels, double top)
      : lo(std::log2(levels.front().jobs) - 0.25), hi(std::log2(levels.back().jobs) + 0.25), ymax(top) {}
  double x(double p) const { return kLeft + (std::log2(p) - lo) / (hi - lo) * kPlotW; }
  double y(double v) const { return kTop + kHeight - std::clamp(v, 0.0, ymax) / ymax * kHeight; }
};

std::string open_svg(const Frame& f, const std::vector<ScalingLevel>& levels, const std::string& y_label,
                     const std::string& aria, bool percent_axis) {
  double bottom = kTop + kHeight;
  std::string out = "<svg class=\"chart\" viewBox=\"0 0 " + svg_number(kWidth) + " " + svg_number(bottom + kAxis) +
                    "\" role=\"img\" aria-label=\"" + html_escape(aria) + "\"><g class=\"axis\">";
  double step = tick_step(f.ymax);
  for (double v = 0; v <= f.ymax + 1e-9; v += step) {
    std::string label = percent_axis ? svg_number(v * 100) + "%" : svg_number(v);
    out += "<line class=\"grid\" x1=\"" + svg_number(kLeft - 4) + "\" x2=\"" + svg_number(kLeft + kPlotW) + "\" y1=\"" + svg_number(f.y(v)) +
           "\" y2=\"" + svg_number(f.y(v)) + "\"/><text x=\"" + svg_number(kLeft - 8) + "\" y=\"" + svg_number(f.y(v) + 4) +
           "\" text-anchor=\"end\">" + label + "</text>";
  }
  out += "<line x1=\"" + svg_number(kLeft) + "\" x2=\"" + svg_number(kLeft + kPlotW) + "\" y1=\"" + svg_number(bottom) + "\" y2=\"" +
         svg_number(bottom) + "\"/>";
  double last_label = -1e9;
  for (auto& l : levels) {
    double x = f.x(l.jobs);
    out += "<line class=\"grid\" x1=\"" + svg_number(x) + "\" x2=\"" + svg_number(x) + "\" y1=\"" + svg_number(kTop) + "\" y2=\"" +
           svg_number(bottom + 4) + "\"/>";
    if (x - last_label >= 26) {  // labels of crowded levels give way
      out += "<text x=\"" + svg_number(x) + "\" y=\"" + svg_number(bottom + 18) + "\" text-anchor=\"middle\">" +
             std::to_string(l.jobs) + "</text>";
      last_label = x;
    }
  }
  out += "<text x=\"" + svg_number(kLeft + kPlotW / 2) + "\" y=\"" + svg_number(bottom + 36) +
         "\" text-anchor=\"middle\">-j (tasks at once)</text><text x=\"" + svg_number(kLeft) + "\" y=\"14\">" +
         html_escape(y_label) + "</text></g>";
  return out;
}

// A smooth curve of `value(p)` from the first level to the last.
std::string curve(const Frame& f, const std::vector<ScalingLevel>& levels, const std::function<double(double)>& value,
                  const char* cls, const std::string& title) {
  double a = std::log2(levels.front().jobs), b = std::log2(levels.back().jobs);
  std::string d;
  for (int i = 0; i <= kCurvePoints; ++i) {
    double p = std::exp2(a + (b - a) * i / kCurvePoints);
    d += (i ? "L" : "M") + svg_number(f.x(p)) + " " + svg_number(f.y(value(p)));
  }
  return "<path class=\"" + std::string(cls) + "\" d=\"" + d + "\"><title>" + html_escape(title) + "</title></path>";
}

// The measured points, joined, each with a tooltip.
std::string points(const Frame& f, const std::vector<ScalingLevel>& levels, double ScalingLevel::*field,
                   const char* cls, const std::function<std::string(const ScalingLevel&)>& tip) {
  std::string d, dots;
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const ScalingLevel& l = levels[i];
    double x = f.x(l.jobs), y = f.y(l.*field);
    d += (i ? "L" : "M") + svg_number(x) + " " + svg_number(y);
    dots += "<circle class=\"" + std::string(cls) + "\" cx=\"" + svg_number(x) + "\" cy=\"" + svg_number(y) + "\" r=\"4.5\"><title>" +
            html_escape(tip(l)) + "</title></circle>";
  }
  return "<path class=\"" + std::string(cls) + "\" d=\"" + d + "\"/>" + dots;
}

std::string knee_marker(const Frame& f, const Knee& knee) {
  double x = f.x(knee.jobs);
  bool near_right = x > kLeft + kPlotW - 90;  // the label goes left of the line, inside the frame
  return "<line class=\"knee\" x1=\"" + svg_number(x) + "\" x2=\"" + svg_number(x) + "\" y1=\"" + svg_number(kTop - 8) + "\" y2=\"" +
         svg_number(kTop + kHeight) + "\"/><text class=\"knee-label\" x=\"" + svg_number(near_right ? x - 4 : x + 4) + "\" y=\"" +
         svg_number(kTop - 10) + "\"" + (near_right ? " text-anchor=\"end\"" : "") + ">knee -j " + std::to_string(knee.jobs) +
         "</text>";
}

std::string tip(const ScalingLevel& l) {
  return "-j " + std::to_string(l.jobs) + ": wall " + nextflow_duration(l.wall_ms) + ", speedup " + fixed(l.speedup, 2) +
         ", efficiency " + percent(l.efficiency) + ", CPU efficiency " + percent(l.cpu_efficiency);
}

std::string speedup_svg(const ScalingResult& r) {
  double top = r.levels.back().jobs;
  for (auto& l : r.levels) top = std::max(top, l.speedup);
  Frame f(r.levels, top * 1.08);
  std::string out = open_svg(f, r.levels, "speedup (wall at -j 1 / wall)", "speedup by -j", false);
  out += curve(f, r.levels, [](double p) { return p; }, "ideal", "ideal: speedup = -j");
  if (r.fit.ok) {
    out += curve(f, r.levels, [&r](double p) { return r.fit.speedup(p); }, "fit",
                 "Amdahl fit: 1 / (s + (1 - s) / p), s = " + fixed(r.fit.serial_fraction, 4));
  }
  out += points(f, r.levels, &ScalingLevel::speedup, "measured", tip);
  out += knee_marker(f, r.knee);
  return out + "</svg>";
}

std::string efficiency_svg(const ScalingResult& r) {
  double top = 1.0;
  for (auto& l : r.levels) top = std::max({top, l.efficiency, l.cpu_efficiency});
  Frame f(r.levels, top * 1.1);
  std::string out = open_svg(f, r.levels, "efficiency (speedup / -j)", "efficiency by -j", true);
  out += "<line class=\"threshold\" x1=\"" + svg_number(kLeft) + "\" x2=\"" + svg_number(kLeft + kPlotW) + "\" y1=\"" +
         svg_number(f.y(kKneeEfficiency)) + "\" y2=\"" + svg_number(f.y(kKneeEfficiency)) + "\"/><text class=\"threshold-label\" x=\"" +
         svg_number(kLeft + 6) + "\" y=\"" + svg_number(f.y(kKneeEfficiency) + 15) + "\">" +
         svg_number(kKneeEfficiency * 100) + "%: the knee's threshold</text>";
  if (r.fit.ok) {
    out += curve(f, r.levels, [&r](double p) { return r.fit.speedup(p) / p; }, "fit", "Amdahl fit: speedup / p");
  }
  out += points(f, r.levels, &ScalingLevel::cpu_efficiency, "cpu", tip);
  out += points(f, r.levels, &ScalingLevel::efficiency, "measured", tip);
  out += knee_marker(f, r.knee);
  return out + "</svg>";
}

struct Card {
  std::string label, value, field, note, raw;  // raw: the figure as a plain number, for scripts
};

std::string cards(const ScalingResult& r) {
  const ScalingLevel* best = &r.levels.front();
  for (auto& l : r.levels) {
    if (l.speedup > best->speedup) best = &l;
  }
  std::vector<Card> all;
  all.push_back({"knee: ask for", "-j " + std::to_string(r.knee.jobs), "knee", describe_knee(r.knee),
                 std::to_string(r.knee.jobs)});
  if (r.fit.ok) {
    all.push_back({"serial fraction (Amdahl)",
                   percent(r.fit.serial_fraction) + (r.fit.error ? " ± " + percent(*r.fit.error) : ""),
                   "serial_fraction",
                   r.fit.error ? "least squares over " + std::to_string(r.levels.size()) + " levels; ± one standard error"
                               : "2 levels fit exactly: no error estimate",
                   fixed(r.fit.serial_fraction, 4)});
    auto m = r.fit.max_speedup();
    all.push_back({"Amdahl's ceiling", m ? fixed(*m, 1) + "×" : "none", "max_speedup",
                   m ? "1 / s: the speedup no number of cores exceeds" : "the fit finds no serial part",
                   m ? fixed(*m, 4) : ""});
  } else {
    all.push_back({"serial fraction (Amdahl)", "no fit", "serial_fraction", "the wall times do not fall with -j", ""});
  }
  all.push_back({"best speedup measured", fixed(best->speedup, 2) + "×", "best_speedup",
                 "at -j " + std::to_string(best->jobs) + ", wall " + nextflow_duration(best->wall_ms) + " vs " +
                     nextflow_duration(r.levels.front().wall_ms) + " at -j 1",
                 fixed(best->speedup, 4)});
  std::string out = "<section class=\"cards\">";
  for (auto& c : all) {
    out += "<div class=\"card\"><div class=\"label\">" + html_escape(c.label) + "</div><div class=\"value\" data-field=\"" +
           c.field + "\" data-value=\"" + c.raw + "\">" + html_escape(c.value) + "</div><div class=\"note\">" + html_escape(c.note) + "</div></div>";
  }
  return out + "</section>";
}

std::string levels_table(const ScalingResult& r) {
  std::string out = "<table class=\"list\" id=\"levels\"><thead><tr><th class=\"num\">-j</th><th class=\"num\">wall</th>"
                    "<th class=\"num\">speedup</th><th class=\"num\">efficiency</th><th class=\"num\">CPU efficiency</th>"
                    "<th class=\"num\">Amdahl fit</th><th class=\"num\">task time</th><th class=\"num\">CPU time</th>"
                    "</tr></thead><tbody>";
  for (auto& l : r.levels) {
    out += "<tr" + std::string(l.jobs == r.knee.jobs ? " class=\"knee-row\"" : "") + " data-jobs=\"" +
           std::to_string(l.jobs) + "\" data-speedup=\"" + fixed(l.speedup, 4) + "\" data-efficiency=\"" +
           fixed(l.efficiency, 4) + "\"><td class=\"num\">" + std::to_string(l.jobs) + "</td><td class=\"num\">" +
           fixed(static_cast<double>(l.wall_ms) / 1000, 3) + "s</td><td class=\"num\">" + fixed(l.speedup, 2) +
           "</td><td class=\"num\">" + percent(l.efficiency) + "</td><td class=\"num\">" + percent(l.cpu_efficiency) +
           "</td><td class=\"num\">" + (r.fit.ok ? fixed(r.fit.speedup(l.jobs), 2) : "-") + "</td><td class=\"num\">" +
           nextflow_duration(l.task_time_ms) + "</td><td class=\"num\">" + nextflow_duration(l.cpu_time_ms) + "</td></tr>";
  }
  return out + "</tbody></table>";
}

std::string sample_text(const ScalingResult& r) {
  std::string out;
  constexpr std::size_t kShown = 40;
  for (std::size_t i = 0; i < r.sample.size() && i < kShown; ++i) out += (i ? " " : "") + std::to_string(r.sample[i]);
  if (r.sample.size() > kShown) out += " … (" + std::to_string(r.sample.size() - kShown) + " more)";
  return out;
}

}  // namespace

std::string scaling_html(const ScalingResult& r) {
  std::string title = std::to_string(r.sample.size()) + " of " + grouped(static_cast<std::int64_t>(r.tasks)) + " tasks";
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>jr scaling: " +
                    html_escape(r.command) + "</title><style>" + kReportCss + kScalingCss + "</style></head><body><main>";
  out += "<header><h1>jr scaling <span class=\"sub\">" + html_escape(title) + "</span></h1><div class=\"meta\">"
         "<div><b>command</b> <code>" + html_escape(r.command) + "</code></div><div><b>sample</b> task indices " +
         html_escape(sample_text(r)) + " · <b>seed</b> " + std::to_string(r.seed) + " · the same tasks at every level"
         "</div><div><b>written</b> " + local_timestamp(r.written_ms).substr(0, 19) + "</div></div></header>";
  out += cards(r);
  out += "<section><h2>Speedup</h2><div class=\"legend\"><span><i class=\"measured\"></i>measured</span>"
         "<span><i class=\"ideal\"></i>ideal (= -j)</span><span><i class=\"fit\"></i>Amdahl fit</span>"
         "<span><i class=\"knee\"></i>knee</span></div>" + speedup_svg(r) + "</section>";
  out += "<section><h2>Efficiency</h2><div class=\"legend\"><span><i class=\"measured\"></i>efficiency (speedup / -j)</span>"
         "<span><i class=\"cpu\"></i>CPU efficiency (CPU time / (-j × wall))</span><span><i class=\"fit\"></i>Amdahl fit"
         "</span><span><i class=\"threshold\"></i>" + svg_number(kKneeEfficiency * 100) + "%</span><span><i class=\"knee\"></i>knee"
         "</span></div>" + efficiency_svg(r) + "</section>";
  out += "<section><h2>Levels</h2>" + levels_table(r) + "</section>";
  out += "<section><h2>How these are computed</h2><dl class=\"defs\">"
         "<dt>wall</dt><dd>first task start to last task end of the sample run at that -j, in a scratch state of its own</dd>"
         "<dt>speedup</dt><dd>wall at -j 1 / wall</dd>"
         "<dt>efficiency</dt><dd>speedup / -j</dd>"
         "<dt>CPU efficiency</dt><dd>user + system CPU time / (-j × wall), as Slurm's seff</dd>"
         "<dt>Amdahl fit</dt><dd>T(p) = T1 (s + (1 - s) / p), fitted by least squares to the wall times; s is the serial "
         "fraction, ± its standard error</dd>"
         "<dt>knee</dt><dd>the level before the first whose efficiency falls below " + svg_number(kKneeEfficiency * 100) +
         "%: past it, cores are increasingly wasted</dd></dl></section>";
  out += "<footer>written by jr " JR_VERSION "</footer></main></body></html>\n";
  return out;
}

}  // namespace jr
