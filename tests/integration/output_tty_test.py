#!/usr/bin/python3
"""jr run's live line beside the task output it prints, on a terminal (issue 16).

The live line goes to stderr when it is a terminal. Before a task's output is printed the line
is erased, and it is drawn again after: no printed line starts behind the live line.

    JR_BUILD_DIR=build /usr/bin/python3 tests/integration/output_tty_test.py [ProgressLineTest]
"""

import os
import pty
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jrd_process import main  # noqa: E402

JR = os.path.join(os.path.abspath(os.environ.get("JR_BUILD_DIR", "build")), "cli", "jr")
ERASE = "\r\x1b[K"          # the live line erased: what follows starts on a clean line
DRAWN = re.compile(r"\r\[\d+/\d+\][^\r\n]*\x1b\[K")  # the live line drawn


def on_terminal(args, cwd):
    """Runs jr with stdout and stderr on one terminal; returns (exit code, all it wrote)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([JR] + args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: jr has exited, and nothing else holds the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(), b"".join(chunks).decode()


class ProgressLineTest(unittest.TestCase):
    def test_printed_output_never_starts_behind_the_live_line(self):
        with tempfile.TemporaryDirectory() as d:
            code, text = on_terminal(["run", "-j", "2", "--shell", "--", "echo out {}; echo err {} >&2", ":::"] +
                                     [str(i) for i in range(1, 31)], d)
        self.assertEqual(code, 0, text)
        self.assertRegex(text, DRAWN, "the live line was never drawn")
        for stream in ("out", "err"):
            for i in range(1, 31):
                line = f"{stream} {i}\r\n"
                at = [m.start() for m in re.finditer(re.escape(line), text)]
                self.assertEqual(len(at), 1, (line, text))
                before = text[:at[0]]
                self.assertTrue(before.endswith("\n") or before.endswith(ERASE),
                                f"{line!r} starts behind {before[-60:]!r}")
        # Nothing of a task's output is left inside a drawn live line.
        for drawn in DRAWN.findall(text):
            self.assertNotIn("out ", drawn)
            self.assertNotIn("err ", drawn)
        self.assertTrue(text.rstrip("\r\n").endswith("jr run: 30 tasks succeeded"), text[-200:])


if __name__ == "__main__":
    main()
