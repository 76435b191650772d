"""Inference for linear estimators, one copy for the engine and the designs built on it: weighted
least squares with its bread, sandwich variances with scores summed by cluster, and the
small-sample factors (HC1; CR1 as Stata and statsmodels; fixest's default for fixed effects)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import NotEstimable


def group_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes 0..G-1 of a grouping (sorted levels) and the number of groups G."""
    codes, uniques = pd.factorize(pd.Series(values, copy=False), sort=True)
    return codes.astype(np.int64, copy=False), len(uniques)


def group_sums(codes: np.ndarray, size: int, values: np.ndarray) -> np.ndarray:
    """Column sums of values within each group (groups x columns; a vector for a vector), each summed
    in row order by one bincount a column: no n-row indicator matrix at tens of millions of rows."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=size)
    out = np.empty((size, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=size)
    return out


def solve_wls(x: np.ndarray, y: np.ndarray, w: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares: coefficients and the bread (X'WX)^-1. A singular design cannot be
    estimated (NotEstimable naming the first column that adds nothing)."""
    unweighted = bool((w == 1).all())
    xtwx = x.T @ (x if unweighted else x * w[:, None])
    rank = np.linalg.matrix_rank(xtwx)
    if rank < x.shape[1]:
        for j in range(1, x.shape[1] + 1):
            if np.linalg.matrix_rank(xtwx[:j, :j]) < j:
                break
        raise NotEstimable(f"singular design: {names[j - 1]!r} is constant or collinear with the other terms "
                           "(after fixed effects); drop it or check that both groups vary")
    bread = np.linalg.inv(xtwx)
    return bread @ (x.T @ (w * y)), bread


def sandwich(x: np.ndarray, resid: np.ndarray, w: np.ndarray, bread: np.ndarray,
             clusters: np.ndarray | None) -> np.ndarray:
    """Uncorrected sandwich: bread (sum of score outer products) bread, scores summed by cluster."""
    scores = x * (w * resid)[:, None]
    if clusters is not None:
        g, size = group_codes(clusters)
        scores = group_sums(g, size, scores)
    return bread @ (scores.T @ scores) @ bread


def hc1_factor(n: int, k: int) -> float:
    """HC1: n / (n - k)."""
    return n / (n - k)


def cluster_factor(g: int, n: int, k: int) -> float:
    """CR1 (Stata, statsmodels, fixest with K = slopes): G/(G-1) x (n-1)/(n-k)."""
    return g / (g - 1) * (n - 1) / (n - k)


def nested_levels(fe_codes: np.ndarray, fe_size: int, cluster_codes: np.ndarray) -> bool:
    """True when every level of a fixed effect lies within a single cluster."""
    first = np.full(fe_size, -1)
    first[fe_codes] = cluster_codes
    return bool((first[fe_codes] == cluster_codes).all())


def fixest_factor(u: np.ndarray, nu: int, t: np.ndarray, nt: int, c: np.ndarray, g: int, n: int, k: int) -> float:
    """fixest's default for two-way fixed effects: G/(G-1) x (n-1)/(n-K), K = slopes + fixed-effect
    levels not nested in the clusters (a nested effect counts one level)."""
    nested = [(nu, nested_levels(u, nu, c)), (nt, nested_levels(t, nt, c))]
    k_fe = nu + nt - 1  # one level is redundant between the two effects
    if any(is_nested for _, is_nested in nested):
        k_fe = k_fe - sum(size for size, is_nested in nested if is_nested) + sum(is_nested for _, is_nested in nested)
    return g / (g - 1) * (n - 1) / (n - (k + k_fe))


def clusters_of(values: pd.Series | np.ndarray, name: str = "cluster") -> tuple[np.ndarray, int]:
    """Cluster codes and their number; a single cluster cannot carry a clustered variance."""
    c, g = group_codes(values)
    if g < 2:
        raise NotEstimable(f"cluster column {name!r} has a single value; cannot cluster")
    return c, g


def interval(estimate: float, se: float, df: float | None, alpha: float) -> tuple[float, float, float]:
    """(low, high, two-sided p): Student t with df degrees of freedom, or normal when df is None."""
    dist = stats.t(df) if df else stats.norm()
    crit = dist.ppf(1 - alpha / 2)
    p = 2 * dist.sf(abs(estimate / se)) if se > 0 else float("nan")
    return estimate - crit * se, estimate + crit * se, float(p)
