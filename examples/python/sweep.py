"""A parameter sweep with numpy, run by jr.Parallel, that checkpoints inside each call.

    python3 examples/python/sweep.py --state .jr --out results.json

Kill it at any moment (Ctrl-C, kill -9, a preempted node) and run the same command again:
calls that finished are not computed again, and a call that was interrupted resumes from its
last checkpoint, so the results are those of an uninterrupted run.

Each call simulates `particles` noisy oscillators, damped by `damping` and driven by `drive`,
for `steps` steps; the random generator's state is part of the checkpoint, so a resumed call
draws exactly the numbers an uninterrupted one would. With --marker FILE each call appends
"start"/"resume"/"done" lines to FILE (the tests use it to see what ran).
"""

import argparse
import json
import os

import numpy as np

import jr


def _note(marker, line):
    if marker:
        with open(marker, "a") as f:
            f.write(line + "\n")


def simulate(damping, drive, steps=60, particles=300, marker=None):
    """Returns the final mean and spread of one (damping, drive) point of the sweep."""
    key = f"{damping:.3f} {drive:.3f}"
    saved = jr.checkpoint.load()
    if saved is None:
        step = 0
        seed = int(damping * 1000) * 100003 + int(drive * 1000)
        rng = np.random.default_rng(seed)
        x = np.zeros(particles)
        v = np.zeros(particles)
        _note(marker, f"start {key}")
    else:
        step, x, v, rng_state = saved
        rng = np.random.default_rng()
        rng.bit_generator.state = rng_state
        _note(marker, f"resume {key} {step}")
    coupling = np.random.default_rng(7).standard_normal((particles, particles)) / np.sqrt(particles)
    while step < steps:
        for _ in range(20):  # the work of one step: a coupled, damped, driven update
            force = -x - damping * v + drive * np.tanh(coupling @ x) + 0.1 * rng.standard_normal(particles)
            v = v + 0.01 * force
            x = x + 0.01 * v
        step += 1
        if step % 5 == 0:
            jr.checkpoint.save((step, x, v, rng.bit_generator.state))
            jr.progress(step / steps, key)
    result = {"damping": damping, "drive": drive, "mean": float(x.mean()), "spread": float(x.std())}
    _note(marker, f"done {key}")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", default=".jr", help="jr's state directory (default .jr)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="calls at once")
    parser.add_argument("--points", type=int, default=6, help="values per parameter (the sweep has points² calls)")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--particles", type=int, default=300)
    parser.add_argument("--marker", help="append what each call does to this file")
    parser.add_argument("--out", help="write the results here as JSON")
    args = parser.parse_args()

    grid = [(float(d), float(f)) for d in np.linspace(0.1, 1.0, args.points)
            for f in np.linspace(0.0, 2.0, args.points)]
    results = jr.Parallel(n_jobs=args.jobs, state=args.state)(
        jr.delayed(simulate)(d, f, steps=args.steps, particles=args.particles, marker=args.marker) for d, f in grid)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    best = max(results, key=lambda r: r["spread"])
    print(f"{len(results)} points; widest spread {best['spread']:.4f} at damping {best['damping']:.2f}, "
          f"drive {best['drive']:.2f}")


if __name__ == "__main__":
    main()
