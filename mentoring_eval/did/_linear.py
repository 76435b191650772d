"""Linear-algebra core of the regression estimators: input checks, observation weights, and fixed
effects projected out exactly or by alternating projections (inference lives in `did.inference`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import NotEstimable


def check_columns(data: pd.DataFrame, numeric: Sequence[str] = (), present: Sequence[str] = (),
                  binary: Sequence[str] = ()) -> None:
    """Raise a ValueError naming every missing column, non-numeric or non-0/1 column, or missing value."""
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    wanted = list(dict.fromkeys([*numeric, *present, *binary]))
    missing = [c for c in wanted if c not in data.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not in the data (columns: {list(data.columns)})")
    for c in [*numeric, *binary]:
        if not (pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c])):
            raise ValueError(f"column {c!r} must be numeric, got {data[c].dtype}; convert it first")
        if data[c].isna().any():
            rows = list(data.index[data[c].isna()][:5])
            raise ValueError(f"column {c!r} has {int(data[c].isna().sum())} missing values (e.g. rows {rows}); "
                             "drop or fill them first")
    for c in binary:
        values = set(np.unique(data[c].astype(float)))
        if not values <= {0.0, 1.0}:
            raise ValueError(f"column {c!r} must be 0/1, found values {sorted(values)[:6]}")
    for c in present:
        if c not in numeric and data[c].isna().any():
            raise ValueError(f"column {c!r} has {int(data[c].isna().sum())} missing values; drop or fill them first")


def weights_of(data: pd.DataFrame, weights: str | None) -> np.ndarray:
    """Observation weights as an array (ones when None); negative or missing weights are refused."""
    if weights is None:
        return np.ones(len(data))
    check_columns(data, numeric=[weights])
    w = data[weights].to_numpy(dtype=float)
    if (w < 0).any():
        raise ValueError(f"weights column {weights!r} has negative values")
    if not (w > 0).any():
        raise NotEstimable(f"weights column {weights!r} is zero everywhere")
    return w


def demean(matrix: np.ndarray, groups: Sequence[np.ndarray], sizes: Sequence[int], w: np.ndarray,
           tol: float = 1e-10, max_iter: int = 10_000, copy: bool = True) -> np.ndarray:
    """Project out one or two sets of fixed effects (weighted), without dummy matrices.

    Two-way with a short second dimension (periods): exact, by removing unit means and then
    solving the small periods x periods normal equations of the unit-demeaned period effects
    (Frisch-Waugh-Lovell), so unbalanced panels need no iteration. Otherwise alternating
    projections until the largest correction falls below `tol`."""
    x = np.array(matrix, dtype=float, copy=copy, order="F")  # column operations on contiguous memory
    if x.ndim == 1:
        x = x[:, None]
    if len(groups) == 2 and min(sizes) <= 5000:
        first = int(np.argmax(sizes))  # demean by the long dimension, solve for the short one
        return _two_way_exact(x, groups[first], sizes[first], groups[1 - first], sizes[1 - first], w)
    group_weight = [np.bincount(g, weights=w, minlength=s) for g, s in zip(groups, sizes, strict=True)]
    scale = np.maximum(np.abs(x).max(axis=0), 1.0)
    for _ in range(max_iter):
        change = 0.0
        for g, s, gw in zip(groups, sizes, group_weight, strict=True):
            safe = np.where(gw > 0, gw, 1.0)
            for j in range(x.shape[1]):
                means = np.bincount(g, weights=w * x[:, j], minlength=s) / safe
                x[:, j] -= means[g]
                change = max(change, float(np.abs(means).max() / scale[j]))
        if change < tol or len(groups) == 1:
            return x
    raise NotEstimable("fixed effects did not converge; check for units observed only once or disconnected panels")


class TwoWayDemeaner:
    """Exact removal of unit and period effects from one column at a time (weighted), for a
    unit x period layout that may be unbalanced: unit means out, then the period effects of the
    unit-demeaned data from the small periods x periods normal equations (computed once)."""

    def __init__(self, unit: np.ndarray, n_units: int, period: np.ndarray, n_periods: int, w: np.ndarray):
        self.unit, self.period, self.w = unit, period, w
        self.n_units, self.n_periods = n_units, n_periods
        self.unweighted = bool((w == 1).all())
        unit_w = np.bincount(unit, weights=w, minlength=n_units)
        self.safe = np.where(unit_w > 0, unit_w, 1.0)
        cell = np.bincount(unit * n_periods + period, weights=w, minlength=n_units * n_periods)
        cell = cell.reshape(n_units, n_periods)
        self.share = cell / self.safe[:, None]  # each unit's weight share in each period
        gram = np.diag(cell.sum(axis=0)) - self.share.T @ cell
        # one period effect is redundant with the unit effects: fix the first at zero
        try:
            self.reduced_inv = np.linalg.inv(gram[1:, 1:])
        except np.linalg.LinAlgError:
            raise NotEstimable("the periods are not connected through the units (some periods share no unit "
                             "with the others); fixed effects are not identified") from None

    def __call__(self, col: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        x = np.array(col, dtype=float, copy=True) if out is None else out
        if out is not None:
            x[:] = col
        wx = x if self.unweighted else self.w * x
        x -= (np.bincount(self.unit, weights=wx, minlength=self.n_units) / self.safe)[self.unit]
        wx = x if self.unweighted else self.w * x
        gamma = np.zeros(self.n_periods)
        gamma[1:] = self.reduced_inv @ np.bincount(self.period, weights=wx, minlength=self.n_periods)[1:]
        x -= gamma[self.period] - (self.share @ gamma)[self.unit]
        return x

    def dummy_terms(self, by_unit, by_period: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The within transform of 0/1 columns, as terms: X~ = X + per_unit[unit] - per_period[period].

        `by_unit` (units x columns, dense or scipy sparse) and `by_period` (periods x columns) hold the
        weight of each column's ones in each unit and period. Exact, and never n x columns."""
        # period sums of the unit-demeaned columns: the ones' own, less each unit's mean times its period weights
        period_sums = by_period - np.asarray(by_unit.T @ self.share).T
        unit_mean = np.asarray(by_unit.todense() if hasattr(by_unit, "todense") else by_unit) / self.safe[:, None]
        per_period = np.zeros_like(period_sums)
        per_period[1:] = self.reduced_inv @ period_sums[1:]
        return self.share @ per_period - unit_mean, per_period


def _two_way_exact(x: np.ndarray, unit: np.ndarray, n_units: int, period: np.ndarray, n_periods: int,
                   w: np.ndarray) -> np.ndarray:
    within = TwoWayDemeaner(unit, n_units, period, n_periods, w)
    for j in range(x.shape[1]):
        within(x[:, j], out=x[:, j])
    return x
