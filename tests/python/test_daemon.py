"""jr.Client against a real jrd (JRD_BIN), and jr.Parallel(daemon=True) with re-attaching by
job name from another process."""

import os
import shutil
import signal
import subprocess
import tempfile
import unittest

import support
from support import TempDirTest, wait_for

import jr
import jrtest_calls as calls
from jr import delayed

ATTACH_SCRIPT = """
import sys
import jr
print(repr(jr.attach("squares", state=sys.argv[1], socket=sys.argv[2])))
"""


def jrd_bin():
    return os.environ.get("JRD_BIN")


def try_ping(path):
    try:
        with jr.Client(path, timeout=60) as c:
            return c.ping()["pid"]
    except jr.JrError:
        return None


@unittest.skipUnless(jrd_bin() and os.access(jrd_bin(), os.X_OK), "JRD_BIN does not name a jrd binary")
class DaemonTest(TempDirTest):
    @classmethod
    def setUpClass(cls):
        # A short directory: a Unix socket path is at most 107 bytes.
        cls.jrd_dir = tempfile.mkdtemp(prefix="jrd-")
        cls.socket = os.path.join(cls.jrd_dir, "jrd.sock")
        cls.log = open(os.path.join(cls.jrd_dir, "jrd.log"), "wb")
        cls.jrd = subprocess.Popen([jrd_bin(), "--state", os.path.join(cls.jrd_dir, "state"), "--socket", cls.socket,
                                    "--workers", "2"], stdin=subprocess.DEVNULL, stdout=cls.log, stderr=cls.log,
                                   env=support.script_env())
        wait_for(lambda: cls.jrd.poll() is not None or try_ping(cls.socket), what="jrd to answer")
        if cls.jrd.poll() is not None:
            raise RuntimeError(f"jrd exited with {cls.jrd.returncode}")

    @classmethod
    def tearDownClass(cls):
        cls.jrd.send_signal(signal.SIGTERM)
        cls.jrd.wait(timeout=60)
        cls.log.close()
        shutil.rmtree(cls.jrd_dir, True)

    def client(self):
        c = jr.Client(self.socket)
        self.addCleanup(c.close)
        return c

    def test_client_submit_status_wait_logs_cancel(self):
        c = self.client()
        self.assertEqual(c.server["protocol"], 1)
        job = c.submit(tasks=["echo hello", "echo oops >&2; exit 3"], name="client-test", parallelism=2)["job"]
        ended = c.wait(job=job, timeout=60)
        self.assertEqual(ended["state"], "failed")
        self.assertEqual(ended["counts"]["succeeded"], 1)
        self.assertEqual(c.status(name="client-test")["id"], job)
        self.assertEqual(c.logs(job=job, index=0), "hello\n")
        self.assertEqual(c.logs(job=job, index=1, stream="stderr"), "oops\n")
        self.assertEqual([t["exit_code"] for t in c.tasks(job=job)], [0, 3])
        sleeper = c.submit(command=["sleep", "{}"], sources=[["60", "61"]], name="sleepy")["job"]
        self.assertEqual(c.cancel(job=sleeper), 2)
        self.assertEqual(c.wait(job=sleeper, timeout=60)["state"], "cancelled")

    def test_client_submit_takes_the_per_job_options(self):
        c = self.client()
        finished = os.path.join(self.dir, "finished.txt")
        params = dict(command=["sh", "-c", 'echo "$0" > "$1"', "{}", "{out}"], sources=[["a", "b", "c", "d"]],
                      cwd=self.dir, output="{}.res", on_finish='echo "$JR_JOB_STATE $JR_TOTAL" > finished.txt',
                      shard=(0, 2), keep_checkpoints=1, max_checkpoint=1 << 20, max_result=1 << 20, stall_timeout=60,
                      stall_action="kill", expect=5)
        explained = c.submit(explain=True, **params)["explain"]
        self.assertEqual([t["argv"][3] for t in explained["tasks"]], ["a", "c"])  # the shard's inputs
        self.assertFalse(os.path.exists(os.path.join(self.dir, "a.res")), "explain ran a task")
        job = c.submit(**params)["job"]
        self.assertEqual(c.wait(job=job, timeout=60)["state"], "succeeded")
        for name, content in (("a.res", "a\n"), ("c.res", "c\n")):
            with open(os.path.join(self.dir, name)) as f:
                self.assertEqual(f.read(), content)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "b.res")))

        def hook_wrote():
            with open(finished) if os.path.exists(finished) else open(os.devnull) as f:
                return f.read().endswith("\n")
        wait_for(hook_wrote, what="the --on-finish hook")
        with open(finished) as f:
            self.assertEqual(f.read(), "succeeded 2\n")

    def test_typed_errors(self):
        c = self.client()
        with self.assertRaises(jr.errors.NotFound) as caught:
            c.status(job=987654)
        self.assertEqual(caught.exception.code, "not_found")
        with self.assertRaises(jr.errors.BadRequest) as caught:
            c.call("bogus")
        self.assertEqual(caught.exception.code, "bad_request")
        with self.assertRaises(jr.errors.Unavailable) as caught:
            jr.Client(os.path.join(self.dir, "nobody.sock"))
        self.assertEqual(caught.exception.code, "unavailable")

    def test_parallel_on_the_daemon_and_attach_from_another_process(self):
        work = [delayed(calls.square)(i) for i in range(40)]
        got = jr.Parallel(n_jobs=2, state=self.state, daemon=True, name="squares", socket=self.socket)(work)
        self.assertEqual(got, [i * i for i in range(40)])
        jobs_before = len(self.client().list())
        again = jr.Parallel(n_jobs=2, state=self.state, daemon=True, name="squares", socket=self.socket)(work)
        self.assertEqual(again, got)
        self.assertEqual(len(self.client().list()), jobs_before, "the same calls were submitted again")
        done = self.run_script(ATTACH_SCRIPT, self.state, self.socket)
        self.assertEqual(done.stdout.strip(), repr(got))

    def test_exception_in_a_daemon_task(self):
        with self.assertRaises(ValueError) as caught:
            jr.Parallel(n_jobs=2, state=self.state, daemon=True, socket=self.socket, batch_size=1)(
                delayed(calls.fail_on)(x, 2) for x in range(4))
        self.assertIsNone(caught.exception.jr_log)  # the task wrote nothing to stderr
        self.assertIn("in fail_on", caught.exception.__cause__.text)


if __name__ == "__main__":
    unittest.main()
