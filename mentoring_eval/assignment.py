"""Inference at the level things were assigned.

A rollout invites departments, not people: a shock that hits one invited department (a reorganisation,
a new manager, a hot job market for its skills) moves every eligible person in it at once, and looks
like an effect. So a rollout's uncertainty is counted in departments (or in what the params'
`assignment_unit` names): the standard error is clustered on the assigned unit, the interval comes
from the wild cluster bootstrap (`did.bootstrap`), and a randomization test asks how unusual the
estimate is among every other choice of which units went first. The reported interval also
covers the CR2 t interval with Bell-McCaffrey degrees of freedom (Imbens & Kolesar 2016), which
holds its level where the bootstrap alone falls short (few units of unequal size). With fewer than
three treated or three comparison units no headline is drawn from the design: one department's
shock could be the whole effect.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .did.bootstrap import SmallSampleT, WildBootstrap, cr2_interval, wild_cluster_bootstrap
from .errors import NotEstimable

MIN_CLUSTERS = 3  # per arm, for a headline
MAX_ASSIGNMENTS = 5000  # randomization test: enumerate up to this many assignments, else draw this many


@dataclass(frozen=True)
class Assignment:
    """A rollout difference-in-differences counted in assigned units: the units in each arm, the
    wild cluster bootstrap of the interaction (estimate, CR1 SE, interval, p), the CR2 /
    Bell-McCaffrey t interval, and the randomization p-value over the possible choices of treated
    units; `interval` is the one reported."""

    unit: tuple[str, ...]
    treated: tuple[str, ...]
    comparison: tuple[str, ...]
    bootstrap: WildBootstrap
    randomization_p: float
    n_assignments: int  # choices of treated units the randomization test compared with
    enumerated: bool  # True when every choice was used
    small_sample: SmallSampleT | None = None  # CR2 with Bell-McCaffrey degrees of freedom

    @property
    def interval(self) -> tuple[float, float]:
        """The reported interval: the union of the wild cluster bootstrap's and the CR2 /
        Bell-McCaffrey t interval. With few assigned units of unequal size the bootstrap alone
        rejects a true null 6-9% of the time instead of 5% (docs/validation.md); the union keeps
        at least the coverage of each."""
        b, t = self.bootstrap, self.small_sample
        if t is None:
            return b.ci_low, b.ci_high
        return min(b.ci_low, t.ci_low), max(b.ci_high, t.ci_high)

    @property
    def unit_name(self) -> str:
        return " x ".join(self.unit)

    @property
    def unit_plural(self) -> str:
        """'departments', or 'department x location units' for a combined unit."""
        return f"{self.unit[0]}s" if len(self.unit) == 1 else f"{self.unit_name} units"

    @property
    def clusters(self) -> tuple[int, int]:
        """(treated units, comparison units)."""
        return len(self.treated), len(self.comparison)

    @property
    def supports_headline(self) -> bool:
        return min(self.clusters) >= MIN_CLUSTERS

    @property
    def smallest_p(self) -> float:
        """The smallest p-value the randomization test can give: 1 / number of possible assignments."""
        return 1 / math.comb(sum(self.clusters), len(self.treated)) if self.enumerated else 1 / self.n_assignments

    def reason(self) -> str:
        """Why there is no headline from this design ('' when there is one), in plain words."""
        if self.supports_headline:
            return ""
        t, c = self.clusters
        single = self.unit_name if len(self.unit) == 1 else f"{self.unit_name} unit"
        return (f"the rollout reached {t} {self.unit_plural if t != 1 else single} and compares them with {c}; with "
                f"fewer than {MIN_CLUSTERS} on either side, a shock to a single {single} could produce the whole "
                "difference")

    def note(self) -> str:
        t, c = self.clusters
        b = self.bootstrap
        how = f"all {b.draws:,} weight vectors" if b.enumerated else f"{b.draws:,} draws"
        every = "all " if self.enumerated else ""
        small = (f"; CR2 t interval with {self.small_sample.df:.1f} Bell-McCaffrey degrees of freedom"
                 if self.small_sample is not None else "")
        return (f"clustered by {self.unit_name}: {t} treated, {c} comparison; wild cluster bootstrap ({b.weights} "
                f"weights, {how}) p = {b.pvalue:.2g}{small}; the wider of the two intervals; randomization "
                f"p = {self.randomization_p:.2g} over {every}{self.n_assignments:,} choices of treated {self.unit_plural}")

    def summary(self) -> str:
        return f"{self.bootstrap.summary()}; {self.note()}"


def cluster_labels(rows: pd.DataFrame, unit: tuple[str, ...]) -> pd.Series:
    """One label per row for the assigned unit (the unit columns joined by ' / ')."""
    missing = [c for c in unit if c not in rows]
    if missing:
        raise NotEstimable(f"assignment unit {missing} is not a column of the comparison rows")
    labels = rows[unit[0]].astype("str")
    for c in unit[1:]:
        labels = labels + " / " + rows[c].astype("str")
    return labels


def assigned_did(rows: pd.DataFrame, outcome: str, unit: tuple[str, ...], treated: str = "treated", post: str = "post",
                 alpha: float = 0.05, seed: int = 0, draws: int = 9999, variance: str = "cv1") -> Assignment:
    """The 2x2 difference-in-differences of `outcome` (treated x post) with inference at the
    assigned unit: CR1 standard error, WCR bootstrap interval and randomization p-value. Every
    unit must lie wholly in one arm (else the unit is not how the program was assigned). Rows may
    be cells of people with a `weight` column counting them (`effects.exit_panel`): the results
    equal those on one row per person."""
    labels = cluster_labels(rows, unit)
    d = rows[treated].to_numpy(float)
    arm = pd.DataFrame({"unit": labels, "d": d}).groupby("unit")["d"].agg(["min", "max"])
    mixed = arm.index[arm["min"] != arm["max"]]
    if len(mixed):
        raise NotEstimable(f"the assignment unit ({' x '.join(unit)}) does not follow how the program was assigned: "
                           f"{', '.join(map(str, mixed[:3]))} hold both eligible and comparison people")
    treated_units = tuple(arm.index[arm["max"] == 1])
    comparison_units = tuple(arm.index[arm["max"] == 0])
    if not treated_units or not comparison_units:
        raise NotEstimable("the rollout needs both treated and comparison units")
    p = rows[post].to_numpy(float)
    y = rows[outcome].to_numpy(float)
    w = rows["weight"].to_numpy(float) if "weight" in rows else np.ones(len(y))
    x = np.column_stack([np.ones(len(y)), d, p, d * p])
    boot = wild_cluster_bootstrap(x, y, labels.to_numpy(), 3, weights=w, draws=draws, alpha=alpha, seed=seed,
                                  variance=variance, counts=True)
    small = cr2_interval(x, y, labels.to_numpy(), 3, alpha=alpha, weights=w)
    ri_p, n_assign, enumerated = randomization_test(labels.to_numpy(), d, p, y, treated_units, seed, weights=w)
    return Assignment(tuple(unit), treated_units, comparison_units, boot, ri_p, n_assign, enumerated, small)


def randomization_test(labels: np.ndarray, treated: np.ndarray, post: np.ndarray, y: np.ndarray,
                       treated_units: tuple[str, ...], seed: int = 0,
                       weights: np.ndarray | None = None) -> tuple[float, int, bool]:
    """Two-sided randomization p-value of the 2x2 DiD over the choices of which units were treated
    (as many as were), from unit x period sums: (p, assignments compared, every one enumerated).
    `weights` count the people each row stands for (cells), one each by default."""
    codes, uniques = pd.factorize(pd.Series(labels), sort=True)
    g = len(uniques)
    post_i = post.astype(int)
    sums = np.zeros((g, 2))
    counts = np.zeros((g, 2))
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    np.add.at(sums, (codes, post_i), w * y)
    np.add.at(counts, (codes, post_i), w)
    actual = np.isin(np.asarray(uniques, dtype=object), np.asarray(treated_units, dtype=object))
    k = int(actual.sum())
    total = math.comb(g, k)
    if total <= MAX_ASSIGNMENTS:
        choices = np.zeros((total, g), dtype=bool)
        for i, combo in enumerate(itertools.combinations(range(g), k)):
            choices[i, list(combo)] = True
        enumerated = True
    else:
        rng = np.random.default_rng([seed, 37])
        keys = rng.random((MAX_ASSIGNMENTS, g))
        ranks = keys.argsort(axis=1).argsort(axis=1)
        choices = ranks < k
        choices[0] = actual
        enumerated = False
    t = choices.astype(float)

    def cell(mask: np.ndarray, period: int) -> np.ndarray:
        return (mask @ sums[:, period]) / np.maximum(mask @ counts[:, period], 1e-12)

    stat = (cell(t, 1) - cell(t, 0)) - (cell(1 - t, 1) - cell(1 - t, 0))
    observed = (cell(actual[None].astype(float), 1) - cell(actual[None].astype(float), 0)) - \
               (cell(1 - actual[None].astype(float), 1) - cell(1 - actual[None].astype(float), 0))
    p = float(np.mean(np.abs(stat) >= abs(observed[0]) - 1e-12))
    return p, len(choices), enumerated
