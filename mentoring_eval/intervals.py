"""Intervals shared by the metrics: a proportion's Wilson interval and a mean's t interval, from
statsmodels, in the units the tables show (percent for proportions)."""

from __future__ import annotations

import numpy as np
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW


def wilson(k, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the proportion k/n, in percent (NaN where n is 0). k and n may be
    numbers or arrays."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    safe = np.where(n > 0, n, 1.0)
    lo, hi = proportion_confint(np.where(n > 0, k, 0.0), safe, alpha=alpha, method="wilson")
    lo, hi = np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)
    return 100 * lo, 100 * hi


def mean_interval(x, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """Mean, standard error and Student-t interval of a sample (missing values left out); the
    standard error and interval are NaN below two observations."""
    x = np.asarray(x, float)
    x = x[~np.isnan(x)]
    if x.size < 2:
        return (float(x.mean()) if x.size else np.nan), np.nan, np.nan, np.nan
    d = DescrStatsW(x)
    lo, hi = d.tconfint_mean(alpha=alpha)
    return float(d.mean), float(d.std_mean), float(lo), float(hi)
