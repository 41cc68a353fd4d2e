"""Functions the tests run as jr calls: importable by module and name, as jr requires."""

import os
import sys
import threading
import time


def square(x):
    return x * x


def add(a, b=0, *, scale=1):
    return (a + b) * scale


def record(x, marker):
    """Appends x to the marker file (each call that runs leaves one line) and returns it."""
    with open(marker, "a") as f:
        f.write(f"{x}\n")
    return x


def draw(marker):
    """A random number, as a Monte Carlo replicate draws one; each call that runs leaves a line."""
    with open(marker, "a") as f:
        f.write("drawn\n")
    return int.from_bytes(os.urandom(8), "little")


def fail_on(x, bad):
    if x == bad:
        raise ValueError(f"x is {x}, which this call refuses")
    return x


def big_result(megabytes):
    return bytes(range(256)) * (megabytes * 4096)


def returns_lock():
    return threading.Lock()


def crash(code):
    os._exit(code)


def crash_loudly(code):
    print(f"about to exit {code}", file=sys.stderr, flush=True)
    os._exit(code)


def slow(seconds):
    time.sleep(seconds)
    return seconds


def identity(x):
    return x


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    def norm2(self):
        return self.x * self.x + self.y * self.y


def make_nested():
    def nested(x):
        return x
    return nested


def replaced(x):
    return x


_original_replaced = replaced


def replaced(x):  # noqa: F811 -- the point: the first object is no longer importable by its name
    return -x


def flaky(x):
    """Fails on a task's first attempt, succeeds on the next (JR_ATTEMPT counts attempts)."""
    if os.environ.get("JR_ATTEMPT") == "1":
        raise RuntimeError("first attempt fails")
    return x


def record_slowly(x, marker, seconds):
    time.sleep(seconds)
    with open(marker, "a") as f:
        f.write(f"{x}\n")
    return x


def report_progress(x):
    import jr
    jr.progress(0.5, "halfway")
    jr.progress(1.0, f"finished {x}")
    return x


def counts_attempts(x):
    """Saves a checkpoint per attempt and fails until the third: the count survives the retries."""
    import jr
    seen = jr.checkpoint.load(default=0) + 1
    jr.checkpoint.save(seen)
    if seen < 3:
        raise RuntimeError(f"attempt {seen} fails")
    return (x, seen, os.environ.get("JR_ATTEMPT"))


def exits(code):
    raise SystemExit(code)
