"""How often does the decision page say "pays back", and is it right?

For each design and seed: simulate the demo company (every cohort under that design, or the demo's
mix), with no effect planted (`Effects.null()`) or with the demo's planted effects; for every
cohort, price its money as the summary page does (the strongest evidence of that cohort and the
earlier ones, pooled: `roi.price([study], studies so far)`), and price the whole program (every
cohort's cost and mentees, all cohorts' evidence pooled: `roi.price(studies)`). Each verdict is
compared with the truth: the simulator's true cut in 12-month exits for the cohorts and design
the evidence came from (voluntary or all exits, as the evidence counts them), against the same
break-even. A verdict is wrong when it says "pays back" and the true cut is below the break-even,
or "does not pay back" and it is above; "cannot tell yet" is never wrong but decides nothing.

Run:  .venv/bin/python validation/decision.py --seeds 50 --designs mix lottery capacity rollout observational --worlds null
      .venv/bin/python validation/decision.py --seeds 50 --designs lottery --worlds planted --employees 20000
Tables go to docs/validation.md."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from designs_coverage import _studies
from seeds import run


def true_cut(truth: pd.DataFrame, cut) -> float:
    """The simulator's cut (pp, positive = fewer exits) for the cohorts, design and exits the
    evidence came from, weighted by participants as the pooled estimate weights them."""
    estimand = "voluntary_exit_12m" if cut.exits == "voluntary" else "retention_12m"
    sign = -1.0 if cut.exits == "voluntary" else 1.0
    rows = truth[truth.cohort_id.isin(cut.cohorts) & (truth.role == "mentee") & (truth.estimand == estimand)]
    mine = rows[(rows.design == cut.design) & (rows.kind == "tot")]
    if mine.empty:  # observational evidence: the participants' mean effect
        mine = rows[(rows.design == "") & (rows.kind == "att")]
    return float(sign * np.average(mine["value"], weights=mine["n_participants"]))


def one_seed(design: str, seed: int, n_employees: int, null: bool) -> list[dict]:
    import mentoring_eval as me
    from mentoring_eval import roi

    records = []
    with tempfile.TemporaryDirectory() as tmp:
        simulated = me.simulate(tmp, n_employees=n_employees, seed=seed, design=design,
                                effects=me.Effects.null() if null else None)
        studies = _studies(me, tmp, design)

        def record(level, cohort_id, r):
            truth = true_cut(simulated.table, r.cut) if r.cut is not None else np.nan
            right = {"pays back": truth >= r.break_even, "does not pay back": truth < r.break_even}.get(r.verdict)
            records.append({"design": design, "seed": seed, "null": null, "n_employees": n_employees, "level": level,
                            "cohort": cohort_id, "verdict": r.verdict, "wrong": right is False,
                            "cut": r.cut.estimate if r.cut else np.nan, "ci_low": r.cut.ci_low if r.cut else np.nan,
                            "ci_high": r.cut.ci_high if r.cut else np.nan, "evidence": r.cut.design if r.cut else "",
                            "exits": r.cut.exits if r.cut else "", "break_even": r.break_even,
                            "true_cut": truth, "prob_pays_back": r.prob_pays_back, "prior": r.prior_pays_back,
                            "roi": r.roi, "naive_roi": r.naive_roi})

        for i, study in enumerate(studies):
            record("cohort", study.cohort_id, roi.price([study], studies[: i + 1]))
        record("pooled", "pooled", roi.program(studies))
    return records


def verdict_table(df: pd.DataFrame) -> str:
    lines = ["| design | world | employees | level | reports | pays back | does not | cannot tell | wrong | "
             "mean P(pays back), skeptical prior | mean from the prior alone | median ROI at the estimate | "
             "median naive ROI |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (design, null, n, level), g in df.groupby(["design", "null", "n_employees", "level"], sort=False):
        share = g["verdict"].value_counts(normalize=True)
        lines.append(f"| {design} | {'null' if null else 'planted'} | {n:,} | {level} | {len(g)} | "
                     f"{100 * share.get('pays back', 0):.1f}% | {100 * share.get('does not pay back', 0):.1f}% | "
                     f"{100 * share.get('cannot tell yet', 0):.1f}% | {100 * g['wrong'].mean():.1f}% | "
                     f"{100 * g['prob_pays_back'].mean():.0f}% | {100 * g['prior'].mean():.0f}% | "
                     f"{100 * g['roi'].median():+,.0f}% | {100 * g['naive_roi'].median():+,.0f}% |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--designs", nargs="+", default=["mix", "lottery", "capacity", "rollout", "observational"])
    parser.add_argument("--worlds", nargs="+", default=["null"], choices=["planted", "null"])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--csv", type=Path, default=None, help="also write every verdict to this CSV")
    parser.add_argument("--table", type=Path, nargs="+", default=None,
                        help="print the table of verdicts already written to these CSVs instead of simulating")
    args = parser.parse_args()
    if args.table:
        print(verdict_table(pd.concat([pd.read_csv(p) for p in args.table], ignore_index=True)))
        return
    tasks = [(d, s, args.employees, w == "null") for d in args.designs for w in args.worlds for s in range(args.seeds)]
    start = time.perf_counter()
    df = pd.DataFrame(run(one_seed, tasks, args.jobs))
    if args.csv:
        df.to_csv(args.csv, index=False)
    print(f"{args.seeds} seeds per design and world, {args.employees:,} employees, "
          f"{time.perf_counter() - start:.0f} s on {args.jobs} processes\n")
    print(verdict_table(df))


if __name__ == "__main__":
    main()
