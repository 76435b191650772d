"""Random-effects pooling across programs: coverage of the 95% interval and its width, by the number
of programs and how much their true effects differ, for the interval `pooling.random_effects`
reports (Hartung-Knapp, never narrower than DerSimonian-Laird) and for the plain normal
DerSimonian-Laird interval it does not use.

Each draw: k programs, each with a true effect mu + tau * z (mu = 2 pp), estimated with a standard
error drawn between 2 and 8 pp (programs of different sizes), the estimate normal around its true
effect. The pooled interval covers when it holds mu.

Run:  .venv/bin/python validation/programs.py [--draws 4000]   (seconds; the table goes to docs/validation.md)"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats

from mentoring_eval.pooling import random_effects

MU = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    z = stats.norm.ppf(0.975)
    print(f"{args.draws} draws per row, seed {args.seed}; +/- is the 95% Monte Carlo margin of a coverage near 95%")
    print("| programs | tau (pp) | coverage, reported (HK) | coverage, normal DL | median width, reported (pp) | "
          "median width, normal DL (pp) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for k in (2, 3, 5, 10, 20):
        for tau in (0.0, 2.0, 5.0):
            hk, dl, w_hk, w_dl = [], [], [], []
            for _ in range(args.draws):
                se = rng.uniform(2, 8, k)
                truth = MU + tau * rng.standard_normal(k)
                found = random_effects(truth + se * rng.standard_normal(k), se)
                hk.append(found["ci_low"] <= MU <= found["ci_high"])
                lo, hi = found["estimate"] - z * found["std_error_dl"], found["estimate"] + z * found["std_error_dl"]
                dl.append(lo <= MU <= hi)
                w_hk.append(found["ci_high"] - found["ci_low"])
                w_dl.append(hi - lo)
            margin = 1.96 * np.sqrt(0.95 * 0.05 / args.draws) * 100
            print(f"| {k} | {tau:g} | {100 * np.mean(hk):.1f}% (+/- {margin:.1f}) | {100 * np.mean(dl):.1f}% | "
                  f"{np.median(w_hk):.1f} | {np.median(w_dl):.1f} |", flush=True)


if __name__ == "__main__":
    main()
