"""A real job for the tests of jr report and jr top: a task script that reports its progress
with `jr progress`, and helpers to run it, interrupt it and read its store (standard library only).

The jr binary is $JR_BIN, else $JR_BUILD_DIR/cli/jr, else build/cli/jr.
"""

import os
import signal
import sqlite3
import subprocess
import tempfile

from jrd_process import wait_for

HERE = os.path.dirname(os.path.abspath(__file__))


def jr_binary():
    if os.environ.get("JR_BIN"):
        return os.environ["JR_BIN"]
    build = os.environ.get("JR_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
    return os.path.abspath(os.path.join(build, "cli", "jr"))


def artifact_dir(name):
    """A directory under the build tree that outlives the test: screenshots are kept there."""
    build = os.environ.get("JR_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
    path = os.path.abspath(os.path.join(build, "test-artifacts", name))
    os.makedirs(path, exist_ok=True)
    return path


# JR_* variables do not reach tasks from outside, so the jr path is written into the script.
TASK_SCRIPT = """#!/bin/sh
# input, steps, seconds per step: reports each step, burns a little CPU, fails on input 7.
i=$1; steps=$2; pause=$3; k=1
while [ $k -le $steps ]; do
  {jr} progress $k/$steps "input $i: step $k of $steps"
  j=0; while [ $j -lt 3000 ]; do j=$((j+1)); done
  echo "input $i: output line $k"
  sleep $pause; k=$((k+1))
done
if [ "$i" = 7 ]; then echo "error: input $i is corrupt" >&2; exit 3; fi
"""


class Job:
    """A job of `tasks` inputs at -j `jobs` in a fresh directory, each task `steps` steps long."""

    def __init__(self, tasks=18, jobs=3, steps=3, pause=0.15):
        self.dir = tempfile.mkdtemp(prefix="jr-observe-")
        self.jr = jr_binary()
        self.state = os.path.join(self.dir, ".jr")
        script = os.path.join(self.dir, "task.sh")
        with open(script, "w") as f:
            f.write(TASK_SCRIPT.format(jr=self.jr))
        os.chmod(script, 0o700)
        self.args = ["run", "-j", str(jobs), "--", "./task.sh", "{}", str(steps), str(pause), ":::"]
        self.args += [str(i) for i in range(1, tasks + 1)]

    def jr_run(self, *args, check=True):
        out = subprocess.run([self.jr, *args], cwd=self.dir, capture_output=True, text=True, timeout=600)
        if check and out.returncode != 0:
            raise AssertionError(f"jr {' '.join(args)} exited {out.returncode}: {out.stderr}")
        return out

    def start(self):
        return subprocess.Popen([self.jr, *self.args], cwd=self.dir, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)

    def count(self, where):
        """Tasks matching `where`, read from the store as any reader does (read-only)."""
        db = os.path.join(self.state, "jr.db")
        if not os.path.exists(db):
            return 0
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            try:
                return con.execute(f"SELECT count(*) FROM tasks WHERE {where}").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return 0

    def run_interrupted_then_resumed(self):
        """Runs the job, stops it with SIGTERM while tasks run (an interruption), then runs it
        again to the end. Returns the second run's exit code (1: input 7 failed)."""
        first = self.start()
        wait_for(lambda: self.count("state = 2") >= 4 and self.count("state = 1") >= 1, timeout=60,
                 what="some tasks done and some running")
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=600) == 143, first.stderr.read()
        first.stderr.close()
        return subprocess.run([self.jr, *self.args], cwd=self.dir, capture_output=True, timeout=600).returncode
