"""The package reads a jr store only through its read interface (python/jr/_store.py), which
checks the store before it reads: a store a newer jr wrote is refused, saying so; a store this
jr writes is read, at the version the interface knows."""

import os
import sqlite3
import subprocess
import unittest

from support import TempDirTest, jr_bin

import jr
import jrtest_calls as calls
from jr import _store, errors


class StoreReaderTest(TempDirTest):
    def make_store(self):
        done = subprocess.run([jr_bin(), "run", "-j", "1", "--state", self.state, "--", "true", ":::", "x"],
                              capture_output=True, text=True, timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr)
        return _store.store_path(self.state)

    def set_pragma(self, path, name, value):
        db = sqlite3.connect(path)
        try:
            db.execute(f"PRAGMA {name} = {int(value)}")
            db.commit()
        finally:
            db.close()

    def test_a_store_this_jr_writes_is_read_at_the_schema_it_knows(self):
        path = self.make_store()
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            (version,) = db.execute("PRAGMA user_version").fetchone()
        finally:
            db.close()
        # When jr adds a migration, the reader is checked against it and its number raised.
        self.assertEqual(version, _store.SCHEMA_VERSION)
        reader = _store.open_store(path)
        try:
            self.assertEqual(reader.latest_job(), 1)
            rows = list(reader.task_rows(1))
            self.assertEqual([(r[0], r[2]) for r in rows], [(0, _store.SUCCEEDED)])
        finally:
            reader.close()

    def test_a_newer_schema_is_refused_with_a_clear_error(self):
        path = self.make_store()
        newer = _store.SCHEMA_VERSION + 1
        self.set_pragma(path, "user_version", newer)
        with self.assertRaises(errors.UnsupportedVersion) as caught:
            _store.open_store(path)
        self.assertEqual(str(caught.exception),
                         f"{path} was written by a newer jr (schema {newer}, this jr Python package reads up to "
                         f"{_store.SCHEMA_VERSION}); upgrade the jr Python package")
        # Through the package's own door: jr.Parallel reads the store before it runs anything.
        with self.assertRaises(errors.UnsupportedVersion):
            jr.Parallel(n_jobs=1, state=self.state)(jr.delayed(calls.square)(i) for i in range(2))

    def test_a_database_that_is_not_a_jr_store_is_refused(self):
        path = os.path.join(self.dir, "other.db")
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE tasks (id INTEGER)")
        db.commit()
        db.close()
        with self.assertRaises(errors.Corrupt) as caught:
            _store.open_store(path)
        self.assertIn("is not a jr store", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
