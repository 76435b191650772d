"""How far may parallel trends fail before the conclusion changes? (Rambachan & Roth 2023)

An event study's post-period effects are the true effects plus whatever the groups' trends would
have done anyway (delta). Instead of assuming delta = 0 after the start, bound it:

- "smoothness" (Delta^SD(M)): the trend's slope changes by at most M per period (second
  differences of delta at most M, delta_0 = 0 at the reference period). M = 0 allows exactly a
  linear continuation of the pre-period trend. The interval is the optimal fixed-length
  confidence interval (Armstrong & Kolesar 2018), as R HonestDiD's default for this restriction:
  an affine estimator of the target whose worst-case bias over Delta^SD(M) and standard error give
  the shortest interval.
- "relative_magnitudes" (Delta^RM(Mbar)): no post-period change in the trend is larger than Mbar
  times the largest pre-period change. The identified set is the union over which pre-period
  change is the largest and its sign of linear programs (R&R Lemma 2.2); the interval projects a
  simultaneous (sup-t) confidence box for all event-study coefficients through those programs,
  so it covers the identified set with probability at least 1 - alpha (conservative: R
  HonestDiD's conditional-least-favorable intervals are shorter).

Coefficient order: betahat = (pre-periods -T..-1, post-periods 1..Tbar), the reference period
(the last before the start) left out, as in R HonestDiD. The target is l'tau_post, by default the
average of the post-period effects. The breakdown value is the largest M (or Mbar) at which the
interval still excludes zero.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..errors import NotEstimable

Method = Literal["relative_magnitudes", "smoothness"]


def honest_did(betahat, sigma, num_pre: int, num_post: int, method: Method = "relative_magnitudes",
               m_values=(0.0, 0.5, 1.0, 1.5, 2.0), alpha: float = 0.05, l_vec=None) -> pd.DataFrame:
    """Robust intervals for l'tau_post under bounded departures from parallel trends, one row per
    M: columns m, ci_low, ci_high (units of the event study), method."""
    b = np.asarray(betahat, float)
    v = np.asarray(sigma, float)
    if b.shape != (num_pre + num_post,) or v.shape != (b.size, b.size):
        raise ValueError(f"betahat needs {num_pre} + {num_post} coefficients and sigma a matching square matrix")
    if num_pre < 1 or num_post < 1:
        raise NotEstimable("a sensitivity analysis needs at least one pre-period and one post-period coefficient")
    ell = np.full(num_post, 1 / num_post) if l_vec is None else np.asarray(l_vec, float)
    rows = []
    for m in m_values:
        if method == "smoothness":
            lo, hi = _flci(b, v, num_pre, num_post, ell, float(m), alpha)
        elif method == "relative_magnitudes":
            if num_pre < 2 and m > 0:
                raise NotEstimable("relative magnitudes need at least two pre-period coefficients")
            lo, hi = _rm_projection(b, v, num_pre, num_post, ell, float(m), alpha)
        else:
            raise ValueError(f"method must be 'relative_magnitudes' or 'smoothness', got {method!r}")
        rows.append({"m": float(m), "ci_low": lo, "ci_high": hi, "method": method})
    return pd.DataFrame(rows)


def breakdown(frame: pd.DataFrame) -> float:
    """The largest M in an honest_did frame whose interval excludes zero (NaN when none does)."""
    excludes = frame[(frame["ci_low"] > 0) | (frame["ci_high"] < 0)]
    return float(excludes["m"].max()) if len(excludes) else float("nan")


# ---------------------------------------------------------------- smoothness: the optimal FLCI

def _times(num_pre: int, num_post: int) -> np.ndarray:
    return np.r_[np.arange(-num_pre, 0), np.arange(1, num_post + 1)].astype(float)


def _second_difference_basis(num_pre: int, num_post: int) -> np.ndarray:
    """G (coefficients x nodes): delta = s x t + G d, where d are the second differences at the
    nodes -T+1 .. Tbar-1 and delta_0 = 0; so w'delta = s (w't) + (G'w)'d."""
    times = _times(num_pre, num_post).astype(int)
    nodes = np.arange(-num_pre + 1, num_post)
    g = np.zeros((times.size, nodes.size))
    for j, k in enumerate(nodes):
        # a kink of 1 at node k bends the trend away from 0: later periods gain (t - k), earlier ones (k - t)
        g[:, j] = np.where(times > k, times - k, 0) if k >= 1 else np.where(times < k, k - times, 0)
    return g


def _fold_cv(t: float, alpha: float) -> float:
    """The 1 - alpha quantile of |N(t, 1)|."""
    t = abs(t)
    f = lambda c: stats.norm.cdf(c - t) - stats.norm.cdf(-c - t) - (1 - alpha)  # noqa: E731
    hi = t + stats.norm.ppf(1 - alpha) + 10
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-14))


def _flci(b, v, num_pre, num_post, ell, m, alpha) -> tuple[float, float]:
    """The shortest affine fixed-length interval for l'tau_post over Delta^SD(m)."""
    times = _times(num_pre, num_post)
    g = _second_difference_basis(num_pre, num_post)
    pre, post = slice(0, num_pre), slice(num_pre, None)
    # w = (x, ell): free pre-period weights x with w't = 0 (else a linear trend biases without bound)
    a = times[pre]
    target = -float(ell @ times[post])
    v_pp, v_pq, v_qq = v[pre, pre], v[pre, post], v[post, post]

    def variance(x):
        return float(x @ v_pp @ x + 2 * x @ v_pq @ ell + ell @ v_qq @ ell)

    def bias(x):
        return m * float(np.abs(g[pre].T @ x + g[post].T @ ell).sum())

    # the least-variance weights on the line a'x = target (the M = 0 answer)
    x0 = _least_variance(v_pp, v_pq @ ell, a, target)
    if m == 0:
        sd = np.sqrt(max(variance(x0), 0.0))
        centre = float(x0 @ b[pre] + ell @ b[post])
        half = stats.norm.ppf(1 - alpha / 2) * sd
        return centre - half, centre + half
    x_bias = _least_bias(g[pre], g[post].T @ ell, a, target)
    h_lo, h_hi = np.sqrt(max(variance(x0), 0.0)), np.sqrt(max(variance(x_bias), 0.0))

    def least_bias_within(h):
        return _least_bias_given_sd(g[pre], g[post].T @ ell, a, target, variance, h, x0, x_bias)

    def half_length(h):
        x = least_bias_within(h)
        sd = np.sqrt(max(variance(x), 1e-300))
        return sd * _fold_cv(bias(x) / sd, alpha), x

    if h_hi <= h_lo * (1 + 1e-9):
        x = x0
    else:
        res = optimize.minimize_scalar(lambda h: half_length(h)[0], bounds=(h_lo, h_hi), method="bounded",
                                       options={"xatol": 1e-10 * h_hi})
        candidates = [half_length(h) for h in (h_lo, res.x, h_hi)]
        x = min(candidates, key=lambda c: c[0])[1]
    sd = np.sqrt(max(variance(x), 1e-300))
    half = sd * _fold_cv(bias(x) / sd, alpha)
    centre = float(x @ b[pre] + ell @ b[post])
    return centre - half, centre + half


def _least_variance(v_pp, cross, a, target) -> np.ndarray:
    """argmin x'V x + 2 x'cross subject to a'x = target (a KKT linear system)."""
    n = a.size
    kkt = np.block([[2 * v_pp, a[:, None]], [a[None, :], np.zeros((1, 1))]])
    rhs = np.r_[-2 * cross, target]
    sol = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
    return sol[:n]


def _least_bias(g_pre, fixed, a, target) -> np.ndarray:
    """argmin ||g_pre'x + fixed||_1 subject to a'x = target (a linear program)."""
    n, k = g_pre.shape
    # variables x (n), u (k): min sum u, -u <= g'x + fixed <= u
    c = np.r_[np.zeros(n), np.ones(k)]
    a_ub = np.block([[g_pre.T, -np.eye(k)], [-g_pre.T, -np.eye(k)]])
    b_ub = np.r_[-fixed, fixed]
    a_eq = np.r_[a, np.zeros(k)][None, :]
    res = optimize.linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[target], bounds=[(None, None)] * (n + k),
                           method="highs")
    if res.status != 0:
        raise NotEstimable(f"the smoothness bias program failed: {res.message}")
    return res.x[:n]


def _least_bias_given_sd(g_pre, fixed, a, target, variance, h, x0, x_bias) -> np.ndarray:
    """argmin ||g_pre'x + fixed||_1 subject to a'x = target and variance(x) <= h^2 (convex; SLSQP on
    the epigraph form, started between the least-variance and least-bias weights)."""
    n, k = g_pre.shape
    lam = 0.5
    start_x = lam * x0 + (1 - lam) * x_bias
    start = np.r_[start_x, np.abs(g_pre.T @ start_x + fixed) + 1e-9]
    cons = [
        {"type": "eq", "fun": lambda z: np.array([a @ z[:n] - target]), "jac": lambda z: np.r_[a, np.zeros(k)][None, :]},
        {"type": "ineq", "fun": lambda z: z[n:] - (g_pre.T @ z[:n] + fixed),
         "jac": lambda z: np.hstack([-g_pre.T, np.eye(k)])},
        {"type": "ineq", "fun": lambda z: z[n:] + (g_pre.T @ z[:n] + fixed),
         "jac": lambda z: np.hstack([g_pre.T, np.eye(k)])},
        {"type": "ineq", "fun": lambda z: np.array([h * h - variance(z[:n])])},
    ]
    res = optimize.minimize(lambda z: z[n:].sum(), start, jac=lambda z: np.r_[np.zeros(n), np.ones(k)],
                            constraints=cons, method="SLSQP", options={"ftol": 1e-13, "maxiter": 500})
    return res.x[:n]


# ---------------------------------------------------------------- relative magnitudes: projection

def _rm_projection(b, v, num_pre, num_post, ell, mbar, alpha) -> tuple[float, float]:
    """[min, max] of l'tau_post over every beta in the sup-t box around betahat and every delta in
    Delta^RM(mbar) consistent with it: the union over the location and sign of the largest pre-period
    change of two linear programs each."""
    se = np.sqrt(np.maximum(np.diag(v), 0.0))
    radius = _sup_t(v, alpha) * se
    return _rm_bounds(b, radius, num_pre, num_post, ell, mbar)


def rm_identified_set(betahat, num_pre: int, num_post: int, mbar: float, l_vec=None) -> tuple[float, float]:
    """The identified set of l'tau_post under Delta^RM(mbar) at the estimated coefficients (no sampling
    uncertainty): the union of R&R's Lemma 2.2 programs."""
    b = np.asarray(betahat, float)
    ell = np.full(num_post, 1 / num_post) if l_vec is None else np.asarray(l_vec, float)
    return _rm_bounds(b, np.zeros(b.size), num_pre, num_post, ell, mbar)


def _sup_t(v, alpha, draws: int = 100_000, seed: int = 0) -> float:
    se = np.sqrt(np.maximum(np.diag(v), 0.0))
    ok = se > 0
    corr = v[np.ix_(ok, ok)] / np.outer(se[ok], se[ok])
    z = np.random.default_rng([seed, 43]).multivariate_normal(np.zeros(ok.sum()), corr, size=draws, method="eigh")
    return float(np.quantile(np.abs(z).max(axis=1), 1 - alpha))


def _rm_bounds(b, radius, num_pre, num_post, ell, mbar) -> tuple[float, float]:
    n = num_pre + num_post
    # variables: beta (n), delta (n); delta_0 = 0 sits between index num_pre - 1 and num_pre
    # first differences of the full sequence (delta_-T .. delta_-1, 0, delta_1 .. delta_Tbar)
    full = np.zeros((n + 1, n))
    full[:num_pre, :num_pre] = np.eye(num_pre)
    full[num_pre + 1:, num_pre:] = np.eye(num_post)
    diff = full[1:] - full[:-1]  # n rows: pre changes 0..num_pre-1, post changes num_pre..n-1
    pre_changes, post_changes = diff[:num_pre], diff[num_pre:]
    zeros = np.zeros((1, n))
    lo_best, hi_best, feasible = np.inf, -np.inf, False
    for s in range(num_pre):
        for sign in (1.0, -1.0):
            top = sign * pre_changes[s]
            a_ub, b_ub = [], []
            for r in range(num_pre):  # |change_r| <= sign x change_s
                a_ub += [np.r_[zeros[0], pre_changes[r] - top], np.r_[zeros[0], -pre_changes[r] - top]]
                b_ub += [0.0, 0.0]
            for t in range(num_post):  # |post change_t| <= mbar x sign x change_s
                a_ub += [np.r_[zeros[0], post_changes[t] - mbar * top], np.r_[zeros[0], -post_changes[t] - mbar * top]]
                b_ub += [0.0, 0.0]
            a_eq = np.hstack([np.eye(n)[:num_pre], -np.eye(n)[:num_pre]])  # delta_pre = beta_pre (tau_pre = 0)
            bounds = [(bi - ri, bi + ri) for bi, ri in zip(b, radius, strict=True)] + [(None, None)] * n
            c = np.r_[np.zeros(num_pre), ell, np.zeros(num_pre), -ell]  # l'(beta_post - delta_post)
            found = []
            for sense in (1.0, -1.0):
                res = optimize.linprog(sense * c, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=a_eq, b_eq=np.zeros(num_pre),
                                       bounds=bounds, method="highs")
                if res.status == 3:  # unbounded
                    found.append(-sense * np.inf)
                elif res.status == 0:
                    found.append(sense * res.fun)
            if len(found) == 2:
                feasible = True
                lo_best, hi_best = min(lo_best, found[0]), max(hi_best, found[1])
    if not feasible:
        raise NotEstimable("no trend consistent with the relative-magnitudes restriction fits the estimates")
    return float(lo_best), float(hi_best)
