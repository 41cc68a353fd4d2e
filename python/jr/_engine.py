"""The embedded engine: `jr run --tasks -` as a child of the caller, tied to its life.

- The engine runs in its own process group (a Ctrl-C at the terminal reaches the caller only,
  which passes one SIGINT on: the engine takes a second signal as "kill the tasks now"), with
  PR_SET_PDEATHSIG = SIGTERM, so that the caller dying in any way, SIGKILL included, stops it
  the graceful way: its tasks get SIGTERM, save their checkpoints, and are recorded as
  interrupted.
- A previous engine on the same state (one whose caller was just killed, still in its grace
  period) holds the state's lock: the caller waits for it, with a deadline, before starting.
- While it runs, the caller watches the store (read-only) for a task that failed for good and
  then stops the engine (SIGTERM), as joblib stops at the first exception.
"""

import ctypes
import errno
import fcntl
import functools
import os
import signal
import subprocess
import sys
import time

from . import _results, _store, errors

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.1
LOCK_WAIT_SECONDS = 60.0
EXIT_FAILED, EXIT_USAGE, EXIT_SIGINT, EXIT_SIGTERM = 1, 2, 130, 143

_libc = None


def jr_binary():
    path = os.environ.get("JR_BIN")
    if path:
        return path
    import shutil
    found = shutil.which("jr")
    if not found:
        raise errors.Unavailable("jr.Parallel needs the jr binary: none on PATH; install jr or set JR_BIN")
    return found


@functools.lru_cache(maxsize=None)
def usable_cpus():
    """The CPUs jr counts on here (`jr cpus`: Slurm's allocation, else the affinity mask capped by
    the cgroup's CPU quota), so that n_jobs=-1 means what -j means to jr."""
    out = subprocess.run([jr_binary(), "cpus"], capture_output=True, text=True, check=True)
    return int(out.stdout)


def _tie_to_parent(parent_pid):
    """preexec_fn: in the engine, between fork and exec."""
    os.setpgid(0, 0)
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the caller died before the prctl
        os._exit(1)


def wait_for_lock(state, deadline_seconds=LOCK_WAIT_SECONDS):
    """Returns once no engine holds STATE/lock (fcntl, as the engine takes it); raises Conflict after the deadline."""
    path = _store.lock_path(state)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + deadline_seconds
        said = False
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.lockf(fd, fcntl.LOCK_UN)
                return
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() > deadline:
                raise errors.Conflict(f"another jr engine still holds {path} after {deadline_seconds:.0f} s; "
                                      "is another program using this state directory?")
            if not said and time.monotonic() > deadline - deadline_seconds + 1.0:
                said = True
                print(f"jr: waiting for the jr engine that holds {path} to stop", file=sys.stderr)
            time.sleep(0.02)
    finally:
        os.close(fd)


class _ExitWaiter:
    """wait(timeout) -> whether proc has exited, waking as soon as it does (through a pidfd),
    not at the next turn of a sleep loop as Popen.wait(timeout) does."""

    def __init__(self, proc):
        self.proc = proc
        self.fd = None
        try:
            import select
            self.fd = os.pidfd_open(proc.pid)
            self.poller = select.poll()
            self.poller.register(self.fd, select.POLLIN)
        except (AttributeError, OSError):
            self.fd = None

    def wait(self, timeout):
        if self.fd is None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        else:
            self.poller.poll(timeout * 1000)
        return self.proc.poll() is not None

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class Outcome:
    def __init__(self, code, log_text, stopped_for_failure):
        self.code = code
        self.log_text = log_text
        self.stopped_for_failure = stopped_for_failure


def run(state, lines, n_jobs, retries=0, timeout=None, name=None, env=None, verbose=0, fail_fast=True):
    """Runs `jr run` on lines; returns an Outcome once the engine has exited."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    argv = [jr_binary(), "run", "-j", str(n_jobs), "--state", state, "--tasks", "-", "--retry-failed",
            "--retries", str(retries)]
    if timeout:
        argv += ["--timeout", f"{int(max(1, timeout) * 1000)}ms"]
    if name:
        argv += ["--name", name]
    if not verbose:
        argv.append("--quiet")  # the tasks' output stays in their logs, out of engine.log's messages
    wait_for_lock(state)
    log_path = os.path.join(_store.py_dir(state), "engine.log")
    log = open(log_path, "wb")
    start_ms = int(time.time() * 1000) - 1000  # tasks that end from here on are this run's
    parent = os.getpid()
    try:
        proc = subprocess.Popen(argv, cwd=state, env=env, stdin=subprocess.PIPE,
                                stdout=None if verbose else log, stderr=None if verbose else log,
                                preexec_fn=lambda: _tie_to_parent(parent))
    finally:
        log.close()
    stopped_for_failure = False
    signalled = 0
    try:
        try:
            proc.stdin.write(("\n".join(lines) + "\n").encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        db = None
        waiter = _ExitWaiter(proc)
        try:
            while not waiter.wait(POLL_SECONDS):
                if fail_fast and not stopped_for_failure:
                    if db is None:
                        db = _results.open_store(_store.store_path(state), missing_ok=True)
                    if db is not None and db.failed_since(start_ms):
                        stopped_for_failure = True
                        signalled += 1
                        proc.send_signal(signal.SIGTERM)
        finally:
            waiter.close()
            if db is not None:
                db.close()
    except BaseException:
        # KeyboardInterrupt, SIGTERM turned into an exception, ...: one signal to the engine so
        # that its tasks save their checkpoints, then wait for it.
        if proc.poll() is None and signalled == 0:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait()
        except BaseException:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # a second Ctrl-C: the engine kills its tasks now
                proc.wait()
        raise
    try:
        with open(log_path, "rb") as f:
            text = f.read().decode(errors="replace")
    except FileNotFoundError:
        text = ""
    return Outcome(proc.returncode, text, stopped_for_failure)
