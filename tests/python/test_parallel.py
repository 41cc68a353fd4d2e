"""jr.Parallel, jr.delayed, jr.map: results, errors, what is refused before any task runs, reruns."""

import os
import pickle
import subprocess
import threading
import unittest

import support
from support import TempDirTest

import jr
import jrtest_calls as calls
from jr import delayed


def lines(path):
    try:
        with open(path) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


class ResultsTest(TempDirTest):
    def test_results_in_order(self):
        got = jr.Parallel(n_jobs=2, state=self.state)(delayed(calls.square)(i) for i in range(300))
        self.assertEqual(got, [i * i for i in range(300)])

    def test_fixed_batch_size_and_keywords(self):
        got = jr.Parallel(n_jobs=2, state=self.state, batch_size=7)(
            delayed(calls.add)(i, b=1, scale=2) for i in range(40))
        self.assertEqual(got, [(i + 1) * 2 for i in range(40)])

    def test_generator_input(self):
        def gen():
            for i in range(25):
                yield delayed(calls.square)(i)
        self.assertEqual(jr.Parallel(n_jobs=2, state=self.state)(gen()), [i * i for i in range(25)])
        self.assertEqual(jr.map(calls.square, (i for i in range(10)), n_jobs=2, state=self.state),
                         [i * i for i in range(10)])

    def test_empty_input(self):
        self.assertEqual(jr.Parallel(n_jobs=2, state=self.state)([]), [])
        self.assertEqual(jr.map(calls.square, iter(()), state=self.state), [])
        self.assertFalse(os.path.exists(self.state), "no engine runs for no calls")

    def test_objects_of_importable_classes(self):
        points = [calls.Point(i, i + 1) for i in range(12)]
        got = jr.Parallel(n_jobs=2, state=self.state)(delayed(calls.identity)(p) for p in points)
        self.assertEqual(got, points)

    def test_equal_calls_run_once_each_as_with_joblib(self):
        marker = os.path.join(self.dir, "marker")
        got = jr.Parallel(n_jobs=2, state=self.state)(delayed(calls.record)(x, marker) for x in [1, 2, 1, 3, 2])
        self.assertEqual(got, [1, 2, 1, 3, 2])
        self.assertEqual(sorted(lines(marker)), ["1", "1", "2", "2", "3"])

    def test_ten_draws_without_arguments_are_ten_results_and_a_rerun_keeps_them(self):
        marker = os.path.join(self.dir, "marker")
        work = [delayed(calls.draw)(marker) for _ in range(10)]
        got = jr.Parallel(n_jobs=2, state=self.state)(work)
        self.assertEqual(len(got), 10)
        self.assertEqual(len(set(got)), 10, "equal calls were merged")
        self.assertEqual(len(lines(marker)), 10)
        # The k-th copy matches the k-th copy: a rerun takes every draw from the store, and
        # two more calls run only those two.
        self.assertEqual(jr.Parallel(n_jobs=2, state=self.state)(work), got)
        more = jr.Parallel(n_jobs=2, state=self.state)(work + work[:2])
        self.assertEqual(more[:10], got)
        self.assertEqual(len(set(more)), 12)
        self.assertEqual(len(lines(marker)), 12)

    def test_rerun_computes_nothing_again(self):
        marker = os.path.join(self.dir, "marker")
        work = [delayed(calls.record)(x, marker) for x in range(30)]
        first = jr.Parallel(n_jobs=2, state=self.state)(work)
        self.assertEqual(len(lines(marker)), 30)
        again = jr.Parallel(n_jobs=2, state=self.state)(work)
        self.assertEqual(first, again)
        self.assertEqual(len(lines(marker)), 30, "a finished call ran again")
        # One more input: only it runs.
        more = jr.Parallel(n_jobs=2, state=self.state)(work + [delayed(calls.record)(30, marker)])
        self.assertEqual(more, list(range(31)))
        self.assertEqual(sorted(map(int, lines(marker))), list(range(31)))

    def test_results_larger_than_100_megabytes(self):
        got = jr.Parallel(n_jobs=1, state=self.state)([delayed(calls.big_result)(101), delayed(calls.square)(3)])
        self.assertEqual(len(got[0]), 101 << 20)
        self.assertEqual(got[0], calls.big_result(101))
        self.assertEqual(got[1], 9)

    def test_retries(self):
        self.assertEqual(jr.Parallel(n_jobs=2, state=self.state, retries=1)(delayed(calls.flaky)(i) for i in range(3)),
                         [0, 1, 2])


class ErrorsTest(TempDirTest):
    def test_exception_in_a_task_is_raised_with_its_traceback_and_log(self):
        with self.assertRaises(ValueError) as caught:
            jr.Parallel(n_jobs=2, state=self.state, batch_size=1)(delayed(calls.fail_on)(x, 3) for x in range(6))
        e = caught.exception
        self.assertIn("x is 3", str(e))
        self.assertIsInstance(e.__cause__, jr.errors.RemoteTraceback)
        self.assertIn("in fail_on", e.__cause__.text)
        self.assertIn('raise ValueError(f"x is {x}', e.__cause__.text)
        self.assertIsNone(e.jr_log)  # the task wrote nothing to stderr
        self.assertTrue(any("call 3" in note and "wrote nothing to stderr" in note for note in e.__notes__),
                        e.__notes__)

    def test_first_failing_call_in_input_order_is_raised(self):
        with self.assertRaises(ValueError) as caught:
            jr.Parallel(n_jobs=1, state=self.state, batch_size=50)(
                [delayed(calls.square)(1), delayed(calls.fail_on)(2, 2), delayed(calls.fail_on)(5, 5)])
        self.assertIn("x is 2", str(caught.exception))

    # The slow call would sleep for a day: these return only because it was stopped (if it is
    # not, the test hangs until ctest's timeout fails it).
    def test_a_failure_stops_the_run(self):
        with self.assertRaises(ValueError):
            jr.Parallel(n_jobs=2, state=self.state, batch_size=1)(
                [delayed(calls.slow)(86400), delayed(calls.fail_on)(1, 1)])

    def test_call_timeout(self):
        with self.assertRaises(TimeoutError):
            jr.Parallel(n_jobs=1, state=self.state, timeout=0.5)([delayed(calls.slow)(86400)])

    def test_result_that_cannot_be_pickled(self):
        with self.assertRaises(TypeError) as caught:
            jr.Parallel(n_jobs=1, state=self.state)([delayed(calls.returns_lock)()])
        self.assertTrue(any("cannot be pickled" in n for n in caught.exception.__notes__), caught.exception.__notes__)

    def test_system_exit_in_a_call_does_not_end_the_caller(self):
        with self.assertRaises(jr.TaskError) as caught:
            jr.Parallel(n_jobs=1, state=self.state)([delayed(calls.exits)(4)])
        self.assertIn("SystemExit: 4", str(caught.exception))
        self.assertIn("raise SystemExit(code)", caught.exception.traceback)

    def test_task_that_dies_without_a_result(self):
        with self.assertRaises(jr.TaskError) as caught:
            jr.Parallel(n_jobs=1, state=self.state)([delayed(calls.crash)(7)])
        self.assertIn("exit code 7", str(caught.exception))
        self.assertIsNone(caught.exception.log)
        self.assertIn("wrote nothing to stderr", str(caught.exception))

    def test_task_that_dies_after_writing_to_stderr_names_its_log(self):
        with self.assertRaises(jr.TaskError) as caught:
            jr.Parallel(n_jobs=1, state=self.state)([delayed(calls.crash_loudly)(7)])
        log = caught.exception.log
        self.assertTrue(log.endswith(".err") and os.path.exists(log), log)
        self.assertIn(f"its log: {log}", str(caught.exception))
        self.assertIn("about to exit 7", str(caught.exception))


GUARDED = """
import sys
import jr

class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b

def total(pair, scale=1):
    return Pair(pair.a + pair.b, scale)

if __name__ == "__main__":
    out = jr.Parallel(n_jobs=2, state="state")(jr.delayed(total)(Pair(i, 1), scale=2) for i in range(6))
    print([(p.a, p.b, type(p).__name__) for p in out])
"""

UNGUARDED = """
import jr

def one(x):
    return x

print(jr.Parallel(n_jobs=1, state="state")(jr.delayed(one)(i) for i in range(2)))
"""

INTERACTIVE = """
import jr
def f(x):
    return x
jr.Parallel(n_jobs=1, state="state")([jr.delayed(f)(1)])
"""


class MainScriptTest(TempDirTest):
    def test_functions_and_classes_of_a_guarded_main_script(self):
        done = self.run_script(GUARDED)
        self.assertEqual(done.stdout.strip(), str([(i + 1, 2, "Pair") for i in range(6)]))

    def test_an_unguarded_main_script_is_explained(self):
        done = self.run_script(UNGUARDED, check=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn('if __name__ == \"__main__\":', done.stderr)
        self.assertIn("RuntimeError", done.stderr)

    def test_a_script_without_a_file(self):
        done = subprocess.run([support.PYTHON, "-c", INTERACTIVE], cwd=self.dir, env=support.script_env(),
                              capture_output=True, text=True, timeout=60)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("jr.errors.NotImportable: jr cannot run __main__.f", done.stderr)
        self.assertIn("interactive session", done.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "state")))


class RefusedBeforeAnyTaskTest(TempDirTest):
    def assertRefused(self, error, work, *needles):
        with self.assertRaises(error) as caught:
            jr.Parallel(n_jobs=2, state=self.state)(work)
        for needle in needles:
            self.assertIn(needle, str(caught.exception))
        self.assertFalse(os.path.exists(self.state), "a task ran (the state directory was created)")

    def test_unpicklable_argument(self):
        self.assertRefused(jr.UnpicklableArgument,
                           [delayed(calls.identity)(1), delayed(calls.add)(1, b=threading.Lock())],
                           "call 1", "calls.add", "keyword argument b=", "lock")
        self.assertRefused(jr.UnpicklableArgument, (delayed(calls.identity)(lambda: 0) for _ in range(2)),
                           "call 0", "argument 1", "function")

    def test_lambda(self):
        self.assertRefused(jr.NotImportable, [delayed(lambda x: x)(1)], "lambda", "test_parallel.py")

    def test_nested_function(self):
        self.assertRefused(jr.NotImportable, [delayed(calls.make_nested())(1)], "make_nested.<locals>.nested",
                           "inside another function")

    def test_function_no_longer_importable_by_its_name(self):
        self.assertRefused(jr.NotImportable, [delayed(calls._original_replaced)(1)], "jrtest_calls.replaced",
                           "redefined")

    def test_not_a_call(self):
        self.assertRefused(TypeError, [calls.square], "delayed(f)")

    def test_errors_pickle_for_the_caller(self):
        e = pickle.loads(pickle.dumps(jr.errors.NotFound("no job 3")))
        self.assertEqual((e.code, str(e)), ("not_found", "no job 3"))


if __name__ == "__main__":
    unittest.main()
