"""Are the rollout's intervals honest when whole departments get shocks?

For each world (the cohort plan, department x half-year shock SD, effects planted or not) and seed:
simulate the company with every cohort run as a department rollout (`simulate(design="rollout",
shocks=..., plan=...)`), run the population design for the mentees of every cohort (retention
within 12 months, every exit; promotion within 12 months; the monthly voluntary-exit rate), with
the interval at the assigned unit (department: wild cluster bootstrap, randomization test), and
compare with the truth in truth.json (kind att: the enrolled mentees' mean effect). Under
Effects.null() every true effect is exactly zero.

Reported per world and estimand: how many reports have a headline (three or more treated and
three or more comparison departments), coverage of the truth by the effect-on-participants
interval (all reports, and those with a headline), the share whose interval excludes 0 under the
null, the randomization test's rejections at 5%, median width, and whether any interval leaves
the logically possible range. `--employee-clusters` adds the old interval (clustered by employee,
delta method) for the before/after table.

Plans: "demo" (two or three departments per cohort: no headline) and "wide" (three per cohort,
three never invited: every cohort has a headline).

Run:  .venv/bin/python validation/rollout_inference.py --seeds 200 [--plans wide demo] [--shocks 0 0.2 0.4]
Tables go to docs/validation.md."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
COHORTS = ("2023-spring", "2023-autumn", "2024-spring", "2024-autumn")
OUTCOMES = {"retention_12m": "stayed", "promotion_12m": "promoted", "exit_rate": None}


def one_seed(plan: str, shocks: float, null: bool, seed: int, n_employees: int, employee_clusters: bool) -> list[dict]:
    import mentoring_eval as me
    from mentoring_eval import bounds, effects
    from mentoring_eval.did import did_2x2
    from mentoring_eval.simulate import PLANS

    records = []
    with tempfile.TemporaryDirectory() as tmp:
        truth = me.simulate(tmp, n_employees=n_employees, seed=seed, design="rollout", shocks=shocks, plan=plan,
                            effects=me.Effects.null() if null else None)
        ds = me.load(tmp)
        for spec in PLANS[plan]:
            rule = {"levels": [1, 2, 3], "departments": list(spec.departments), "min_tenure_months": 6}
            params = me.load_params(ROOT / "params" / f"{spec.cohort_id}.yaml", data_dir=tmp, mentee_eligibility=rule,
                                    seed=seed)
            study = me.Study(params, ds)
            for estimand, outcome in OUTCOMES.items():
                try:
                    if outcome is None:
                        itt, tot, rows = effects.itt_exit_rate(study, "mentee")
                        column = "exit_pct"
                    else:
                        itt, tot = effects.itt_snapshot(study, "mentee", outcome)
                        rows, column = effects.snapshot_did(study, "mentee", outcome), outcome
                except me.NotEstimable:
                    continue
                true = truth.value(spec.cohort_id, "mentee", estimand)
                a = tot.assignment
                lo_b, hi_b = bounds.possible(tot.observed)
                rec = {"plan": plan, "shocks": shocks, "null": null, "seed": seed, "cohort_id": spec.cohort_id,
                       "estimand": estimand, "truth": true, "estimate": tot.estimate, "ci_low": tot.ci_low,
                       "ci_high": tot.ci_high, "itt_low": itt.ci_low, "itt_high": itt.ci_high,
                       "headline": tot.supports_headline, "treated_units": a.clusters[0],
                       "comparison_units": a.clusters[1], "ri_p": a.randomization_p, "wcb_p": a.bootstrap.pvalue,
                       "in_bounds": bool(tot.ci_low >= lo_b - 1e-9 and tot.ci_high <= hi_b + 1e-9)}
                if employee_clusters:
                    old = did_2x2(rows, column, "treated", "post", cov_type="cluster", cluster="employee_id")
                    w = effects.wald(old, tot.n_participants, tot.n_eligible)
                    rec.update(old_low=w.ci_low, old_high=w.ci_high)
                records.append(rec)
    return records


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame.assign(covered=(frame.ci_low <= frame.truth) & (frame.truth <= frame.ci_high),
                     excludes_zero=(frame.ci_low > 0) | (frame.ci_high < 0), width=frame.ci_high - frame.ci_low,
                     ri_reject=frame.ri_p <= 0.05)
    if "old_low" in f:
        f["old_covered"] = (f.old_low <= f.truth) & (f.truth <= f.old_high)
    out = f.groupby(["plan", "shocks", "null", "estimand"]).agg(
        reports=("covered", "size"), with_headline=("headline", "mean"), coverage=("covered", "mean"),
        excludes_zero=("excludes_zero", "mean"), ri_rejects=("ri_reject", "mean"), median_width=("width", "median"),
        in_bounds=("in_bounds", "mean"), **({"old_coverage": ("old_covered", "mean")} if "old_low" in f else {}))
    head = f[f.headline].groupby(["plan", "shocks", "null", "estimand"])["covered"].mean().rename("coverage_headline")
    return out.join(head).reset_index()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--employees", type=int, default=3000)
    ap.add_argument("--plans", nargs="+", default=["wide", "demo"])
    ap.add_argument("--shocks", nargs="+", type=float, default=[0.0, 0.2, 0.4])
    ap.add_argument("--effects", nargs="+", choices=["null", "planted"], default=["null", "planted"])
    ap.add_argument("--employee-clusters", action="store_true", help="also the old employee-clustered interval")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--out", type=Path, default=ROOT / "validation" / "rollout_inference.csv")
    args = ap.parse_args(argv)
    jobs = [(plan, s, kind == "null", seed) for plan in args.plans for s in args.shocks for kind in args.effects
            for seed in range(args.seeds)]
    records, start = [], time.time()
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(one_seed, *j, args.employees, args.employee_clusters) for j in jobs]
        for i, fut in enumerate(as_completed(futures), 1):
            records += fut.result()
            if i % 20 == 0 or i == len(futures):
                print(f"{i}/{len(futures)} companies, {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    frame = pd.DataFrame(records)
    frame.to_csv(args.out, index=False)
    table = summarise(frame)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
