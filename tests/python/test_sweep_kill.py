"""examples/python/sweep.py, SIGKILLed at random moments, then run again: the results equal an
uninterrupted run's, no finished call ran again, and interrupted calls resumed from their
checkpoints.

The script's engine dies with it (PR_SET_PDEATHSIG), the graceful way: its tasks get SIGTERM
and save what they have. Each kill happens once the run has made a random amount of progress
of its own (1 to 3 new checkpoints or finished calls), found by polling the store and the
marker file: a state, never a time, so a slow machine changes nothing. The next run waits by
itself for the dying engine to let go of the state. JR_TEST_SEED replays a seed; the seed is
printed first.
"""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import unittest

import support
from support import PYTHON, SOURCE_DIR, TempDirTest, jr_processes, wait_for

SWEEP = os.path.join(SOURCE_DIR, "examples", "python", "sweep.py")
# Kills come after progress, not after a time, so the sweep can be short whatever the machine.
ARGS = ["--jobs", "2", "--points", "4", "--steps", "30", "--particles", "200"]
KILLS = 5


def marker_lines(path):
    try:
        with open(path) as f:
            return [line.split() for line in f if line.strip()]
    except FileNotFoundError:
        return []


def progress_mark(state, marker):
    """How far a run has got: checkpoints saved and calls finished (grows as it works)."""
    saved = 0
    db_path = os.path.join(state, "jr.db")
    if os.path.exists(db_path):
        try:
            db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
            try:
                saved = db.execute("SELECT count(*) FROM checkpoints").fetchone()[0] + \
                    db.execute("SELECT coalesce(max(seq), 0) FROM checkpoints").fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error:
            pass
    return saved + sum(1 for line in marker_lines(marker) if line[0] == "done")


def has_numpy():
    return subprocess.run([PYTHON, "-c", "import numpy"], capture_output=True).returncode == 0


@unittest.skipUnless(has_numpy(), "numpy is missing for /usr/bin/python3 (python3-numpy; scripts/setup optional)")
class SweepKillTest(TempDirTest):
    def sweep(self, state, out, marker):
        return subprocess.Popen([PYTHON, SWEEP, "--state", state, "--out", out, "--marker", marker, *ARGS],
                                cwd=self.dir, env=support.script_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def story(self, state, marker):
        """What the runs did, for a failure message: the marker, the engine's log, the tasks' stderr."""
        logs = os.path.join(state, "logs")
        paths = [marker, os.path.join(state, "py", "engine.log")]
        paths += [os.path.join(logs, n) for n in sorted(os.listdir(logs)) if n.endswith((".out", ".err"))] \
            if os.path.isdir(logs) else []
        parts = []
        for path in paths:
            with open(path, errors="replace") as f:
                text = f.read().strip()
            if text:
                parts += [f"--- {os.path.relpath(path, self.dir)}", text[-1500:]]
        return "\n".join(parts)

    def test_killed_at_random_moments_then_rerun(self):
        seed = int(os.environ.get("JR_TEST_SEED") or random.SystemRandom().randrange(2**32))
        print(f"seed {seed} (JR_TEST_SEED={seed} replays it)", file=sys.stderr, flush=True)
        rng = random.Random(seed)
        reference = os.path.join(self.dir, "reference.json")
        ref_marker = os.path.join(self.dir, "reference.marker")
        proc = self.sweep(os.path.join(self.dir, "reference"), reference, ref_marker)
        out, err = proc.communicate(timeout=600)
        self.assertEqual(proc.returncode, 0, err)

        state = self.state
        result = os.path.join(self.dir, "result.json")
        marker = os.path.join(self.dir, "marker")
        kills = 0
        for _ in range(KILLS):
            target = progress_mark(state, marker) + rng.randint(1, 3)
            proc = self.sweep(state, result, marker)
            wait_for(lambda: proc.poll() is not None or progress_mark(state, marker) >= target,
                     timeout=300, what="the sweep to make progress")
            if proc.poll() is not None:
                proc.communicate()
                break
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            kills += 1

        proc = self.sweep(state, result, marker)
        out, err = proc.communicate(timeout=600)
        self.assertEqual(proc.returncode, 0, err)
        self.assertGreater(kills, 0, "the sweep finished before it could be killed: make it longer")

        with open(reference) as f, open(result) as g:
            self.assertEqual(json.load(g), json.load(f), "results differ from an uninterrupted run's")
        lines = marker_lines(marker)
        done = [tuple(line[1:3]) for line in lines if line[0] == "done"]
        self.assertEqual(len(done), len(set(done)), f"a finished call ran again:\n{self.story(state, marker)}")
        self.assertEqual(len(done), 16)
        resumed = [line for line in lines if line[0] == "resume"]
        self.assertTrue(resumed, "no interrupted call resumed from its checkpoint")
        wait_for(lambda: not jr_processes(state), timeout=30, what="every engine and task of the state to be gone")


BATCH_SCRIPT = """
import sys
import jr
import jrtest_calls as calls

if __name__ == "__main__":
    got = jr.Parallel(n_jobs=1, state=sys.argv[1], batch_size=40)(
        jr.delayed(calls.record_slowly)(x, sys.argv[2], 0.05) for x in range(40))
    assert got == list(range(40)), got
"""


class BatchKillTest(TempDirTest):
    def test_an_interrupted_batch_redoes_only_its_unfinished_calls(self):
        path = os.path.join(self.dir, "batch.py")
        with open(path, "w") as f:
            f.write(BATCH_SCRIPT)
        marker = os.path.join(self.dir, "marker")
        argv = [PYTHON, path, self.state, marker]
        proc = subprocess.Popen(argv, cwd=self.dir, env=support.script_env(), stderr=subprocess.PIPE, text=True)
        wait_for(lambda: proc.poll() is not None or len(marker_lines(marker)) >= 10, timeout=300,
                 what="ten calls of the batch to finish")
        self.assertIsNone(proc.poll(), "the batch finished before it could be killed")
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        done = subprocess.run(argv, cwd=self.dir, env=support.script_env(), capture_output=True, text=True, timeout=600)
        self.assertEqual(done.returncode, 0, done.stderr)
        calls = [int(line[0]) for line in marker_lines(marker)]
        self.assertEqual(sorted(calls), list(range(40)), "a finished call of the batch ran again, or one is missing")


if __name__ == "__main__":
    unittest.main()
