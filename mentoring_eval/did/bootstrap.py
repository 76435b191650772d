"""Inference when few units were assigned: the wild cluster restricted bootstrap (WCR-t) of one
regression coefficient, with its interval by test inversion.

When a program is rolled out to a handful of departments, people are not the independent draws:
departments are. A cluster-robust t with few clusters over-rejects; the wild cluster bootstrap
with the null imposed (Cameron, Gelbach & Miller 2008; MacKinnon & Webb 2017) keeps its size.
Rademacher weights at 12 clusters or more, Webb's six-point weights below (Webb 2023); every
weight vector is enumerated when there are fewer of them than draws. The algebra follows
Roodman, MacKinnon, Nielsen & Webb (2019, "Fast and wild"): everything runs on per-cluster
cross-products, so the size of the data does not matter after one pass.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import NotEstimable
from .inference import group_codes, group_sums

WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
WEBB_BELOW = 12  # clusters: below this, Rademacher weights have too few distinct draws
Weights = Literal["auto", "rademacher", "webb"]
Variance = Literal["cv1", "cv3"]


@dataclass(frozen=True)
class WildBootstrap:
    """One coefficient with its cluster-robust SE (CR1) and the wild cluster restricted bootstrap's
    p-value (H0: coefficient = 0) and interval (the values not rejected at `alpha`; an end is
    infinite when no value on that side is rejected)."""

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    pvalue: float
    n_clusters: int
    weights: str
    draws: int
    enumerated: bool
    alpha: float = 0.05
    variance: str = "cv1"  # the t statistics' variance: cv1 (cluster sandwich) or cv3 (cluster jackknife)

    def summary(self) -> str:
        level = round(100 * (1 - self.alpha))
        how = f"all {self.draws:,} {self.weights} weight vectors" if self.enumerated else f"{self.draws:,} {self.weights} draws"
        return (f"{self.estimate:.4g} ({level}% wild cluster bootstrap interval {self.ci_low:.4g} to {self.ci_high:.4g}; "
                f"p = {self.pvalue:.3g}; {self.n_clusters} clusters, {how})")


def weight_matrix(n_clusters: int, draws: int, kind: Weights = "auto", seed: int = 0) -> tuple[np.ndarray, str, bool]:
    """Bootstrap weights (draws x clusters), their kind and whether every vector was enumerated
    (then draws is the number of distinct vectors); a random draw keeps the sample itself first."""
    if kind == "auto":
        kind = "webb" if n_clusters < WEBB_BELOW else "rademacher"
    if kind not in ("rademacher", "webb"):
        raise ValueError(f"weights must be 'auto', 'rademacher' or 'webb', got {kind!r}")
    values = WEBB if kind == "webb" else np.array([-1.0, 1.0])
    if values.size ** n_clusters <= draws:
        grid = np.array(list(itertools.product(values[::-1], repeat=n_clusters)))
        return grid, kind, True
    rng = np.random.default_rng([seed, 31])
    v = values[rng.integers(0, values.size, (draws, n_clusters))]
    v[0] = 1.0
    return v, kind, False


class _Cross:
    """Per-cluster cross-products X_g'WX_g and X_g'Wy_g of a weighted regression; `n` observations
    (the rows, or the people they stand for when the weights count them)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, w: np.ndarray, clusters: np.ndarray, n: int | None = None):
        codes, g = group_codes(clusters)
        self.g = g
        k = x.shape[1]
        xw = x * w[:, None]
        outer = (xw[:, :, None] * x[:, None, :]).reshape(len(y), k * k)
        self.xx = group_sums(codes, g, outer).reshape(g, k, k)
        self.xy = group_sums(codes, g, xw * y[:, None])
        self.bread = np.linalg.inv(self.xx.sum(axis=0))
        self.beta = self.bread @ self.xy.sum(axis=0)
        self.n, self.k = (len(y) if n is None else n), k

    @cached_property
    def leave_one_out(self) -> np.ndarray | None:
        """(X'WX - X_g'WX_g)^-1 for every cluster g (G x k x k), or None when dropping some cluster
        leaves a singular design (then CV3 is not available)."""
        rest = self.xx.sum(axis=0)[None] - self.xx
        if (np.linalg.matrix_rank(rest) < self.k).any():
            return None
        return np.linalg.inv(rest)

    def t_stats(self, j: int, r: float, v: np.ndarray, variance: str = "cv1") -> tuple[float, np.ndarray]:
        """(the sample's t for H0: beta_j = r, the bootstrap t's under the null imposed), both with
        the same variance: CV1 (cluster sandwich with G/(G-1)(n-1)/(n-k)) or CV3 (the jackknife
        over clusters, (G-1)/G sum_g (beta_(g) - beta)^2, which holds its size better with few
        clusters; MacKinnon, Nielsen & Webb 2023)."""
        bread, xx = self.bread, self.xx
        beta_r = self.beta - bread[:, j] * (self.beta[j] - r) / bread[j, j]
        scores_r = self.xy - xx @ beta_r  # G x k: X_g'W(y_g - X_g beta_r)
        a = scores_r @ bread[j]  # (bread s_g)_j: how cluster g's draw moves the bootstrap estimate
        if variance == "cv3":
            # (beta*_(g) - beta*)_j = sum_h v_h C[g, h], C[g, h] = (M_g s_h)_j [h != g] - a_h
            p = self.leave_one_out[:, j, :]  # row j of each M_g (symmetric)
            c = p @ scores_r.T
            np.fill_diagonal(c, 0.0)
            c = c - a[None, :]
            q = v @ c.T
            t_boot = (v @ a) / np.sqrt((self.g - 1) / self.g * (q**2).sum(axis=1))
        else:
            # C[g, h] = (bread A_g bread s_h)_j: how cluster h's draw moves cluster g's bootstrap score
            left = np.einsum("k,gkl->gl", bread[j], xx)  # e_j' bread A_g
            c = left @ bread @ scores_r.T
            q = v * a[None, :] - v @ c.T
            t_boot = (v @ a) / np.sqrt(self._cv1_factor * (q**2).sum(axis=1))
        return float((self.beta[j] - r) / self.se(j, variance)), t_boot

    @property
    def _cv1_factor(self) -> float:
        return self.g / (self.g - 1) * (self.n - 1) / (self.n - self.k)

    def se(self, j: int, variance: str = "cv1") -> float:
        """The coefficient's cluster-robust standard error, CV1 or CV3."""
        if variance == "cv3":
            total = self.xy.sum(axis=0)[None] - self.xy  # X'Wy without cluster g
            dropped = np.einsum("gkl,gl->gk", self.leave_one_out, total)[:, j]
            return float(np.sqrt((self.g - 1) / self.g * ((dropped - self.beta[j]) ** 2).sum()))
        scores = self.xy - self.xx @ self.beta
        return float(np.sqrt(self._cv1_factor * ((scores @ self.bread[j]) ** 2).sum()))


def wild_cluster_bootstrap(x: np.ndarray, y: np.ndarray, clusters: np.ndarray | pd.Series, column: int,
                           weights: np.ndarray | None = None, draws: int = 9999, kind: Weights = "auto",
                           alpha: float = 0.05, seed: int = 0, variance: Variance = "cv1",
                           counts: bool = False) -> WildBootstrap:
    """WCR-t bootstrap of coefficient `column` of the (weighted) regression of y on x, clusters
    given per row: p-value for H0 = 0 and the interval of values not rejected at `alpha`. The t
    statistics use CV1 by default, or CV3 (the cluster jackknife; WCR3 in MacKinnon, Nielsen & Webb
    2023; CV1 when leaving out a cluster makes the design singular); `std_error` is the same
    variance's. On the simulator's three-against-three department rollouts the two give the same
    coverage (docs/validation.md). `counts=True`: the weights count people (rows are cells of
    identical regressors, y their mean), so the result equals the person-level one."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    cross = _Cross(x, y, w, np.asarray(clusters), int(round(w.sum())) if counts else None)
    if cross.g < 2:
        raise NotEstimable("a single cluster: nothing to bootstrap over")
    if variance not in ("cv1", "cv3"):
        raise ValueError(f"variance must be 'cv1' or 'cv3', got {variance!r}")
    if variance == "cv3" and cross.leave_one_out is None:
        variance = "cv1"
    v, kind_used, enumerated = weight_matrix(cross.g, draws, kind, seed)

    def pvalue(r: float) -> float:
        t, t_boot = cross.t_stats(column, r, v, variance)
        with np.errstate(invalid="ignore"):
            return float(np.mean(np.abs(np.nan_to_num(t_boot, nan=0.0)) >= abs(t) - 1e-12))

    estimate, se = float(cross.beta[column]), cross.se(column, variance)
    lo, hi = _invert(pvalue, estimate, se, alpha)
    return WildBootstrap(estimate, se, lo, hi, pvalue(0.0), cross.g, kind_used, len(v), enumerated, alpha, variance)


def _invert(pvalue, estimate: float, se: float, alpha: float, reach: float = 1e3) -> tuple[float, float]:
    """The ends of {r: p(r) > alpha} around the estimate: step outwards until rejected (infinite
    beyond `reach` standard errors), then bisect to 1e-6 SE."""
    if not np.isfinite(se) or se == 0:
        return estimate, estimate
    ends = []
    for sign in (-1.0, 1.0):
        inner, step = estimate, se
        outer = None
        while step <= reach * se:
            trial = estimate + sign * step
            if pvalue(trial) <= alpha:
                outer = trial
                break
            inner, step = trial, step * 2
        if outer is None:
            ends.append(sign * np.inf)
            continue
        for _ in range(60):
            mid = (inner + outer) / 2
            if pvalue(mid) <= alpha:
                outer = mid
            else:
                inner = mid
            if abs(outer - inner) < 1e-6 * se:
                break
        ends.append((inner + outer) / 2)
    return float(ends[0]), float(ends[1])


@dataclass(frozen=True)
class SmallSampleT:
    """One coefficient's bias-reduced cluster-robust standard error (CR2, Bell & McCaffrey 2002) and
    the Bell-McCaffrey degrees of freedom of its t interval (Imbens & Kolesar 2016)."""

    estimate: float
    std_error: float
    df: float
    ci_low: float
    ci_high: float


def cr2_interval(x: np.ndarray, y: np.ndarray, clusters: np.ndarray | pd.Series, column: int, alpha: float = 0.05,
                 weights: np.ndarray | None = None) -> SmallSampleT:
    """CR2 standard error and Bell-McCaffrey t interval of coefficient `column`, from per-cluster
    cross-products only: for A_g = (I - H_gg)^(-1/2), X_g'A_g = (I - M_g B)^(-1/2) X_g' with
    M_g = X_g'WX_g and B = (X'WX)^-1, so every term is k x k whatever the cluster sizes."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    cross = _Cross(x, y, w, np.asarray(clusters))
    g, k, b = cross.g, cross.k, cross.bread
    values, vectors = np.linalg.eigh(b)
    root = vectors @ np.diag(np.sqrt(values)) @ vectors.T  # B^(1/2)
    inv_root = vectors @ np.diag(1 / np.sqrt(values)) @ vectors.T
    scores = cross.xy - cross.xx @ cross.beta  # G x k
    lw = b[column]  # B e_j
    adjust = np.empty((g, k, k))  # (I - M_g B)^(-1/2) = B^(-1/2) (I - S_g)^(-1/2) B^(1/2), S_g = B^(1/2) M_g B^(1/2)
    for c in range(g):  # k x k per cluster; clusters are few where this matters
        s_vals, s_vecs = np.linalg.eigh(root @ cross.xx[c] @ root)
        s_vals = np.clip(s_vals, 0.0, 1 - 1e-12)
        adjust[c] = inv_root @ s_vecs @ np.diag(1 / np.sqrt(1 - s_vals)) @ s_vecs.T @ root
    adjusted = np.einsum("gkl,gl->gk", adjust, scores)  # X_g'A_g e_g
    se = float(np.sqrt(((adjusted @ lw) ** 2).sum()))
    # Bell-McCaffrey: df = (tr C)^2 / tr(C^2), C[g, h] = G_g'G_h, G_g = (I - H)_{., g} A_g X_g B e_j
    q = np.einsum("gkl,l->gk", adjust.transpose(0, 2, 1), lw)  # rows: ((I - B M_g)^(-1/2) B e_j)' = (A_g X_g w)' via X_g
    cc = -np.einsum("gk,gkl,lm,hmn,hn->gh", q, cross.xx, b, cross.xx, q)
    cc[np.diag_indices(g)] = np.einsum("k,gkl,l->g", lw, cross.xx, lw)
    df = float(np.trace(cc) ** 2 / np.trace(cc @ cc))
    half = stats.t(df).ppf(1 - alpha / 2) * se
    estimate = float(cross.beta[column])
    return SmallSampleT(estimate, se, df, estimate - half, estimate + half)
