"""Inference at the assigned unit: the wild cluster bootstrap against wildboottest, the
randomization test against a brute-force loop, logical bounds, Aalen-Johansen against lifelines,
the pre-test's refusal of a singular covariance and simultaneous bands."""

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mentoring_eval as me
from mentoring_eval import bounds, effects, estimates
from mentoring_eval.assignment import assigned_did, randomization_test
from mentoring_eval.did.bootstrap import _Cross, weight_matrix, wild_cluster_bootstrap
from mentoring_eval.did.regression import EventStudy
from mentoring_eval.program_health import benjamini_hochberg
from mentoring_eval.retention import cumulative_incidence


def _clustered(seed: int = 1, g: int = 8, n: int = 400):
    rng = np.random.default_rng(seed)
    cl = rng.integers(0, g, n)
    x1 = rng.normal(size=n) + (cl % 2)
    y = 0.1 * x1 + rng.normal(size=n) + rng.normal(size=g)[cl]
    x = np.column_stack([np.ones(n), x1, (cl < 3).astype(float)])
    return x, y, cl


@pytest.mark.parametrize("column", [1, 2])
def test_wild_bootstrap_t_statistics_equal_wildboottests(column):
    """Every one of the 2^8 Rademacher bootstrap t's, and the p-value, equal wildboottest's (WCR,
    full enumeration); it counts |t*| > |t| strictly, we count ties (the sample itself) too."""
    from wildboottest.wildboottest import WildboottestCL

    x, y, cl = _clustered()
    ref = WildboottestCL(X=x, Y=y, cluster=cl, R=np.eye(3)[column], B=9999, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.get_scores(bootstrap_type="11", impose_null=True)
        ref.get_weights(weights_type="rademacher")
        ref.get_numer()
        ref.get_denom()
        ref.get_tboot()
        ref.get_vcov()
        ref.get_tstat()
        ref.get_pvalue(pval_type="two-tailed")
    v, kind, enumerated = weight_matrix(8, 9999, "rademacher")
    assert enumerated and kind == "rademacher" and len(v) == 256
    t, t_boot = _Cross(x, y, np.ones(len(y)), cl).t_stats(column, 0.0, v)
    assert t == pytest.approx(float(np.ravel(ref.t_stat)[0]), rel=1e-9)
    np.testing.assert_allclose(np.sort(t_boot), np.sort(np.ravel(ref.t_boot)), rtol=1e-9, atol=1e-12)
    strict = np.mean(np.abs(t_boot) > abs(t) + 1e-12)
    assert strict == pytest.approx(float(ref.pvalue), abs=1e-12)
    ours = wild_cluster_bootstrap(x, y, cl, column, kind="rademacher", variance="cv1")
    assert ours.pvalue == pytest.approx(np.mean(np.abs(t_boot) >= abs(t) - 1e-12)) and ours.variance == "cv1"


def test_wild_bootstrap_with_the_cluster_jackknife_equals_a_loop_refitting_every_draw():
    """WCR3: the t statistics with CV3 (leave one cluster out) from per-cluster cross-products equal
    those of regressions refitted by brute force on each bootstrap sample."""
    x, y, cl = _clustered(g=7, n=350)
    j, r = 2, 0.3
    v, _, _ = weight_matrix(7, 50, "webb", seed=2)
    t, t_boot = _Cross(x, y, np.ones(len(y)), cl).t_stats(j, r, v, "cv3")

    def t_cv3(yy):
        b = np.linalg.solve(x.T @ x, x.T @ yy)[j]
        out = [np.linalg.solve(x[cl != g].T @ x[cl != g], x[cl != g].T @ yy[cl != g])[j] for g in range(7)]
        return (b - r) / np.sqrt(6 / 7 * np.sum((np.array(out) - b) ** 2))

    xr = np.delete(x, j, 1)
    fitted = xr @ np.linalg.lstsq(xr, y - r * x[:, j], rcond=None)[0] + r * x[:, j]
    assert t == pytest.approx(t_cv3(y), rel=1e-10)
    for k in range(8):
        assert t_boot[k] == pytest.approx(t_cv3(fitted + v[k][cl] * (y - fitted)), rel=1e-9)


def test_bootstrap_interval_is_the_set_of_values_not_rejected():
    x, y, cl = _clustered(g=10)
    res = wild_cluster_bootstrap(x, y, cl, 1, draws=999, seed=3)
    assert res.weights == "webb" and not res.enumerated and res.n_clusters == 10
    assert res.ci_low < res.estimate < res.ci_high
    cross = _Cross(x, y, np.ones(len(y)), cl)
    v, _, _ = weight_matrix(10, 999, "webb", 3)

    def p(r):
        t, tb = cross.t_stats(1, r, v, res.variance)
        return np.mean(np.abs(tb) >= abs(t) - 1e-12)

    span = res.ci_high - res.ci_low
    assert p(res.ci_low + 1e-3 * span) > 0.05 >= p(res.ci_low - 1e-3 * span)
    assert p(res.ci_high - 1e-3 * span) > 0.05 >= p(res.ci_high + 1e-3 * span)


def _rollout_rows(seed=0, units=("A", "B", "C", "D", "E"), treated=("A", "B"), effect=0.0):
    rng = np.random.default_rng(seed)
    frames = []
    for u in units:
        for post in (0, 1):
            n = int(rng.integers(30, 60))
            d = int(u in treated)
            frames.append(pd.DataFrame({"department": u, "treated": d, "post": post,
                                        "y": rng.normal(effect * d * post + rng.normal(), 1, n)}))
    return pd.concat(frames, ignore_index=True)


def test_randomization_p_value_equals_a_loop_over_every_choice_of_treated_units():
    rows = _rollout_rows()
    p, n, enumerated = randomization_test(rows["department"].to_numpy(), rows["treated"].to_numpy(float),
                                          rows["post"].to_numpy(float), rows["y"].to_numpy(), ("A", "B"))

    def did(treated_units):
        d = rows["department"].isin(treated_units)
        m = rows.groupby([d, rows["post"]])["y"].mean()
        return (m[(True, 1)] - m[(True, 0)]) - (m[(False, 1)] - m[(False, 0)])

    observed = did(("A", "B"))
    stats_ = [did(c) for c in itertools.combinations("ABCDE", 2)]
    assert enumerated and n == math.comb(5, 2) == 10
    assert p == pytest.approx(np.mean(np.abs(stats_) >= abs(observed) - 1e-12))


def test_two_treated_units_give_no_headline_and_say_why():
    a = assigned_did(_rollout_rows(effect=5.0), "y", ("department",))
    assert a.clusters == (2, 3) and not a.supports_headline
    assert "reached 2 departments and compares them with 3" in a.reason()
    assert a.smallest_p == pytest.approx(1 / 10)
    assert a.bootstrap.weights == "webb" and a.bootstrap.enumerated and a.bootstrap.draws == 6**5
    wide = assigned_did(_rollout_rows(units=tuple("ABCDEFG"), treated=tuple("ABC"), effect=5.0), "y", ("department",))
    assert wide.clusters == (3, 4) and wide.supports_headline and wide.reason() == ""
    assert wide.bootstrap.ci_low > 0  # a 5-point effect against unit noise of SD 1 is found


def test_a_unit_holding_both_arms_is_refused():
    rows = _rollout_rows()
    rows.loc[rows.index[:3], "treated"] = 1 - rows.loc[rows.index[:3], "treated"]
    with pytest.raises(me.NotEstimable, match="does not follow how the program was assigned"):
        assigned_did(rows, "y", ("department",))


def test_bounds_cut_an_interval_to_what_the_observed_rate_allows():
    e = estimates.make(cohort_id="c", role="mentee", estimand="retention_12m", method="tot_wald", estimate=-12.0,
                       ci=(-121.0, 64.0), unit="pp")
    b = bounds.bounded(e, 92.5)
    assert (b.estimate, b.ci_low, b.ci_high) == (-7.5, -7.5, 64.0)
    assert "implied without mentoring 100.0% (28.5% to 100.0%)" in b.note and "cut to the possible range" in b.note
    assert bounds.within(b, 92.5) and not bounds.within(e, 92.5)
    with pytest.raises(ValueError, match="percentage"):
        bounds.possible(101.0)


def test_wald_effect_from_an_assigned_itt_stays_within_bounds():
    rows = _rollout_rows(effect=0.0)
    a = assigned_did(rows, "y", ("department",))
    itt = me.did.regression.DiDEstimate("2x2 DiD", a.bootstrap.estimate, a.bootstrap.std_error, -30.0, 20.0, 0.5, 10, 5)
    w = effects.wald(itt, 10, 100, assignment=a, observed=95.0)
    assert (w.ci_low, w.ci_high) == (-5.0, 95.0) and w.std_error == pytest.approx(a.bootstrap.std_error * 10)
    assert not w.supports_headline


def test_aalen_johansen_equals_lifelines_without_ties():
    from lifelines import AalenJohansenFitter

    rng = np.random.default_rng(0)
    d = rng.exponential(20, 300)
    left = rng.random(300) < 0.7
    voluntary = left & (rng.random(300) < 0.6)
    ref = AalenJohansenFitter(calculate_variance=False).fit(d, np.where(voluntary, 1, np.where(left, 2, 0)),
                                                            event_of_interest=1).cumulative_density_.iloc[:, 0]
    mine = cumulative_incidence(d, left, voluntary)
    expected = [float(ref[ref.index <= t].iloc[-1]) for t in mine["time"]]
    np.testing.assert_allclose(mine["incidence"], expected, atol=1e-12)


def _event_study(k: int, vcov: np.ndarray, clusters: int = 50) -> EventStudy:
    rel = [r for r in range(-k, k + 1) if r != -1]
    se = np.sqrt(np.diag(vcov))
    table = pd.DataFrame({"rel_time": rel, "estimate": np.zeros(len(rel)), "std_error": se, "ci_low": -se,
                          "ci_high": se})
    return EventStudy(table, vcov, -1, 1000, clusters)


def test_pretest_refuses_a_singular_covariance_with_the_reason():
    k = 6
    basis = np.random.default_rng(0).normal(size=(2 * k, 3))
    es = _event_study(k, basis @ basis.T, clusters=4)  # rank 3, as four clusters give
    with pytest.raises(me.NotEstimable, match="covariance of the 5 pre-period estimates has rank 3"):
        es.pretrend_test()


def test_simultaneous_bands_match_the_independent_case_formula():
    """With independent estimates and many clusters, P(max |z| <= c) = (2 Phi(c) - 1)^k = 0.95 gives c
    exactly; with few clusters the tails are t(G - 1), so one coefficient's band is the t interval."""
    k = 20
    es = _event_study(k // 2, np.eye(k), clusters=10**7)
    exact = stats.norm.ppf((1 + 0.95 ** (1 / k)) / 2)
    assert es.sup_t(draws=200_000) == pytest.approx(exact, abs=0.02)
    bands = es.bands()
    assert (bands["band_high"] - bands["band_low"]).iloc[0] == pytest.approx(2 * es.sup_t(), rel=1e-12)
    single = EventStudy(pd.DataFrame({"rel_time": [0], "estimate": [0.0], "std_error": [1.0], "ci_low": [-1.0],
                                      "ci_high": [1.0]}), np.eye(1), -1, 100, 5)
    assert single.sup_t(draws=400_000) == pytest.approx(stats.t(4).ppf(0.975), abs=0.03)


def test_benjamini_hochberg_matches_the_step_up_rule():
    p = np.array([0.01, 0.04, 0.03, 0.20, np.nan])
    # sorted 0.01, 0.03, 0.04, 0.20 over m = 4: q = min over later of p_(i) m / i
    np.testing.assert_allclose(benjamini_hochberg(p)[:4], [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.20])
    assert np.isnan(benjamini_hochberg(p)[4])


def test_e_values_match_vanderweele_and_dings_worked_example():
    """Breastfeeding and infection: RR 3.9 (1.8 to 8.7) gives E-values 7.26 and 3.0 (VanderWeele & Ding 2017)."""
    from mentoring_eval.sensitivity import evalue, hazard_to_risk_ratio

    point, bound = evalue(3.9, 1.8, 8.7)
    assert point == pytest.approx(3.9 + math.sqrt(3.9 * 2.9)) and round(point, 2) == 7.26
    assert bound == pytest.approx(3.0)
    assert evalue(1 / 3.9, 1 / 8.7, 1 / 1.8) == pytest.approx((point, bound))  # protective effects invert
    assert evalue(0.8, 0.6, 1.1)[1] == 1.0  # an interval including no effect needs no confounding
    assert hazard_to_risk_ratio(2.0, common=False) == 2.0
    assert hazard_to_risk_ratio(2.0, common=True) == pytest.approx((1 - 0.5 ** math.sqrt(2)) / (1 - 0.5 ** math.sqrt(0.5)))


def test_robustness_values_match_sensemakrs_darfur_example():
    """sensemakr's Darfur example: 'directly harmed', t = 4.18 on 783 residual df: RV = 13.9%,
    RV at alpha 0.05 = 7.6% (Cinelli & Hazlett 2020, Table 1)."""
    from mentoring_eval.sensitivity import robustness_value

    assert round(robustness_value(4.18, 783), 3) == 0.139
    assert round(robustness_value(4.18, 783, alpha=0.05), 3) == 0.076
    assert robustness_value(1.5, 783, alpha=0.05) == 0.0  # already insignificant


def _honest_example(num_pre, num_post, seed):
    rng = np.random.default_rng(seed)
    n = num_pre + num_post
    a = rng.normal(size=(n, n))
    sigma = a @ a.T / n * 0.01 + np.eye(n) * 0.002
    beta = rng.normal(0, 0.05, n)
    beta[num_pre:] += 0.1
    return beta, sigma


@pytest.mark.parametrize("num_pre,num_post,seed", [(4, 3, 3), (5, 2, 4), (3, 4, 5)])
def test_honest_did_smoothness_equals_diff_diffs_optimal_flci(num_pre, num_post, seed):
    """The optimal fixed-length interval under Delta^SD(M) (Rambachan & Roth 2023, section 4.1)
    agrees with diff-diff's independent implementation to 1e-4."""
    from diff_diff.honest_did import _compute_optimal_flci

    beta, sigma = _honest_example(num_pre, num_post, seed)
    ell = np.full(num_post, 1 / num_post)
    ours = me.did.honest_did(beta, sigma, num_pre, num_post, "smoothness", (0.0, 0.01, 0.05))
    assert list(ours.columns) == ["m", "ci_low", "ci_high", "method"]
    for row in ours.itertuples():
        lo, hi = _compute_optimal_flci(beta[:num_pre], beta[num_pre:], sigma, ell, num_pre, num_post, row.m, 0.05)
        assert row.ci_low == pytest.approx(lo, abs=1e-4) and row.ci_high == pytest.approx(hi, abs=1e-4)


@pytest.mark.parametrize("num_pre,num_post,seed", [(4, 3, 3), (5, 2, 4), (3, 4, 5)])
def test_relative_magnitudes_identified_set_equals_diff_diff_and_the_interval_covers_it(num_pre, num_post, seed):
    """Delta^RM(Mbar)'s identified set (R&R Lemma 2.2, a union of linear programs) agrees with
    diff-diff's to 1e-6; the projected interval contains it and widens with Mbar."""
    from diff_diff.honest_did import _solve_rm_bounds_union

    from mentoring_eval.did.honest import breakdown, rm_identified_set

    beta, sigma = _honest_example(num_pre, num_post, seed)
    ell = np.full(num_post, 1 / num_post)
    ours = me.did.honest_did(beta, sigma, num_pre, num_post, "relative_magnitudes", (0.0, 0.5, 1.0, 2.0))
    for row in ours.itertuples():
        lo, hi = rm_identified_set(beta, num_pre, num_post, row.m)
        ref = _solve_rm_bounds_union(beta[:num_pre], beta[num_pre:], ell, num_pre, row.m)
        assert (lo, hi) == pytest.approx(ref, abs=1e-6)
        assert row.ci_low <= lo and hi <= row.ci_high
    assert (np.diff(ours["ci_high"] - ours["ci_low"]) > 0).all()
    at_zero = ours.iloc[0]
    assert at_zero.ci_low < ell @ beta[num_pre:] < at_zero.ci_high  # parallel trends: about the estimate itself
    frame = pd.DataFrame({"m": [0.0, 0.5, 1.0], "ci_low": [0.2, 0.05, -0.1], "ci_high": [0.5, 0.7, 0.9]})
    assert breakdown(frame) == 0.5 and math.isnan(breakdown(frame.assign(ci_low=-1.0)))


def test_callaway_santanna_clustered_by_unit_is_the_unclustered_se_with_the_small_sample_factor():
    from mentoring_eval.did import att_gt
    from mentoring_eval.simulate import staggered_panel

    panel, _ = staggered_panel(n_units=300, seed=1)
    panel["itself"] = panel["unit"].astype(str)
    plain = att_gt(panel, "y", "unit", "time", "cohort")
    clustered = att_gt(panel, "y", "unit", "time", "cohort", cluster="itself")
    np.testing.assert_allclose(clustered.att["std_error"], plain.att["std_error"] * np.sqrt(300 / 299), rtol=1e-12)
    assert clustered.critical_value == pytest.approx(stats.t(299).ppf(0.975))
    panel["coarse"] = (panel["unit"] % 7).astype(str)
    coarse = att_gt(panel, "y", "unit", "time", "cohort", cluster="coarse")
    assert coarse.critical_value == pytest.approx(stats.t(6).ppf(0.975))
    panel["moving"] = (panel["time"] % 2).astype(str)
    with pytest.raises(ValueError, match="constant within each unit"):
        att_gt(panel, "y", "unit", "time", "cohort", cluster="moving")


def test_pooled_rollout_is_the_participant_weighted_average_of_the_cohorts_effects(demo_dir):
    """The stacked regression's one coefficient equals sum_c w_c ITT_c / share_c exactly, and for a
    single cohort the pooled interval is that cohort's bootstrap interval over its share."""
    from mentoring_eval import pooling
    from tests.conftest import ROOT

    ds = me.load(demo_dir)
    unit = ["department", "location"]  # enough units for a headline in the small demo
    studies = [me.Study(me.load_params(ROOT / "params" / f"{c}.yaml", data_dir=str(demo_dir), assignment_unit=unit), ds)
               for c in ("2023-spring", "2023-autumn")]
    tots = [effects.itt_snapshot(s, "mentee", "stayed")[1] for s in studies]
    single = pooling.pooled_rollout(studies[:1], "retention_12m")
    assert single.ci_low == pytest.approx(max(tots[0].itt.ci_low / tots[0].share, tots[0].observed - 100), rel=1e-6)
    assert single.ci_high == pytest.approx(min(tots[0].itt.ci_high / tots[0].share, tots[0].observed), rel=1e-6)
    both = pooling.pooled_rollout(studies, "retention_12m")
    weights = np.array([t.n_participants for t in tots], float)
    raw = sum(w * t.itt.estimate / t.share for w, t in zip(weights / weights.sum(), tots, strict=True))
    assert both.estimate == pytest.approx(min(raw, 100.0), rel=1e-9) and both.n_treated == weights.sum()
    assert "clustered by department x location" in both.note and both.evidence == "quasi-experimental"


def test_a_rollout_headline_says_how_many_units_were_compared(demo_dir):
    from tests.conftest import ROOT

    study = me.Study(me.load_params(ROOT / "params" / "2023-spring.yaml", data_dir=str(demo_dir),
                                    assignment_unit=["department", "location"]), me.load(demo_dir))
    result = me.retention.analyze(study, "mentee", bootstrap=20)
    assert result.headline.method == "tot_wald"
    text = me.narrate.findings(result).split("\n\n")[0]
    assert "The interval is counted in department x location units, since department x location units were invited: " \
           "8 invited, 20 compared (randomization p = " in text


def test_cr2_and_bell_mccaffrey_degrees_of_freedom_equal_the_textbook_n_by_n_formulas():
    """CR2 (A_g = (I - H_gg)^(-1/2)) and the Bell-McCaffrey degrees of freedom (tr C)^2 / tr(C^2),
    computed here from per-cluster k x k cross-products, equal the n x n matrix formulas of Imbens
    & Kolesar (2016)."""
    import scipy.linalg

    from mentoring_eval.did.bootstrap import cr2_interval

    rng = np.random.default_rng(5)
    g, n, j = 6, 120, 3
    cl = np.sort(rng.integers(0, g, n))
    d, p = (cl < 3).astype(float), rng.integers(0, 2, n).astype(float)
    x = np.column_stack([np.ones(n), d, p, d * p, rng.normal(size=n)])
    y = rng.normal(size=n) + rng.normal(size=g)[cl]
    ours = cr2_interval(x, y, cl, j)
    bread = np.linalg.inv(x.T @ x)
    hat = x @ bread @ x.T
    resid = y - x @ (bread @ x.T @ y)
    meat, columns = np.zeros((5, 5)), np.zeros((n, g))
    for c in range(g):
        m = cl == c
        a = np.real(scipy.linalg.inv(scipy.linalg.sqrtm(np.eye(m.sum()) - hat[np.ix_(m, m)])))
        u = x[m].T @ a @ resid[m]
        meat += np.outer(u, u)
        columns[:, c] = (np.eye(n) - hat)[:, m] @ a @ x[m] @ bread[:, j]
    cc = columns.T @ columns
    assert ours.std_error == pytest.approx(np.sqrt((bread @ meat @ bread)[j, j]), rel=1e-10)
    assert ours.df == pytest.approx(np.trace(cc) ** 2 / np.trace(cc @ cc), rel=1e-10)
    assert ours.ci_high - ours.estimate == pytest.approx(stats.t(ours.df).ppf(0.975) * ours.std_error)
