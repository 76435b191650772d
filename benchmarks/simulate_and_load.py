"""Wall time of simulating and loading (validating) the demo company at two sizes.

Run:  .venv/bin/python benchmarks/simulate_and_load.py [--sizes 5000 100000]
Figures go to docs/performance.md with the date and the machine."""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import mentoring_eval as me


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    print(f"# {platform.node()} {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    print("| employees at start | rows in all tables | simulate (s) | load + validate (s) |")
    print("|---:|---:|---:|---:|")
    for n in args.sizes:
        sim, load = [], []
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "demo"
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                me.simulate(out, n_employees=n, seed=0)
                sim.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                ds = me.load(out)
                load.append(time.perf_counter() - t0)
            rows = int(ds.summary()["rows"].sum())
        print(f"| {n:,} | {rows:,} | {min(sim):.2f} | {min(load):.2f} |")


if __name__ == "__main__":
    main()
