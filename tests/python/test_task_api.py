"""jr.checkpoint and jr.progress inside tasks: in calls run by jr.Parallel, in a plain `jr run`
task, and outside jr (where they do nothing)."""

import os
import sqlite3
import subprocess
import unittest

import support
from support import PYTHON, TempDirTest, jr_bin

import jr
import jrtest_calls as calls
from jr import delayed

PLAIN_TASK = """
import sys
import jr
n = jr.checkpoint.load(default=0) + 1
jr.checkpoint.save(n)
if n < 3:
    sys.exit(1)
print("attempts seen", n)
"""


def has_progress_command():
    done = subprocess.run([jr_bin(), "--help"], capture_output=True, text=True)
    return any(line.split()[:1] == ["progress"] for line in done.stdout.splitlines())


class CheckpointTest(TempDirTest):
    def test_outside_jr_save_does_nothing_and_load_gives_the_default(self):
        env_backup = {k: os.environ.pop(k) for k in ("JR_RUN", "JR_SOCKET", "JR_CHECKPOINT_DIR") if k in os.environ}
        self.addCleanup(os.environ.update, env_backup)
        self.assertFalse(jr.checkpoint.save({"a": 1}))
        self.assertEqual(jr.checkpoint.load(default="nothing"), "nothing")
        jr.progress(0.5, "nowhere")  # no error

    def test_a_call_checkpoint_survives_its_retries(self):
        got = jr.Parallel(n_jobs=1, state=self.state, retries=3)([delayed(calls.counts_attempts)(7)])
        self.assertEqual(got, [(7, 3, "3")])

    def test_plain_jr_run_task(self):
        script = os.path.join(self.dir, "task.py")
        with open(script, "w") as f:
            f.write(PLAIN_TASK)
        done = subprocess.run([jr_bin(), "run", "-j", "1", "--state", self.state, "--retries", "4", "--",
                               PYTHON, script], cwd=self.dir, env=support.script_env(), capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(os.path.join(self.state, "logs", "1.out")) as f:
            self.assertIn("attempts seen 3", f.read())


@unittest.skipUnless(os.environ.get("JR_BIN") and has_progress_command(), "this jr has no `jr progress` command")
class ProgressTest(TempDirTest):
    def attempts(self):
        db = sqlite3.connect(f"file:{os.path.join(self.state, 'jr.db')}?mode=ro", uri=True)
        try:
            return db.execute("SELECT progress, message FROM attempts ORDER BY task_id").fetchall()
        finally:
            db.close()

    def test_progress_of_a_call_reaches_the_board(self):
        self.assertEqual(jr.Parallel(n_jobs=1, state=self.state)([delayed(calls.report_progress)(5)]), [5])
        self.assertIn((1.0, "call 1 of 1: finished 5"), self.attempts())


if __name__ == "__main__":
    unittest.main()
