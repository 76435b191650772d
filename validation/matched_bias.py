"""How biased are the participant-level comparisons, and what do the fixes change?

For each seed: simulate the demo company (every cohort a department rollout, no department
shocks) with effects planted or not, and for the mentees of every cohort compare with the truth
in truth.json (kind att, the enrolled mentees' mean effect):

- `km_matched`: the CEM-matched Kaplan-Meier difference in 12-month retention, now counting
  every exit (truth retention_12m counts every exit);
- `aj_matched`: the matched Aalen-Johansen difference in 12-month voluntary-exit incidence
  (truth voluntary_exit_12m);
- `did_matched`: the matched two-way fixed-effects DiD on promotions per month (no truth on this
  scale; under the null it is 0), which no longer heads any report;
- `not_yet_treated`: what the refused option would give, the matched Kaplan-Meier difference
  against people who enrol in a later cohort (who had to still be employed to enrol).

Run:  .venv/bin/python validation/matched_bias.py --seeds 100
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


def one_seed(seed: int, n_employees: int, null: bool) -> list[dict]:
    import mentoring_eval as me
    from mentoring_eval import retention
    from mentoring_eval.did import twfe
    from mentoring_eval.promotion import matched_panel

    records = []
    with tempfile.TemporaryDirectory() as tmp:
        truth = me.simulate(tmp, n_employees=n_employees, seed=seed, effects=me.Effects.null() if null else None)
        ds = me.load(tmp)
        for cid in COHORTS:
            params = me.load_params(ROOT / "params" / f"{cid}.yaml", data_dir=tmp, seed=seed)
            study = me.Study(params, ds)
            base = {"seed": seed, "null": null, "cohort_id": cid}
            try:
                s = retention._matched_survival(study, "mentee", 12, 100)
                for e, estimand in ((s.difference, "retention_12m"), (s.voluntary, "voluntary_exit_12m")):
                    records.append({**base, "method": e.method, "estimate": e.estimate, "ci_low": e.ci_low,
                                    "ci_high": e.ci_high, "truth": truth.value(cid, "mentee", estimand)})
            except me.NotEstimable:
                pass
            try:
                panel, _ = matched_panel(study, "mentee")
                did = twfe(panel, "promoted_pct", "employee", "period", "treated_now", weights="cem_weight")
                records.append({**base, "method": "did_matched", "estimate": did.estimate, "ci_low": did.ci_low,
                                "ci_high": did.ci_high, "truth": 0.0 if null else np.nan})
            except me.NotEstimable:
                pass
            later = me.Study(params.model_copy(update={"comparison": "not_yet_treated"}), ds)
            try:
                both, _ = later.cohort.matched("mentee")
                both = both[both["cem_weight"] > 0].reset_index(drop=True)
                d, e, _ = retention._durations(later, both, later.cohort.start)
                w, t = both["cem_weight"].to_numpy(float), both["treated"].to_numpy(bool)
                kept = [100 * retention.survival_at(retention.kaplan_meier(d[m], e[m], w[m]), 12) for m in (t, ~t)]
                records.append({**base, "method": "not_yet_treated", "estimate": kept[0] - kept[1], "ci_low": np.nan,
                                "ci_high": np.nan, "truth": truth.value(cid, "mentee", "retention_12m"),
                                "comparison_survival": kept[1]})
            except me.NotEstimable:
                pass
    return records


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame.assign(error=frame.estimate - frame.truth,
                     covered=(frame.ci_low <= frame.truth) & (frame.truth <= frame.ci_high),
                     excludes_zero=(frame.ci_low > 0) | (frame.ci_high < 0))
    return f.groupby(["null", "method"]).agg(
        reports=("estimate", "size"), mean_estimate=("estimate", "mean"), mean_truth=("truth", "mean"),
        bias=("error", "mean"), coverage=("covered", "mean"), excludes_zero=("excludes_zero", "mean")).reset_index()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--employees", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--out", type=Path, default=ROOT / "validation" / "matched_bias.csv")
    args = ap.parse_args(argv)
    jobs = [(seed, args.employees, null) for null in (True, False) for seed in range(args.seeds)]
    records, start = [], time.time()
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(one_seed, *j) for j in jobs]
        for i, fut in enumerate(as_completed(futures), 1):
            records += fut.result()
            if i % 10 == 0 or i == len(futures):
                print(f"{i}/{len(futures)} companies, {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    frame = pd.DataFrame(records)
    frame.to_csv(args.out, index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(summarise(frame).round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
