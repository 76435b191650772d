"""Wall time of every baseline and program-health metric for one cohort of a simulated company.

Run:  .venv/bin/python benchmarks/program_health.py [--employees 100000]
Figures go to docs/performance.md."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import mentoring_eval as me
from mentoring_eval import metrics
from mentoring_eval.params import load_params

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        me.simulate(tmp, n_employees=args.employees, seed=0)
        ds = me.load(tmp)
        params = load_params(ROOT / "params" / "2023-spring.yaml", data_dir=tmp)
        timings = {}
        start = time.perf_counter()
        for name, call in [
            ("baseline", lambda: metrics.baseline(ds, params)),
            ("baseline by department", lambda: metrics.baseline(ds, params, by="department")),
            ("rating distribution", lambda: metrics.rating_distribution(ds, params)),
            ("funnel", lambda: metrics.funnel(ds, params)),
            ("representation (department, gender)", lambda: [metrics.representation(ds, params, b) for b in ("department", "gender")]),
            ("matching and meetings", lambda: metrics.matching_and_meetings(ds, params)),
            ("continuity", lambda: metrics.continuity(ds, params)),
            ("goals", lambda: (metrics.goals(ds, params), metrics.goals_per_participant(ds, params))),
            ("skills", lambda: metrics.skills(ds, params)),
            ("satisfaction", lambda: metrics.satisfaction(ds, params)),
            ("performance (both roles)", lambda: [metrics.performance(ds, params, r) for r in ("mentee", "mentor")]),
            ("early warning", lambda: metrics.early_warning(ds, params)),
            ("program estimates", lambda: metrics.program_estimates(ds, params)),
        ]:
            t0 = time.perf_counter()
            call()
            timings[name] = time.perf_counter() - t0
        total = time.perf_counter() - start
    print(f"# {time.strftime('%Y-%m-%d')}, {args.employees:,} employees at start, cohort 2023-spring")
    print("| metric | seconds |\n|---|---:|")
    for name, secs in timings.items():
        print(f"| {name} | {secs:.2f} |")
    print(f"| **all of the above** | **{total:.2f}** |")


if __name__ == "__main__":
    main()
