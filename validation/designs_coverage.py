"""Do the designs' 95% intervals cover the simulator's true effects, per cohort and pooled?

For each design (lottery, capacity, rollout, observational) and seed: simulate the demo company
with every cohort run under that design (`simulate(design=...)`), with planted effects and with
`Effects.null()`, run the design's estimator for the mentees of every cohort and pooled over the
four cohorts, and compare each interval with the truth in truth.json:

- lottery: effect of the offer (itt_offer, truth kind itt_offer) and effect on participants
  (tot_iv, truth kind tot: the compliers' mean effect);
- capacity: effect on participants (tot_dr, truth kind tot: the matched applicants' mean effect);
- for both, also the truth over exactly the applicants each estimate analysed (`truth_analysed`,
  from `Truth.applicants`): the capacity design leaves out participants without comparable
  unmatched applicants, so its target is the effect on those inside the common support;
- rollout: effect on participants (tot_wald, truth kind att: the enrolled mentees' mean effect);
- observational: the matched Kaplan-Meier difference (km_matched) against the enrolled mentees'
  retention effect (truth kind att); biased by design, shown to say by how much.

Under Effects.null() every true effect is exactly zero, so coverage there is one minus the size.
`--widths` instead prints interval half-widths by company size.

Run:  .venv/bin/python validation/designs_coverage.py [--seeds 200] [--designs lottery capacity]
      .venv/bin/python validation/designs_coverage.py --widths --sizes 5000 20000 100000 --seeds 5
Tables go to docs/validation.md."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from seeds import run

ROOT = Path(__file__).resolve().parent.parent
COHORTS = ("2023-spring", "2023-autumn", "2024-spring", "2024-autumn")
DESIGN_ESTIMANDS = ("retention_12m", "voluntary_exit_12m", "promotion_12m", "performance_rating")
ROLLOUT_ESTIMANDS = ("retention_12m", "promotion_12m")


def _studies(me, directory: str, design: str):
    ds = me.load(directory)
    extra = {"assignment_strata": ["department"]} if design == "lottery" else {}
    if design == "observational":  # every department invited
        extra.update(mentee_eligibility={"levels": [1, 2, 3], "min_tenure_months": 6},
                     mentor_eligibility={"levels": [4, 5, 6, 7], "min_tenure_months": 24})
    return [me.Study(me.load_params(ROOT / "params" / f"{c}.yaml", data_dir=directory, **extra), ds) for c in COHORTS]


def one_seed(design: str, seed: int, n_employees: int, null: bool) -> list[dict]:
    """Every interval of one simulated company against its truth."""
    import mentoring_eval as me
    from mentoring_eval import applicants, pooling, retention

    records = []
    with tempfile.TemporaryDirectory() as tmp:
        simulated = me.simulate(tmp, n_employees=n_employees, seed=seed, design=design,
                                effects=me.Effects.null() if null else None)
        truth, individual = simulated.table, simulated.applicants
        studies = _studies(me, tmp, design)

        def true(cohort_id, estimand, kind):
            t = truth[(truth.cohort_id == cohort_id) & (truth.role == "mentee") & (truth.estimand == estimand)
                      & (truth.kind == kind) & (truth.design.isin([design, ""]))]
            return float(t["value"].iloc[0]) if len(t) else np.nan

        def record(level, cohort_id, estimand, method, e, truth_value, analysed=np.nan):
            if e is None or not np.isfinite(truth_value):
                return
            records.append({"design": design, "seed": seed, "level": level, "cohort": cohort_id, "estimand": estimand,
                            "method": method, "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high,
                            "truth": truth_value, "truth_analysed": analysed, "n_employees": n_employees,
                            "null": null})

        def analysed_truth(cohort_id, estimand, method, effect):
            """The true effect over exactly the applicants the estimate used (its target population)."""
            mine = individual[(individual.cohort_id == cohort_id) & individual.employee_id.isin(effect.ids.astype(str))]
            if method == "itt_offer":
                return float((mine[estimand] * mine["complier"]).mean())
            target = mine["complier"] if method == "tot_iv" else mine["took_part"]
            return float(mine.loc[target, estimand].mean()) if target.any() else np.nan

        if design in ("lottery", "capacity"):
            methods = {"lottery": (("itt_offer", "itt_offer"), ("tot_iv", "tot")), "capacity": (("tot_dr", "tot"),)}[design]
            results, analysed = [], {}
            for study in studies:
                try:
                    res = applicants.analyze(study)
                except me.NotEstimable:
                    continue
                results.append(res)
                for estimand in DESIGN_ESTIMANDS:
                    for method, kind in methods:
                        effect = res.effects.get((estimand, method))
                        if effect is None:
                            continue
                        analysed[(study.cohort_id, estimand, method)] = analysed_truth(study.cohort_id, estimand,
                                                                                        method, effect)
                        record("cohort", study.cohort_id, estimand, method, effect, true(study.cohort_id, estimand, kind),
                               analysed[(study.cohort_id, estimand, method)])
            pooled = me.Estimates(pooling.pooled_applicant_rows(results)[0])
            weight = {r.cohort_id: r.n_participants for r in results}
            for estimand in DESIGN_ESTIMANDS:
                for method, kind in methods:
                    e = pooled.first(estimand=estimand, method=method)
                    if e is not None:  # the truth of the cohorts pooled, weighted as the estimate weights them
                        used = e.note.split("cohorts: ")[-1].split(", ")
                        rows = truth[truth.cohort_id.isin(used) & (truth.role == "mentee") & (truth.design == design)
                                     & (truth.estimand == estimand) & (truth.kind == kind)]
                        record("pooled", "pooled", estimand, method, e,
                               float(np.average(rows["value"], weights=rows["n_participants"])),
                               float(np.average([analysed[(c, estimand, method)] for c in used],
                                                weights=[weight[c] for c in used])))
        elif design == "rollout":
            from mentoring_eval import promotion

            for study in studies:
                table = retention.analyze(study, "mentee", bootstrap=20).estimates + \
                    promotion.analyze(study, "mentee").estimates
                for estimand in ROLLOUT_ESTIMANDS:
                    record("cohort", study.cohort_id, estimand, "tot_wald", table.first(estimand=estimand,
                                                                                          method="tot_wald"),
                           true(study.cohort_id, estimand, "att"))
        else:
            for study in studies:
                res = retention.analyze(study, "mentee", bootstrap=100)
                record("cohort", study.cohort_id, "retention_12m", "km_matched",
                       res.estimates.first(estimand="retention_12m", method="km_matched"),
                       true(study.cohort_id, "retention_12m", "att"))
    return records


def coverage_table(df: pd.DataFrame) -> str:
    lines = ["| design | level | estimand | method | world | intervals | coverage | mean error | mean half-width | mean truth |",
             "|---|---|---|---|---|---:|---:|---:|---:|---:|"]
    df = df.assign(covered=(df.ci_low <= df.truth) & (df.truth <= df.ci_high), error=df.estimate - df.truth,
                   half=(df.ci_high - df.ci_low) / 2)
    for (design, level, estimand, method, null), g in df.groupby(["design", "level", "estimand", "method", "null"],
                                                                  sort=False):
        cov = g["covered"].mean()
        margin = 1.96 * np.sqrt(cov * (1 - cov) / len(g))
        lines.append(f"| {design} | {level} | {estimand} | {method} | {'null' if null else 'planted'} | {len(g)} | "
                     f"{100 * cov:.1f}% (+/- {100 * margin:.1f}) | {g['error'].mean():+.2f} | {g['half'].mean():.2f} | "
                     f"{g['truth'].mean():+.2f} |")
    return "\n".join(lines)


def widths_table(df: pd.DataFrame) -> str:
    lines = ["| design | level | estimand | method | employees | intervals | mean half-width | coverage |",
             "|---|---|---|---|---:|---:|---:|---:|"]
    df = df.assign(covered=(df.ci_low <= df.truth) & (df.truth <= df.ci_high), half=(df.ci_high - df.ci_low) / 2)
    for (design, level, estimand, method, n), g in df.groupby(["design", "level", "estimand", "method", "n_employees"]):
        lines.append(f"| {design} | {level} | {estimand} | {method} | {n:,} | {len(g)} | {g['half'].mean():.2f} | "
                     f"{100 * g['covered'].mean():.0f}% |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--designs", nargs="+", default=["lottery", "capacity", "rollout", "observational"])
    parser.add_argument("--worlds", nargs="+", default=["planted", "null"], choices=["planted", "null"])
    parser.add_argument("--widths", action="store_true", help="half-widths by company size instead of coverage")
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000, 100000])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--csv", type=Path, default=None, help="also write every interval to this CSV")
    args = parser.parse_args()
    sizes = args.sizes if args.widths else [args.employees]
    worlds = ["planted"] if args.widths else args.worlds
    tasks = [(d, s, n, w == "null") for d in args.designs for w in worlds for n in sizes for s in range(args.seeds)]
    start = time.perf_counter()
    df = pd.DataFrame(run(one_seed, tasks, args.jobs, every=25))
    if args.csv:
        df.to_csv(args.csv, index=False)
    print(f"{args.seeds} seeds per design and world, {', '.join(f'{n:,}' for n in sizes)} employees, "
          f"{time.perf_counter() - start:.0f} s on {args.jobs} processes\n")
    print(widths_table(df) if args.widths else coverage_table(df))


if __name__ == "__main__":
    main()
