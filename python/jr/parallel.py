"""jr.Parallel, jr.delayed, jr.map: joblib's parallel map, backed by jr.

    results = jr.Parallel(n_jobs=8)(jr.delayed(f)(x) for x in xs)

How a call becomes a task: each batch of calls (_plan.py) is pickled to STATE/py/<batch id>.pkl,
named by the identities of its calls (_calls.py), and run as one jr task,
`exec "$JRPY_PYTHON" -m jr._runner py/<batch id>.pkl`, by a `jr run --tasks -` engine started for
the call (_engine.py) or by jrd (daemon=True, _daemon.py). The same calls make the same lines in
every run, so jr skips the batches that succeeded before and resumes the interrupted ones from
their checkpoints (_runner.py). Results come back through jr's store (_results.py), in order.
"""

import os
import sys

from . import _calls, _engine, _plan, _results, _task, errors

SUCCEEDED = _results.SUCCEEDED


def _n_jobs(n_jobs):
    if n_jobs is None:
        return 1
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; give a positive number, or -1 for every CPU")
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return n_jobs


def _pythonpath():
    """Where a task's interpreter finds jr and every module the caller can import."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    seen, out = set(), []
    for p in [here] + sys.path:
        p = os.path.abspath(p or os.getcwd())
        if p not in seen and os.path.exists(p):
            seen.add(p)
            out.append(p)
    return os.pathsep.join(out)


class _Work:
    """One Parallel call: its calls checked and encoded, deduplicated, and where they go."""

    def __init__(self, parallel, iterable):
        self.p = parallel
        self.n_jobs = _n_jobs(parallel.n_jobs)
        self.state = os.path.abspath(parallel.state)
        self.py_dir = os.path.join(self.state, "py")
        checked = {}
        self.positions = []  # input position -> unique call index
        self.calls = []  # unique calls
        self.first_position = []  # unique call index -> first input position
        by_identity = {}
        for position, item in enumerate(iterable):
            function, args, kwargs = _calls.normalize(item, position)
            if id(function) not in checked:
                _calls.check_function(function)
                checked[id(function)] = function  # keeps it alive, so that its id stays its own
            call = _calls.encode(function, args, kwargs, position)
            u = by_identity.get(call.identity)
            if u is None:
                u = by_identity[call.identity] = len(self.calls)
                self.calls.append(call)
                self.first_position.append(position)
            self.positions.append(u)
        needs_main = any(b"__main__" in c.payload for c in self.calls)
        self.main = _calls.main_module_info() if needs_main else None

    # -- batches ---------------------------------------------------------------------------

    def name_of(self, u):
        return _calls.describe(self.calls[u].function)

    def write(self, batches, budget_timeout=None):
        """Writes each batch's file (atomically) and returns the task lines, one per batch."""
        import pickle
        os.makedirs(self.py_dir, mode=0o700, exist_ok=True)
        lines = []
        for b in batches:
            ids = [self.calls[u].identity for u in b.calls]
            kind = "batch" if b.kind == "batch" else f"calibration {b.budget}"
            b.identity = _calls.batch_identity(kind, ids)
            spec = {"v": 1, "batch": b.identity, "main": self.main, "budget": b.budget,
                    "timeout": self.p.timeout, "calls": [self.calls[u].payload for u in b.calls]}
            path = os.path.join(self.py_dir, b.identity + ".pkl")
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                pickle.dump(spec, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
            lines.append(f'exec "$JRPY_PYTHON" -m jr._runner py/{b.identity}.pkl')
        return lines

    def remove_files(self, batches):
        for b in batches:
            try:
                os.unlink(os.path.join(self.py_dir, b.identity + ".pkl"))
            except (FileNotFoundError, TypeError):
                pass

    def task_env(self):
        return {"JRPY_PYTHON": sys.executable, "JRPY_CWD": os.getcwd(), "PYTHONPATH": _pythonpath(),
                "JRPY_JR": _engine.jr_binary()}

    def engine_timeout(self, batches):
        if not self.p.timeout:
            return None
        return self.p.timeout * max(len(b.calls) for b in batches) + 60.0

    # -- results ---------------------------------------------------------------------------

    def collect(self, rows, batches, log_dir, values, measured=None):
        """Reads rows (task index == batch index) into values {unique index: object}.

        Returns (failures, missing): failures are (input position, exception) for calls that
        raised; missing are (row, batch) for tasks that ended without handing back all results.
        """
        import pickle
        failures, missing = [], []
        for row in rows:
            if row.index >= len(batches):
                continue
            b = batches[row.index]
            h = _results.Handed(row.blob)
            if h.meta.get("batch", b.identity) != b.identity:
                raise errors.Corrupt(f"jr: task {row.task_id} handed back the results of batch {h.meta.get('batch')}, "
                                     f"not of {b.identity}")
            log = os.path.join(log_dir, f"{row.task_id}.err")
            if measured is not None:
                measured.add_task(h.meta.get("durations", {}), row.wall_seconds, h.result_bytes())
                measured.done.update(b.calls[p] for p in h.values)
            else:
                for p, data in h.values.items():
                    u = b.calls[p]
                    try:
                        values[u] = pickle.loads(data)
                    except Exception as e:
                        failures.append((self.first_position[u], errors.TaskError(
                            f"jr: the result of call {self.first_position[u]} to {self.name_of(u)} cannot be "
                            f"unpickled here: {type(e).__name__}: {e}", log=log, call=self.first_position[u])))
            if h.error is not None:
                u = b.calls[h.error[0]]
                failures.append((self.first_position[u],
                                 _results.failure(h.error[1], self.first_position[u], self.name_of(u), row.task_id, log)))
            elif row.state != SUCCEEDED:
                missing.append((row, b, log))
            del h
        return failures, missing

    def raise_problems(self, failures, missing, interrupted, state_label):
        if failures:
            failures.sort(key=lambda f: f[0])
            raise failures[0][1]
        finished = [m for m in missing if m[0].state == _results.FAILED or m[0].state == 5]
        if finished and not interrupted:
            row, b, log = finished[0]
            undone = [self.first_position[u] for u in b.calls]
            raise _results.no_result(row, sorted(undone), self.name_of(b.calls[0]), log)
        if interrupted or missing:
            raise errors.Interrupted(f"jr: the run on {state_label} was interrupted before every call finished; "
                                     "run the same code again to resume where it stopped")

    def assemble(self, values):
        return [values[u] for u in self.positions]


class Parallel:
    """joblib.Parallel's interface; calls run as jr tasks and are never computed twice.

    n_jobs: calls at once (-1: every CPU). state: the directory jr keeps the record in (its
    store, logs, checkpoints, and the calls under py/). retries: further attempts of a failed
    batch. timeout: seconds one call may take (TimeoutError in the caller). batch_size: calls
    per task, or "auto" (_plan.py). daemon: submit to jrd instead of running an engine here;
    name: the jrd job's name, to re-attach to it from another process (jr.attach). verbose:
    let the engine print its progress and summary.
    """

    def __init__(self, n_jobs=8, state=".jr", retries=0, timeout=None, batch_size="auto", daemon=False, name=None,
                 socket=None, verbose=0):
        if batch_size != "auto" and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size is 'auto' or a positive int, not {batch_size!r}")
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.n_jobs = n_jobs
        self.state = state
        self.retries = int(retries)
        self.timeout = float(timeout) if timeout else None
        self.batch_size = batch_size
        self.daemon = daemon
        self.name = name
        self.socket = socket
        self.verbose = verbose

    def __call__(self, iterable):
        if _task.loading_main:
            raise RuntimeError("jr.Parallel was called while a jr task imported the main script: the script runs "
                               "its work when imported; put that code under `if __name__ == \"__main__\":`")
        work = _Work(self, iterable)
        if not work.calls:
            return []
        inner = os.environ.get("JR_STATE_DIR")
        if inner and os.path.abspath(inner) == work.state:
            raise errors.Conflict(f"jr.Parallel inside a jr task cannot use the task's own state {work.state}; "
                                  "give it another state=")
        if self.daemon:
            from . import _daemon
            return _daemon.run(work)
        return _run_embedded(work)


def _batches(work, run_calibration):
    """The batches of work; for "auto" the calibration runs first (through run_calibration)."""
    count = len(work.calls)
    if work.p.batch_size != "auto":
        return _plan.fixed(count, work.p.batch_size)
    os.makedirs(work.py_dir, mode=0o700, exist_ok=True)
    path = os.path.join(work.py_dir, "plan-" + _plan.plan_key([c.identity for c in work.calls], "auto") + ".json")
    loaded = _plan.load(path)
    cal, rest = loaded if loaded else (_plan.calibration(count, work.n_jobs), None)
    if cal is None and rest is None:
        rest = _plan.fixed(count, 1)
    if not loaded:
        _plan.save(path, cal, rest)
    if rest is None:
        measured = run_calibration(cal)
        rest = _plan.after_calibration(count, cal, measured, work.n_jobs)
        _plan.save(path, cal, rest)
    return (cal or []) + rest


def _run_embedded(work):
    os.makedirs(work.state, mode=0o700, exist_ok=True)
    log_dir = os.path.join(work.state, "logs")
    values = {}

    def run(batches, measured=None):
        lines = work.write(batches)
        outcome = _engine.run(work.state, lines, work.n_jobs, retries=work.p.retries,
                              timeout=work.engine_timeout(batches), env=dict(os.environ, **work.task_env()),
                              verbose=work.p.verbose)
        if outcome.code not in (0, _engine.EXIT_FAILED, _engine.EXIT_SIGINT, _engine.EXIT_SIGTERM):
            raise _engine_error(outcome, work.state)
        db = _engine.open_store(work.state)
        if db is None:
            raise _engine_error(outcome, work.state)
        try:
            job = _results.latest_job(db)
            failures, missing = work.collect(_results.task_rows(db, job), batches, log_dir, values, measured)
        finally:
            db.close()
        if outcome.code == _engine.EXIT_FAILED and not failures and not missing:
            raise _engine_error(outcome, work.state)
        work.raise_problems(failures, missing, outcome.code in (_engine.EXIT_SIGINT, _engine.EXIT_SIGTERM),
                            work.state)
        return measured

    batches = _batches(work, lambda cal: run(cal, _plan.Measured()))
    run(batches)
    missing = [u for u in range(len(work.calls)) if u not in values]
    if missing:
        raise errors.Internal(f"jr: {len(missing)} calls have no stored result after a successful run "
                              f"(first: call {work.first_position[missing[0]]}); state {work.state}")
    work.remove_files(batches)
    return work.assemble(values)


def _engine_error(outcome, state):
    text = outcome.log_text.strip() or f"jr run exited with {outcome.code}"
    cls = errors.Conflict if ("another job" in text or "another jr engine" in text) else errors.Internal
    return cls(f"jr run on {state} failed (exit {outcome.code}): {text}")


def delayed(function):
    return _calls.delayed(function)


delayed.__doc__ = _calls.delayed.__doc__


def map(function, iterable, **parallel_args):
    """[function(x) for x in iterable], run by jr.Parallel(**parallel_args)."""
    return Parallel(**parallel_args)(_calls.delayed(function)(x) for x in iterable)
