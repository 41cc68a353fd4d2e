"""Helpers for the Python integration tests: a jrd on a temporary state, waiting with deadlines,
and a main() that tells ctest when every test of a run was skipped (exit 77, SKIP_RETURN_CODE).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from protocol_client import Client

SKIP_EXIT = 77


def jrd_bin():
    path = os.environ.get("JRD_BIN")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(f"JRD_BIN must name the jrd binary (it is {path!r})")
    return path


MIN_WAIT_S = 120


def wait_for(condition, timeout=30.0, what="a condition", on_timeout=lambda: "", interval=0.01):
    """Polls condition() until it returns something true, or fails after timeout seconds with
    what on_timeout() says (the state of things, for the failure message)."""
    # A deadline only ends a test that would otherwise hang: it is never what a test checks,
    # so it is long enough for a sanitizer build on a machine busy with other work.
    timeout = max(timeout, MIN_WAIT_S)
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = on_timeout()
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}" + (f"\n{detail}" if detail else ""))
        time.sleep(interval)


def try_ping(socket_path):
    """jrd's pid if a fresh client can say hello and ping at socket_path, else None."""
    try:
        with Client(socket_path, timeout=60) as c:
            return c.call("ping")["pid"]
    except Exception:  # not listening yet, refused, closed: not serving
        return None


class Jrd:
    """A jrd started on its own temporary state directory and socket; stop() ends it."""

    def __init__(self, socket_path=None, extra_args=(), env=None, wait=True):
        """Starts jrd; with wait, returns once a client's ping is answered."""
        self.dir = tempfile.mkdtemp(prefix="jr-pytest-")
        self.state = os.path.join(self.dir, "state")
        self.socket = socket_path or os.path.join(self.dir, "run", "jrd.sock")
        self.log_path = os.path.join(self.dir, "jrd.log")
        self.proc = None
        try:
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    [jrd_bin(), "--state", self.state, "--socket", self.socket, "--log-level", "debug", *extra_args],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
            if wait:
                wait_for(lambda: self.proc.poll() is not None or try_ping(self.socket),
                         what=f"jrd to serve {self.socket}")
                if self.proc.poll() is not None:
                    raise RuntimeError(f"jrd exited with {self.proc.returncode}: {self.log()}")
        except BaseException:
            if self.proc and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM, then the exit code (SIGKILL and None if it does not stop within 60 s)."""
        code = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        else:
            code = self.proc.returncode
        shutil.rmtree(self.dir, ignore_errors=True)
        return code


def main(module_name="__main__"):
    """Runs the test names given on the command line (all of the module without any); exits 0
    when all passed, 1 on a failure, 77 when every test that ran was skipped."""
    loader = unittest.TestLoader()
    module = sys.modules[module_name]
    names = sys.argv[1:]
    suite = loader.loadTestsFromNames(names, module) if names else loader.loadTestsFromModule(module)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun and len(result.skipped) == result.testsRun:
        for test, reason in result.skipped:
            print(f"SKIPPED {test.id()}: {reason}")
        sys.exit(SKIP_EXIT)
    sys.exit(0)
