#!/usr/bin/python3
"""jr report, seen as a person sees it: a real job (with a failure and an interruption) is
written to report.html, which must refer to nothing outside itself, and rendered in headless
Chromium; the figures in the rendered page must equal `jr stats --json`. The screenshot is kept
under build/test-artifacts/report/ (its path is printed).

    JR_BUILD_DIR=build /usr/bin/python3 tests/integration/report_test.py [ReportTest]

Needs Debian's chromium (scripts/setup optional); the rendering tests skip without it.
"""

import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from jrd_process import main  # noqa: E402
from observe_job import Job, artifact_dir, jr_binary  # noqa: E402


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def run_chromium(*args):
    """Headless Chromium with nothing that reaches out (no sync, updates or background fetches)."""
    profile = tempfile.mkdtemp(prefix="jr-chromium-")
    try:
        return subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             *args], capture_output=True, text=True, timeout=600)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class StatCollector(html.parser.HTMLParser):
    """Every element with data-stat: its field, its data-value and the text shown in it."""

    def __init__(self):
        super().__init__()
        self.stats = {}
        self.open = []  # [field, depth, text] of data-stat elements being read
        self.depth = 0
        self.task_rows = 0
        self.in_tasks_body = False

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in self.VOID:
            return
        self.depth += 1
        if "data-stat" in a:
            self.stats[a["data-stat"]] = {"value": json.loads(a["data-value"]), "text": ""}
            self.open.append([a["data-stat"], self.depth])
        if tag == "table" and a.get("id") == "tasks":
            self.in_tasks_body = True
        if tag == "tr" and self.in_tasks_body:
            self.task_rows += 1

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if self.open and self.open[-1][1] == self.depth:
            self.open.pop()
        if tag == "table":
            self.in_tasks_body = False
        self.depth -= 1

    def handle_data(self, data):
        for field, _ in self.open:
            self.stats[field]["text"] += data


class ReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.job = Job(tasks=18, jobs=3)
        assert cls.job.run_interrupted_then_resumed() == 1
        cls.stats = json.loads(cls.job.jr_run("stats", "--json").stdout)
        cls.report = os.path.join(cls.job.dir, "report.html")
        cls.job.jr_run("report", "-o", cls.report)
        with open(cls.report, encoding="utf-8") as f:
            cls.html = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.job.dir, ignore_errors=True)

    def test_job_had_a_failure_an_interruption_and_a_resume(self):
        self.assertEqual(self.stats["tasks"]["failed"], 1)
        self.assertGreaterEqual(self.stats["interruptions"], 1)
        self.assertEqual(self.stats["resumes"], 1)

    def test_file_refers_to_nothing_outside_itself(self):
        self.assertNotIn("http", self.html)
        self.assertNotRegex(self.html, r"(?i)\bsrc\s*=|url\(|<link|@import")

    def test_dom_figures_equal_jr_stats(self):
        if not chromium():
            self.skipTest("chromium is not installed (scripts/setup optional installs it)")
        out = run_chromium("--dump-dom", "file://" + self.report)
        self.assertEqual(out.returncode, 0, out.stderr)
        page = StatCollector()
        page.feed(out.stdout)
        expected = {
            "tasks.total": self.stats["tasks"]["total"],
            "tasks.succeeded": self.stats["tasks"]["succeeded"],
            "tasks.failed": self.stats["tasks"]["failed"],
            "attempts": self.stats["attempts"],
            "interruptions": self.stats["interruptions"],
            "resumes": self.stats["resumes"],
            "checkpoints": self.stats["checkpoints"],
            "wall_ms": self.stats["wall_ms"],
            "speedup": self.stats["speedup"],
            "parallel_efficiency": self.stats["parallel_efficiency"],
            "cpu_efficiency": self.stats["cpu_efficiency"],
            "peak_rss_kb.max": self.stats["peak_rss_kb"]["max"],
            "job.state": self.stats["job"]["state"],
        }
        for field, value in expected.items():
            self.assertIn(field, page.stats, f"the page shows no {field}")
            self.assertEqual(page.stats[field]["value"], value, field)
        # What a person reads, not only the attributes.
        self.assertEqual(page.stats["tasks.total"]["text"].strip(), f"{self.stats['tasks']['total']:,}")
        self.assertEqual(page.stats["tasks.failed"]["text"].strip(), "1")
        self.assertEqual(page.stats["speedup"]["text"].strip(), f"{self.stats['speedup']:.2f}×")
        self.assertEqual(page.stats["parallel_efficiency"]["text"].strip(),
                         f"{self.stats['parallel_efficiency'] * 100:.1f}%")
        self.assertEqual(page.stats["interruptions"]["text"].strip(), str(self.stats["interruptions"]))
        # The script rendered the task table: one row per task (fewer than a page).
        self.assertEqual(page.task_rows - 1, self.stats["tasks"]["total"])
        self.assertIn("error: input 7 is corrupt", out.stdout)

    def test_screenshot_is_kept(self):
        if not chromium():
            self.skipTest("chromium is not installed (scripts/setup optional installs it)")
        shot = os.path.join(artifact_dir("report"), "report.png")
        if os.path.exists(shot):
            os.remove(shot)
        out = run_chromium(f"--screenshot={shot}", "--window-size=1400,2400", "file://" + self.report)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertGreater(os.path.getsize(shot), 20_000)
        shutil.copy(self.report, os.path.join(artifact_dir("report"), "report.html"))
        print(f"\nscreenshot: {shot}", file=sys.stderr)


class BigReportTest(unittest.TestCase):
    """A report of thousands of tasks builds its table's rows as they scroll into view (issue 16:
    building them all made a 100,000-task report open 3 s slower than an empty page): the page
    as loaded holds the first rows and a spacer as tall as the rest, not a row per task."""

    TASKS = 3000

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="jr-big-report-")
        jr = jr_binary()
        subprocess.run([jr, "run", "-q", "-j", "2", "--", "true", ":::", *map(str, range(cls.TASKS))],
                       cwd=cls.dir, check=True, timeout=600)
        cls.report = os.path.join(cls.dir, "report.html")
        subprocess.run([jr, "report", "-o", cls.report], cwd=cls.dir, check=True, timeout=600)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_rows_are_built_as_they_scroll_into_view(self):
        if not chromium():
            self.skipTest("chromium is not installed (scripts/setup optional installs it)")
        out = run_chromium("--dump-dom", "--window-size=1400,1000", "file://" + self.report)
        self.assertEqual(out.returncode, 0, out.stderr)
        body = re.search(r'<table[^>]*id="tasks".*?<tbody>(.*?)</tbody>', out.stdout, re.S)
        self.assertIsNotNone(body, "no task table in the rendered page")
        rows = re.findall(r"<tr( class=\"spacer\")?>(.*?)</tr>", body.group(1), re.S)
        built = [cells for spacer, cells in rows if not spacer]
        spacers = [cells for spacer, cells in rows if spacer]
        # The first rows, in index order; far fewer than the tasks.
        self.assertGreater(len(built), 10)
        self.assertLess(len(built), self.TASKS // 10)
        firsts = [int(re.search(r"<td[^>]*>(\d+)</td>", cells).group(1)) for cells in built[:3]]
        self.assertEqual(firsts, [0, 1, 2])
        # One spacer below them stands for every row not built, so the scroll bar is true.
        self.assertEqual(len(spacers), 1, spacers)
        height = float(re.search(r"height:\s*([\d.]+)px", spacers[0]).group(1))
        row_height = height / (self.TASKS - len(built))
        self.assertGreater(row_height, 10)
        self.assertLess(row_height, 100)
        # And the count a person reads is every task's.
        self.assertIn(f"{self.TASKS:,} tasks", out.stdout)


if __name__ == "__main__":
    main()
