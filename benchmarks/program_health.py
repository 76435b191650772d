"""Wall time of every baseline and program-health metric for one cohort of a simulated company.

Run:  .venv/bin/python benchmarks/program_health.py [--employees 100000]
Figures go to docs/performance.md."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import mentoring_eval as me
from mentoring_eval import program_health, workforce

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        me.simulate(tmp, n_employees=args.employees, seed=0)
        study = me.open_study(ROOT / "params" / "2023-spring.yaml", data_dir=tmp)
        timings = {}
        start = time.perf_counter()
        for name, call in [
            ("baseline", lambda: workforce.baseline(study)),
            ("baseline by department", lambda: workforce.baseline(study, by="department")),
            ("rating distribution", lambda: workforce.rating_distribution(study)),
            ("funnel", lambda: program_health.funnel(study)),
            ("representation (department, gender)", lambda: [program_health.representation(study, b) for b in ("department", "gender")]),
            ("matching and meetings", lambda: program_health.matching_and_meetings(study)),
            ("continuity", lambda: program_health.continuity(study)),
            ("goals", lambda: (program_health.goals(study), program_health.goals_per_participant(study))),
            ("skills", lambda: program_health.skills(study)),
            ("satisfaction", lambda: program_health.satisfaction(study)),
            ("performance (both roles)", lambda: [program_health.performance(study, r) for r in ("mentee", "mentor")]),
            ("early warning", lambda: program_health.early_warning(study)),
            ("program estimates", lambda: program_health.analyze(study)),
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
