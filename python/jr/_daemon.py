"""Parallel(daemon=True): the calls run as jrd jobs; jr.attach(name) collects them from anywhere.

The batches are the same as with the embedded engine (their files under STATE/py/, one task
line each), submitted to jrd with `submit` (`tasks`, `cwd` = STATE, the caller's interpreter,
working directory and module path in `env`). A job is named `name` (default: derived from the
calls), plus a `<name> calibration` job first when batch_size="auto" and there is no plan yet.

Re-attaching: a Parallel(daemon=True) whose job name already exists in jrd with exactly the
same task lines waits for that job instead of submitting again (a failed or cancelled one is
retried first); jr.attach(name, state) does the same from the manifest the submitting process
left in STATE/py/daemon-<name>.json, without knowing the calls. Results are read from jrd's
store, found beside the log paths jrd reports (the caller must be jrd's user). Interrupting
the caller leaves the job running in jrd.
"""

import json
import os
import re

from . import _plan, _results, _store, errors
from .client import Client

POLL_SECONDS = 0.2
_SH = "/bin/sh"


def _manifest_path(state, name):
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return os.path.join(_store.py_dir(os.path.abspath(state)), f"daemon-{safe}.json")


def _all_tasks(client, job_id):
    tasks, offset = [], 0
    while True:
        page = client.tasks(job=job_id, offset=offset, limit=1000)
        tasks += page
        if len(page) < 1000:
            return tasks
        offset += len(page)


def _find_job(client, name, lines):
    """The id of the latest job called name whose tasks are exactly lines, or None."""
    try:
        status = client.status(name=name)
    except errors.NotFound:
        return None
    tasks = sorted(_all_tasks(client, status["id"]), key=lambda t: t["index"])
    if [t["argv"] for t in tasks if t["state"] != "dropped"] != [[_SH, "-c", line] for line in lines]:
        return None
    if status["state"] in ("failed", "cancelled"):
        client.retry(job=status["id"])
    return status["id"]


def _submit_or_attach(client, work, name, batches):
    lines = work.write(batches)
    job = _find_job(client, name, lines)
    if job is not None:
        return job
    timeout = work.engine_timeout(batches)
    reply = client.submit(tasks=lines, name=name, parallelism=work.n_jobs, retries=work.p.retries,
                          timeout_ms=int(timeout * 1000) if timeout else 0, cwd=work.state, env=work.task_env())
    return reply["job"]


def _wait(client, job_id, fail_fast=True):
    """Waits until the job has ended; on the first failed task cancels the rest (as joblib stops)."""
    cancelled = False

    def ended(status):
        nonlocal cancelled
        counts = status["counts"]
        if fail_fast and counts.get("failed", 0) and not cancelled:
            client.cancel(job=job_id)
            cancelled = True
        return cancelled and counts.get("running", 0) == 0

    return client.wait(job=job_id, poll=POLL_SECONDS, until=ended)


def _read(client, layout, job_id, batches, values, measured=None):
    tasks = client.tasks(job=job_id, limit=1)
    if not tasks:
        raise errors.NotFound(f"jrd's job {job_id} has no tasks")
    jrd_state = os.path.dirname(os.path.dirname(tasks[0]["stderr"]))
    db = _results.open_store(_store.store_path(jrd_state))
    try:
        rows = _results.task_rows(db, job_id, current_run=False)
        return layout.collect(rows, batches, _store.logs_dir(jrd_state), values, measured)
    finally:
        db.close()


def _finish(client, layout, job_id, batches, values, label, measured=None):
    status = _wait(client, job_id)
    failures, missing = _read(client, layout, job_id, batches, values, measured)
    layout.raise_problems(failures, missing, status["state"] == "cancelled" and not failures, label)


def run(work):
    from .parallel import _batches
    client = Client(work.p.socket)
    try:
        key = _plan.plan_key([c.identity for c in work.calls], work.p.batch_size)
        name = work.p.name or f"jr.py-{key[:12]}"
        cal_name = f"{name} calibration"

        def calibrate(cal):
            job = _submit_or_attach(client, work, cal_name, cal)
            measured = _plan.Measured()
            _finish(client, work, job, cal, {}, f"jrd job {job} ({cal_name})", measured)
            return measured

        batches = _batches(work, calibrate, reuse=False)
        stages = ((cal_name, [b for b in batches if b.kind == "calibration"]),
                  (name, [b for b in batches if b.kind != "calibration"]))
        jobs = [(n, _submit_or_attach(client, work, n, bs), bs) for n, bs in stages if bs]
        _save_manifest(work, name, jobs)
        values = {}
        for stage_name, job, stage_batches in jobs:
            _finish(client, work, job, stage_batches, values, f"jrd job {job} ({stage_name})")
        return work.assemble(values)
    finally:
        client.close()


def _save_manifest(work, name, jobs):
    names = {}
    function_of = []
    for c in work.calls:
        function_of.append(names.setdefault(work.name_of(len(function_of)), len(names)))
    data = {"version": 1, "name": name, "positions": work.positions, "first_position": work.first_position,
            "ids": [c.identity for c in work.calls],
            "functions": list(names), "function_of": function_of,
            "jobs": [{"name": n, "job": j, "batches": [{"kind": b.kind, "calls": b.calls, "budget": b.budget,
                                                         "identity": b.identity} for b in bs]}
                     for n, j, bs in jobs]}
    path = _manifest_path(work.state, name)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def attach(name, state=".jr", socket=None):
    """The results of the calls a Parallel(daemon=True, name=name, state=state) submitted, in
    order, waiting for jrd to finish them (from any process of the same user)."""
    from .parallel import _Layout
    path = _manifest_path(state, name)
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise errors.NotFound(f"no jr.Parallel job named {name!r} was submitted with state {state!r} "
                              f"({path} does not exist)") from None
    functions, function_of = data["functions"], data["function_of"]
    import sys
    sys.modules.setdefault("__jr_main__", sys.modules["__main__"])
    layout = _Layout(data["positions"], data["first_position"], {i: u for u, i in enumerate(data["ids"])},
                     lambda u: functions[function_of[u]])
    client = Client(socket)
    try:
        values = {}
        for stage in data["jobs"]:
            batches = []
            for b in stage["batches"]:
                batch = _plan.Batch(b["kind"], b["calls"], b["budget"])
                batch.identity = b["identity"]
                batches.append(batch)
            _finish(client, layout, stage["job"], batches, values, f"jrd job {stage['job']} ({stage['name']})")
        return layout.assemble(values)
    finally:
        client.close()
