"""Wall time and peak memory of the full retention + promotion analysis (mentees and mentors) of
one cohort of a simulated company, and of building the at-risk panel alone.

Run:  .venv/bin/python benchmarks/retention_promotion.py [--employees 100000] [--panel-employees 1000000]
Each measurement runs in its own process (peak = its max RSS, simulation and loading included).
Figures go to docs/performance.md."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _analysis(n: int, queue) -> None:
    import mentoring_eval as me
    from mentoring_eval import promotion, retention

    with tempfile.TemporaryDirectory() as tmp:
        me.simulate(tmp, n_employees=n, seed=0)
        ds = me.load(tmp)
        start = time.perf_counter()
        study = me.Study(me.load_params(ROOT / "params" / "2023-spring.yaml", data_dir=tmp), ds)
        for role in ("mentee", "mentor"):
            retention.analyze(study, role)
            promotion.analyze(study, role)
        seconds = time.perf_counter() - start
    queue.put((seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20))


def _panel(n: int, queue) -> None:
    import mentoring_eval as me
    from mentoring_eval.panels import at_risk

    with tempfile.TemporaryDirectory() as tmp:
        me.simulate(tmp, n_employees=n, seed=0)
        ds = me.load(tmp)
        start = time.perf_counter()
        rows = len(at_risk(ds))
        seconds = time.perf_counter() - start
    queue.put((seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, rows))


def _measure(target, n):
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(n, queue))
    proc.start()
    proc.join()
    return queue.get() if proc.exitcode == 0 and not queue.empty() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--panel-employees", type=int, default=1_000_000, help="0 skips the panel measurement")
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d')}")
    print("| workload | employees at start | seconds | peak GiB |\n|---|---:|---:|---:|")
    r = _measure(_analysis, args.employees)
    print(f"| retention + promotion, one cohort, both roles | {args.employees:,} | "
          + (f"{r[0]:.1f} | {r[1]:.2f} |" if r else "failed | |"), flush=True)
    if not args.panel_employees:
        return
    r = _measure(_panel, args.panel_employees)
    print(f"| at-risk panel (monthly, 2022-2025) | {args.panel_employees:,} | "
          + (f"{r[0]:.1f} | {r[1]:.2f} | ({r[2]:,} rows)" if r else "failed | |"))


if __name__ == "__main__":
    main()
