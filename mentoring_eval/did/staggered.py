"""Callaway & Sant'Anna (2021) group-time average treatment effects for staggered adoption.

ATT(g, t) compares the change in outcome of the units first treated in period g with that of a
control group (never treated, or not yet treated by t) between t and a base period. Without
covariates every ATT(g, t) and its influence function are computed for all cells at once; with
covariates each cell runs the outcome-regression, inverse-probability-weighting or doubly robust
estimator of Sant'Anna & Zhao (2020). Standard errors come from the influence functions (as R
`did` with bstrap = FALSE) or from a seeded multiplier bootstrap with uniform bands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import NotEstimable
from ._linear import check_columns
from .inference import group_sums

_MAMMEN = ((1 - np.sqrt(5)) / 2, (1 + np.sqrt(5)) / 2)
_MAMMEN_P = (np.sqrt(5) + 1) / (2 * np.sqrt(5))


# ---------------------------------------------------------------- results

@dataclass(frozen=True)
class AggregateResult:
    """An aggregation of ATT(g, t): the overall effect and, except for "simple", its components."""

    kind: str
    overall_att: float
    overall_se: float
    ci_low: float
    ci_high: float
    table: pd.DataFrame  # group / event_time / time, att, std_error, ci_low, ci_high
    alpha: float = 0.05
    critical_value: float = 1.96

    def summary(self) -> str:
        level = round(100 * (1 - self.alpha))
        head = (f"Callaway & Sant'Anna, {self.kind} aggregation: ATT = {self.overall_att:.4g} "
                f"(SE {self.overall_se:.3g}; {level}% CI {self.ci_low:.4g} to {self.ci_high:.4g})")
        return head if self.table.empty else head + "\n" + self.table.round(4).to_string(index=False)

    def to_frame(self) -> pd.DataFrame:
        overall = pd.DataFrame([{"component": "overall", "att": self.overall_att, "std_error": self.overall_se,
                                 "ci_low": self.ci_low, "ci_high": self.ci_high}])
        if self.table.empty:
            return overall
        parts = self.table.rename(columns={self.table.columns[0]: "component"}).astype({"component": "str"})
        return pd.concat([overall, parts], ignore_index=True)

    def plot(self, ax=None, label: str = "ATT"):
        """Component effects with their (pointwise or uniform) intervals."""
        import matplotlib.pyplot as plt

        if self.table.empty:
            raise ValueError("a 'simple' aggregation has no components to plot")
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.6))
        t = self.table
        x = t.iloc[:, 0]
        before = (x < 0).to_numpy() if self.kind == "dynamic" else np.zeros(len(t), dtype=bool)
        for mask, colour, name in ((before, "#999999", "before"), (~before, "#0072B2", "after")):
            if mask.any():
                s = t[mask]
                ax.errorbar(s.iloc[:, 0], s["att"], yerr=[s["att"] - s["ci_low"], s["ci_high"] - s["att"]], fmt="o",
                            color=colour, capsize=2, label=name if self.kind == "dynamic" else None)
        if self.kind == "dynamic":
            ax.legend(frameon=False)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel({"dynamic": "periods since first treated", "group": "cohort (first treated period)",
                       "calendar": "period"}[self.kind])
        ax.set_ylabel(label)
        ax.spines[["top", "right"]].set_visible(False)
        return ax


@dataclass(frozen=True)
class ATTgtResult:
    """Group-time effects ATT(g, t) with influence functions for inference and aggregation."""

    att: pd.DataFrame  # cohort, time, att, std_error, ci_low, ci_high, base_time, post, n_treated, n_control
    influence: np.ndarray = field(repr=False)  # units x cells
    unit_cohort: np.ndarray = field(repr=False)  # per unit, 0 = never treated
    unit_weight: np.ndarray = field(repr=False)  # per unit, mean 1
    control_group: str = "never_treated"
    anticipation: int = 0
    alpha: float = 0.05
    bootstrap: int | None = None
    seed: int | None = None
    critical_value: float = 1.96
    notes: tuple[str, ...] = ()
    unit_cluster: np.ndarray | None = field(default=None, repr=False)  # per unit, cluster code 0..G-1

    @property
    def n_units(self) -> int:
        return int(self.influence.shape[0])

    def summary(self) -> str:
        band = "uniform (bootstrap)" if self.bootstrap else "pointwise"
        lines = [f"Callaway & Sant'Anna ATT(g,t), control group {self.control_group}, {self.n_units:,} units, "
                 f"{band} {round(100 * (1 - self.alpha))}% intervals",
                 self.att[["cohort", "time", "att", "std_error", "ci_low", "ci_high"]].round(4).to_string(index=False)]
        if (~self.att["post"]).any():
            lines.append(self.pretest().summary())
        lines.extend(self.notes)
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        return self.att.copy()

    # -------------------------------------------------------- inference

    def _se(self, inf: np.ndarray) -> tuple[np.ndarray, float]:
        """Standard errors of columns of an influence-function matrix and the critical value. With
        clusters, the influence is summed within each cluster first (G/(G-1) small-sample factor,
        Student t with G-1 degrees of freedom; the bootstrap draws one weight per cluster)."""
        n = inf.shape[0]
        if self.unit_cluster is not None:
            g = int(self.unit_cluster.max()) + 1
            summed = group_sums(self.unit_cluster, g, inf) * np.sqrt(g / (g - 1))
            analytic = np.sqrt(np.einsum("ij,ij->j", summed, summed)) / n
            if not self.bootstrap:
                return analytic, float(stats.t(g - 1).ppf(1 - self.alpha / 2))
            draws = _multiplier_draws(summed, self.bootstrap, self.seed) * np.sqrt(g / n)
        elif not self.bootstrap:
            analytic = np.sqrt(np.einsum("ij,ij->j", inf, inf)) / n
            return analytic, float(stats.norm.ppf(1 - self.alpha / 2))
        else:
            draws = _multiplier_draws(inf, self.bootstrap, self.seed)  # B x k, on the sqrt(n) scale
        q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0)
        sigma = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
        ok = sigma > np.sqrt(np.finfo(float).eps) * 10
        t_max = np.abs(draws[:, ok] / sigma[ok]).max(axis=1) if ok.any() else np.zeros(1)
        crit = float(np.quantile(t_max, 1 - self.alpha))
        return np.where(ok, sigma / np.sqrt(n), np.nan), crit

    def pretest(self):
        """Wald test that every pre-treatment ATT(g, t) is zero (chi-squared, as R `did`)."""
        from .regression import WaldTest

        pre = ~self.att["post"].to_numpy()
        inf = self.influence[:, pre]
        var = (inf**2).sum(axis=0)
        keep = var > 0
        if not keep.any():
            raise NotEstimable("no pre-treatment ATT(g,t) to test; add periods before the first cohort starts")
        n = self.n_units
        b = self.att["att"].to_numpy()[pre][keep]
        inf = inf[:, keep]
        if self.unit_cluster is not None:
            g = int(self.unit_cluster.max()) + 1
            inf = group_sums(self.unit_cluster, g, inf) * np.sqrt(g / (g - 1))
        v = inf.T @ inf / n
        q = int(keep.sum())
        rank = int(np.linalg.matrix_rank(v))
        if rank < q:  # as R did: no pre-test from a singular covariance
            raise NotEstimable(f"the joint pre-period test cannot be formed: the covariance of the {q} pre-treatment "
                               f"ATT(g,t) has rank {rank}; use fewer pre-periods or more clusters")
        w = float(n * b @ np.linalg.solve(v, b))
        return WaldTest(w, q, None, float(stats.chi2.sf(w, q)), "all pre-treatment ATT(g,t) are zero")

    # -------------------------------------------------------- aggregation

    def aggregate(self, kind: Literal["simple", "group", "dynamic", "calendar"] = "simple") -> AggregateResult:
        """Aggregate ATT(g, t): "simple" (post cells weighted by cohort size), "group" (per cohort),
        "dynamic" (per period since treatment) or "calendar" (per period), as R `did::aggte`."""
        if kind not in ("simple", "group", "dynamic", "calendar"):
            raise ValueError(f"kind must be simple, group, dynamic or calendar, got {kind!r}")
        att = self.att["att"].to_numpy()
        g = self.att["cohort"].to_numpy(float)
        t = self.att["time"].to_numpy(float)
        inf = self.influence
        cohorts = np.unique(g)
        pg_cohort = np.array([np.mean(self.unit_weight * (self.unit_cohort == c)) for c in cohorts])
        pg = pg_cohort[np.searchsorted(cohorts, g)]
        post = g <= t

        def combine(cells: np.ndarray, weights: np.ndarray, with_wif: bool):
            est = float(weights @ att[cells])
            f = inf[:, cells] @ weights
            if with_wif:
                f = f + self._weight_influence(g[cells], pg[cells], att[cells])
            return est, f

        labels, ests, infs = [], [], []
        if kind == "simple":
            cells = np.flatnonzero(post)
            overall, f = combine(cells, pg[cells] / pg[cells].sum(), True)
            return self._finish(kind, overall, f, pd.DataFrame(), [], [], [])
        if kind == "group":
            for c in cohorts:
                cells = np.flatnonzero((g == c) & post)
                if cells.size == 0:
                    continue
                e, f = combine(cells, np.full(cells.size, 1 / cells.size), False)
                labels.append(c); ests.append(e); infs.append(f)
            weights = pg_cohort[np.isin(cohorts, labels)]
            comp_att, comp_inf = np.array(ests), np.column_stack(infs)
            overall = float(weights @ comp_att / weights.sum())
            f = comp_inf @ (weights / weights.sum()) + self._weight_influence(np.array(labels), weights, comp_att)
            return self._finish(kind, overall, f, comp_inf, labels, ests, "group")
        if kind == "dynamic":
            e_all = t - g
            for e in np.unique(e_all):
                cells = np.flatnonzero(e_all == e)
                est, f = combine(cells, pg[cells] / pg[cells].sum(), True)
                labels.append(e); ests.append(est); infs.append(f)
            labels_a = np.array(labels)
            comp_inf = np.column_stack(infs)
            after = labels_a >= 0
            overall = float(np.mean(np.array(ests)[after]))
            f = comp_inf[:, after].mean(axis=1)
            return self._finish(kind, overall, f, comp_inf, labels, ests, "event_time")
        # calendar
        for period in np.unique(t[post]):
            cells = np.flatnonzero((t == period) & post)
            est, f = combine(cells, pg[cells] / pg[cells].sum(), True)
            labels.append(period); ests.append(est); infs.append(f)
        comp_inf = np.column_stack(infs)
        overall = float(np.mean(ests))
        return self._finish(kind, overall, comp_inf.mean(axis=1), comp_inf, labels, ests, "time")

    def _weight_influence(self, cohorts_of_terms: np.ndarray, pg: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Influence of estimating the weights pg/sum(pg) of an average of `values` (one per term,
        term k belonging to cohort cohorts_of_terms[k]), times the values: R did's wif %*% att,
        computed per unit without a units x terms matrix."""
        total = pg.sum()
        cohorts, where = np.unique(cohorts_of_terms, return_inverse=True)
        value_sum = np.bincount(where, weights=values, minlength=cohorts.size)
        term_count = np.bincount(where, minlength=cohorts.size).astype(float)
        pos = np.searchsorted(cohorts, self.unit_cohort)
        member = (pos < cohorts.size) & (cohorts[np.minimum(pos, cohorts.size - 1)] == self.unit_cohort)
        idx = np.minimum(pos, cohorts.size - 1)
        a = np.where(member, value_sum[idx], 0.0) * self.unit_weight  # sum_k member_ik * value_k
        b = np.where(member, term_count[idx], 0.0) * self.unit_weight  # sum_k member_ik
        centred_dot_values = a - pg @ values
        centred_rowsum = b - total
        return centred_dot_values / total - centred_rowsum * (pg @ values) / total**2

    def _finish(self, kind, overall, overall_inf, comp_inf, labels, ests, label_name) -> AggregateResult:
        se_overall, crit_overall = self._se(overall_inf[:, None])
        crit_pointwise = float(stats.norm.ppf(1 - self.alpha / 2))
        lo = overall - crit_pointwise * se_overall[0]
        hi = overall + crit_pointwise * se_overall[0]
        table = pd.DataFrame()
        crit = crit_pointwise
        if len(labels):
            se, crit = self._se(comp_inf)
            ests = np.array(ests)
            lab = np.array(labels)
            table = pd.DataFrame({label_name: lab.astype(int) if np.all(lab == np.round(lab)) else lab,
                                  "att": ests, "std_error": se, "ci_low": ests - crit * se, "ci_high": ests + crit * se})
        return AggregateResult(kind, float(overall), float(se_overall[0]), float(lo), float(hi), table, self.alpha, crit)


def _multiplier_draws(inf: np.ndarray, n_draws: int, seed: int | None, chunk: int = 64) -> np.ndarray:
    """sqrt(n) x column means of inf times Mammen two-point weights, for n_draws seeded draws."""
    n = inf.shape[0]
    rng = np.random.default_rng(seed)
    out = np.empty((n_draws, inf.shape[1]))
    for start in range(0, n_draws, chunk):
        b = min(chunk, n_draws - start)
        v = np.where(rng.random((b, n)) < _MAMMEN_P, _MAMMEN[0], _MAMMEN[1])
        out[start:start + b] = (v @ inf) / np.sqrt(n)
    return out


# ---------------------------------------------------------------- estimation

def att_gt(data: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str,
           control_group: Literal["never_treated", "not_yet_treated"] = "never_treated", anticipation: int = 0,
           base_period: Literal["varying", "universal"] = "varying", covariates=None,
           est_method: Literal["dr", "reg", "ipw"] = "dr",
           weights: str | None = None, allow_unbalanced: bool = False, bootstrap: int | None = None,
           alpha: float = 0.05, seed: int | None = None, cluster: str | None = None) -> ATTgtResult:
    """Callaway & Sant'Anna group-time ATTs.

    `cohort` holds each unit's first treated period (0 or missing = never treated), on the scale
    of `time`. control_group: "never_treated" or "not_yet_treated". base_period: "varying"
    (pre-treatment cells compare consecutive periods) or "universal" (everything against g-1).
    covariates: columns (taken in the base period) for est_method "dr" (Sant'Anna & Zhao doubly
    robust), "reg" or "ipw". weights: a per-unit sampling weight. An unbalanced panel is refused
    unless allow_unbalanced=True, which treats the data as repeated cross-sections (standard
    errors still clustered by unit)."""
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
    if control_group not in ("never_treated", "not_yet_treated"):
        raise ValueError(f"control_group must be 'never_treated' or 'not_yet_treated', got {control_group!r}")
    if base_period not in ("varying", "universal"):
        raise ValueError(f"base_period must be 'varying' or 'universal', got {base_period!r}")
    if est_method not in ("dr", "reg", "ipw"):
        raise ValueError(f"est_method must be 'dr', 'reg' or 'ipw', got {est_method!r}")
    if anticipation < 0:
        raise ValueError("anticipation must be 0 or more periods")
    if bootstrap is not None and bootstrap < 2:
        raise ValueError("bootstrap must be the number of draws (e.g. 999) or None")
    check_columns(data, numeric=[outcome, time, *covariates] + ([weights] if weights else []), present=[unit])
    if cohort not in data.columns:
        raise ValueError(f"column {cohort!r} not in the data (columns: {list(data.columns)})")
    if not pd.api.types.is_numeric_dtype(data[cohort]):
        raise ValueError(f"column {cohort!r} must hold the first treated period as a number (0 or missing = never)")

    u_all, unit_ids = _sorted_codes(data[unit])
    t_all, periods = _sorted_codes(data[time].astype(float))
    if periods.size < 2:
        raise NotEstimable(f"need at least two periods of {time!r}")
    per_cell = np.bincount(u_all * periods.size + t_all, minlength=unit_ids.size * periods.size)
    if (per_cell > 1).any():
        first = np.flatnonzero(per_cell > 1)[:3]
        dup = [(unit_ids[i // periods.size], periods_value(periods[i % periods.size])) for i in first]
        raise ValueError(f"more than one row per {unit} and {time} (e.g. {dup}); aggregate to one row first")
    g_all = data[cohort].fillna(0).to_numpy(float)
    w_all = data[weights].to_numpy(float) if weights else np.ones(len(data))
    unit_g = np.zeros(unit_ids.size)
    unit_g[u_all] = g_all
    if (unit_g[u_all] != g_all).any():
        raise ValueError(f"{cohort!r} must be constant within each {unit}")
    unit_w = np.zeros(unit_ids.size)
    unit_w[u_all] = w_all
    if (unit_w[u_all] != w_all).any():
        raise ValueError(f"weights {weights!r} must be constant within each {unit}")

    notes: list[str] = []
    early = (unit_g > 0) & (unit_g <= periods[0] + anticipation)
    if early.any():
        notes.append(f"{int(early.sum())} units already treated in the first period were dropped (no pre-period).")
    late = unit_g > periods[-1] + anticipation
    if late.any():
        notes.append(f"{int(late.sum())} units first treated after the last period are used as never treated.")
        unit_g = np.where(late, 0.0, unit_g)
    renumber = np.cumsum(~early) - 1  # unit code after dropping the early-treated
    rows = ~early[u_all]
    u_code, t_code = renumber[u_all[rows]], t_all[rows]
    unit_ids, unit_g, unit_w = unit_ids[~early], unit_g[~early], unit_w[~early]
    unit_w = unit_w / unit_w.mean()
    n_units = unit_g.size
    if not (unit_g == 0).any() and control_group == "never_treated":
        raise NotEstimable("no never-treated units: use control_group='not_yet_treated'")
    cohorts = np.unique(unit_g[unit_g > 0])
    if cohorts.size == 0:
        raise NotEstimable(f"no treated units: every {cohort!r} is 0 or missing (or all treated before the first period)")

    balanced = u_code.size == n_units * periods.size
    if not balanced and not allow_unbalanced:
        counts = np.bincount(u_code, minlength=n_units)
        short = unit_ids[counts < periods.size][:3]
        raise ValueError(f"unbalanced panel: {int((counts < periods.size).sum())} units are not observed in all "
                         f"{periods.size} periods (e.g. {list(short)}); balance it, or pass allow_unbalanced=True "
                         "to treat the data as repeated cross-sections")
    if not balanced and covariates:
        raise ValueError("covariates with allow_unbalanced=True are not supported; balance the panel or drop covariates")

    cells = _cells(periods, cohorts, anticipation, base_period, control_group, unit_g)
    if not cells:
        raise NotEstimable("no estimable ATT(g,t): every cohort lacks a pre-period or a control group")
    y_obs = data[outcome].to_numpy(float)[rows]
    if balanced:
        y = np.empty((n_units, periods.size))
        y[u_code, t_code] = y_obs
        if covariates:
            x = np.zeros((len(covariates), n_units, periods.size))
            for j, c in enumerate(covariates):
                x[j][u_code, t_code] = data[c].to_numpy(float)[rows]
            att, inf, n_t, n_c = _panel_covariates(y, x, unit_g, unit_w, cells, est_method)
        else:
            att, inf, n_t, n_c = _panel_means(y, unit_g, unit_w, cells)
    else:
        att, inf, n_t, n_c = _repeated_cross_sections(y_obs, u_code, t_code, n_units, unit_g, unit_w, cells)

    table = pd.DataFrame({
        "cohort": [periods_value(c["g"]) for c in cells],
        "time": [periods_value(periods[c["t"]]) for c in cells],
        "att": att,
        "base_time": [periods_value(periods[c["base"]]) for c in cells],
        "post": [bool(periods[c["t"]] >= c["g"]) for c in cells],
        "n_treated": n_t, "n_control": n_c,
    })
    unit_cluster = None
    if cluster is not None:
        if cluster not in data.columns:
            raise ValueError(f"cluster column {cluster!r} not in the data")
        c_all, c_ids = _sorted_codes(data[cluster].astype("str"))
        if np.unique(u_all * c_ids.size + c_all).size != unit_ids.size:
            raise ValueError(f"cluster column {cluster!r} must be constant within each {unit}")
        if c_ids.size < 2:
            raise NotEstimable(f"cluster column {cluster!r} has a single value; cannot cluster")
        unit_cluster = np.zeros(unit_ids.size, dtype=np.int64)
        unit_cluster[u_all] = c_all
    result = ATTgtResult(table, inf, unit_g, unit_w, control_group, anticipation, alpha, bootstrap, seed, 1.96, tuple(notes),
                         unit_cluster)
    se, crit = result._se(inf)
    table["std_error"] = se
    table["ci_low"] = table["att"] - crit * se
    table["ci_high"] = table["att"] + crit * se
    table = table[["cohort", "time", "att", "std_error", "ci_low", "ci_high", "base_time", "post", "n_treated", "n_control"]]
    return ATTgtResult(table, inf, unit_g, unit_w, control_group, anticipation, alpha, bootstrap, seed, crit, tuple(notes),
                       unit_cluster)


def _sorted_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes in sorted order of the values, and the sorted unique values (hash-based, fast)."""
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.asarray(uniques)


def periods_value(v: float):
    return int(v) if float(v).is_integer() else float(v)


def _cells(periods: np.ndarray, cohorts: np.ndarray, anticipation: int, base_period: str, control_group: str,
           unit_g: np.ndarray) -> list[dict]:
    """The (g, t) cells to estimate: current period index, base period index and the control cutoff."""
    cells = []
    start = 1 if base_period == "varying" else 0
    for g in cohorts:
        before = np.flatnonzero(periods + anticipation < g)
        if before.size == 0:
            continue
        last_pre = int(before[-1])
        for t in range(start, periods.size):
            if periods[t] >= g or base_period == "universal":
                base = last_pre
            else:
                base = t - 1
            # with a universal base the reference cell (base == t) stays in, as ATT 0 with no variance
            cutoff = periods[max(t, base)] + anticipation
            if control_group == "never_treated":
                control = unit_g == 0
            else:
                control = (unit_g == 0) | ((unit_g > cutoff) & (unit_g != g))
            if not control.any():
                continue
            cells.append({"g": g, "t": t, "base": base, "control": control})
    return cells


def _panel_means(y: np.ndarray, unit_g: np.ndarray, w: np.ndarray, cells: list[dict]):
    """No covariates: ATT(g,t) as a weighted difference of mean changes; each cell's influence
    function is one pass over the units (columns of y contiguous)."""
    n, k = y.shape[0], len(cells)
    y = np.asfortranarray(y)
    att, inf = np.empty(k), np.empty((n, k), order="F")
    n_t, n_c = np.empty(k, dtype=np.int64), np.empty(k, dtype=np.int64)
    treated_of = {g: unit_g == g for g in np.unique([c["g"] for c in cells])}
    for j, c in enumerate(cells):
        treat, ctrl = treated_of[c["g"]], c["control"]
        dy = y[:, c["t"]] - y[:, c["base"]]
        wt, wc = w * treat, w * ctrl
        s1, s0 = wt.sum(), wc.sum()
        mu1, mu0 = wt @ dy / s1, wc @ dy / s0
        att[j] = mu1 - mu0
        scale = (n / s1) * wt - (n / s0) * wc  # treated and controls never overlap
        inf[:, j] = scale * (dy - np.where(treat, mu1, mu0))
        n_t[j], n_c[j] = int(treat.sum()), int(ctrl.sum())
    return att, inf, n_t, n_c


def _repeated_cross_sections(y, u_code, t_code, n_units, unit_g, w, cells):
    """Unbalanced panels: means of each group in each of the two periods from whoever is observed,
    with each unit's influence summed over its observations (clustered by unit)."""
    att, infs, n_t, n_c = [], [], [], []
    obs_w = w[u_code]
    for c in cells:
        treat_u = unit_g == c["g"]
        total = np.zeros(n_units)
        estimate = 0.0
        for group, sign_group in ((treat_u, 1.0), (c["control"], -1.0)):
            for period, sign_period in ((c["t"], 1.0), (c["base"], -1.0)):
                rows = (t_code == period) & group[u_code]
                if not rows.any():
                    raise NotEstimable(f"cohort {c['g']:g}: no observations in a period it needs; "
                                     "cannot estimate this ATT(g,t)")
                weight = obs_w[rows].sum()
                mean = (obs_w[rows] * y[rows]).sum() / weight
                estimate += sign_group * sign_period * mean
                np.add.at(total, u_code[rows], sign_group * sign_period * obs_w[rows] * (y[rows] - mean) / weight)
        att.append(estimate)
        infs.append(n_units * total)
        n_t.append(int(treat_u.sum()))
        n_c.append(int(c["control"].sum()))
    return np.array(att), np.column_stack(infs), np.array(n_t), np.array(n_c)


# ---------------------------------------------------------------- covariates (Sant'Anna & Zhao 2020)

def _logit(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logistic regression by Newton-Raphson: fitted probabilities and (X'WX)^-1."""
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-(x @ beta)))
        grad = x.T @ (w * (d - p))
        hess = x.T @ (x * (w * p * (1 - p))[:, None])
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.abs(step).max() < 1e-12:
            break
    p = 1 / (1 + np.exp(-(x @ beta)))
    hess = x.T @ (x * (w * p * (1 - p))[:, None])
    return p, np.linalg.inv(hess)


def _did_cell(dy: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray, method: str) -> tuple[float, np.ndarray]:
    """One 2x2 comparison with covariates x (intercept first); returns ATT and its influence function
    on the subsample (mean-zero, scaled so that Var = mean(inf^2) / n)."""
    n = dy.size
    w = w / w.mean()
    if method in ("dr", "reg"):
        ctrl = d == 0
        xc = x[ctrl]
        xtwx = xc.T @ (xc * w[ctrl][:, None])
        if np.linalg.matrix_rank(xtwx) < x.shape[1]:
            raise NotEstimable("singular outcome regression among the controls: a covariate is constant or collinear")
        coef = np.linalg.solve(xtwx, xc.T @ (w[ctrl] * dy[ctrl]))
        fitted = x @ coef
        w_ols = w * (1 - d)
        xpx_inv = np.linalg.inv((x * w_ols[:, None]).T @ x / n)
        ols_rep = (x * (w_ols * (dy - fitted))[:, None]) @ xpx_inv
    if method in ("dr", "ipw"):
        ps, ps_cov = _logit(x, d, w)
        ps = np.minimum(ps, 1 - 1e-6)
        ps_rep = (x * (w * (d - ps))[:, None]) @ (ps_cov * n)
    w_treat = w * d
    if method == "reg":
        w_cont = w * d
        att_t = w_treat * dy
        att_c = w_cont * fitted
        eta_t, eta_c = att_t.mean() / w_treat.mean(), att_c.mean() / w_cont.mean()
        inf_t = (att_t - w_treat * eta_t) / w_treat.mean()
        inf_c = (att_c - w_cont * eta_c + ols_rep @ (w_cont[:, None] * x).mean(axis=0)) / w_cont.mean()
        return float(eta_t - eta_c), inf_t - inf_c
    w_cont = w * ps * (1 - d) / (1 - ps)
    if method == "ipw":
        att_t, att_c = w_treat * dy, w_cont * dy
        eta_t, eta_c = att_t.mean() / w_treat.mean(), att_c.mean() / w_cont.mean()
        inf_t = (att_t - w_treat * eta_t) / w_treat.mean()
        m2 = (x * (w_cont * (dy - eta_c))[:, None]).mean(axis=0)
        inf_c = (att_c - w_cont * eta_c + ps_rep @ m2) / w_cont.mean()
        return float(eta_t - eta_c), inf_t - inf_c
    resid = dy - fitted
    att_t, att_c = w_treat * resid, w_cont * resid
    eta_t, eta_c = att_t.mean() / w_treat.mean(), att_c.mean() / w_cont.mean()
    inf_t = (att_t - w_treat * eta_t - ols_rep @ (x * w_treat[:, None]).mean(axis=0)) / w_treat.mean()
    m2 = (x * (w_cont * (resid - eta_c))[:, None]).mean(axis=0)
    m3 = (x * w_cont[:, None]).mean(axis=0)
    inf_c = (att_c - w_cont * eta_c + ps_rep @ m2 - ols_rep @ m3) / w_cont.mean()
    return float(eta_t - eta_c), inf_t - inf_c


def _panel_covariates(y, x, unit_g, w, cells, method):
    n = y.shape[0]
    att, inf = np.zeros(len(cells)), np.zeros((n, len(cells)))
    n_t, n_c = [], []
    for k, c in enumerate(cells):
        treat = unit_g == c["g"]
        rows = np.flatnonzero(treat | c["control"])
        dy = y[rows, c["t"]] - y[rows, c["base"]]
        design = np.column_stack([np.ones(rows.size), *(x[j][rows, c["base"]] for j in range(x.shape[0]))])
        att[k], local = _did_cell(dy, treat[rows].astype(float), design, w[rows], method)
        inf[rows, k] = local * n / rows.size
        n_t.append(int(treat.sum()))
        n_c.append(int(c["control"].sum()))
    return att, inf, np.array(n_t), np.array(n_c)


def att_two_groups(dy: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray, method: str = "dr") -> tuple[float, np.ndarray]:
    """ATT of d on dy (a change, or an outcome measured after assignment) given covariates x
    (intercept first): the 2x2 comparison `att_gt` makes in each cell ("dr", "ipw" or "reg");
    returns the ATT and its influence function (Var = mean(inf^2) / n)."""
    return _did_cell(dy, d, x, w, method)


def logistic_fit(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logistic regression: fitted probabilities and (X'WX)^-1."""
    return _logit(x, d, w)
