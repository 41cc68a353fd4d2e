"""Reading what tasks handed back (their results, through the store's read interface _store.py),
and re-raising failures.
"""

import os
import pickle

from . import _format, _store, errors

SUCCEEDED, FAILED, CANCELLED = _store.SUCCEEDED, _store.FAILED, _store.CANCELLED
STATE_NAMES = _store.STATE_NAMES


class TaskRow:
    __slots__ = ("index", "task_id", "state", "exit_code", "signal", "blob", "wall_seconds")

    def __init__(self, row):
        self.index, self.task_id, self.state, self.exit_code, self.signal, self.blob, wall_ms = row
        self.wall_seconds = None if wall_ms is None else wall_ms / 1000.0


def open_store(path, missing_ok=False):
    """A read-only, version-checked reader of a jr store (_store.StoreReader); None (missing_ok)
    or NotFound when there is none yet."""
    return _store.open_store(path, missing_ok)


def latest_job(db):
    return db.latest_job()


def task_rows(db, job_id, indexes=None, current_run=True):
    """The job's tasks (of its latest run when current_run) with their results, by index.

    Yields rows one at a time: results may be large, and are parsed and dropped one by one.
    """
    for row in db.task_rows(job_id, current_run):
        if indexes is None or row[0] in indexes:
            yield TaskRow(row)


def stored_calls(db):
    """{call identity: batch identity} for every call whose value a succeeded task of the store
    holds (dropped tasks that had succeeded count: listing them again makes them succeeded)."""
    found = {}
    for task_id, head in db.succeeded_result_heads(65536):
        end = _format.meta_end(head)
        if end is None:
            continue
        if end > len(head):
            head = db.result_head(task_id, end)
        meta_view, _ = _format.split_result(head)
        try:
            meta = pickle.loads(meta_view)
            ids = meta["ids"]
            for p in meta["done"]:
                found.setdefault(ids[p], meta["batch"])
        except Exception:
            continue  # not a result of this package's runner
    return found


class Handed:
    """One task's result, parsed: meta, finished calls {position: memoryview}, error or None."""

    def __init__(self, blob):
        self.blob = blob
        self.meta = {}
        self.values = {}
        self.error = None
        split = _format.split_result(blob) if blob is not None else None
        if split is None:
            return
        meta_view, offset = split
        self.meta = pickle.loads(meta_view)
        for call, kind, data, _ in _format.records(blob, offset):
            if kind == _format.VALUE:
                self.values[call] = data
            else:
                self.error = (call, data)

    def result_bytes(self):
        return sum(len(v) for v in self.values.values())


def _with_context(exc, tb_text, log, note):
    if hasattr(exc, "add_note"):
        exc.add_note(note)
    try:
        exc.jr_traceback = tb_text
        exc.jr_log = log
    except AttributeError:
        pass
    exc.__cause__ = errors.RemoteTraceback(tb_text)
    exc.__suppress_context__ = True
    return exc


def failure(error_bytes, position, function_name, task_id, log):
    """The exception to raise in the caller for a call that raised in its task."""
    info = pickle.loads(error_bytes)
    note = f"jr: raised by call {position} to {function_name} in task {task_id}; {_log_words(log)}"
    exc = None
    if info.get("exc") is not None:
        try:
            exc = pickle.loads(info["exc"])
        except Exception:
            exc = None
    # Only exceptions are raised as themselves: a SystemExit or KeyboardInterrupt of a task must
    # not end the caller.
    if not isinstance(exc, Exception):
        exc = errors.TaskError(f"{info.get('prefix') or ''} {info['type']}: {info['message']}".strip(),
                               traceback=info["traceback"], log=log, call=position)
    elif info.get("prefix"):
        if hasattr(exc, "add_note"):
            exc.add_note(info["prefix"])
    return _with_context(exc, info["traceback"], log, note)


def _log_words(log):
    return f"its log: {log}" if log else "it wrote nothing to stderr"


def log_tail(path, limit=2000):
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def no_result(row, positions, function_name, log):
    """The error for a task that ended without handing back its calls' results."""
    how = (f"signal {row.signal}" if row.signal is not None else
           f"exit code {row.exit_code}" if row.exit_code is not None else STATE_NAMES[row.state])
    first = positions[0] if positions else "?"
    tail = log_tail(log).strip()
    message = (f"jr: task {row.task_id}, running calls from {first} on ({len(positions)} calls) of {function_name}, "
               f"ended ({how}) without handing back their results; {_log_words(log)}")
    if tail:
        message += "\n--- end of its log ---\n" + tail
    return errors.TaskError(message, traceback="", log=log, call=first)
