#!/usr/bin/python3
"""jr top, seen as a person sees it: `jr top --state DIR` runs in tmux at a fixed size while a
job runs whose tasks call `jr progress`; the captured pane must show the running tasks, their
progress messages and the counts; again after the window is resized; and `q` must quit and give
the terminal back (normal screen, cursor shown).

    JR_BUILD_DIR=build /usr/bin/python3 tests/integration/top_test.py [TopTest]

Needs tmux (scripts/setup optional); skips without it. Uses a tmux server of its own (-L), never
the user's.
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from jrd_process import main, wait_for  # noqa: E402
from observe_job import Job  # noqa: E402

COUNTS = re.compile(r"tasks (\d+): (\d+) done.*· (\d+) running · (\d+) pending")
TASK_LINE = re.compile(r"^\s*(\d+)\s+\S+.*input (\d+): step (\d+) of (\d+)")


class TopTest(unittest.TestCase):
    def setUp(self):
        if not shutil.which("tmux"):
            self.skipTest("tmux is not installed (scripts/setup optional installs it)")
        # 6 tasks at -j 3, each 40 steps of 0.25 s: the job runs far longer than the test needs.
        self.job = Job(tasks=6, jobs=3, steps=40, pause=0.25)
        self.run_proc = self.job.start()
        self.socket = f"jr-top-test-{os.getpid()}"
        wait_for(lambda: self.job.count("state = 1") == 3, timeout=60, what="three tasks running")

    def tearDown(self):
        if not hasattr(self, "job"):
            return
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        self.run_proc.send_signal(signal.SIGTERM)
        self.run_proc.wait(timeout=60)
        self.run_proc.stderr.close()
        shutil.rmtree(self.job.dir, ignore_errors=True)

    def tmux(self, *args):
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def pane(self):
        return self.tmux("capture-pane", "-p", "-t", "top").splitlines()

    def shows_running_tasks(self, width):
        """The pane's lines when they show the header, the counts and a line per running task
        with its progress message; None (poll again) otherwise."""
        lines = self.pane()
        text = "\n".join(lines)
        counts = COUNTS.search(text)
        tasks = [m for m in map(TASK_LINE.match, lines) if m]
        if "jr top · job 1" not in text or not counts or len(tasks) != int(counts.group(3)) or not tasks:
            return None
        self.assertTrue(all(len(line) <= width for line in lines), "\n".join(lines))
        return lines, counts, tasks

    def check_frame(self, width):
        lines, counts, tasks = wait_for(lambda: self.shows_running_tasks(width), timeout=30,
                                        what=f"jr top showing the running tasks at width {width}:\n" +
                                        "\n".join(self.pane()))
        total, done, running, pending = map(int, counts.groups())
        self.assertEqual(total, 6)
        self.assertEqual(running, 3)
        self.assertEqual(done + running + pending, total)
        for m in tasks:
            # The index shown is the task's; its message names its input (index + 1).
            self.assertEqual(int(m.group(2)), int(m.group(1)) + 1)
            self.assertEqual(m.group(4), "40")
        self.assertIn("q quits", lines[-1])
        return lines

    def test_live_view_shows_tasks_and_follows_a_resize_then_q_quits(self):
        # After jr top, the shell says whether the terminal settings came back as they were, then
        # waits, so that the pane (alive) can be asked about its screen and cursor.
        top = f"{shlex.quote(self.job.jr)} top --state {shlex.quote(self.job.state)} --interval 200ms"
        command = (f'before=$(stty -g); {top}; status=$?; '
                   f'if [ "$(stty -g)" = "$before" ]; then echo "top exited $status, terminal restored"; fi; '
                   f'exec sleep 600')
        self.tmux("new-session", "-d", "-s", "top", "-x", "120", "-y", "30", command)
        lines = self.check_frame(120)
        self.assertIn("OUTPUT", "\n".join(lines))  # wide enough for every column
        self.assertEqual(len(self.pane()), 30)

        self.tmux("resize-window", "-t", "top", "-x", "80", "-y", "20")
        lines = self.check_frame(80)
        self.assertEqual(len(self.pane()), 20)
        self.assertNotIn("OUTPUT", "\n".join(lines))  # the output column gave way to the message

        self.assertEqual(self.tmux("display-message", "-p", "-t", "top", "#{alternate_on} #{cursor_flag}").strip(), "1 0")
        self.tmux("send-keys", "-t", "top", "q")
        wait_for(lambda: "top exited 0, terminal restored" in "\n".join(self.pane()), timeout=30,
                 what="jr top to quit on q and restore the terminal:\n" + "\n".join(self.pane()))
        state = self.tmux("display-message", "-p", "-t", "top", "#{alternate_on} #{cursor_flag}")
        self.assertEqual(state.strip(), "0 1", "back from the alternate screen, cursor shown")

    def test_once_prints_one_plain_frame_and_json_the_same_facts(self):
        # A task counts as running before its first `jr progress` lands (slow under a sanitizer
        # on a busy machine), and the next wave starts without a message: poll until each
        # running task has reported, then check the frame.
        def plain_frame():
            out = self.job.jr_run("top", "--once", "--state", self.job.state).stdout
            return out if len([line for line in out.splitlines() if TASK_LINE.match(line)]) == 3 else None

        out = wait_for(plain_frame, timeout=60, what="jr top --once showing three tasks with progress")
        self.assertNotIn("\x1b", out)
        self.assertTrue(COUNTS.search(out), out)

        def reported_facts():
            facts = json.loads(self.job.jr_run("top", "--once", "--json", "--state", self.job.state).stdout)
            return facts if facts["tasks"] and all(t.get("message") for t in facts["tasks"]) else None

        facts = wait_for(reported_facts, timeout=60, what="jr top --once --json with every running task reported")
        self.assertTrue(facts["engine_running"])
        self.assertEqual(facts["total"], 6)
        self.assertEqual(len(facts["tasks"]), facts["counts"]["running"])
        for t in facts["tasks"]:
            self.assertRegex(t["message"], rf"^input {t['index'] + 1}: step \d+ of 40$")
            self.assertTrue(0 < t["progress"] <= 1)

if __name__ == "__main__":
    main()
