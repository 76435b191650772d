"""Regression difference-in-differences: the 2x2 design, two-way fixed effects and the event study.

Clustered standard errors use the small-sample correction of R fixest's default
(`ssc(adj = TRUE, fixef.K = "nested", cluster.adj = TRUE)`): V x G/(G-1) x (n-1)/(n-K), where K
counts the slopes plus the fixed-effect levels not nested in the clusters, and p-values and
intervals use Student t with G-1 degrees of freedom.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import NotEstimable
from ._linear import TwoWayDemeaner, check_columns, demean, weights_of
from .inference import cluster_factor, clusters_of, fixest_factor, group_codes, hc1_factor, interval, sandwich, solve_wls


@dataclass(frozen=True)
class DiDEstimate:
    """One difference-in-differences estimate with its uncertainty (units of the outcome)."""

    method: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    pvalue: float
    n_obs: int
    n_clusters: int | None = None
    vcov: str = ""
    alpha: float = 0.05

    def summary(self) -> str:
        level = round(100 * (1 - self.alpha))
        clusters = f", {self.n_clusters:,} clusters" if self.n_clusters else ""
        return (f"{self.method}: {self.estimate:.4g} (SE {self.std_error:.3g}; {level}% CI {self.ci_low:.4g} to "
                f"{self.ci_high:.4g}; p = {self.pvalue:.3g}; {self.n_obs:,} observations{clusters}; {self.vcov})")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{k: getattr(self, k) for k in
                              ("method", "estimate", "std_error", "ci_low", "ci_high", "pvalue", "n_obs", "n_clusters")}])


def did_2x2(data: pd.DataFrame, outcome: str, treated: str, post: str, covariates: Sequence[str] = (),
            weights: str | None = None, cov_type: Literal["nonrobust", "HC1", "cluster"] = "HC1", cluster: str | None = None,
            alpha: float = 0.05) -> DiDEstimate:
    """OLS of outcome on treated, post and treated x post (plus covariates); the estimate is the
    interaction. cov_type: "nonrobust" (t with n-k df), "HC1" or "cluster" (normal, as statsmodels)."""
    covariates = list(covariates)
    if cov_type not in ("nonrobust", "HC1", "cluster"):
        raise ValueError(f"cov_type must be 'nonrobust', 'HC1' or 'cluster', got {cov_type!r}")
    if cov_type == "cluster" and cluster is None:
        raise ValueError("cov_type='cluster' needs cluster=<column>")
    check_columns(data, numeric=[outcome, *covariates], binary=[treated, post],
                  present=[cluster] if cluster else [])
    d, p = data[treated].to_numpy(float), data[post].to_numpy(float)
    for dv, pv, label in ((1, 0, "treated before"), (1, 1, "treated after"), (0, 0, "comparison before"),
                          (0, 1, "comparison after")):
        if not ((d == dv) & (p == pv)).any():
            raise NotEstimable(f"no {label} observations ({treated}={dv}, {post}={pv}): a 2x2 DiD needs all four cells")
    names = ["const", treated, post, f"{treated}:{post}", *covariates]
    x = np.column_stack([np.ones(len(d)), d, p, d * p, *(data[c].to_numpy(float) for c in covariates)])
    y = data[outcome].to_numpy(float)
    w = weights_of(data, weights)
    beta, bread = solve_wls(x, y, w, names)
    resid = y - x @ beta
    n, k = x.shape
    if cov_type == "nonrobust":
        vcov = bread * float((w * resid**2).sum()) / (n - k)
        df, n_clusters = n - k, None
    elif cov_type == "HC1":
        vcov = sandwich(x, resid, w, bread, None) * hc1_factor(n, k)
        df, n_clusters = None, None
    else:
        clusters = data[cluster].to_numpy()
        n_clusters = int(pd.Series(clusters).nunique())
        vcov = sandwich(x, resid, w, bread, clusters) * cluster_factor(n_clusters, n, k)
        df = None
    se = float(np.sqrt(vcov[3, 3]))
    lo, hi, pv = interval(float(beta[3]), se, df, alpha)
    return DiDEstimate("2x2 DiD", float(beta[3]), se, lo, hi, pv, n, n_clusters, cov_type, alpha)


def _fe_fit(data: pd.DataFrame, outcome: str, regressors: np.ndarray, names: list[str], unit: str, time: str,
            weights: str | None, cluster: str | None):
    """Two-way fixed-effects OLS with clustered vcov (fixest's default small-sample correction)."""
    u, nu = group_codes(data[unit])
    t, nt = group_codes(data[time])
    w = weights_of(data, weights)
    both = np.empty((len(data), regressors.shape[1] + 1), order="F")
    both[:, 0] = data[outcome].to_numpy(float)
    both[:, 1:] = regressors
    both = demean(both, [u, t], [nu, nt], w, copy=False)
    y, x = both[:, 0], both[:, 1:]
    if (np.abs(x).max(axis=0) < 1e-12).any():
        bad = names[int(np.argmax(np.abs(x).max(axis=0) < 1e-12))]
        raise NotEstimable(f"singular design: {bad!r} does not vary once unit and period effects are removed "
                         "(no comparison units, or treated in every period)")
    beta, bread = solve_wls(x, y, w, names)
    resid = y - x @ beta
    cl_col = cluster or unit
    c, g = clusters_of(data[cl_col], cl_col) if cl_col != unit else _unit_clusters(u, nu, unit)
    n = len(y)
    vcov = sandwich(x, resid, w, bread, c) * fixest_factor(u, nu, t, nt, c, g, n, x.shape[1])
    return beta, vcov, n, g


def _unit_clusters(u: np.ndarray, nu: int, unit: str) -> tuple[np.ndarray, int]:
    """`clusters_of` the unit column, from its codes already found (the same sorted levels)."""
    if nu < 2:
        raise NotEstimable(f"cluster column {unit!r} has a single value; cannot cluster")
    return u, nu


def _fe_fit_dummies(data: pd.DataFrame, outcome: str, codes: np.ndarray, names: list[str], unit: str, time: str,
                    weights: str | None, cluster: str | None):
    """Two-way fixed-effects OLS on 0/1 dummies given as codes (-1 = none), without demeaning a
    column per dummy: a dummy's within transform is itself plus a per-unit and a per-period term
    (`TwoWayDemeaner.dummy_terms`), so X~'WX~ and the cluster scores are sums of small sparse
    products. Memory stays a few columns whatever the number of dummies."""
    from scipy import sparse

    u, nu = group_codes(data[unit])
    t, nt = group_codes(data[time])
    w = weights_of(data, weights)
    within = TwoWayDemeaner(u, nu, t, nt, w) if nu >= nt else TwoWayDemeaner(t, nt, u, nu, w)
    p, n = len(names), len(data)
    has = codes >= 0
    code = codes[has]
    long_, short = within.unit[has], within.period[has]
    by_long = sparse.csr_array((w[has], (long_, code)), shape=(within.n_units, p))  # weight of each dummy per unit
    by_short = np.bincount(short * p + code, weights=w[has], minlength=within.n_periods * p).reshape(-1, p)
    per_long, per_short = within.dummy_terms(by_long, by_short)  # X~ = X + per_long[unit] - per_short[period]

    raw = data[outcome].to_numpy(float)
    y = within(raw)
    xty = np.bincount(code, weights=(w * y)[has], minlength=p)
    del y  # tens of millions of rows in a large company's matched panel: one n-vector less at the peak
    gram = np.diag(by_short.sum(axis=0)) + by_long.T @ per_long - by_short.T @ per_short
    gram = (gram + gram.T) / 2
    flat = np.diag(gram) < 1e-10 * max(1.0, float(np.abs(gram).max()))
    if flat.any() or np.linalg.matrix_rank(gram) < p:
        bad = names[int(np.argmax(flat))] if flat.any() else names[-1]
        raise NotEstimable(f"singular design: {bad!r} does not vary once unit and period effects are removed "
                         "(no comparison units, or collinear relative periods)")
    bread = np.linalg.inv(gram)
    beta = bread @ xty
    resid = np.zeros(n)
    resid[has] = beta[code]
    np.subtract(raw, resid, out=resid)
    resid = within(resid, out=resid)  # demeaning is linear: y~ - X~ beta in one pass, in place
    cl_col = cluster or unit
    c, g = clusters_of(data[cl_col], cl_col) if cl_col != unit else _unit_clusters(u, nu, unit)
    wr = w * resid
    # score of cluster k for dummy j: sum over k's rows of wr * (X_j + per_long[unit, j] - per_short[period, j]),
    # by sums of wr per (cluster, column), (cluster, unit) and (cluster, period): no n-row matrix
    scores = np.bincount(c[has] * p + code, weights=wr[has], minlength=g * p).reshape(g, p)
    if c is within.unit:  # clustered by the units themselves: a unit's rows are its cluster's
        scores += np.bincount(c, weights=wr, minlength=g)[:, None] * per_long
    else:
        scores += sparse.csr_array((wr, (c, within.unit)), shape=(g, within.n_units)) @ per_long
    if g * within.n_periods <= 4 * n:
        scores -= np.bincount(c * within.n_periods + within.period, weights=wr,
                              minlength=g * within.n_periods).reshape(g, within.n_periods) @ per_short
    else:
        scores -= sparse.csr_array((wr, (c, within.period)), shape=(g, within.n_periods)) @ per_short
    vcov = bread @ (scores.T @ scores) @ bread * fixest_factor(u, nu, t, nt, c, g, n, p)
    return beta, vcov, n, g


def twfe(data: pd.DataFrame, outcome: str, unit: str, time: str, treatment: str, weights: str | None = None,
         cluster: str | None = None, alpha: float = 0.05) -> DiDEstimate:
    """Two-way fixed-effects DiD: outcome on the 0/1 treatment with unit and period effects,
    standard errors clustered by unit (or `cluster`). Biased under staggered adoption with
    effects that vary by cohort or over time: use att_gt there."""
    check_columns(data, numeric=[outcome], binary=[treatment], present=[unit, time] + ([cluster] if cluster else []))
    if not data[treatment].astype(bool).any() or data[treatment].astype(bool).all():
        raise NotEstimable(f"treatment column {treatment!r} must have both treated (1) and untreated (0) observations")
    beta, vcov, n, g = _fe_fit(data, outcome, data[[treatment]].to_numpy(float), [treatment], unit, time, weights, cluster)
    se = float(np.sqrt(vcov[0, 0]))
    lo, hi, pv = interval(float(beta[0]), se, g - 1, alpha)
    return DiDEstimate("TWFE DiD", float(beta[0]), se, lo, hi, pv, n, g, f"clustered by {cluster or unit}", alpha)


@dataclass(frozen=True)
class WaldTest:
    """Joint test that a set of coefficients are all zero (F form, as fixest::wald)."""

    statistic: float
    df: int
    df_denominator: int | None
    pvalue: float
    hypothesis: str = ""

    def summary(self) -> str:
        dfs = f"F({self.df}, {self.df_denominator})" if self.df_denominator else f"chi2({self.df})"
        return f"{self.hypothesis}: {dfs} = {self.statistic:.3f}, p = {self.pvalue:.3g}"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"statistic": self.statistic, "df": self.df, "df_denominator": self.df_denominator,
                              "pvalue": self.pvalue, "hypothesis": self.hypothesis}])


@dataclass(frozen=True)
class EventStudy:
    """Relative-period effects of an event study (reference period fixed at 0)."""

    table: pd.DataFrame  # rel_time, estimate, std_error, ci_low, ci_high
    vcov: np.ndarray = field(repr=False)
    reference: int
    n_obs: int
    n_clusters: int
    alpha: float = 0.05

    def pretrend_test(self) -> WaldTest:
        """Joint Wald test that every pre-period coefficient is zero (parallel pre-trends)."""
        pre = (self.table["rel_time"] < 0) & (self.table["rel_time"] != self.reference)
        idx = np.flatnonzero(pre.to_numpy())
        if idx.size == 0:
            raise NotEstimable("no pre-period coefficients in the window; widen it to test pre-trends")
        b = self.table["estimate"].to_numpy()[idx]
        v = self.vcov[np.ix_(idx, idx)]
        q = idx.size
        rank = int(np.linalg.matrix_rank(v))
        if rank < q:  # as R did: no pre-test from a singular covariance
            raise NotEstimable(f"the joint pre-period test cannot be formed: the covariance of the {q} pre-period "
                               f"estimates has rank {rank} ({self.n_clusters} clusters cannot support {q} "
                               "independent pre-period differences); use fewer pre-periods or more clusters")
        f_stat = float(b @ np.linalg.solve(v, b)) / q
        p = float(stats.f.sf(f_stat, q, self.n_clusters - 1))
        return WaldTest(f_stat, q, self.n_clusters - 1, p, "all pre-period effects are zero")

    def sup_t(self, draws: int = 10000, seed: int = 0) -> float:
        """The simultaneous critical value: the 1 - alpha quantile of the largest |t| over every
        relative period (Montiel Olea & Plagborg-Moller 2019), for estimates with this covariance
        and Student t tails with G - 1 degrees of freedom (a multivariate t, as the pointwise
        intervals use t(G - 1)): never below the pointwise critical value. Bands of +/- sup_t x SE
        cover every period's effect at once with probability 1 - alpha."""
        se = self.table["std_error"].to_numpy(float)
        ok = se > 0
        if not ok.any():
            return float("nan")
        corr = self.vcov[np.ix_(ok, ok)] / np.outer(se[ok], se[ok])
        rng = np.random.default_rng([seed, 41])
        # draws with this correlation; a cluster-robust covariance from few clusters is singular, and
        # rounding leaves eigenvalues a hair below zero: they are zero
        values, vectors = np.linalg.eigh(corr)
        z = rng.standard_normal((draws, int(ok.sum()))) @ (vectors * np.sqrt(np.clip(values, 0.0, None))).T
        df = self.n_clusters - 1
        z = z / np.sqrt(rng.chisquare(df, size=(draws, 1)) / df)
        return float(np.quantile(np.abs(z).max(axis=1), 1 - self.alpha))

    def bands(self) -> pd.DataFrame:
        """The table with simultaneous (sup-t) bands: band_low, band_high."""
        crit = self.sup_t()
        t = self.table.copy()
        t["band_low"] = t["estimate"] - crit * t["std_error"]
        t["band_high"] = t["estimate"] + crit * t["std_error"]
        return t

    def summary(self) -> str:
        t = self.table.round(4).to_string(index=False)
        return f"Event study ({self.n_obs:,} observations, {self.n_clusters:,} clusters; reference {self.reference})\n{t}\n" \
               f"{self._pretrend_line() if (self.table['rel_time'] < self.reference).any() else ''}"

    def _pretrend_line(self) -> str:
        try:
            return self.pretrend_test().summary()
        except NotEstimable as exc:
            return str(exc)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def plot(self, ax=None, label: str = "effect"):
        """Coefficients with simultaneous (sup-t) 95% bands by period relative to the event: the
        bands hold for every period at once, so a single period poking out of zero is not read as
        a finding among dozens."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.6))
        t = pd.concat([self.bands(), pd.DataFrame([{"rel_time": self.reference, "estimate": 0.0, "std_error": 0.0,
                                                    "band_low": 0.0, "band_high": 0.0}])]).sort_values("rel_time")
        pre = t["rel_time"] < 0
        level = round(100 * (1 - self.alpha))
        for mask, colour, name in ((pre, "#999999", "before"), (~pre, "#0072B2", "after")):
            s = t[mask]
            ax.errorbar(s["rel_time"], s["estimate"], yerr=[s["estimate"] - s["band_low"], s["band_high"] - s["estimate"]],
                        fmt="o", color=colour, capsize=2, label=f"{name} ({level}% simultaneous bands)")
        ax.axhline(0, color="black", lw=0.8)
        ax.axvline(-0.5, color="#999999", ls="--", lw=0.8)
        ax.set_xlabel("periods relative to start (reference period fixed at 0)")
        ax.set_ylabel(label)
        ax.legend(frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        return ax


def _never_treated(cohort: pd.Series) -> np.ndarray:
    c = cohort.to_numpy(dtype=float)
    return np.isnan(c) | (c == 0)


def event_study(data: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str, window: tuple[int, int] = (-6, 12),
                reference: int = -1, weights: str | None = None, cluster: str | None = None,
                alpha: float = 0.05) -> EventStudy:
    """Event study by two-way fixed effects with a dummy for each period relative to the first
    treated period (`cohort`; 0 or missing = never treated) inside `window`, the `reference`
    period left out. Treated unit-periods outside the window are dropped so that they do not
    blend into the reference; never-treated units are kept in every period."""
    lo, hi = window
    if not lo <= reference <= hi or lo >= hi:
        raise ValueError(f"window {window} must contain the reference period {reference}")
    check_columns(data, numeric=[outcome, time], present=[unit, cohort] + ([cluster] if cluster else []))
    if not pd.api.types.is_numeric_dtype(data[cohort]):
        raise ValueError(f"column {cohort!r} must hold the first treated period as a number (0 or missing = never)")
    never = _never_treated(data[cohort])
    if never.all():
        raise NotEstimable(f"no treated units: every {cohort!r} is 0 or missing")
    rel = data[time].to_numpy(float) - data[cohort].to_numpy(float)
    keep = never | ((rel >= lo) & (rel <= hi))
    if keep.all():  # no copy of a large panel that the window does not cut
        sub = data
    else:
        sub, rel, never = data.loc[keep], rel[keep], never[keep]
    periods = [r for r in range(lo, hi + 1) if r != reference]
    observed = set(np.unique(rel[~never]).astype(int))
    absent = [r for r in periods if r not in observed]
    if absent:
        raise NotEstimable(f"no treated unit is observed at relative period(s) {absent}; narrow the window {window}")
    codes = np.full(rel.size, -1, dtype=np.int64)
    rows = np.flatnonzero(~never & (rel != reference))
    codes[rows] = (rel[rows] - lo).astype(np.int64) - (rel[rows] > reference)  # the reference has no column
    del rel, rows, keep, never  # n-vectors the fit does not need
    names = [f"rel_{r}" for r in periods]
    beta, vcov, n, g = _fe_fit_dummies(sub, outcome, codes, names, unit, time, weights, cluster)
    se = np.sqrt(np.maximum(np.diag(vcov), 0.0))  # a period with no variation at all has variance 0, not -1e-18
    crit = stats.t(g - 1).ppf(1 - alpha / 2)
    table = pd.DataFrame({"rel_time": periods, "estimate": beta, "std_error": se,
                          "ci_low": beta - crit * se, "ci_high": beta + crit * se})
    return EventStudy(table, vcov, reference, n, g, alpha)
