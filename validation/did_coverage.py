"""Repeated-seed checks of the causal engine on panels with planted effects.

- coverage of the 95% confidence intervals of every ATT(g, t) and of the simple aggregation;
- size of the pre-trend tests (share of rejections at 5% when parallel trends hold) and their
  power against a planted violation;
- bias of two-way fixed effects under heterogeneous staggered effects, for contrast.

Run:  .venv/bin/python validation/did_coverage.py [--seeds 200] [--units 1000]
The summary goes to docs/validation.md."""

from __future__ import annotations

import argparse
import time

import numpy as np

from mentoring_eval.did import att_gt, event_study, twfe
from mentoring_eval.simulate import staggered_panel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--periods", type=int, default=10)
    args = parser.parse_args()
    cell_cover, simple_cover, twfe_cover, twfe_bias = [], [], [], []
    pre_cs, pre_es, power_cs, power_es = [], [], [], []
    start = time.perf_counter()
    for seed in range(args.seeds):
        panel, truth = staggered_panel(args.units, args.periods, seed=seed)
        r = att_gt(panel, "y", "unit", "time", "cohort")
        cells = r.att.merge(truth, on=["cohort", "time"], suffixes=("", "_true"))
        cell_cover.extend(((cells["ci_low"] <= cells["att_true"]) & (cells["att_true"] <= cells["ci_high"])).tolist())
        treated = panel[panel["treated"] == 1].merge(truth, on=["cohort", "time"])
        true_simple = treated["att"].mean()
        s = r.aggregate("simple")
        simple_cover.append(s.ci_low <= true_simple <= s.ci_high)
        tw = twfe(panel, "y", "unit", "time", "treated")
        twfe_cover.append(tw.ci_low <= true_simple <= tw.ci_high)
        twfe_bias.append(tw.estimate - true_simple)
        pre_cs.append(r.pretest().pvalue < 0.05)
        same, _ = staggered_panel(args.units, args.periods, seed=seed, cohort_gain=0.0)
        pre_es.append(event_study(same, "y", "unit", "time", "cohort", window=(-4, 4)).pretrend_test().pvalue < 0.05)
        bad, _ = staggered_panel(args.units, args.periods, seed=seed, pretrend=0.05)
        power_cs.append(att_gt(bad, "y", "unit", "time", "cohort").pretest().pvalue < 0.05)
        bad_same, _ = staggered_panel(args.units, args.periods, seed=seed, cohort_gain=0.0, pretrend=0.05)
        power_es.append(event_study(bad_same, "y", "unit", "time", "cohort", window=(-4, 4)).pretrend_test().pvalue < 0.05)

    def share(x):
        x = np.asarray(x, dtype=float)
        se = np.sqrt(x.mean() * (1 - x.mean()) / x.size)
        return f"{100 * x.mean():.1f}% (+/- {196 * se:.1f})"

    print(f"{args.seeds} seeds, {args.units} units x {args.periods} periods, cohorts 4/6/8 and 30% never treated "
          f"({time.perf_counter() - start:.0f} s)")
    print("| check | result |\n|---|---|")
    print(f"| coverage of 95% CIs, every ATT(g,t) ({len(cell_cover)} cells) | {share(cell_cover)} |")
    print(f"| coverage of 95% CI, simple aggregation | {share(simple_cover)} |")
    print(f"| TWFE: coverage of the same true ATT | {share(twfe_cover)} |")
    print(f"| TWFE: mean bias | {np.mean(twfe_bias):+.3f} (true simple ATT about 2.8) |")
    print(f"| C&S pre-test rejections at 5%, parallel trends hold | {share(pre_cs)} |")
    print(f"| event-study pre-trend rejections at 5%, parallel trends hold (effects equal across cohorts) | {share(pre_es)} |")
    print(f"| C&S pre-test power, pre-trend slope 0.05 | {share(power_cs)} |")
    print(f"| event-study pre-trend power, slope 0.05 | {share(power_es)} |")


if __name__ == "__main__":
    main()
