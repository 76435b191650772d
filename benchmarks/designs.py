"""Wall time and peak memory of one cohort's full analysis when its places were given by lottery:
retention and promotion (every design the data support: lottery, rollout, observational) for
mentees and mentors, and the applicant design on its own.

Run:  .venv/bin/python benchmarks/designs.py [--employees 100000]
Each size runs in its own process (peak = its max RSS, simulation and loading included).
Figures go to docs/performance.md."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _measure(n: int, queue) -> None:
    import mentoring_eval as me
    from mentoring_eval import applicants, promotion, retention

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        me.simulate(tmp, n_employees=n, seed=0, design="lottery")
        ds = me.load(tmp)
        prepared = time.perf_counter() - t0
        params = me.load_params(ROOT / "params" / "2023-spring.yaml", data_dir=tmp, assignment_strata=["department"])
        start = time.perf_counter()
        design = applicants.analyze(me.Study(params, ds))
        alone = time.perf_counter() - start
        start = time.perf_counter()
        study = me.Study(params, ds)
        for role in ("mentee", "mentor"):
            retention.analyze(study, role)
            promotion.analyze(study, role)
        full = time.perf_counter() - start
        applicants_n = len(applicants.pool(study).people)
    queue.put((prepared, alone, full, applicants_n, design.design,
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, nargs="+", default=[5000, 20000, 100000])
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    print("| employees | mentee applicants | simulate + load (s) | applicant design alone (s) | full analysis (s) | peak (GiB) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in args.employees:
        queue = ctx.Queue()
        proc = ctx.Process(target=_measure, args=(n, queue))
        proc.start()
        prepared, alone, full, applicants_n, design, peak = queue.get()
        proc.join()
        print(f"| {n:,} | {applicants_n:,} ({design}) | {prepared:.1f} | {alone:.2f} | {full:.1f} | {peak:.2f} |")


if __name__ == "__main__":
    main()
