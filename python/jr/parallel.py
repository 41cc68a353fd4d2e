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

from . import _calls, _engine, _plan, _results, _store, _task, errors

SUCCEEDED = _results.SUCCEEDED


def task_line(batch_identity):
    """The shell line of a batch's task: the same batch is the same line, hence the same jr task."""
    return f'exec "$JRPY_PYTHON" -m jr._runner py/{batch_identity}.pkl'


def _n_jobs(n_jobs):
    if n_jobs is None:
        return 1
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; give a positive number, or -1 for every CPU")
    if n_jobs < 0:
        return max(1, _engine.usable_cpus() + 1 + n_jobs)
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


class _Layout:
    """Where each input's result comes from: input position -> unique call -> (batch, position)."""

    def __init__(self, positions, first_position, unique_of, names):
        self.positions = positions  # input position -> unique call index
        self.first_position = first_position  # unique call index -> its first input position
        self.unique_of = unique_of  # call identity -> unique call index
        self._names = names  # unique call index -> the function's name, for messages

    def name_of(self, u):
        return self._names(u)

    def collect(self, rows, batches, log_dir, values, measured=None):
        """Reads rows (task index == batch index) into values {unique index: object}.

        A task's result names its calls by identity, so a reused batch (whose calls this input
        need not all have) is read the same way. Returns (failures, missing): failures are
        (input position, exception) for calls that raised; missing are (row, batch, log) for
        tasks that ended without handing back their results.
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
            ids = h.meta.get("ids", [])
            log = os.path.join(log_dir, f"{row.task_id}.err")
            if not os.path.exists(log):
                log = None  # the task wrote nothing to stderr, so jr kept no file for it
            if measured is not None and b.kind != "reused":
                measured.add_task(h.meta.get("durations", {}), row.wall_seconds, h.result_bytes())
            for p, data in h.values.items():
                u = self.unique_of.get(ids[p])
                if u is None:
                    continue
                if measured is not None:
                    measured.done.add(u)
                    continue
                try:
                    values[u] = pickle.loads(data)
                except Exception as e:
                    failures.append((self.first_position[u], errors.TaskError(
                        f"jr: the result of call {self.first_position[u]} to {self.name_of(u)} cannot be "
                        f"unpickled here: {type(e).__name__}: {e}", log=log, call=self.first_position[u])))
            if h.error is not None:
                u = self.unique_of[ids[h.error[0]]]
                position = self.first_position[u]
                failures.append((position, _results.failure(h.error[1], position, self.name_of(u), row.task_id, log)))
            elif row.state != SUCCEEDED:
                missing.append((row, b, log))
            del h
        return failures, missing

    def raise_problems(self, failures, missing, interrupted, state_label, detail=""):
        """Raises what went wrong: the first call (in input order) that raised; else a task that
        failed without a result (it crashed, was killed, timed out); else an interruption."""
        if failures:
            failures.sort(key=lambda f: f[0])
            raise failures[0][1]
        finished = [m for m in missing if m[0].state in (_results.FAILED, _results.CANCELLED)]
        if finished:
            row, b, log = finished[0]
            positions = sorted(self.first_position[u] for u in b.calls)
            raise _results.no_result(row, positions, self.name_of(b.calls[0]), log)
        if interrupted or missing:
            raise errors.Interrupted(f"jr: the run on {state_label} was interrupted before every call finished; "
                                     "run the same code again to resume where it stopped" +
                                     (f"\n{detail}" if detail else ""))

    def assemble(self, values):
        return [values[u] for u in self.positions]


class _Work(_Layout):
    """One Parallel call: its calls checked and encoded, and where they go."""

    def __init__(self, parallel, iterable):
        super().__init__([], [], {}, lambda u: _calls.describe(self.calls[u].function))
        self.p = parallel
        self.n_jobs = _n_jobs(parallel.n_jobs)
        self.state = os.path.abspath(parallel.state)
        self.py_dir = _store.py_dir(self.state)
        checked = {}
        copies = {}  # a call's identity -> how many equal calls came before
        self.calls = []  # one per input, equal calls included: each is computed (joblib's meaning)
        for position, item in enumerate(iterable):
            function, args, kwargs = _calls.normalize(item, position)
            if id(function) not in checked:
                _calls.check_function(function)
                checked[id(function)] = function  # keeps it alive, so that its id stays its own
            call = _calls.encode(function, args, kwargs, position)
            k = copies.get(call.identity, 0)
            copies[call.identity] = k + 1
            call.identity = _calls.copy_identity(call.identity, k)
            self.unique_of[call.identity] = position
            self.calls.append(call)
            self.first_position.append(position)
            self.positions.append(position)
        needs_main = any(b"__main__" in c.payload for c in self.calls)
        self.main = _calls.main_module_info() if needs_main else None
        if self.main is not None:
            # Tasks import the main script as __jr_main__: its classes come back under that name.
            sys.modules.setdefault("__jr_main__", sys.modules["__main__"])

    # -- batches ---------------------------------------------------------------------------

    def write(self, batches):
        """Writes each batch's file (atomically) and returns the task lines, one per batch.

        A reused batch (kind "reused": an earlier task that succeeded) has no file: jr skips it."""
        import pickle
        os.makedirs(self.py_dir, mode=0o700, exist_ok=True)
        lines = []
        for b in batches:
            if b.kind == "reused":
                lines.append(task_line(b.identity))
                continue
            ids = [self.calls[u].identity for u in b.calls]
            kind = "batch" if b.kind == "batch" else f"calibration {b.budget}"
            b.identity = _calls.batch_identity(kind, ids)
            spec = {"v": 1, "batch": b.identity, "ids": ids, "main": self.main, "budget": b.budget,
                    "timeout": self.p.timeout, "calls": [self.calls[u].payload for u in b.calls]}
            path = os.path.join(self.py_dir, b.identity + ".pkl")
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                pickle.dump(spec, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
            lines.append(task_line(b.identity))
        return lines

    def remove_files(self, batches):
        for b in batches:
            try:
                os.unlink(os.path.join(self.py_dir, b.identity + ".pkl"))
            except FileNotFoundError:
                pass

    def task_env(self):
        return {"JRPY_PYTHON": sys.executable, "JRPY_CWD": os.getcwd(), "PYTHONPATH": _pythonpath(),
                "JRPY_JR": _engine.jr_binary()}

    def engine_timeout(self, batches):
        if not self.p.timeout:
            return None
        return self.p.timeout * max(len(b.calls) for b in batches) + 60.0

    def stored(self):
        """(identities of succeeded batches holding some of these calls' results, the calls
        that still need running), from the state's store."""
        db = _results.open_store(_store.store_path(self.state), missing_ok=True)
        if db is None:
            return [], list(range(len(self.calls)))
        try:
            found = _results.stored_calls(db)
        finally:
            db.close()
        reused, todo = {}, []
        for u, c in enumerate(self.calls):
            batch = found.get(c.identity)
            if batch is None:
                todo.append(u)
            else:
                reused[batch] = True
        return list(reused), todo


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

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

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


def _batches(work, run_calibration, reuse=True):
    """The batches of work (_plan.py): reused ones first (when reuse), then new ones; with
    batch_size="auto" and no saved plan, the calibration runs first, through
    run_calibration(batches)."""
    os.makedirs(work.py_dir, mode=0o700, exist_ok=True)
    # Plans for jrd are kept apart: their batches never reuse the embedded engine's tasks.
    mode = work.p.batch_size if reuse else f"{work.p.batch_size} daemon"
    key = _plan.plan_key([c.identity for c in work.calls], mode)
    path = os.path.join(work.py_dir, f"plan-{key}.json")
    plan = _plan.load(path)
    if plan is None:
        reused, todo = work.stored() if reuse else ([], list(range(len(work.calls))))
        if work.p.batch_size != "auto":
            plan = _plan.Plan(reused, todo, None, _plan.fixed(todo, work.p.batch_size))
        else:
            cal = _plan.calibration(todo, work.n_jobs)
            plan = _plan.Plan(reused, todo, cal, None if cal else _plan.fixed(todo, 1))
        _plan.save(path, plan)
    reused = []
    for identity in plan.reused:
        b = _plan.Batch("reused", [])
        b.identity = identity
        reused.append(b)
    if plan.batches is None:
        measured = run_calibration(reused + plan.calibration)
        plan.batches = _plan.after_calibration(plan.todo, plan.calibration, measured, work.n_jobs)
        _plan.save(path, plan)
    return reused + (plan.calibration or []) + plan.batches


def _run_embedded(work):
    os.makedirs(work.state, mode=0o700, exist_ok=True)
    log_dir = _store.logs_dir(work.state)
    values = {}

    def run(batches, measured=None):
        lines = work.write(batches)
        outcome = _engine.run(work.state, lines, work.n_jobs, retries=work.p.retries,
                              timeout=work.engine_timeout(batches), name=work.p.name,
                              env=dict(os.environ, **work.task_env()), verbose=work.p.verbose)
        if outcome.code not in (0, _engine.EXIT_FAILED, _engine.EXIT_SIGINT, _engine.EXIT_SIGTERM):
            raise _engine_error(outcome, work.state)
        db = _results.open_store(_store.store_path(work.state), missing_ok=True)
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
                            work.state, outcome.log_text.strip())
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


delayed = _calls.delayed


def map(function, iterable, **parallel_args):
    """[function(x) for x in iterable], run by jr.Parallel(**parallel_args)."""
    return Parallel(**parallel_args)(_calls.delayed(function)(x) for x in iterable)
