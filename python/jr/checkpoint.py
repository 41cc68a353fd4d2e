"""jr.checkpoint: save and restore a call's own state inside a jr task.

    state = jr.checkpoint.load(default=None)      # what the last save stored, or default
    ...
    jr.checkpoint.save(state)                     # pickled into JR_CHECKPOINT_DIR, stored by jr

In a call run by jr.Parallel each call has its own checkpoint, kept until the call returns; an
interrupted call that runs again finds its last save. In a task of `jr run`/`jr submit` that is
a Python script, the task has one. Outside jr, save() does nothing and load() returns default,
so the same function also runs under joblib or a plain loop.

A save is durable when it returns: the engine has committed it (docs/protocol.md,
checkpoint.save). It costs one round trip and a commit, so save every few seconds of work,
not in a tight loop. When the task is being stopped (preemption, Ctrl-C, a failure elsewhere),
save() is where a call is interrupted, right after its state is stored.
"""

import os
import pickle

from . import _task

TASK_FILE = "checkpoint.pkl"


def _path():
    b = _task.batch
    if b is not None:
        return os.path.join(b.checkpoint_dir, b.call_checkpoint_name(b.current))
    directory = os.environ.get("JR_CHECKPOINT_DIR")
    return os.path.join(directory, TASK_FILE) if directory else None


def save(obj):
    """Pickles obj as this call's (or task's) checkpoint and has jr store it; a no-op outside jr."""
    path = _path()
    if path is None or not _task.in_task():
        return False
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    if _task.batch is not None:
        _task.batch.save_checkpoint()
        _task.batch.after_call_checkpoint()
    else:
        _task.engine_call("checkpoint.save", {"files": []})
    return True


def load(default=None):
    """The object of the last save() of this call (or task), else default."""
    path = _path()
    if path is None:
        return default
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except FileNotFoundError:
        return default
