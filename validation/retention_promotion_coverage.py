"""Do the headline retention and promotion intervals cover the simulator's true effects?

For each seed: simulate the demo company (planted effects), run the retention and promotion
analyses for the mentees of every cohort, and compare each headline 95% interval with the true
average effect on participants in truth.json. Also reports how often the naive comparison's own
interval covers the truth.

Run:  .venv/bin/python validation/retention_promotion_coverage.py [--seeds 25] [--employees 5000]
The summary goes to docs/validation.md."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import mentoring_eval as me
from mentoring_eval import promotion, retention
from mentoring_eval.params import load_params

ROOT = Path(__file__).resolve().parent.parent
ESTIMANDS = ("retention_12m", "exit_rate", "promotion_12m")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=25)
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--null", action="store_true", help="plant no effect (self-selection only)")
    args = parser.parse_args()
    records = []
    start = time.perf_counter()
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            truth = me.simulate(tmp, n_employees=args.employees, seed=seed,
                                effects=me.Effects.null() if args.null else None)
            ds = me.load(tmp)
            for params_file in sorted((ROOT / "params").glob("*.yaml")):
                study = me.Study(load_params(params_file, data_dir=tmp), ds)
                cohort = study.cohort
                table = pd.concat([retention.analyze(study, "mentee", bootstrap=20).to_frame(),
                                   promotion.analyze(study, "mentee").to_frame()])
                for estimand in ESTIMANDS:
                    true = truth.value(cohort.cohort_id, "mentee", estimand)
                    for method in ("tot_wald", "naive"):
                        row = table[(table["estimand"] == estimand) & (table["method"] == method)]
                        if row.empty:
                            continue
                        r = row.iloc[0]
                        records.append({"seed": seed, "cohort": cohort.cohort_id, "estimand": estimand, "method": method,
                                        "covered": r["ci_low"] <= true <= r["ci_high"], "error": r["estimate"] - true,
                                        "width": r["ci_high"] - r["ci_low"], "truth": true})
    df = pd.DataFrame(records)
    print(f"{args.seeds} seeds x 4 cohorts, {args.employees:,} employees, "
          f"{'null effects' if args.null else 'planted effects'} ({time.perf_counter() - start:.0f} s)")
    print("| estimand | method | intervals | coverage of the true ATT | mean error (pp) | mean width (pp) | mean truth (pp) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (estimand, method), g in df.groupby(["estimand", "method"], sort=False):
        cov = g["covered"].mean()
        margin = 1.96 * np.sqrt(cov * (1 - cov) / len(g))
        print(f"| {estimand} | {method} | {len(g)} | {100 * cov:.0f}% (+/- {100 * margin:.0f}) | {g['error'].mean():+.2f} "
              f"| {g['width'].mean():.1f} | {g['truth'].mean():+.2f} |")


if __name__ == "__main__":
    main()
