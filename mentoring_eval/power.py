"""What the data can and cannot tell: minimum detectable effects and sample sizes for the
cohort's comparisons, and a plain warning when the cohort is too small for the effect hoped for."""

from __future__ import annotations

import numpy as np
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize


def _detectable(n1: float, n0: float, p0: float, alpha: float, power: float) -> float:
    """Smallest increase d over p0 that a two-sided test of two proportions detects with the given
    power, on the arcsine scale (Cohen's h, statsmodels NormalIndPower): h solved for the group
    sizes, then p0 + d = sin^2(asin(sqrt(p0)) + h / 2)."""
    h = NormalIndPower().solve_power(effect_size=None, nobs1=n1, alpha=alpha, power=power, ratio=n0 / n1,
                                     alternative="two-sided")
    angle = min(np.arcsin(np.sqrt(p0)) + h / 2, np.pi / 2)
    return float(np.sin(angle) ** 2 - p0)


def mde(n_treated: int, n_control: int, base_rate: float, alpha: float = 0.05, power: float = 0.8,
        participation_share: float = 1.0) -> float:
    """Minimum detectable increase in a proportion (percentage points) between two groups of the
    given sizes at a base rate (percent): two-sided test at `alpha` with the given power; divided by
    the participation share for an effect on participants estimated through the whole eligible
    group (the diluted design of the headline estimates)."""
    if n_treated <= 0 or n_control <= 0:
        raise ValueError("both groups need at least one person")
    if not 0 < participation_share <= 1:
        raise ValueError("participation_share must be in (0, 1]")
    return 100 * _detectable(n_treated, n_control, base_rate / 100, alpha, power) / participation_share


def sample_size(effect: float, base_rate: float, ratio: float = 1.0, alpha: float = 0.05, power: float = 0.8,
                participation_share: float = 1.0) -> int:
    """Treated-group size needed to detect an increase of `effect` (pp) at `base_rate` (percent),
    with `ratio` comparison people per treated person (and the participation share, as in mde)."""
    if effect <= 0:
        raise ValueError("the effect to detect must be a positive number of percentage points")
    p0 = base_rate / 100
    p1 = min(p0 + effect / 100 * participation_share, 1.0)
    h = proportion_effectsize(p1, p0)
    n = NormalIndPower().solve_power(effect_size=h, nobs1=None, alpha=alpha, power=power, ratio=ratio,
                                     alternative="two-sided")
    return int(np.ceil(float(n) - 1e-3))  # the root finder's tolerance is well below a thousandth of a person


def warning(what: str, hoped_for: float, detectable: float) -> str:
    """A plain sentence on whether the cohort can detect the effect the program hopes for."""
    if abs(hoped_for) >= detectable:
        return (f"The cohort is large enough to detect a change of {abs(hoped_for):.1f} points in {what} "
                f"(smallest detectable: {detectable:.1f}).")
    return (f"**Too small to tell:** this cohort can only detect a change in {what} of {detectable:.1f} points or "
            f"more; the {abs(hoped_for):.1f}-point change the program hopes for would go unnoticed, so a result "
            f"that is \"not significant\" says nothing about whether mentoring worked.")


def did_mde(n_treated: int, n_control: int, base_rate: float, participation_share: float = 1.0,
            alpha: float = 0.05, power: float = 0.8) -> float:
    """Approximate minimum detectable effect (pp) of a before/after difference-in-differences with
    independent snapshots of these sizes: sqrt(2) x the two-group figure (two contrasts instead of one)."""
    return float(np.sqrt(2) * mde(n_treated, n_control, base_rate, alpha, power, participation_share))
