"""How jr.Parallel groups calls into tasks (batches), so that a million tiny calls do not start a
million interpreters, and how the grouping stays the same across runs.

batch_size=N: consecutive groups of N calls.

batch_size="auto" (as joblib, but every task starts a new interpreter, which costs `s` seconds,
measured; so a batch aims at max(1, 40 * s) seconds of work, at most 30, keeping that cost near
2.5%):
1. calibration: n_jobs tasks, each given a slice of the calls and a time budget; each runs calls
   until the first that ends past the budget (at least one), and hands back what it finished,
   with the time each call took. These are real results, never recomputed.
2. the rest (the slices' unfinished calls, then the calls after them) are cut in order into
   batches sized from the measured time per call: about the target while much work remains,
   then smaller, down to max(0.2, 10 * s) seconds each, so that the workers finish together
   (guided self-scheduling), and never fewer batches than workers. A batch's results are also
   kept under 256 MB (SQLite's limit for one value is 1 GB).
With as few calls as workers, every call is its own task and there is no calibration.

A plan is saved in STATE/py/plan-<key>.json, key = the call identities and batch_size, so a
rerun (after a kill, or with another n_jobs) cuts the same batches and jr matches them to their
stored tasks. A new plan (the input changed) first looks for calls whose results succeeded
tasks of the state already hold: their tasks are listed again, as "reused", so jr keeps them
succeeded, and only the other calls are cut into batches.
"""

import hashlib
import json
import math
import os

CALIBRATION_BUDGET = 0.5  # seconds of calls per calibration task
CALIBRATION_SLICE_MAX = 1024  # calls given to one calibration task
TARGET_FACTOR, FLOOR_FACTOR = 40.0, 10.0  # batch work in units of the task start-up cost
TARGET_MIN, TARGET_MAX, FLOOR_MIN = 1.0, 30.0, 0.2  # seconds
MAX_BATCH_RESULT_BYTES = 256 << 20
DEFAULT_STARTUP = 0.05  # seconds, when calibration could not measure it


class Batch:
    __slots__ = ("kind", "calls", "budget", "identity")

    def __init__(self, kind, calls, budget=None):
        self.kind = kind  # "batch" or "calibration"
        self.calls = calls  # positions in the unique call list
        self.budget = budget
        self.identity = None


def plan_key(call_ids, batch_size):
    h = hashlib.sha256(f"jr.py plan 1 {batch_size}".encode())
    for i in call_ids:
        h.update(i.encode())
    return h.hexdigest()[:40]


def fixed(todo, size):
    """Consecutive groups of size calls of todo (positions in the unique call list)."""
    return [Batch("batch", todo[i:i + size]) for i in range(0, len(todo), size)]


def calibration(todo, n_jobs):
    """The calibration batches for todo, or None when every call gets its own task right away."""
    if len(todo) <= n_jobs:
        return None
    size = min(math.ceil(len(todo) / n_jobs), CALIBRATION_SLICE_MAX)
    return [Batch("calibration", todo[i * size:(i + 1) * size], CALIBRATION_BUDGET)
            for i in range(n_jobs) if i * size < len(todo)]


class Measured:
    """What calibration tasks report: per-call seconds, per-task overhead, result bytes."""

    def __init__(self):
        self.call_seconds = 0.0
        self.calls = 0
        self.startups = []
        self.result_bytes = 0
        self.done = set()

    def add_task(self, durations, wall_seconds, result_bytes):
        self.call_seconds += sum(durations.values())
        self.calls += len(durations)
        self.result_bytes += result_bytes
        if wall_seconds is not None:
            self.startups.append(max(0.0, wall_seconds - sum(durations.values())))


def after_calibration(todo, cal_batches, measured, n_jobs):
    """The batches for every call of todo the calibration tasks did not finish, in order."""
    in_cal = set()
    for b in cal_batches:
        in_cal.update(b.calls)
    remaining = [p for b in cal_batches for p in b.calls if p not in measured.done]
    remaining += [p for p in todo if p not in in_cal]
    if not remaining:
        return []
    per_call = max(measured.call_seconds / max(1, measured.calls), 1e-6)
    startups = sorted(measured.startups)
    startup = startups[len(startups) // 2] if startups else DEFAULT_STARTUP
    target = min(TARGET_MAX, max(TARGET_MIN, TARGET_FACTOR * startup))
    floor = min(target, max(FLOOR_MIN, FLOOR_FACTOR * startup))
    bytes_per_call = measured.result_bytes / max(1, measured.calls)
    max_by_bytes = max(1, int(MAX_BATCH_RESULT_BYTES / max(1.0, bytes_per_call)))
    work = len(remaining) * per_call
    even_share = work / n_jobs  # never fewer batches than workers
    batches, i = [], 0
    while i < len(remaining):
        seconds = min(target, even_share, max(floor, work / (2 * n_jobs)))
        size = max(1, min(int(round(seconds / per_call)), max_by_bytes))
        batches.append(Batch("batch", remaining[i:i + size]))
        i += size
        work -= size * per_call
    return batches


def _to_json(batches):
    return [{"kind": b.kind, "calls": b.calls, "budget": b.budget} for b in batches]


def _from_json(items):
    return [Batch(x["kind"], x["calls"], x.get("budget")) for x in items]


class Plan:
    """reused: identities of earlier batches whose tasks hold some of these calls' results;
    todo: the other calls; calibration: None, or its batches; batches: None until calibrated."""

    def __init__(self, reused, todo, calibration, batches):
        self.reused = reused
        self.todo = todo
        self.calibration = calibration
        self.batches = batches


def load(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except (FileNotFoundError, ValueError):
        return None
    if data.get("version") != 2:
        return None
    cal = _from_json(data["calibration"]) if data.get("calibration") is not None else None
    rest = _from_json(data["batches"]) if data.get("batches") is not None else None
    return Plan(data["reused"], data["todo"], cal, rest)


def save(path, plan):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump({"version": 2, "reused": plan.reused, "todo": plan.todo,
                   "calibration": None if plan.calibration is None else _to_json(plan.calibration),
                   "batches": None if plan.batches is None else _to_json(plan.batches)}, f)
    os.replace(tmp, path)
