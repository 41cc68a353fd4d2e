// The stylesheet and script of `jr report`, inlined into every report. System fonts only and
// no URL of any kind: the page must render the same offline.
#include "cli/views/report_html.h"

namespace jr {

const char* const kReportCss = R"css(
:root{--ok:#2e7d32;--fail:#c62828;--int:#ef6c00;--cancel:#8d8d8d;--run:#1565c0;--ink:#1d2430;--muted:#5f6b7a;
--line:#dde3ea;--bg:#f5f7fa;--card:#fff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:1280px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:22px;margin:0 0 6px;display:flex;align-items:center;gap:10px;flex-wrap:wrap}
h1 .sub{color:var(--muted);font-weight:500}
h2{font-size:16px;margin:0 0 8px;display:flex;align-items:center;gap:8px}
.count{background:var(--line);border-radius:10px;padding:0 8px;font-size:12px;font-weight:600}
code{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef1f5;padding:1px 5px;
border-radius:4px;word-break:break-all}
header .meta{color:var(--muted);display:grid;gap:4px}
header .meta b{color:var(--ink);font-weight:600}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin-top:16px}
section.cards{background:none;border:0;padding:0;display:grid;grid-template-columns:repeat(4,1fr);gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.card.wide{grid-column:span 2}
.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:26px;font-weight:650;margin:2px 0}
.card .value.small{font-size:18px}
.card .note,.note{color:var(--muted);font-size:12.5px}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:4px}
.chip{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12.5px;font-weight:500;background:#e8ecf1;
white-space:nowrap}
.st-succeeded{background:#e3f2e5;color:var(--ok)}.st-failed{background:#fbe4e4;color:var(--fail)}
.st-interrupted{background:#fdeedd;color:#b35300}.st-cancelled,.st-dropped{background:#ececec;color:#555}
.st-running{background:#e1ecf9;color:var(--run)}.st-pending,.st-paused{background:#eef0f3;color:#445}
.hint{color:var(--muted);margin:0 0 6px;font-size:12.5px}
svg.chart{width:100%;height:auto;display:block;font-size:12px}
svg .axis line{stroke:#9aa5b1}svg .axis line.grid{stroke:#eceff3}svg .axis text{fill:var(--muted)}
svg .lane{fill:#f7f9fb}svg .lane-label{fill:var(--muted);font-size:11px}
svg .ok{fill:var(--ok)}svg .fail{fill:var(--fail)}svg .int{fill:var(--int)}svg .cancel{fill:var(--cancel)}
svg .run{fill:var(--run)}svg rect.ok,svg rect.fail,svg rect.int,svg rect.cancel,svg rect.run{stroke:#fff;stroke-width:1}svg rect.ok:hover,svg rect.fail:hover,svg rect.int:hover,svg rect.run:hover{opacity:.7}
svg .gap{fill:#c9cfd6;fill-opacity:.45}svg .epoch{stroke:#6a1b9a;stroke-width:1.5;stroke-dasharray:5 3}
svg .epoch-label{fill:#6a1b9a;font-weight:600}svg .int-mark{fill:var(--int)}
svg .area{fill:#1565c0;fill-opacity:.14}svg .line{fill:none;stroke:#1565c0;stroke-width:1.6}
svg .ref{stroke:#c62828;stroke-dasharray:6 4}svg .ref-label{fill:#c62828}
.legend{display:flex;flex-wrap:wrap;gap:14px;color:var(--muted);font-size:12.5px;margin-bottom:6px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.legend .ok{background:var(--ok)}.legend .fail{background:var(--fail)}.legend .int{background:var(--int)}
.legend .cancel{background:var(--cancel)}.legend .run{background:var(--run)}.legend .gap{background:#c9cfd6}
.legend .epoch{width:0;height:13px;border-left:2px dashed #6a1b9a;border-radius:0}
.legend .int-mark{width:0;height:0;border-left:6px solid transparent;border-right:6px solid transparent;
border-top:10px solid var(--int);border-radius:0;background:none}
table.list{width:100%;border-collapse:collapse;table-layout:fixed;font-size:13px}
table.list th{text-align:left;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line);padding:6px 8px;
white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
table.list td{border-bottom:1px solid var(--line);padding:5px 8px;white-space:nowrap;overflow:hidden;
text-overflow:ellipsis}
table.list td.num,table.list th.num{text-align:right;font-variant-numeric:tabular-nums}
table.list td.cmd{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
table.list th{width:96px}table.list th.cmd{width:auto}table.list th.state{width:116px}
#tasks th{cursor:pointer;user-select:none}#tasks th:hover{color:var(--ink)}
#tasks th.asc::after{content:" ▲"}#tasks th.desc::after{content:" ▼"}
.failure{border-top:1px solid var(--line);padding:10px 0}.failure:first-of-type{border-top:0}
.failure .head{display:flex;align-items:baseline;gap:8px;min-width:0}
.failure .head code{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;word-break:normal;min-width:0;flex:1}
pre.tail{background:#1e2430;color:#e8ecf1;border-radius:6px;padding:8px 10px;margin:6px 0;font-size:12px;
overflow-x:auto;white-space:pre-wrap}
.controls{display:flex;gap:10px;align-items:center;margin-bottom:8px;flex-wrap:wrap}
.controls input{flex:1;min-width:220px;padding:6px 9px;border:1px solid #c5ced8;border-radius:6px;font:inherit}
.controls select{padding:6px;border:1px solid #c5ced8;border-radius:6px;font:inherit;background:#fff}
#shown{color:var(--muted)}
.scroller{max-height:70vh;overflow:auto;border:1px solid var(--line);border-radius:6px}
#tasks thead th{position:sticky;top:0;background:var(--card);z-index:1}
#tasks tr.spacer td{padding:0;border:0}
.empty{color:var(--muted);margin:0}
footer{color:var(--muted);font-size:12px;margin-top:18px;text-align:center}
@media (max-width:900px){section.cards{grid-template-columns:repeat(2,1fr)}}
@media (max-width:560px){section.cards{grid-template-columns:1fr}.card.wide{grid-column:span 1}main{padding:12px}}
)css";

const char* const kReportJs = R"js(
(function () {
  'use strict';
  // Read once, then dropped from the document: kept, its megabytes of text would stay in the
  // DOM for nothing (and be written out by anything that serialises the page).
  var source = document.getElementById('jr-tasks');
  var data = JSON.parse(source.textContent);
  source.remove();
  var STATES = ['pending', 'running', 'succeeded', 'failed', 'interrupted', 'cancelled', 'dropped'];
  var SIGNALS = {1: 'HUP', 2: 'INT', 3: 'QUIT', 4: 'ILL', 6: 'ABRT', 7: 'BUS', 8: 'FPE', 9: 'KILL', 11: 'SEGV',
                 13: 'PIPE', 14: 'ALRM', 15: 'TERM', 24: 'XCPU', 25: 'XFSZ'};
  var n = data.state.length;
  var index = new Array(n);
  for (var i = 0, at = 0; i < n; i++) { at += data.index[i]; index[i] = at; }
  var commands = new Array(n);
  var refParts = data.ref.map(function (w) { return data.words[w]; });
  function command(i) {
    if (commands[i] !== undefined) return commands[i];
    var c = data.cmd[i], s = '';
    if (c.length && c[0] === -1) {
      for (var k = 1; k < c.length; k++) s += data.words[c[k]];
    } else {
      var parts = refParts.slice();
      for (var k2 = 0; k2 < c.length; k2++) {
        var v = c[k2];
        parts[data.slots[k2]] = data.affix[k2][0] + (typeof v === 'string' ? v : data.words[v]) + data.affix[k2][1];
      }
      s = parts.join('');
    }
    return (commands[i] = s);
  }
  function duration(ms) {
    if (ms < 1000) return ms + 'ms';
    if (ms < 60000) return (Math.round(ms / 100) / 10).toFixed(1) + 's';
    var s = Math.round(ms / 1000), out = [];
    var d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    s = s % 60;
    if (d) out.push(d + 'd'); if (h) out.push(h + 'h'); if (m) out.push(m + 'm'); if (s) out.push(s + 's');
    return out.join(' ');
  }
  function size(kb) {
    if (!kb) return '-';
    var v = kb * 1024, u = 0, units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    while (v >= 1024 && u < 4) { v /= 1024; u++; }
    return (u ? v.toFixed(1) : v.toFixed(0)) + ' ' + units[u];
  }
  function escape(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c];
    });
  }
  function count(v) { return v.toLocaleString('en-US'); }
  function cpu(i) { return data.run[i] > 0 ? data.cpu[i] / data.run[i] * 100 : -1; }
  var columns = [
    {name: 'index', num: true, width: 80, key: function (i) { return index[i]; }, show: function (i) { return index[i]; }},
    {name: 'state', key: function (i) { return STATES[data.state[i]] || ''; },
     show: function (i) { var s = STATES[data.state[i]] || '?'; return '<span class="chip st-' + s + '">' + s + '</span>'; }},
    {name: 'attempts', num: true, key: function (i) { return data.attempts[i]; }, show: function (i) { return data.attempts[i]; }},
    {name: 'exit', num: true, width: 80, key: function (i) { var e = data.exit[i]; return e === null ? -1e9 : e; },
     show: function (i) {
       var e = data.exit[i];
       if (e === null) return '-';
       return e < 0 ? 'SIG' + (SIGNALS[-e] || -e) : String(e);
     }},
    {name: 'time', num: true, key: function (i) { return data.run[i]; }, show: function (i) { return data.attempts[i] ? duration(data.run[i]) : '-'; }},
    {name: 'CPU', num: true, width: 80, key: cpu, show: function (i) { var c = cpu(i); return c < 0 ? '-' : c.toFixed(1) + '%'; }},
    {name: 'peak RSS', num: true, key: function (i) { return data.rss[i]; }, show: function (i) { return size(data.rss[i]); }},
    {name: 'checkpoints', num: true, width: 112, key: function (i) { return data.ckpt[i]; }, show: function (i) { return data.ckpt[i]; }},
    {name: 'command', cmd: true, key: command, show: function (i) { return escape(command(i)); }, title: true}
  ];
  var table = document.getElementById('tasks');
  var head = table.tHead.rows[0], body = table.tBodies[0];
  var scroller = document.getElementById('scroller');
  var filter = document.getElementById('filter'), stateFilter = document.getElementById('state-filter');
  var shown = document.getElementById('shown');
  var sortColumn = 0, ascending = true, rows = [];
  // Rows are built a block at a time as they scroll into view: the blocks in view and one on
  // each side, between two spacers as tall as the rows they stand for.
  var BLOCK = 50, rowHeight = 30, builtFrom = -1, builtTo = -1;
  columns.forEach(function (c, k) {
    var th = document.createElement('th');
    th.textContent = c.name;
    th.className = c.num ? 'num' : c.cmd ? 'cmd' : c.name;
    if (c.width) th.style.width = c.width + 'px';
    th.title = 'sort by ' + c.name;
    th.addEventListener('click', function () {
      if (sortColumn === k) ascending = !ascending; else { sortColumn = k; ascending = !c.num || k === 0; }
      update();
    });
    head.appendChild(th);
  });
  var stateCounts = [];
  for (var i = 0; i < n; i++) stateCounts[data.state[i]] = (stateCounts[data.state[i]] || 0) + 1;
  STATES.forEach(function (s, k) {
    if (!stateCounts[k]) return;
    var o = document.createElement('option');
    o.value = String(k);
    o.textContent = s + ' (' + stateCounts[k].toLocaleString('en-US') + ')';
    stateFilter.appendChild(o);
  });
  function update() {
    var text = filter.value.trim().toLowerCase(), state = stateFilter.value;
    var wantIndex = /^\d+$/.test(text) ? Number(text) : -1;
    rows = [];
    for (var i = 0; i < n; i++) {
      if (state !== '' && data.state[i] !== Number(state)) continue;
      if (text && index[i] !== wantIndex && command(i).toLowerCase().indexOf(text) < 0) continue;
      rows.push(i);
    }
    // The data is in index order: the first view needs no sort.
    if (sortColumn !== 0 || !ascending) {
      var key = columns[sortColumn].key, sign = ascending ? 1 : -1;
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        return (x < y ? -1 : x > y ? 1 : index[a] - index[b]) * sign;
      });
    }
    Array.prototype.forEach.call(head.cells, function (th, k) {
      th.classList.toggle('asc', k === sortColumn && ascending);
      th.classList.toggle('desc', k === sortColumn && !ascending);
    });
    shown.textContent = rows.length === n ? count(n) + ' tasks' : count(rows.length) + ' of ' + count(n) + ' tasks';
    scroller.scrollTop = 0;
    builtFrom = builtTo = -1;
    render();
  }
  function spacer(rowsTall) {
    return rowsTall ? '<tr class="spacer"><td colspan="' + columns.length + '" style="height:' + rowsTall * rowHeight +
                      'px"></td></tr>' : '';
  }
  function render() {
    var top = Math.floor(scroller.scrollTop / rowHeight / BLOCK);
    var bottom = Math.floor((scroller.scrollTop + (scroller.clientHeight || 600)) / rowHeight / BLOCK);
    var from = Math.max(0, top - 1) * BLOCK, to = Math.min(rows.length, (bottom + 2) * BLOCK);
    if (from === builtFrom && to === builtTo) return;
    builtFrom = from;
    builtTo = to;
    var html = spacer(from);
    for (var r = from; r < to; r++) {
      var i = rows[r];
      html += '<tr>';
      for (var k = 0; k < columns.length; k++) {
        var c = columns[k];
        html += '<td class="' + (c.num ? 'num' : c.cmd ? 'cmd' : '') + '"' +
                (c.title ? ' title="' + escape(command(i)) + '"' : '') + '>' + c.show(i) + '</td>';
      }
      html += '</tr>';
    }
    html += spacer(rows.length - to);
    body.innerHTML = html;
    if (!rows.length) body.innerHTML = '<tr class="spacer"><td colspan="' + columns.length + '">no task matches</td></tr>';
    // The spacers stand for rows as tall as the ones just built.
    var built = body.rows[from ? 1 : 0];
    var measured = built && to > from ? built.getBoundingClientRect().height : 0;
    if (measured > 0 && Math.abs(measured - rowHeight) > 0.01) {
      rowHeight = measured;
      builtFrom = builtTo = -1;
      render();
    }
  }
  var timer = null, frame = false;
  filter.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(update, 150); });
  stateFilter.addEventListener('change', update);
  scroller.addEventListener('scroll', function () {
    if (frame) return;
    frame = true;
    requestAnimationFrame(function () { frame = false; render(); });
  });
  update();
})();
)js";

}  // namespace jr
