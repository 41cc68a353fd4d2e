#!/usr/bin/python3
"""bench/python_bench.py [BUILD_DIR] — jr.Parallel against joblib.Parallel on this machine.

The same workloads through both, 2 workers each (n_jobs=2), in one invocation:
  small: 10,000 calls of a function that computes for 1 ms (target: jr >= 0.8 of joblib's throughput)
  large:    200 calls of a function that computes for 200 ms (target: jr >= 0.95)
jr stores every result durably (SQLite, a fresh state directory per run); joblib uses its default
(loky) backend. Each measurement runs in a fresh interpreter and times the Parallel call alone,
so both pay their start-up (jr's engine and task interpreters, joblib's worker processes) but
not the import of joblib. Each runner's best of BENCH_REPEAT rounds (default 1) counts.

Uses Debian's /usr/bin/python3 and python3-joblib; BUILD_DIR (default build) holds cli/jr.
Progress goes to stderr, the results table to stdout; exit 0 when both targets are met, 1 when
one is missed, 2 when a runner failed.
"""

import os
import sys
import time

# jr's tasks import this script (without running main): only light modules at the top.

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"
WORKLOADS = {"small": (10_000, 0.001, 0.8), "large": (200, 0.2, 0.95)}  # calls, seconds per call, target ratio
N_JOBS = 2


def compute(x, seconds):
    """Keeps one CPU busy for `seconds` (not a sleep: the workers compete for the cores)."""
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return x


def measure(runner, workload, state_dir):
    """In a fresh interpreter: one Parallel call; prints {"seconds": ...}."""
    import json
    calls, seconds, _ = WORKLOADS[workload]
    if runner == "joblib":
        import joblib
        parallel, delayed = joblib.Parallel(n_jobs=N_JOBS), joblib.delayed
    else:
        import jr
        parallel, delayed = jr.Parallel(n_jobs=N_JOBS, state=state_dir), jr.delayed
    started = time.perf_counter()
    results = parallel(delayed(compute)(i, seconds) for i in range(calls))
    elapsed = time.perf_counter() - started
    if results != list(range(calls)):
        raise SystemExit(f"{runner}: wrong results")
    print(json.dumps({"seconds": elapsed}))


def run_one(runner, workload, env):
    import json
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory(prefix="jr-pybench-") as tmp:
        done = subprocess.run([PYTHON, os.path.abspath(__file__), "--measure", runner, workload,
                               os.path.join(tmp, "state")], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"bench: {runner} failed on {workload}:\n{done.stderr}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def main():
    import subprocess
    build_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE_DIR, "build")
    jr_bin = os.path.abspath(os.path.join(build_dir, "cli", "jr"))
    if not os.access(jr_bin, os.X_OK):
        print(f"bench: no jr binary at {jr_bin} (build it: cmake --build {build_dir} --target jr)", file=sys.stderr)
        return 2
    check = subprocess.run([PYTHON, "-c", "import joblib"], capture_output=True)
    if check.returncode != 0:
        print("bench: joblib is missing for /usr/bin/python3 (apt-get install python3-joblib; scripts/setup optional)",
              file=sys.stderr)
        return 2
    env = dict(os.environ, JR_BIN=jr_bin, PYTHONPATH=os.path.join(SOURCE_DIR, "python"))
    rounds = int(os.environ.get("BENCH_REPEAT", "1"))
    best = {}
    for workload in WORKLOADS:
        for _ in range(rounds):
            for runner in ("joblib", "jr"):
                calls = WORKLOADS[workload][0]
                print(f"bench: {runner} on {workload} ({calls} calls)...", file=sys.stderr)
                seconds = run_one(runner, workload, env)
                if seconds is None:
                    return 2
                key = (runner, workload)
                best[key] = min(best.get(key, seconds), seconds)
    print(f"{'workload':<28} {'joblib calls/s':>15} {'jr calls/s':>12} {'jr/joblib':>10} {'target':>8}")
    missed = False
    for workload, (calls, seconds, target) in WORKLOADS.items():
        rate_joblib = calls / best[("joblib", workload)]
        rate_jr = calls / best[("jr", workload)]
        ratio = rate_jr / rate_joblib
        missed |= ratio < target
        label = f"{calls} calls of {seconds * 1000:g} ms, -j {N_JOBS}"
        print(f"{label:<28} {rate_joblib:>15.1f} {rate_jr:>12.1f} {ratio:>10.2f} {'>= ' + str(target):>8}"
              f"{'' if ratio >= target else '  MISSED'}")
    return 1 if missed else 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--measure":
        measure(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(main())
