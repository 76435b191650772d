"""Coarsened exact matching (Iacus, King & Porro 2012) and covariate balance.

CEM coarsens each matching variable into bins, keeps the strata that hold both treated and
comparison units, and weights comparison units so that each stratum counts as much as its
treated units: the transparent default comparison group of the workbook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import NotEstimable
from .labels import covariate


@dataclass(frozen=True)
class CEMResult:
    """Strata, matched flags and CEM weights (aligned with the input rows), and counts per arm."""

    data: pd.DataFrame  # stratum, matched, cem_weight; same index as the input
    counts: pd.DataFrame  # arm, matched, unmatched, total
    n_strata: int
    n_matched_strata: int

    def summary(self) -> str:
        c = self.counts.set_index("arm")
        return (f"Coarsened exact matching: {self.n_matched_strata} of {self.n_strata} strata hold both arms; "
                f"treated matched {c.loc['treated', 'matched']:,} of {c.loc['treated', 'total']:,}, "
                f"comparison matched {c.loc['control', 'matched']:,} of {c.loc['control', 'total']:,}")

    def to_frame(self) -> pd.DataFrame:
        return self.data.copy()


def _bin(values: pd.Series, rule) -> np.ndarray:
    """Bin codes for one matching variable: rule = cut points, a number of equal-width bins, or None (exact)."""
    if rule is None:
        codes, _ = pd.factorize(values, sort=True)
        return codes
    x = values.to_numpy(dtype=float)
    if isinstance(rule, int | np.integer):
        if rule < 1:
            raise ValueError(f"coarsen[{values.name!r}]: the number of bins must be at least 1")
        lo, hi = np.nanmin(x), np.nanmax(x)
        edges = np.linspace(lo, hi, rule + 1)[1:-1]
    else:
        edges = np.asarray(rule, dtype=float)
        if edges.ndim != 1 or (np.diff(edges) <= 0).any():
            raise ValueError(f"coarsen[{values.name!r}]: cut points must be increasing numbers, got {list(rule)}")
    return np.searchsorted(edges, x, side="right")


def cem(data: pd.DataFrame, treatment: str, coarsen: Mapping[str, Sequence[float] | int | None]) -> CEMResult:
    """Coarsened exact matching on the variables in `coarsen` (column -> cut points, a number of
    equal-width bins, or None for exact matching). Treated units in a matched stratum weigh 1;
    comparison units weigh (treated / comparison in the stratum) x (matched comparison / matched
    treated overall); unmatched units weigh 0."""
    if not coarsen:
        raise ValueError("coarsen must name at least one matching variable")
    missing = [c for c in [treatment, *coarsen] if c not in data.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not in the data (columns: {list(data.columns)})")
    treat = data[treatment]
    if treat.isna().any() or not set(pd.unique(treat.astype(float))) <= {0.0, 1.0}:
        raise ValueError(f"treatment column {treatment!r} must be 0/1 without missing values")
    t = treat.to_numpy(dtype=float).astype(bool)
    if t.all() or not t.any():
        raise NotEstimable(f"treatment column {treatment!r} needs both treated (1) and comparison (0) units")
    for col, rule in coarsen.items():
        if data[col].isna().any():
            rows = list(data.index[data[col].isna()][:5])
            raise ValueError(f"matching variable {col!r} has missing values (e.g. rows {rows}); fill or drop them")
        if rule is not None and not pd.api.types.is_numeric_dtype(data[col]):
            raise ValueError(f"matching variable {col!r} is not numeric: give None (exact) instead of bins")
    codes = pd.DataFrame({col: _bin(data[col], rule) for col, rule in coarsen.items()})
    stratum = codes.groupby(list(coarsen), sort=True).ngroup().to_numpy()
    n_strata = int(stratum.max()) + 1
    n_t = np.bincount(stratum, weights=t, minlength=n_strata)
    n_c = np.bincount(stratum, weights=~t, minlength=n_strata)
    good = (n_t > 0) & (n_c > 0)
    matched = good[stratum]
    m_t, m_c = t[matched].sum(), (~t)[matched].sum()
    ratio = np.divide(n_t, n_c, out=np.zeros(n_strata), where=n_c > 0)
    weight = np.where(~matched, 0.0, np.where(t, 1.0, ratio[stratum] * (m_c / m_t if m_t else 0.0)))
    out = pd.DataFrame({"stratum": stratum, "matched": matched, "cem_weight": weight}, index=data.index)
    counts = pd.DataFrame({
        "arm": ["treated", "control"],
        "matched": [int((t & matched).sum()), int((~t & matched).sum())],
        "unmatched": [int((t & ~matched).sum()), int((~t & ~matched).sum())],
    })
    counts["total"] = counts["matched"] + counts["unmatched"]
    return CEMResult(out, counts, n_strata, int(good.sum()))


@dataclass(frozen=True)
class BalanceResult:
    """Standardized mean differences and variance ratios before (and after) weighting."""

    table: pd.DataFrame
    threshold: float = 0.1

    def summary(self) -> str:
        t = self.table
        text = f"{len(t)} covariate terms; |SMD| >= {self.threshold} before weighting: {int((t['smd_before'].abs() >= self.threshold).sum())}"
        if "smd_after" in t:
            text += f"; after: {int((t['smd_after'].abs() >= self.threshold).sum())} (max |SMD| {t['smd_after'].abs().max():.3f})"
        return text

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def _weighted_mean_var(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    mean = float(np.average(x, weights=w))
    var = float(np.average((x - mean) ** 2, weights=w) * w.sum() ** 2 / (w.sum() ** 2 - (w**2).sum())) \
        if (w > 0).sum() > 1 else float("nan")
    return mean, var


def balance_table(data: pd.DataFrame, treatment: str, covariates: Sequence[str], weights: str | None = None,
                  threshold: float = 0.1) -> BalanceResult:
    """Standardized mean difference (treated minus comparison, in units of the pooled standard
    deviation before weighting) and variance ratio of each covariate; a non-numeric covariate
    becomes one row per level (share of units). With weights, the same after weighting."""
    missing = [c for c in [treatment, *covariates, *([weights] if weights else [])] if c not in data.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not in the data (columns: {list(data.columns)})")
    t = data[treatment].to_numpy(dtype=float).astype(bool)
    if t.all() or not t.any():
        raise NotEstimable(f"treatment column {treatment!r} needs both treated (1) and comparison (0) units")
    w_after = data[weights].to_numpy(dtype=float) if weights else None
    if w_after is not None and (not (w_after[t] > 0).any() or not (w_after[~t] > 0).any()):
        raise NotEstimable(f"weights {weights!r} leave no treated or no comparison unit with positive weight")
    terms: list[tuple[str, np.ndarray]] = []
    for c in covariates:
        s = data[c]
        if s.isna().any():
            raise ValueError(f"covariate {c!r} has missing values; fill or drop them before checking balance")
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            terms.append((c, s.to_numpy(dtype=float)))
        else:
            for level in sorted(pd.unique(s.astype("str"))):
                terms.append((f"{c}={level}", (s.astype("str") == level).to_numpy(dtype=float)))
    rows = []
    ones = np.ones(len(t))
    for name, x in terms:
        mt, vt = _weighted_mean_var(x[t], ones[t])
        mc, vc = _weighted_mean_var(x[~t], ones[~t])
        sd = np.sqrt((vt + vc) / 2)
        row = {"covariate": name, "mean_treated_before": mt, "mean_control_before": mc,
               "smd_before": (mt - mc) / sd if sd > 0 else 0.0, "variance_ratio_before": vt / vc if vc > 0 else np.nan}
        if w_after is not None:
            at, avt = _weighted_mean_var(x[t][w_after[t] > 0], w_after[t][w_after[t] > 0])
            ac, avc = _weighted_mean_var(x[~t][w_after[~t] > 0], w_after[~t][w_after[~t] > 0])
            row.update({"mean_treated_after": at, "mean_control_after": ac,
                        "smd_after": (at - ac) / sd if sd > 0 else 0.0,
                        "variance_ratio_after": avt / avc if avc > 0 else np.nan})
        rows.append(row)
    return BalanceResult(pd.DataFrame(rows), threshold)


def love_plot(balance: BalanceResult, ax=None):
    """Absolute standardized mean differences before and after weighting, with the threshold line."""
    import matplotlib.pyplot as plt

    t = balance.table.iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(t) + 1.2))
    y = np.arange(len(t))
    ax.scatter(t["smd_before"].abs(), y, marker="o", facecolors="none", edgecolors="#D55E00", label="before matching")
    if "smd_after" in t:
        ax.scatter(t["smd_after"].abs(), y, marker="o", color="#0072B2", label="after matching")
    ax.axvline(balance.threshold, color="#999999", ls="--", lw=0.8)
    ax.set_yticks(y, [covariate(c) for c in t["covariate"]])
    ax.set_xlabel("|standardized mean difference|")
    ax.legend(frameon=False, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    return ax
