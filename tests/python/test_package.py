"""`pip install ./python` works offline with Debian's pip and setuptools, and the installed copy runs."""

import os
import shutil
import subprocess
import unittest

import support
from support import PYTHON, SOURCE_DIR, TempDirTest

INSTALLED_SCRIPT = """
import os, sys
import jr
assert jr.__file__.startswith(sys.argv[1]), jr.__file__
import jrtest_calls as calls
print(jr.Parallel(n_jobs=2, state="state")(jr.delayed(calls.square)(i) for i in range(5)))
"""


def has_pip():
    return subprocess.run([PYTHON, "-m", "pip", "--version"], capture_output=True).returncode == 0


@unittest.skipUnless(has_pip(), "pip is missing for /usr/bin/python3 (python3-pip; scripts/setup optional)")
class PackageTest(TempDirTest):
    def test_pip_install_offline_then_run(self):
        # A copy: building writes *.egg-info and build/ beside the sources.
        source = os.path.join(self.dir, "python")
        shutil.copytree(os.path.join(SOURCE_DIR, "python"), source,
                        ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
        target = os.path.join(self.dir, "site")
        env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        env.pop("PYTHONPATH", None)
        done = subprocess.run([PYTHON, "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--no-index",
                               "--target", target, source], env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertTrue(os.path.exists(os.path.join(target, "jr", "_runner.py")))
        script = os.path.join(self.dir, "use.py")
        with open(script, "w") as f:
            f.write(INSTALLED_SCRIPT)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([target, support.HERE]), JR_BIN=support.jr_bin())
        done = subprocess.run([PYTHON, script, target], cwd=self.dir, env=env, capture_output=True, text=True,
                              timeout=600)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.strip(), "[0, 1, 4, 9, 16]")


if __name__ == "__main__":
    unittest.main()
