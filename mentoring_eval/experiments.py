"""Estimators for designs that compare applicants: a randomized offer (lottery) and scarce places
given by observable rules (capacity).

- `regression_adjusted`: the effect of a randomized assignment (intention to treat) by least
  squares with strata and covariates centred and interacted with the assignment (Lin 2013), HC2
  standard errors.
- `instrumented`: the effect of taking part, with the assignment as instrument for participation
  (two-stage least squares, the Wald estimator with covariates), heteroskedasticity-robust (HC1)
  standard errors.
- `doubly_robust`: the effect on participants of a non-random assignment that depends on
  observed covariates only: outcome regression among the comparisons plus propensity weights
  (Sant'Anna & Zhao 2020, the estimator `att_gt` uses), with its influence function.

Every result carries per-person influence values (`influence`, summing in squares to the
variance), so that effects of several cohorts sharing people can be pooled with a variance
clustered by person."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .did.staggered import att_two_groups
from .errors import NotEstimable


@dataclass(frozen=True)
class DesignEffect:
    """One effect of an applicant design: estimate (outcome units), standard error, 95% interval,
    group sizes, and per-person influence values (`influence[i]` belongs to `ids[i]`;
    Var = sum(influence**2))."""

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    n_treated: int
    n_control: int
    method: str
    ids: np.ndarray = field(repr=False)
    influence: np.ndarray = field(repr=False)

    def summary(self) -> str:
        return (f"{self.method}: {self.estimate:.4g} (SE {self.std_error:.3g}) 95% CI [{self.ci_low:.4g}, "
                f"{self.ci_high:.4g}], n = {self.n_treated} + {self.n_control}")


def _effect(estimate: float, influence: np.ndarray, treated: np.ndarray, ids, method: str,
            df: float | None = None) -> DesignEffect:
    """The effect with SE sqrt(sum(influence^2)) and a 95% interval (Student t with df degrees of
    freedom when given, normal otherwise)."""
    se = float(np.sqrt(np.sum(influence ** 2)))
    z = stats.norm.ppf(0.975) if df is None else stats.t.ppf(0.975, df)
    return DesignEffect(float(estimate), se, float(estimate - z * se), float(estimate + z * se), int(treated.sum()),
                        int((~treated).sum()), method, np.asarray(ids), influence)


def _dummies(strata: np.ndarray | None, n: int) -> np.ndarray:
    """Indicators of every stratum but the first (n x (levels - 1)); none without strata."""
    if strata is None:
        return np.empty((n, 0))
    codes, levels = pd.factorize(pd.Series(strata), sort=True)
    return (codes[:, None] == np.arange(1, len(levels))[None, :]).astype(float)


def _covariates(covariates: np.ndarray | None, n: int) -> np.ndarray:
    if covariates is None:
        return np.empty((n, 0))
    x = np.asarray(covariates, dtype=float).reshape(n, -1)
    if not np.isfinite(x).all():
        raise NotEstimable("a covariate has missing values")
    keep = x.std(axis=0) > 0  # a constant covariate carries nothing
    return x[:, keep]


def _full_rank(x: np.ndarray, what: str) -> None:
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise NotEstimable(f"{what}: the covariates or strata are collinear with the assignment")


def regression_adjusted(y, assigned, covariates=None, strata=None, ids=None) -> DesignEffect:
    """Effect of a randomized assignment on y: least squares of y on the assignment, the strata and
    the covariates, every one centred and interacted with the assignment (Lin 2013), so the
    estimate is the stratum-size-weighted difference in means, adjusted for chance imbalance. HC2
    standard error (statsmodels' cov_type="HC2" on the same regression gives the same figure)."""
    y = np.asarray(y, dtype=float)
    z = np.asarray(assigned, dtype=bool)
    n = y.size
    if z.all() or not z.any():
        raise NotEstimable("everyone is in one arm of the assignment")
    w = np.column_stack([_dummies(strata, n), _covariates(covariates, n)])
    wc = w - w.mean(axis=0)
    x = np.column_stack([np.ones(n), z.astype(float), wc, wc * z[:, None]])
    _full_rank(x, "regression-adjusted effect")
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ (x.T @ y)
    resid = y - x @ beta
    leverage = np.einsum("ij,jk,ik->i", x, bread, x)
    influence = (x @ bread[:, 1]) * resid / np.sqrt(np.maximum(1 - leverage, 1e-12))
    return _effect(beta[1], influence, z, np.arange(n) if ids is None else ids, "itt_offer")


def instrumented(y, took_part, assigned, covariates=None, strata=None, ids=None) -> DesignEffect:
    """Effect of taking part on those who take part because they were offered a place: two-stage
    least squares of y on participation, instrumented by the assignment, with strata and
    covariates as exogenous regressors. HC1 standard error (linearmodels' IV2SLS with
    cov_type="robust", debiased=True gives the same figure). Raises NotEstimable when the offer
    barely moves participation (first-stage F below 10)."""
    y = np.asarray(y, dtype=float)
    d = np.asarray(took_part, dtype=float)
    z = np.asarray(assigned, dtype=float)
    n = y.size
    w = np.column_stack([np.ones(n), _dummies(strata, n), _covariates(covariates, n)])
    x = np.column_stack([d, w])
    inst = np.column_stack([z, w])
    _full_rank(inst, "instrumented effect")
    # first stage: does the offer move participation?
    first = np.linalg.lstsq(inst, d, rcond=None)[0]
    fitted_d = inst @ first
    resid_first = d - fitted_d
    bread_first = np.linalg.inv(inst.T @ inst)
    meat = (inst * resid_first[:, None] ** 2).T @ inst
    se_first = math.sqrt((bread_first @ meat @ bread_first)[0, 0] * n / (n - inst.shape[1]))
    if se_first == 0 or (first[0] / se_first) ** 2 < 10:
        raise NotEstimable(f"the offer barely changes who takes part (first-stage coefficient {first[0]:.3f}, "
                           f"SE {se_first:.3f}): a weak instrument")
    x_hat = np.column_stack([fitted_d, w])
    bread = np.linalg.inv(x_hat.T @ x_hat)
    beta = bread @ (x_hat.T @ y)
    resid = y - x @ beta
    influence = (x_hat @ bread[:, 0]) * resid * math.sqrt(n / (n - x.shape[1]))
    return _effect(beta[0], influence, d.astype(bool), np.arange(n) if ids is None else ids, "tot_iv")


def doubly_robust(y, took_part, covariates, ids=None) -> DesignEffect:
    """Effect on participants when who got a place depends on observed covariates only: outcome
    regression among the non-participants plus inverse-propensity weights (Sant'Anna & Zhao 2020,
    doubly robust), standard error from its influence function, inflated by n / (n - k) for the k
    parameters of the two models and with a Student t interval on n - k degrees of freedom: with
    the few dozen applicants a cohort has, the plain influence-function variance is too small."""
    y = np.asarray(y, dtype=float)
    d = np.asarray(took_part, dtype=bool)
    n = y.size
    if d.all() or not d.any():
        raise NotEstimable("everyone is in one arm of the comparison")
    x = np.column_stack([np.ones(n), _covariates(covariates, n)])
    _full_rank(x, "doubly robust effect")
    try:
        att, inf = att_two_groups(y, d.astype(float), x, np.ones(n), "dr")
    except np.linalg.LinAlgError:
        raise NotEstimable("the propensity model did not converge (a covariate separates the groups)") from None
    k = 2 * x.shape[1]
    if n - k < 10:
        raise NotEstimable(f"{n} applicants are too few for {x.shape[1] - 1} covariates")
    return _effect(att, inf / n * np.sqrt(n / (n - k)), d, np.arange(n) if ids is None else ids, "tot_dr", df=n - k)


def propensity(took_part, covariates) -> np.ndarray:
    """Fitted probability of taking part given the covariates (logistic regression), for the overlap check."""
    d = np.asarray(took_part, dtype=float)
    n = d.size
    x = np.column_stack([np.ones(n), _covariates(covariates, n)])
    from .did.staggered import logistic_fit

    try:
        fitted = logistic_fit(x, d, np.ones(n))[0]
    except np.linalg.LinAlgError:
        fitted = np.full(n, np.nan)
    if not np.isfinite(fitted).all():
        raise NotEstimable("the propensity model did not converge (a covariate separates who got a place)")
    return fitted
