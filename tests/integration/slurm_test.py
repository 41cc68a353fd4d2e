#!/usr/bin/python3
"""jr under a real Slurm: examples/slurm/jr-sweep.sbatch on a one-node Slurm started on this
machine (tests/integration/slurm_cluster.py), interrupted while its tasks run, twice by
`scontrol requeue` and once by the time-limit warning the script gets from --signal (sent here
with `scancel --batch --signal=USR1`, after which the script requeues itself); then
examples/slurm/jr-array.sbatch as a 4-element array whose state directories
`jr status --state` merges.

    JR_BIN=build/cli/jr /usr/bin/python3 tests/integration/slurm_test.py [SlurmTest]

Needs root and Debian's slurm-wlm and munge (scripts/setup slurm); skips, saying why, where
Slurm cannot start. Every daemon it starts is stopped by pid at the end, also on failure.
"""

import functools
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import shutil
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from jrd_process import main, wait_for as poll_until  # noqa: E402
from observe_job import jr_binary  # noqa: E402
from slurm_cluster import Cluster, Unavailable  # noqa: E402

# Polls less often than jrd_process does: a poll here is often an squeue process.
wait_for = functools.partial(poll_until, interval=0.05)

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SWEEP = os.path.join(SOURCE, "examples", "slurm", "jr-sweep.sbatch")
ARRAY = os.path.join(SOURCE, "examples", "slurm", "jr-array.sbatch")
STEPS_SH = os.path.join(SOURCE, "examples", "shell", "steps.sh")

# The task: note each start, then run the checkpointing example task.
TASK = f"""#!/bin/sh
echo "$1 $JR_STATE_DIR" >> starts.log
exec {STEPS_SH} "$@"
"""

ENDED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE")

_cluster = None
_unavailable = None
_jr = None  # (directory, path) of the module's copy of jr


def cluster():
    """The module's cluster, started on first use; skips the calling test if Slurm cannot start."""
    global _cluster, _unavailable
    if _cluster is None and _unavailable is None:
        c = Cluster()
        try:
            c.start()
            _cluster = c
        except Unavailable as e:
            _unavailable = f"Slurm cannot start here: {e}"
    if _unavailable:
        raise unittest.SkipTest(_unavailable)
    return _cluster


def jr_copy():
    """A copy of jr for the jobs: they run it for half a minute, and a rebuild meanwhile must not
    pull it from under them."""
    global _jr
    if _jr is None:
        d = tempfile.mkdtemp(prefix="jr-slurm-bin-")
        _jr = (d, shutil.copy2(os.path.abspath(jr_binary()), os.path.join(d, "jr")))
    return _jr[1]


def workload(jr):
    """(tasks, steps) of the sweep and of the array. Every step runs `jr checkpoint save`: a
    few ms with a plain build, over 100 ms under ASan, where a few hundred tasks would take
    minutes; there the job is smaller, with the same checks."""
    t = time.monotonic()
    for _ in range(5):
        subprocess.run([jr, "checkpoint", "save"], capture_output=True)
    per_call = (time.monotonic() - t) / 5
    return ((300, 5), (120, 3)) if per_call < 0.03 else ((60, 2), (40, 2))


def tearDownModule():
    if _cluster:
        _cluster.stop()
    if _jr:
        shutil.rmtree(_jr[0], ignore_errors=True)


def query(db, sql):
    """Rows of a read-only query on a state's store (the engine may be writing it)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def counts_of_first_words(path):
    counts = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                word = line.split()[0]
                counts[word] = counts.get(word, 0) + 1
    return counts


def steps_of(path):
    """name -> the step numbers it logged in work.log, in order."""
    steps = {}
    with open(path) as f:
        for line in f:
            name, step = line.split()
            steps.setdefault(name, []).append(int(step))
    return steps


class SlurmTest(unittest.TestCase):
    def setUp(self):
        self.slurm = cluster()
        self.jr = jr_copy()
        (self.TASKS, self.STEPS), self.ARRAY_WORK = workload(self.jr)
        self.dir = tempfile.mkdtemp(prefix="jr-slurm-test-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.addCleanup(self.slurm.cancel_all)  # runs first: no job left writing into self.dir
        self.task = os.path.join(self.dir, "task.sh")
        with open(self.task, "w") as f:
            f.write(TASK)
        os.chmod(self.task, 0o755)
        # The job's environment is the submitter's: jr first on PATH (steps.sh calls it).
        self.env = dict(self.slurm.env)
        self.env["PATH"] = os.path.dirname(self.jr) + ":" + self.env.get("PATH", "/usr/bin:/bin")
        self.env.update({"TASK": self.task, "JR": self.jr})

    def sbatch(self, script, *args, **env):
        e = dict(self.env)
        e.update(env)
        r = self.slurm.run("sbatch", "--parsable", *args, script, env=e, cwd=SOURCE)
        return r.stdout.strip().split(";")[0]

    def state_of(self, job):
        return self.slurm.job(job).get("JobState", "")

    def explain(self, job, out):
        def text():
            log = ""
            if os.path.exists(out):
                with open(out, errors="replace") as f:
                    log = f.read()
            return f"job {job}: {self.slurm.job(job)}\n--- batch output:\n{log}\n{self.slurm.logs()}"
        return text

    def test_sweep_survives_requeues_and_the_time_limit_warning(self):
        start = time.monotonic()
        shared = os.path.join(self.dir, "sweep")
        out = os.path.join(self.dir, "sweep.out")
        db = os.path.join(shared, "state", "jr.db")
        job = self.sbatch(SWEEP, f"--cpus-per-task={os.cpu_count()}", f"--output={out}",
                          SHARED_DIR=shared, TASKS=str(self.TASKS), STEPS=str(self.STEPS))
        explain = self.explain(job, out)

        def succeeded():
            try:
                return query(db, "SELECT count(*) FROM tasks WHERE state = 2")[0][0]
            except sqlite3.Error:
                return 0

        def running_tasks():
            try:
                return query(db, "SELECT count(*) FROM tasks WHERE state = 1")[0][0]
            except sqlite3.Error:
                return 0

        # name -> how many times it had started when it was seen succeeded after an interruption
        starts_when_succeeded = {}
        interruptions = [("requeue", self.TASKS // 5), ("requeue", self.TASKS * 2 // 5),
                         ("time limit", self.TASKS * 3 // 5)]
        for how, target in interruptions:
            def running_past_target():
                state = self.state_of(job)
                if state in ENDED:
                    raise AssertionError(f"job {job} ended ({state}) before the {how} interruption\n{explain()}")
                return state == "RUNNING" and succeeded() >= target and running_tasks() > 0
            wait_for(running_past_target, 60, f"job {job} to run with {target} tasks done", explain)
            if how == "requeue":
                self.slurm.run("scontrol", "requeue", job)
            else:
                # What --signal=B:USR1@60 sends 60 s before the time limit: USR1 to the batch
                # shell alone. The script passes it to jr, jr exits 143, the script requeues.
                self.slurm.run("scancel", "--batch", "--signal=USR1", job)
            # Pending again once the old run has ended (every process of it is gone).
            wait_for(lambda: self.state_of(job) == "PENDING", 60, f"job {job} to be requeued ({how})", explain)
            pending_at = time.time()
            starts = counts_of_first_words(os.path.join(shared, "starts.log"))
            for (idx,) in query(db, "SELECT idx FROM tasks WHERE state = 2"):
                name = f"t{idx}"
                starts_when_succeeded.setdefault(name, starts[name])
            # A requeued job waits about two minutes (BeginTime); release it now, but in a later
            # second than the requeue: slurmd counts a credential of the second it revoked the
            # job's credentials in as revoked too, and the job would fail to launch.
            wait_for(lambda: time.time() >= int(pending_at) + 1.05, 5, "the next second")
            self.slurm.run("scontrol", "update", f"jobid={job}", "StartTime=now")

        wait_for(lambda: self.state_of(job) in ENDED, 90, f"job {job} to end", explain)
        info = self.slurm.job(job)
        self.assertEqual((info.get("JobState"), info.get("ExitCode")), ("COMPLETED", "0:0"), explain())
        self.assertEqual(info.get("Restarts"), "3", explain())
        with open(out) as f:
            batch_log = f.read()
        self.assertIn("jr-sweep: every task succeeded", batch_log)
        self.assertIn(f"requeueing job {job} to resume", batch_log)  # the script's own requeue
        # which may be killed by the very requeue it asks for: that is no failure to requeue.
        self.assertNotIn("could not requeue", batch_log)
        self.assertEqual(batch_log.count("stopped by Slurm"), 2, batch_log)

        # Every task succeeded once and wrote the right result.
        self.assertEqual(query(db, "SELECT state, count(*) FROM tasks GROUP BY state"), [(2, self.TASKS)])
        expected = str(sum(k * k for k in range(1, self.STEPS + 1))) + "\n"
        for i in range(self.TASKS):
            with open(os.path.join(shared, "out", f"t{i}")) as f:
                self.assertEqual(f.read(), expected, f"t{i}")

        # No task that had succeeded before an interruption ran again.
        starts = counts_of_first_words(os.path.join(shared, "starts.log"))
        for name, n in starts_when_succeeded.items():
            self.assertEqual(starts[name], n, f"{name} ran again after it succeeded")

        # Interrupted tasks resumed from their checkpoints: a task's steps only go forward, or
        # repeat the one step in flight when it was interrupted, at most once per interruption.
        attempts = dict((f"t{i}", a) for i, a in query(db, "SELECT idx, attempts FROM tasks"))
        steps = steps_of(os.path.join(shared, "work.log"))
        resumed = redone = 0
        for name, seq in steps.items():
            self.assertEqual((seq[0], seq[-1]), (1, self.STEPS), f"{name}: {seq}")
            repeats = 0
            for before, after in zip(seq, seq[1:]):
                self.assertIn(after - before, (0, 1), f"{name} started over: steps {seq}")
                repeats += after == before
            self.assertLessEqual(repeats, attempts[name] - 1, f"{name} redid more than a step per interruption: {seq}")
            resumed += attempts[name] > 1
            redone += repeats
        # Attempts that did not succeed: interrupted ones (outcome 4), and failed ones (3) that the
        # script's --retries 1 ran again: a task killed by Slurm's own TERM a moment before jr
        # got its TERM is recorded as failed (exit 143 when `jr checkpoint save` was killed
        # under `set -e`, or signal 15). Any other failure is a real one.
        unfinished = query(db, "SELECT outcome, exit_code, signal FROM attempts WHERE outcome != 2")
        self.assertEqual(len(unfinished), sum(a - 1 for a in attempts.values()))
        raced = [(code, sig) for outcome, code, sig in unfinished if outcome == 3]
        for code, sig in raced:
            self.assertTrue(code == 143 or sig == 15, f"a task failed for another reason than a requeue: {raced}")
        self.assertGreaterEqual(resumed, 1, "no task was interrupted: the interruptions came between tasks")

        # One engine start per start of the Slurm job, each with its id.
        runs = query(db, "SELECT pid, slurm_job_id, end_ms FROM engine_runs ORDER BY id")
        self.assertEqual(len(runs), 4, runs)
        self.assertTrue(all(r[1] == job and r[2] is not None for r in runs), runs)
        events = [d for (d,) in query(db, "SELECT detail FROM events WHERE detail LIKE 'engine % started%'")]
        self.assertEqual(len(events), 4, events)
        self.assertTrue(all(f"Slurm job {job})" in e for e in events), events)
        print(f"\nslurm sweep: job {job}, {self.TASKS} tasks x {self.STEPS} steps, 2 requeues + 1 time-limit "
              f"warning, {len(runs)} engine starts, {resumed} tasks resumed, {redone} steps redone, "
              f"{len(raced)} recorded failed by Slurm's TERM and retried, "
              f"{time.monotonic() - start:.1f}s", flush=True)

    def test_array_shards_merge_in_jr_status(self):
        start = time.monotonic()
        (tasks, steps), shards = self.ARRAY_WORK, 4
        shared = os.path.join(self.dir, "array")
        out = os.path.join(self.dir, "array-%a.out")
        array = self.sbatch(ARRAY, f"--array=0-{shards - 1}", f"--output={out}",
                            SHARED_DIR=shared, TASKS=str(tasks), STEPS=str(steps))
        explain = self.explain(array, out)

        def elements():
            r = self.slurm.run("squeue", "-h", "-r", "-j", array, "-o", "%i %T", check=False)
            return r.stdout.split("\n") if r.stdout.strip() else []

        wait_for(lambda: not elements(), 90, f"array {array} to end", explain)
        for k in range(shards):
            info = self.slurm.job(f"{array}_{k}")
            self.assertEqual((info.get("JobState"), info.get("ExitCode")), ("COMPLETED", "0:0"), f"element {k}: {info}")
            with open(out.replace("%a", str(k))) as f:
                self.assertIn(f"jr-array: shard {k}/{shards}: every task succeeded", f.read())

        dirs = [os.path.join(shared, f"shard-{k}") for k in range(shards)]
        r = subprocess.run([self.jr, "status", "--state", *dirs, "--json"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        merged = json.loads(r.stdout)
        self.assertEqual([s["state_dir"] for s in merged["states"]], dirs)
        per_shard = [s["jobs"][0]["total"] for s in merged["states"]]
        self.assertEqual(per_shard, [tasks // shards] * shards)
        total = merged["total"]
        self.assertEqual((total["jobs"], total["state"], total["total"]), (shards, "succeeded", tasks))
        self.assertEqual(total["counts"]["succeeded"], tasks)
        self.assertEqual(sum(total["counts"].values()), tasks)

        # The shards cover the job: every task ran exactly once, in shard K = its index mod 4.
        with open(os.path.join(shared, "starts.log")) as f:
            ran = sorted(tuple(line.split()) for line in f)
        self.assertEqual(ran, sorted((f"t{i}", dirs[i % shards]) for i in range(tasks)))
        text = subprocess.run([self.jr, "status", "--state", *dirs], capture_output=True, text=True)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn(f"total ({shards} jobs)", text.stdout)
        self.assertIn(f"{tasks}/{tasks}", text.stdout)
        print(f"\nslurm array: {shards} elements x {tasks // shards} tasks, merged by jr status, "
              f"{time.monotonic() - start:.1f}s\n{text.stdout}", flush=True)


if __name__ == "__main__":
    main()
