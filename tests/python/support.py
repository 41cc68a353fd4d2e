"""Shared by the Python package's tests: the binaries from the environment, temporary state
directories, and waiting on a condition with a deadline (never a sleep as synchronisation)."""

import os
import signal
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
PYTHON = "/usr/bin/python3"


def jr_bin():
    path = os.environ.get("JR_BIN")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(f"JR_BIN must name the jr binary (it is {path!r}); ctest sets it")
    return path


MIN_WAIT_S = 120


def wait_for(condition, timeout=30.0, what="a condition", interval=0.01):
    """Polls condition() until it returns something true; fails after timeout seconds."""
    # A deadline only ends a test that would otherwise hang: it is never what a test checks,
    # so it is long enough for a sanitizer build on a machine busy with other work.
    timeout = max(timeout, MIN_WAIT_S)
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def script_env(**extra):
    """The environment of a script run by a test: this package first on its path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(SOURCE_DIR, "python"), HERE] +
                                        ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["JR_BIN"] = jr_bin()
    env.update(extra)
    return env


def jr_processes(state):
    """Pids of live processes whose environment or command line names this state directory."""
    found = []
    needle_env = f"JR_STATE_DIR={state}".encode()
    needle_cmd = state.encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
            with open(f"/proc/{pid}/stat", "rb") as f:
                zombie = f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
        except OSError:
            continue
        if not zombie and (needle_env in env.split(b"\0") or needle_cmd in cmd):
            found.append(int(pid))
    return found


def kill_tasks_of(directory):
    """SIGKILLs the tasks of every state directory below `directory`: a test that killed an engine
    with kill -9 and did not restart it leaves them running, as jr promises."""
    mark = ("JR_STATE_DIR=" + directory).encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if any(v == mark or v.startswith(mark + b"/") for v in env):
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass


class TempDirTest(unittest.TestCase):
    """A test with a fresh directory (self.dir) and its state directory path (self.state)."""

    def setUp(self):
        jr_bin()
        self.dir = tempfile.mkdtemp(prefix="jr-pytest-")
        self.state = os.path.join(self.dir, "state")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.addCleanup(kill_tasks_of, self.dir)

    def run_script(self, text, *args, timeout=600, check=True, name="script.py"):
        """Writes text to a script in self.dir, runs it with /usr/bin/python3, returns the CompletedProcess."""
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        done = subprocess.run([PYTHON, path, *args], cwd=self.dir, env=script_env(), capture_output=True,
                              text=True, timeout=timeout)
        if check and done.returncode != 0:
            self.fail(f"{name} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done


if HERE not in sys.path:
    sys.path.insert(0, HERE)
