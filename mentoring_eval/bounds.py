"""What is logically possible for an effect on a rate.

An effect on a rate (pp) is the group's observed rate minus the rate it would have had without
mentoring, and that rate lies between 0 and 100. So with an observed rate Y1 the effect lies in
[Y1 - 100, Y1] whatever the data say: an interval reaching beyond that claims nothing the data
could show. Every reported effect on a rate is intersected with these bounds, and the rate the
effect implies without mentoring (Y1 - effect) is shown beside it.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from . import estimates as est


def possible(observed: float) -> tuple[float, float]:
    """The effects (pp) a group with observed rate `observed` (percent) can have had: [Y1 - 100, Y1]."""
    if not np.isfinite(observed) or not 0 <= observed <= 100:
        raise ValueError(f"an observed rate must be a percentage between 0 and 100, got {observed!r}")
    return observed - 100.0, observed


def clip(value: float, observed: float) -> float:
    lo, hi = possible(observed)
    return float(min(max(value, lo), hi)) if np.isfinite(value) else value


def counterfactual(effect: float, observed: float) -> float:
    """The rate (percent) the effect implies the group would have had without mentoring."""
    return observed - effect


def intersect(value: float, low: float, high: float, observed: float) -> tuple[float, float, float]:
    """(value, low, high) cut to [observed - 100, observed]; the interval still holds the value."""
    lo_b, hi_b = possible(observed)
    value = clip(value, observed)
    low = lo_b if math.isnan(low) else max(low, lo_b)
    high = hi_b if math.isnan(high) else min(high, hi_b)
    return value, float(min(low, value)), float(max(high, value))


def bounded(e: est.Estimate, observed: float, group: str = "participants") -> est.Estimate:
    """The estimate with its value and interval intersected with what `group`'s observed rate
    allows, and a note with the observed and implied rates. A NaN observed rate leaves it as is."""
    if not np.isfinite(observed):
        return e
    value, ci_low, ci_high = intersect(e.estimate, e.ci_low, e.ci_high, observed)
    implied = (f"{group}' observed rate {observed:.1f}%, implied without mentoring {counterfactual(value, observed):.1f}% "
               f"({counterfactual(ci_high, observed):.1f}% to {counterfactual(ci_low, observed):.1f}%)")
    clipped = " (interval cut to the possible range)" if (ci_low > e.ci_low or ci_high < e.ci_high
                                                           or math.isnan(e.ci_low)) else ""
    note = "; ".join(part for part in (e.note, implied + clipped) if part)
    return replace(e, estimate=value, ci_low=float(ci_low), ci_high=float(ci_high), note=note)


def observed_rate(e: est.Estimate) -> float:
    """The observed rate (percent) `bounded` wrote into the estimate's note, or NaN."""
    marker = "' observed rate "
    if marker not in e.note:
        return float("nan")
    return float(e.note.split(marker, 1)[1].split("%", 1)[0])


def within(e: est.Estimate, observed: float, tol: float = 1e-9) -> bool:
    """True when the estimate's interval lies inside what the observed rate allows."""
    lo, hi = possible(observed)
    return e.ci_low >= lo - tol and e.ci_high <= hi + tol
