"""The package's read interface to a jr store (DIR/jr.db), and the one module of python/jr that
speaks SQL (tests/no_sql_outside_storage.sh). docs/DESIGN.md, "Reading a store from Python",
documents it: what it reads, and the version rule below.

A store is opened read-only (the engine is its only writer) and checked before anything is read:
it must carry jr's application id, and a schema version no newer than SCHEMA_VERSION, the newest
this package was written against (storage/schema.cpp's migrations; schema_test.cpp keeps the
two equal). A store a newer jr wrote is refused with errors.UnsupportedVersion, as jr itself
refuses one: its tables may no longer mean what these reads assume. Older versions are read:
every column read here exists since version 1.
"""

import os
import sqlite3

from . import errors

APPLICATION_ID = 0x6a720001  # "jr" + format 1: PRAGMA application_id of every jr store
SCHEMA_VERSION = 6           # PRAGMA user_version: the newest schema this package reads

# Names in a state directory (storage/state_files.h lists them all; these are what the package
# opens), and the package's own subdirectory.
STORE, LOGS, LOCK, PY = "jr.db", "logs", "lock", "py"


def store_path(state):
    return os.path.join(state, STORE)


def logs_dir(state):
    return os.path.join(state, LOGS)


def lock_path(state):
    return os.path.join(state, LOCK)


def py_dir(state):
    """The package's own files in a state directory (engine.log, daemon job records)."""
    return os.path.join(state, PY)


# tasks.state and attempts.outcome (storage/types.h, TaskState).
PENDING, RUNNING, SUCCEEDED, FAILED, INTERRUPTED, CANCELLED, DROPPED = range(7)
STATE_NAMES = ("pending", "running", "succeeded", "failed", "interrupted", "cancelled", "dropped")


def open_store(path, missing_ok=False):
    """A StoreReader on the store at `path`; None (missing_ok) or NotFound when there is none yet."""
    if not os.path.exists(path):
        if missing_ok:
            return None
        raise errors.NotFound(f"no jr store at {path}")
    return StoreReader(path)


class StoreReader:
    """Read-only access to one store, checked on opening (see the module's docstring)."""

    def __init__(self, path):
        self.path = path
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60.0)
        try:
            self._check()
        except BaseException:
            self._db.close()
            raise

    def _check(self):
        try:
            (app,) = self._db.execute("PRAGMA application_id").fetchone()
            (version,) = self._db.execute("PRAGMA user_version").fetchone()
        except sqlite3.DatabaseError as e:
            raise errors.Corrupt(f"{self.path} is not a jr store: {e}") from None
        if app != APPLICATION_ID:
            raise errors.Corrupt(f"{self.path} is not a jr store (application id {app:#x})")
        if version > SCHEMA_VERSION:
            raise errors.UnsupportedVersion(
                f"{self.path} was written by a newer jr (schema {version}, this jr Python package reads up to "
                f"{SCHEMA_VERSION}); upgrade the jr Python package")

    def close(self):
        self._db.close()

    def latest_job(self):
        """The id of the store's latest job; None when it has none."""
        row = self._db.execute("SELECT id FROM jobs ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def task_rows(self, job_id, current_run=True):
        """(index, task id, state, exit code, signal, result bytes or None, run time of its last
        attempt in ms or None) of the job's tasks (of its latest run when current_run), by index.

        Yields rows one at a time: results may be large."""
        sql = ("SELECT t.idx, t.id, t.state, t.exit_code, t.signal, r.bytes, "
               "(SELECT a.end_ms - a.start_ms FROM attempts a WHERE a.task_id = t.id ORDER BY a.attempt DESC LIMIT 1) "
               "FROM tasks t LEFT JOIN results r ON r.task_id = t.id WHERE t.job_id = ?1")
        if current_run:
            sql += " AND t.run_gen = (SELECT run_gen FROM jobs WHERE id = ?1)"
        sql += " ORDER BY t.idx"
        yield from self._db.execute(sql, (job_id,))

    def succeeded_result_heads(self, length):
        """[(task id, the first `length` bytes of its result)] of every task that succeeded,
        dropped ones that had succeeded included."""
        sql = ("SELECT r.task_id, substr(r.bytes, 1, ?1) FROM results r JOIN tasks t ON t.id = r.task_id "
               "WHERE t.state = 2 OR (t.state = 6 AND EXISTS "
               "(SELECT 1 FROM attempts a WHERE a.task_id = t.id AND a.outcome = 2))")
        return self._db.execute(sql, (length,)).fetchall()

    def result_head(self, task_id, length):
        """The first `length` bytes of a task's result."""
        (head,) = self._db.execute("SELECT substr(bytes, 1, ?) FROM results WHERE task_id = ?",
                                   (length, task_id)).fetchone()
        return head

    def failed_since(self, since_ms):
        """Whether a task failed for good at or after since_ms; False when the store cannot be
        read now (the caller asks again)."""
        try:
            row = self._db.execute("SELECT 1 FROM tasks WHERE state = 3 AND end_ms >= ? LIMIT 1",
                                   (since_ms,)).fetchone()
        except sqlite3.Error:
            return False
        return row is not None
