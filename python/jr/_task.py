"""What code running inside a jr task shares: its engine connection and the call being run.

The runner (_runner.py) sets `batch` while it runs a batch of calls; jr.checkpoint and
jr.progress then work per call. Outside a batch but inside a jr task (a plain `jr run` of a
Python script) they work per task; outside jr they do nothing.
"""

import os
import subprocess
import sys
import time

# Set by the runner while it imports the caller's main script: a Parallel() then is a script
# that runs its work at import, which must be guarded by `if __name__ == "__main__":`.
loading_main = False

# The runner's state while a batch runs (_runner.Batch: .checkpoint_dir, .current, .count,
# .done_count, .call_checkpoint_name(), .save_checkpoint(), .after_call_checkpoint()); None
# otherwise.
batch = None


class Interrupted(BaseException):
    """Raised inside a running call to stop it when its batch is stopping; never leaves the runner."""


_client = None
_progress_at = 0.0
_progress_warned = False


def in_task():
    return bool(os.environ.get("JR_RUN") and os.environ.get("JR_SOCKET"))


def engine_call(method, params):
    """One request to this task's engine over JR_SOCKET; one connection per process.

    A task outlives its engine (the next engine adopts it), so while no engine answers, or one
    dies before it replies, the request waits for the next one, up to JR_ENGINE_WAIT seconds
    (default 600), and is sent again, as `jr checkpoint save` does.
    """
    global _client
    from . import client, errors
    params = dict(params, run=os.environ["JR_RUN"])
    try:
        wait_s = max(0, int(os.environ.get("JR_ENGINE_WAIT", "600")))
    except ValueError:
        wait_s = 600
    until = time.monotonic() + wait_s
    pause = 0.05
    said = False
    while True:
        try:
            if _client is None:
                _client = client.Client(os.environ["JR_SOCKET"], timeout=600.0, client_name="jr.py task")
            return _client.call(method, params)
        except errors.Unavailable as e:
            if _client is not None:
                _client.close()
            _client = None
            if time.monotonic() >= until:
                raise
            if not said:
                print(f"jr: {e}; waiting up to {wait_s} s for an engine to adopt this task", file=sys.stderr)
                said = True
            time.sleep(pause)
            pause = min(2 * pause, 1.0)


def jr_binary():
    return os.environ.get("JRPY_JR") or os.environ.get("JR_BIN") or "jr"


def write_progress(fraction, message, force=False):
    """Runs `jr progress` (the task's board slot), at most five times a second unless forced."""
    global _progress_at, _progress_warned
    now = time.monotonic()
    if not force and now - _progress_at < 0.2:
        return
    _progress_at = now
    fraction = min(1.0, max(0.0, float(fraction)))
    try:
        done = subprocess.run([jr_binary(), "progress", f"{fraction:.6f}", message], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
        failed = done.returncode != 0
        why = done.stderr.decode(errors="replace").strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        failed, why = True, str(e)
    if failed and not _progress_warned:
        # Progress is advisory: say once why it is not shown, and go on.
        _progress_warned = True
        print(f"jr.progress: not shown: {why}", file=sys.stderr)
