"""jr.progress(fraction, message): how far the running call has come, shown by `jr top`/`jr status`.

Writes the task's slot of the progress board through `jr progress`. In a call run by
jr.Parallel, the fraction is the call's own and the board shows the batch's:
(calls done + fraction) / calls in the batch. Advisory and rate-limited (at most five writes a
second); a no-op outside a jr task.
"""

from . import _task


def progress(fraction, message=""):
    if not _task.in_task():
        return
    fraction = min(1.0, max(0.0, float(fraction)))
    b = _task.batch
    if b is not None:
        overall = (b.done_count + fraction) / max(1, b.count)
        message = f"call {b.done_count + 1} of {b.count}" + (f": {message}" if message else "")
        _task.write_progress(overall, message, force=fraction >= 1.0)
    else:
        _task.write_progress(fraction, message, force=fraction >= 1.0)
