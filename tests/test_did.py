"""The causal engine against published figures, independent implementations (csdid, pyfixest,
statsmodels) and panels with planted effects."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mentoring_eval.did import att_gt, did_2x2, event_study, twfe
from mentoring_eval.errors import NotEstimable
from mentoring_eval.simulate import staggered_panel
from tests.conftest import ROOT

TOL = 1e-6


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    d = pd.read_csv(ROOT / "tests" / "data" / "mpdta.csv")
    d["treated_now"] = ((d["first.treat"] > 0) & (d["year"] >= d["first.treat"])).astype(int)
    return d


# ---------------------------------------------------------------- published figures

def test_mpdta_matches_the_published_r_did_output(mpdta):
    """The ATT(g,t) table and pre-test p-value printed by R `did` for mpdta (Callaway & Sant'Anna 2021)."""
    r = att_gt(mpdta, "lemp", "countyreal", "year", "first.treat")
    published = {  # (group, time): (ATT, SE)
        (2004, 2004): (-0.0105, 0.0233), (2004, 2005): (-0.0704, 0.0310), (2004, 2006): (-0.1373, 0.0364),
        (2004, 2007): (-0.1008, 0.0344), (2006, 2004): (0.0065, 0.0233), (2006, 2005): (-0.0028, 0.0196),
        (2006, 2006): (-0.0046, 0.0178), (2006, 2007): (-0.0412, 0.0202), (2007, 2004): (0.0305, 0.0150),
        (2007, 2005): (-0.0027, 0.0164), (2007, 2006): (-0.0311, 0.0179), (2007, 2007): (-0.0261, 0.0167),
    }
    got = r.att.set_index(["cohort", "time"])
    for cell, (att, se) in published.items():
        assert got.loc[cell, "att"] == pytest.approx(att, abs=5e-5)
        assert got.loc[cell, "std_error"] == pytest.approx(se, abs=5e-5)
    assert r.pretest().pvalue == pytest.approx(0.16812, abs=5e-5)
    assert r.aggregate("simple").overall_att == pytest.approx(-0.0400, abs=5e-5)
    assert r.aggregate("dynamic").overall_att == pytest.approx(-0.0772, abs=5e-5)


# ---------------------------------------------------------------- csdid parity

CONFIGS = [
    ("never_treated", None, "dr", "varying"),
    ("never_treated", None, "dr", "universal"),
    ("not_yet_treated", None, "dr", "varying"),
    ("never_treated", ["lpop"], "dr", "varying"),
    ("never_treated", ["lpop"], "reg", "varying"),
    ("never_treated", ["lpop"], "ipw", "varying"),
    ("not_yet_treated", ["lpop"], "dr", "universal"),
    ("not_yet_treated", ["lpop"], "ipw", "varying"),
]


@pytest.mark.parametrize("control, covariates, method, base", CONFIGS)
def test_att_gt_and_aggregations_match_csdid(mpdta, control, covariates, method, base):
    from csdid.att_gt import ATTgt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ATTgt(yname="lemp", gname="first.treat", idname="countyreal", tname="year", data=mpdta,
                    xformla="lemp~" + ("+".join(covariates) if covariates else "1"),
                    control_group=control.replace("_", "")).fit(est_method=method, bstrap=False, base_period=base)
    mine = att_gt(mpdta, "lemp", "countyreal", "year", "first.treat", control_group=control, covariates=covariates,
                  est_method=method, base_period=base)
    theirs = pd.DataFrame({"cohort": ref.results["group"], "time": ref.results["year"],
                           "att_ref": ref.results["att"], "se_ref": ref.results["se"]})
    both = mine.att.merge(theirs, on=["cohort", "time"], validate="one_to_one")
    assert len(both) == len(theirs) == len(mine.att)
    np.testing.assert_allclose(both["att"], both["att_ref"], atol=TOL)
    se = both["std_error"].where(both["std_error"] > 0)  # csdid leaves the reference cells' SE empty
    np.testing.assert_allclose(se.dropna(), both.loc[se.notna(), "se_ref"], atol=TOL)
    for kind in ("simple", "group", "dynamic", "calendar"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            agg_ref = ref.aggte(typec=kind, bstrap=False).atte
        agg = mine.aggregate(kind)
        assert agg.overall_att == pytest.approx(agg_ref["overall_att"], abs=TOL), kind
        assert agg.overall_se == pytest.approx(agg_ref["overall_se"], abs=TOL), kind


def test_unbalanced_mode_equals_the_panel_estimator_on_a_balanced_panel():
    panel, _ = staggered_panel(600, 8, seed=4)
    as_panel = att_gt(panel, "y", "unit", "time", "cohort")
    as_cross_sections = att_gt(panel, "y", "unit", "time", "cohort", allow_unbalanced=True)
    np.testing.assert_allclose(as_cross_sections.att["att"], as_panel.att["att"], atol=1e-12)
    np.testing.assert_allclose(as_cross_sections.att["std_error"], as_panel.att["std_error"], atol=1e-12)


def test_unbalanced_panel_is_refused_unless_allowed():
    panel, _ = staggered_panel(300, 6, cohorts=(3, 5), seed=2)
    holes = panel.drop(index=panel.index[::17])
    with pytest.raises(ValueError, match="unbalanced panel: .* pass allow_unbalanced=True"):
        att_gt(holes, "y", "unit", "time", "cohort")
    r = att_gt(holes, "y", "unit", "time", "cohort", allow_unbalanced=True)
    assert r.att["std_error"].gt(0).all() and np.isfinite(r.aggregate("simple").overall_att)


# ---------------------------------------------------------------- recovery of planted effects

def test_callaway_santanna_recovers_heterogeneous_effects_where_twfe_is_biased():
    panel, truth = staggered_panel(3000, 10, seed=7)
    r = att_gt(panel, "y", "unit", "time", "cohort")
    cells = r.att.merge(truth, on=["cohort", "time"], suffixes=("", "_true"))
    assert len(cells) == len(truth)
    covered = (cells["ci_low"] <= cells["att_true"]) & (cells["att_true"] <= cells["ci_high"])
    assert covered.mean() >= 0.85
    simple = r.aggregate("simple")
    true_simple = np.average(truth["att"], weights=panel[panel.treated == 1].groupby(["cohort", "time"]).size())
    assert simple.ci_low <= true_simple <= simple.ci_high
    tw = twfe(panel, "y", "unit", "time", "treated")
    assert tw.ci_high < true_simple - 0.2  # TWFE's "forbidden comparisons" pull it well below the truth


def test_pretrend_tests_flag_a_planted_violation_and_pass_without_one():
    clean, _ = staggered_panel(2000, 10, seed=3)
    violated, _ = staggered_panel(2000, 10, seed=3, pretrend=0.15)
    assert att_gt(clean, "y", "unit", "time", "cohort").pretest().pvalue > 0.05
    assert att_gt(violated, "y", "unit", "time", "cohort").pretest().pvalue < 1e-6
    # the regression event study is valid when effects do not differ by cohort
    same, _ = staggered_panel(2000, 10, seed=3, cohort_gain=0.0)
    same_violated, _ = staggered_panel(2000, 10, seed=3, cohort_gain=0.0, pretrend=0.15)
    es = event_study(same, "y", "unit", "time", "cohort", window=(-4, 4))
    assert es.pretrend_test().pvalue > 0.05
    after = es.table[es.table["rel_time"] >= 0]
    assert ((after["ci_low"] <= 1 + 0.5 * after["rel_time"]) & (1 + 0.5 * after["rel_time"] <= after["ci_high"])).all()
    assert event_study(same_violated, "y", "unit", "time", "cohort", window=(-4, 4)).pretrend_test().pvalue < 1e-6


def test_event_study_leads_are_contaminated_by_cohort_heterogeneity():
    """Known limitation (Sun & Abraham 2021): with effects that differ by cohort, the regression event
    study shows pre-trends that are not there; the dynamic aggregation of att_gt does not."""
    clean, _ = staggered_panel(2000, 10, seed=3)
    assert event_study(clean, "y", "unit", "time", "cohort", window=(-4, 4)).pretrend_test().pvalue < 0.01
    dynamic = att_gt(clean, "y", "unit", "time", "cohort", base_period="universal").aggregate("dynamic").table
    leads = dynamic[dynamic["event_time"] < -1]
    assert ((leads["ci_low"] <= 0) & (0 <= leads["ci_high"])).all()


def test_bootstrap_is_seeded_and_agrees_with_the_analytic_errors(mpdta):
    a = att_gt(mpdta, "lemp", "countyreal", "year", "first.treat", bootstrap=999, seed=11)
    b = att_gt(mpdta, "lemp", "countyreal", "year", "first.treat", bootstrap=999, seed=11)
    analytic = att_gt(mpdta, "lemp", "countyreal", "year", "first.treat")
    pd.testing.assert_frame_equal(a.att, b.att)
    ratio = a.att["std_error"] / analytic.att["std_error"]
    assert ratio.between(0.85, 1.15).all()
    assert 2.0 < a.critical_value < 3.5  # a uniform band over 12 cells is wider than the pointwise 1.96
    assert a.aggregate("dynamic").critical_value > 1.96


# ---------------------------------------------------------------- pyfixest and statsmodels parity

def test_twfe_matches_pyfixest(mpdta):
    import pyfixest as pf

    ref = pf.feols("lemp ~ treated_now | countyreal + year", data=mpdta, vcov={"CRV1": "countyreal"})
    mine = twfe(mpdta, "lemp", "countyreal", "year", "treated_now")
    assert mine.estimate == pytest.approx(ref.coef().iloc[0], abs=TOL)
    assert mine.std_error == pytest.approx(ref.se().iloc[0], abs=TOL)
    assert mine.pvalue == pytest.approx(ref.pvalue().iloc[0], abs=TOL)
    assert mine.ci_low == pytest.approx(ref.confint().iloc[0, 0], abs=TOL)


def test_twfe_matches_pyfixest_on_an_unbalanced_weighted_panel(mpdta):
    import pyfixest as pf

    d = mpdta.sample(frac=0.85, random_state=3).copy()
    d["w"] = np.random.default_rng(1).uniform(0.5, 2, len(d))
    ref = pf.feols("lemp ~ treated_now | countyreal + year", data=d, vcov={"CRV1": "countyreal"}, weights="w",
                   fixef_rm="none")  # keep singleton units, as twfe does
    mine = twfe(d, "lemp", "countyreal", "year", "treated_now", weights="w")
    assert mine.estimate == pytest.approx(ref.coef().iloc[0], abs=TOL)
    assert mine.std_error == pytest.approx(ref.se().iloc[0], abs=TOL)


@pytest.mark.parametrize("weighted", [False, True])
def test_event_study_matches_pyfixest(mpdta, weighted):
    import pyfixest as pf

    mpdta = mpdta.assign(w=np.random.default_rng(5).uniform(0.5, 2, mpdta["countyreal"].nunique())[
        pd.factorize(mpdta["countyreal"])[0]])
    weights = "w" if weighted else None
    es = event_study(mpdta, "lemp", "countyreal", "year", "first.treat", window=(-3, 3), weights=weights)
    g = mpdta["first.treat"]
    rel = mpdta["year"] - g
    d = mpdta[(g == 0) | rel.between(-3, 3)].copy()
    rel = d["year"] - d["first.treat"]
    periods = [-3, -2, 0, 1, 2, 3]
    for r in periods:
        d[f"r{r + 10}"] = ((d["first.treat"] > 0) & (rel == r)).astype(float)
    ref = pf.feols("lemp ~ " + " + ".join(f"r{r + 10}" for r in periods) + " | countyreal + year", data=d,
                   vcov={"CRV1": "countyreal"}, weights=weights)
    assert es.table["rel_time"].tolist() == periods
    np.testing.assert_allclose(es.table["estimate"], ref.coef().to_numpy(), atol=TOL)
    np.testing.assert_allclose(es.table["std_error"], ref.se().to_numpy(), atol=TOL)


@pytest.mark.parametrize("layout", ["more units than periods", "more periods than units"])
def test_event_study_on_an_unbalanced_weighted_panel_matches_pyfixest(layout):
    """The dummies' within transform is computed as per-unit and per-period terms, not column by column:
    check it where that matters, with row weights, missing unit-periods, clusters that cut across
    units, and both orientations of the two-way demeaning."""
    import pyfixest as pf
    from pyfixest.demeaners import MapDemeaner

    rng = np.random.default_rng(11)
    units, periods = (300, 12) if layout == "more units than periods" else (25, 60)
    d = pd.DataFrame({"unit": np.repeat(np.arange(units), periods), "time": np.tile(np.arange(periods), units)})
    d["cohort"] = np.repeat(rng.choice([0, 4, 6, 9], units), periods)
    d = d[rng.uniform(size=len(d)) > 0.2].reset_index(drop=True)  # unbalanced
    d["w"] = rng.uniform(0.3, 3, len(d))
    d["site"] = rng.integers(0, 15, len(d))  # a unit's rows fall in several clusters
    d["y"] = rng.normal(size=len(d)) + 0.5 * ((d["cohort"] > 0) & (d["time"] >= d["cohort"]))
    es = event_study(d, "y", "unit", "time", "cohort", window=(-3, 2), weights="w", cluster="site")
    rel = d["time"] - d["cohort"]
    ref_d = d[(d["cohort"] == 0) | rel.between(-3, 2)].copy()
    rel = ref_d["time"] - ref_d["cohort"]
    for r in (-3, -2, 0, 1, 2):
        ref_d[f"r{r + 10}"] = ((ref_d["cohort"] > 0) & (rel == r)).astype(float)
    ref = pf.feols("y ~ r7 + r8 + r10 + r11 + r12 | unit + time", data=ref_d, vcov={"CRV1": "site"}, weights="w",
                   demeaner=MapDemeaner(fixef_tol=1e-12))
    np.testing.assert_allclose(es.table["estimate"], ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(es.table["std_error"], ref.se().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(es.vcov, ref._vcov, rtol=1e-7, atol=1e-14)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1", "cluster"])
def test_did_2x2_matches_statsmodels(mpdta, cov_type):
    import statsmodels.formula.api as smf

    d = mpdta[mpdta["year"].isin([2003, 2007]) & mpdta["first.treat"].isin([0, 2007])].copy()
    d["treated"] = (d["first.treat"] > 0).astype(int)
    d["post"] = (d["year"] == 2007).astype(int)
    d["w"] = np.linspace(0.5, 2, len(d))
    kwargs = {"cov_kwds": {"groups": d["countyreal"]}} if cov_type == "cluster" else {}
    ref = smf.wls("lemp ~ treated * post + lpop", d, weights=d["w"]).fit(cov_type=cov_type, **kwargs)
    mine = did_2x2(d, "lemp", "treated", "post", covariates=["lpop"], weights="w", cov_type=cov_type,
                   cluster="countyreal" if cov_type == "cluster" else None)
    assert mine.estimate == pytest.approx(ref.params["treated:post"], abs=1e-10)
    assert mine.std_error == pytest.approx(ref.bse["treated:post"], abs=1e-10)
    assert mine.pvalue == pytest.approx(ref.pvalues["treated:post"], abs=1e-8)
    assert mine.ci_low == pytest.approx(ref.conf_int().loc["treated:post", 0], abs=1e-8)


# ---------------------------------------------------------------- clear errors

def test_inputs_are_checked_with_clear_messages(mpdta):
    with pytest.raises(ValueError, match=r"column\(s\) \['lemp2'\] not in the data"):
        att_gt(mpdta, "lemp2", "countyreal", "year", "first.treat")
    text = mpdta.assign(lemp=mpdta["lemp"].astype(str))
    with pytest.raises(ValueError, match="column 'lemp' must be numeric"):
        twfe(text, "lemp", "countyreal", "year", "treated_now")
    with pytest.raises(NotEstimable, match="no never-treated units: use control_group='not_yet_treated'"):
        att_gt(mpdta[mpdta["first.treat"] > 0], "lemp", "countyreal", "year", "first.treat")
    with pytest.raises(NotEstimable, match="no treated units"):
        att_gt(mpdta.assign(g=0), "lemp", "countyreal", "year", "g")
    with pytest.raises(NotEstimable, match="must have both treated"):
        twfe(mpdta.assign(d=0), "lemp", "countyreal", "year", "d")
    with pytest.raises(NotEstimable, match="no treated before observations"):
        did_2x2(mpdta.assign(t=1, p=(mpdta["year"] > 2005).astype(int)).query("p == 1 or t == 0")
                .assign(t=lambda x: x["p"]), "lemp", "t", "p")
    with pytest.raises(NotEstimable, match=r"no treated unit is observed at relative period\(s\) \[4, 5\]"):
        event_study(mpdta, "lemp", "countyreal", "year", "first.treat", window=(-3, 5))
    with pytest.raises(NotEstimable, match="singular design: 'lpop2' is constant or collinear"):
        did_2x2(mpdta.assign(lpop2=mpdta["lpop"] * 2, post=(mpdta["year"] > 2005).astype(int),
                             tr=(mpdta["first.treat"] > 0).astype(int)), "lemp", "tr", "post", covariates=["lpop", "lpop2"])
    with pytest.raises(ValueError, match="more than one row per countyreal and year"):
        att_gt(pd.concat([mpdta, mpdta.head(1)]), "lemp", "countyreal", "year", "first.treat")
    with pytest.raises(ValueError, match="'treated_now' must be 0/1"):
        twfe(mpdta.assign(treated_now=mpdta["treated_now"] * 2), "lemp", "countyreal", "year", "treated_now")


def test_results_present_themselves(mpdta):
    import matplotlib

    matplotlib.use("Agg")
    r = att_gt(mpdta, "lemp", "countyreal", "year", "first.treat")
    assert "chi2(5) = 7.79" in r.summary() and "-0.0105" in r.summary()
    dyn = r.aggregate("dynamic")
    assert dyn.summary().startswith("Callaway & Sant'Anna, dynamic aggregation: ATT = -0.0772")
    frame = dyn.to_frame()
    assert frame.loc[0, "component"] == "overall" and list(frame["component"][1:]) == ["-3", "-2", "-1", "0", "1", "2", "3"]
    assert dyn.plot().get_xlabel() == "periods since first treated"
    es = event_study(mpdta, "lemp", "countyreal", "year", "first.treat", window=(-3, 3))
    assert es.plot(label="log employment").get_ylabel() == "log employment"
    assert "F(2, 499)" in es.summary()
    est = twfe(mpdta, "lemp", "countyreal", "year", "treated_now")
    assert est.to_frame().loc[0, "estimate"] == est.estimate and "500 clusters" in est.summary()
