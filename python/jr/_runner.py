"""python3 -m jr._runner BATCH_FILE: one batch of calls, run inside a jr task.

The caller (jr.Parallel) writes the batch file and runs one jr task per batch. This runner:
- restores the calls finished by an earlier attempt from JR_CHECKPOINT_DIR (the engine puts the
  last saved checkpoint there before the attempt starts) and runs only the others, in order;
- after each call keeps its pickled result; saves them all as the task's checkpoint now and then
  (at least a second apart), when a call saves its own checkpoint, and when a signal asks the
  task to stop, so that an interrupted batch redoes only its unfinished calls;
- at the end hands every result back with `result.save` (the engine stores it in SQLite) and
  exits 0; a call that raises ends the batch: its exception and traceback are handed back with
  the finished calls' results, and the task exits 1;
- a signal (SIGTERM from the engine's shutdown, a timeout or a cancel; SIGINT, ...) stops the
  batch: the finished calls are saved at once (from the signal handler); the running call stops
  at its next jr.checkpoint.save(), right after that save, or, if it saves none, is interrupted
  STOP_GRACE seconds later unless it has returned by then; then the runner exits 128 + the
  signal without a result. A call is never interrupted between two of its own checkpoints
  otherwise: whatever it did after its last save (appending to a file, say) it would do again.
A calibration batch has a time budget: it stops after the first call that ends past it, and
hands back what it finished (the caller plans the rest from those timings).

Imports are kept to a few modules: starting this interpreter is jr.Parallel's cost per batch.
"""

import os
import pickle
import signal
import sys
import time

from . import _format, _task

CHECKPOINT_FILE = "jrpy-done"
RESULT_FILE = "jrpy-result"
MIN_SAVE_INTERVAL = 1.0
STOP_GRACE = 2.0  # seconds a running call that saves no checkpoint gets to return after a stop signal
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGXCPU)


class Batch:
    """The state jr.checkpoint and jr.progress see while a batch runs (_task.batch)."""

    def __init__(self, checkpoint_dir, count):
        self.checkpoint_dir = checkpoint_dir
        self.count = count
        self.current = None
        self.done = {}  # position -> pickled result
        self.unsaved = []  # records finished since the last checkpoint
        self.last_save = time.monotonic()
        self.save_cost = 0.0
        self.in_call = False
        self.saving = False
        self.stop_signal = 0

    @property
    def done_count(self):
        return len(self.done)

    @staticmethod
    def call_checkpoint_name(position):
        return f"jrpy-call-{position}.pkl"

    def restore(self):
        path = os.path.join(self.checkpoint_dir, CHECKPOINT_FILE)
        try:
            with open(path, "rb") as f:
                buf = f.read()
        except FileNotFoundError:
            return
        end = 0
        for call, kind, data, end in _format.records(buf):
            if kind == _format.VALUE:
                self.done[call] = bytes(data)
        # Keep only whole records: appends after a torn tail would be unreadable.
        if end != len(buf):
            with open(path, "r+b") as f:
                f.truncate(end)

    def save_checkpoint(self):
        """Appends the finished calls to the checkpoint file and has the engine store it with the
        running call's own checkpoint file, if any."""
        started = time.monotonic()
        self.saving = True
        try:
            path = os.path.join(self.checkpoint_dir, CHECKPOINT_FILE)
            if self.unsaved:
                with open(path, "ab") as f:
                    for rec in self.unsaved:
                        f.write(rec)
                self.unsaved = []
            elif not os.path.exists(path):
                open(path, "wb").close()
            files = [CHECKPOINT_FILE]
            if self.current is not None:
                own = self.call_checkpoint_name(self.current)
                if os.path.exists(os.path.join(self.checkpoint_dir, own)):
                    files.append(own)
            _task.engine_call("checkpoint.save", {"files": files})
        finally:
            self.saving = False
        self.last_save = time.monotonic()
        self.save_cost = self.last_save - started

    def after_call_checkpoint(self):
        """jr.checkpoint.save() calls this once the call's checkpoint is stored: the place where a
        stopping batch interrupts its running call."""
        if self.stop_signal and self.in_call:
            self.in_call = False
            raise _task.Interrupted()

    def save_due(self):
        return time.monotonic() - self.last_save >= max(MIN_SAVE_INTERVAL, 20 * self.save_cost)


def error_record(exc, message_prefix=""):
    """What the caller needs to re-raise exc: its pickle (when it has one) and its traceback text."""
    import traceback
    tb = exc.__traceback__
    # The runner's own frame is noise in the user's traceback.
    if tb is not None and tb.tb_frame.f_code.co_filename == __file__ and tb.tb_next is not None:
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    if message_prefix:
        text = message_prefix + "\n" + text
    try:
        exc_bytes = pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.loads(exc_bytes)
    except BaseException:
        exc_bytes = None
    try:
        message = str(exc)
    except BaseException:
        message = "<str() of the exception failed>"
    info = {"type": f"{type(exc).__module__}.{type(exc).__qualname__}", "message": message,
            "traceback": text, "exc": exc_bytes, "prefix": message_prefix}
    return pickle.dumps(info, protocol=pickle.HIGHEST_PROTOCOL)


def import_main(main):
    """Imports the caller's main script as __jr_main__ without running its guarded block, and
    makes it __main__ here, so that its functions and classes unpickle (as multiprocessing's
    spawn start method does)."""
    import importlib
    _task.loading_main = True
    try:
        if main.get("name"):
            module = importlib.import_module(main["name"])
        else:
            import importlib.util
            spec = importlib.util.spec_from_file_location("__jr_main__", main["path"])
            module = importlib.util.module_from_spec(spec)
            sys.modules["__jr_main__"] = module
            saved_argv = sys.argv
            sys.argv = [main["path"]]
            try:
                spec.loader.exec_module(module)
            finally:
                sys.argv = saved_argv
    finally:
        _task.loading_main = False
    sys.modules["__main__"] = module
    sys.modules["__jr_main__"] = module


def _exit(code):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


def run(batch_path):
    with open(batch_path, "rb") as f:
        spec = pickle.load(f)
    calls = spec["calls"]
    budget = spec.get("budget")
    timeout = spec.get("timeout")
    checkpoint_dir = os.environ["JR_CHECKPOINT_DIR"]
    b = Batch(checkpoint_dir, len(calls))
    _task.batch = b
    b.restore()

    def on_stop(signum, frame):
        first = not b.stop_signal
        b.stop_signal = signum
        if first and b.in_call:
            # The running call may outlive the engine's grace period: save what is finished now.
            # (Not while a save is under way: it ends, then the stop is seen.)
            if b.unsaved and not b.saving:
                try:
                    b.save_checkpoint()
                except Exception:
                    pass  # the engine is gone: nothing can be saved, by anyone
            signal.setitimer(signal.ITIMER_REAL, STOP_GRACE)

    def on_alarm(signum, frame):
        if not b.in_call:
            return
        b.in_call = False
        if b.stop_signal:
            raise _task.Interrupted()
        raise TimeoutError(f"the call ran longer than its timeout of {timeout:g} s")

    for s in STOP_SIGNALS:
        signal.signal(s, on_stop)
    signal.signal(signal.SIGALRM, on_alarm)

    error = None
    durations = {}
    stopped_by_budget = False
    started = time.monotonic()
    last_progress = started
    if spec.get("main"):
        try:
            import_main(spec["main"])
        except BaseException as e:
            first = next((p for p in range(len(calls)) if p not in b.done), 0)
            where = spec["main"].get("path") or spec["main"].get("name")
            error = (first, error_record(e, f"jr: importing the main script {where} in the task failed:"))

    for position, payload in enumerate(calls):
        if error is not None or b.stop_signal:
            break
        if position in b.done:
            continue
        if budget is not None and b.done and time.monotonic() - started >= budget:
            stopped_by_budget = True
            break
        b.current = position
        try:
            func, args, kwargs = pickle.loads(payload)
            t0 = time.perf_counter()
            b.in_call = True
            if b.stop_signal:  # it came after the check above: do not start the call
                b.in_call = False
                break
            if timeout:
                signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                value = func(*args, **dict(kwargs))
            finally:
                b.in_call = False
                signal.setitimer(signal.ITIMER_REAL, 0)
            durations[position] = time.perf_counter() - t0
        except _task.Interrupted:
            break
        except BaseException as e:
            error = (position, error_record(e))
            break
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as e:
            what = type(value).__qualname__
            error = (position, error_record(e, f"jr: the result of the call (a {what}) cannot be pickled:"))
            break
        del value
        b.done[position] = data
        b.unsaved.append(_format.record(position, _format.VALUE, data))
        try:
            os.unlink(os.path.join(checkpoint_dir, b.call_checkpoint_name(position)))
        except FileNotFoundError:
            pass
        b.current = None
        more = position + 1 < len(calls)
        if more and not b.stop_signal and b.save_due():
            b.save_checkpoint()
        now = time.monotonic()
        if more and now - last_progress >= 1.0:
            last_progress = now
            _task.write_progress(len(b.done) / len(calls), f"{len(b.done)} of {len(calls)} calls", force=True)

    if b.stop_signal:
        if b.unsaved:
            b.save_checkpoint()
        _exit(128 + b.stop_signal)
    if error is not None and b.unsaved:
        b.save_checkpoint()  # a retry of this batch resumes after the finished calls

    meta = {"batch": spec["batch"], "ids": spec["ids"], "done": sorted(b.done), "durations": durations,
            "budget_stopped": stopped_by_budget, "attempt": int(os.environ.get("JR_ATTEMPT", "0"))}
    path = os.path.join(checkpoint_dir, RESULT_FILE)
    with open(path, "wb") as f:
        f.write(_format.result_header(pickle.dumps(meta, protocol=pickle.HIGHEST_PROTOCOL)))
        for position in sorted(b.done):
            _format.write_record(f, position, _format.VALUE, b.done[position])
        if error is not None:
            _format.write_record(f, error[0], _format.ERROR, error[1])
    _task.engine_call("result.save", {"path": os.path.abspath(path)})
    _exit(1 if error is not None else 0)


def main(argv):
    if len(argv) != 2:
        print("usage: python3 -m jr._runner BATCH_FILE (inside a jr task)", file=sys.stderr)
        return 2
    if not _task.in_task():
        print("jr._runner: not inside a jr task (JR_RUN and JR_SOCKET are not set)", file=sys.stderr)
        return 2
    batch_path = os.path.abspath(argv[1])
    # The task starts in the state directory; the calls run where the caller ran.
    if sys.path and sys.path[0] == os.getcwd():
        del sys.path[0]
    cwd = os.environ.get("JRPY_CWD")
    if cwd:
        os.chdir(cwd)
    run(batch_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
