"""The applicant designs (lottery, capacity): their estimators against independent implementations,
their recovery of planted truth, the design that heads a report, pooling across cohorts, and the
data checks a lottery needs."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import mentoring_eval as me
from mentoring_eval import applicants, experiments, pooling
from tests.conftest import ROOT, read_raw, write_raw

COHORTS = ("2023-spring", "2023-autumn", "2024-spring", "2024-autumn")
STRONG = me.Effects(mentee_exit_hazard=0.35, mentee_promotion_hazard=3.0)  # effects large enough to see in one company


def _sample(n=400, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    strata = rng.integers(0, 3, n)
    z = rng.random(n) < 0.5
    d = (z & (rng.random(n) < 0.85)) | (rng.random(n) < 0.05)
    y = (rng.random(n) < 1 / (1 + np.exp(-(1 + x[:, 0] + 0.3 * d)))).astype(float)
    return y, d, z, x, strata


def test_regression_adjusted_effect_equals_statsmodels_hc2_on_the_lin_regression():
    import statsmodels.api as sm

    y, _, z, x, strata = _sample()
    ours = experiments.regression_adjusted(y, z, x, strata)
    dummies = (strata[:, None] == np.arange(1, 3)[None, :]).astype(float)
    w = np.column_stack([dummies, x])
    wc = w - w.mean(axis=0)
    fit = sm.OLS(y, np.column_stack([np.ones(y.size), z, wc, wc * z[:, None]])).fit(cov_type="HC2")
    assert ours.estimate == pytest.approx(fit.params[1], abs=1e-12)
    assert ours.std_error == pytest.approx(fit.bse[1], rel=1e-10)
    assert (ours.n_treated, ours.n_control) == (int(z.sum()), int((~z).sum()))


def test_instrumented_effect_equals_linearmodels_2sls_with_robust_errors():
    from linearmodels.iv import IV2SLS

    y, d, z, x, strata = _sample()
    ours = experiments.instrumented(y, d, z, x, strata)
    exog = pd.DataFrame(np.column_stack([np.ones(y.size), (strata[:, None] == np.arange(1, 3)).astype(float), x]))
    fit = IV2SLS(pd.Series(y), exog, pd.Series(d.astype(float), name="d"), pd.Series(z.astype(float), name="z")).fit(
        cov_type="robust", debiased=True)
    assert ours.estimate == pytest.approx(fit.params["d"], abs=1e-12)
    assert ours.std_error == pytest.approx(fit.std_errors["d"], rel=1e-10)


def test_instrumented_effect_refuses_an_offer_that_does_not_move_participation():
    y, _, z, x, _ = _sample()
    unrelated = np.random.default_rng(3).random(y.size) < 0.5
    with pytest.raises(me.NotEstimable, match="weak instrument"):
        experiments.instrumented(y, unrelated, z, x)


def test_doubly_robust_effect_equals_the_formula_from_statsmodels_fits():
    """The point estimate from an outcome regression (statsmodels OLS among non-participants) and a
    propensity score (statsmodels Logit), combined as Sant'Anna & Zhao's doubly robust ATT."""
    import statsmodels.api as sm

    y, d, _, x, _ = _sample(seed=4)
    ours = experiments.doubly_robust(y, d, x)
    design = sm.add_constant(x)
    m0 = sm.OLS(y[~d], design[~d]).fit().predict(design)
    ps = sm.Logit(d.astype(float), design).fit(disp=0, tol=1e-12).predict(design)
    w0 = ps * (~d) / (1 - ps)
    expected = (y - m0)[d].mean() - np.sum(w0 * (y - m0)) / w0.sum()
    assert ours.estimate == pytest.approx(expected, abs=1e-9)
    assert ours.method == "tot_dr" and ours.std_error > 0


def test_pooled_standard_error_clusters_people_who_are_in_several_cohorts():
    y, _, z, x, strata = _sample()
    one = experiments.regression_adjusted(y, z, x, strata, ids=np.arange(y.size))
    y2, _, z2, x2, strata2 = _sample(seed=2)
    other = experiments.regression_adjusted(y2, z2, x2, strata2, ids=np.arange(y2.size) + 10_000)

    def result(effect, n):
        return applicants.DesignResult("c", "mentee", "lottery", "randomized", "", (), {("retention_12m", "itt_offer"): effect},
                                       None, pd.DataFrame(), None, n_participants=n)

    # the same people twice: perfectly correlated, so pooling changes nothing
    est, se, n = pooling.pool_applicant_effects([result(one, 100), result(one, 300)], "retention_12m", "itt_offer")
    assert est == pytest.approx(one.estimate) and se == pytest.approx(one.std_error) and n == 400
    # no one in common: independent, weights 1/4 and 3/4
    est, se, _ = pooling.pool_applicant_effects([result(one, 100), result(other, 300)], "retention_12m", "itt_offer")
    assert est == pytest.approx(0.25 * one.estimate + 0.75 * other.estimate)
    assert se == pytest.approx(np.hypot(0.25 * one.std_error, 0.75 * other.std_error))


# ---------------------------------------------------------------- on simulated companies


@pytest.fixture(scope="module")
def lottery_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("lottery")
    truth = me.simulate(out, n_employees=5000, seed=3, design="lottery", effects=STRONG)
    return out, truth.table


@pytest.fixture(scope="module")
def capacity_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("capacity")
    truth = me.simulate(out, n_employees=5000, seed=3, design="capacity", effects=STRONG)
    return out, truth.table


def _studies(directory, **extra):
    ds = me.load(directory)
    return [me.Study(me.load_params(ROOT / "params" / f"{c}.yaml", data_dir=str(directory), **extra), ds) for c in COHORTS]


def _truth(table, cohort, estimand, kind):
    t = table[(table.cohort_id == cohort) & (table.role == "mentee") & (table.estimand == estimand) & (table.kind == kind)]
    return float(t["value"].iloc[0])


def _pooled_truth(table, estimate, kind):
    """The truth of the cohorts a pooled estimate averages, weighted by their participants as it is."""
    used = estimate.note.split("cohorts: ")[-1].split(", ")
    t = table[table.cohort_id.isin(used) & (table.role == "mentee") & (table.estimand == estimate.estimand)
              & (table.kind == kind) & (table.design == estimate.design)]
    assert len(t) == len(used)
    return float(np.average(t["value"], weights=t["n_participants"]))


def test_simulated_lottery_records_offers_and_its_truth(lottery_world):
    out, truth = lottery_world
    enr = read_raw(out, "enrollments")
    mentees = enr[enr["role"] == "mentee"]
    assert mentees["offered"].isin(["True", "False"]).all() and enr.loc[enr["role"] == "mentor", "offered"].isna().all()
    share = (mentees["offered"] == "True").mean()
    assert 0.45 < share < 0.55  # half offered, within departments
    assert mentees.loc[mentees["offered"] == "True", "offer_date"].notna().all()
    payload = json.loads((out / "truth.json").read_text())
    kinds = {(r["cohort_id"], r["kind"]) for r in payload["estimates"] if r.get("design") == "lottery"}
    assert {("pooled", "itt_offer"), ("pooled", "tot")} <= kinds
    # the effect of the offer is the compliers' effect diluted by the share who comply (about 85%)
    ratio = _truth(truth, "pooled", "promotion_12m", "itt_offer") / _truth(truth, "pooled", "promotion_12m", "tot")
    assert 0.75 < ratio < 0.95


def test_lottery_recovers_the_planted_effects_where_the_naive_figure_does_not(lottery_world):
    out, truth = lottery_world
    studies = _studies(out, assignment_strata=["department"])
    pooled = pooling.pooled(studies).estimates
    for estimand, kind, method in (("promotion_12m", "tot", "tot_iv"), ("promotion_12m", "itt_offer", "itt_offer"),
                                   ("retention_12m", "tot", "tot_iv"), ("voluntary_exit_12m", "tot", "tot_iv")):
        e = pooled.first(estimand=estimand, method=method)
        assert e.note.endswith("cohorts: 2023-spring, 2023-autumn, 2024-spring, 2024-autumn")
        true = _truth(truth, "pooled", estimand, kind)
        assert true == pytest.approx(_pooled_truth(truth, e, kind))
        assert e.ci_low <= true <= e.ci_high, (estimand, method, e.estimate, true)
        assert abs(e.estimate - true) < 0.6 * (e.ci_high - e.ci_low) / 2
    promo = pooled.headline("promotion_12m")
    assert promo.method == "tot_iv" and promo.evidence == "randomized" and promo.ci_low > 0
    cohort = applicants.analyze(studies[0])
    assert cohort.design == "lottery" and cohort.evidence == "randomized"
    assert {c.check for c in cohort.checklist} == {"overall attrition", "differential attrition", "compliance",
                                                   "balance of the arms"}


def test_with_no_effect_the_lottery_finds_none_where_the_naive_gap_is_large(tmp_path):
    truth = me.simulate(tmp_path, n_employees=5000, seed=8, design="lottery", effects=me.Effects.null()).table
    pooled = pooling.pooled(_studies(tmp_path, assignment_strata=["department"])).estimates
    for estimand in ("retention_12m", "promotion_12m"):
        naive = np.mean([_truth(truth, c, estimand, "naive") for c in COHORTS])
        assert naive > 3  # applicants were already likelier to stay and be promoted
        assert _truth(truth, "pooled", estimand, "tot") == 0.0
        assert pooled.headline(estimand).includes_zero


def test_capacity_design_recovers_the_planted_effect_on_participants(capacity_world):
    out, truth = capacity_world
    studies = _studies(out)
    results = [applicants.analyze(s) for s in studies if applicants.available(s) == "capacity"]
    assert len(results) >= 2  # cohorts with 30+ matched and unmatched applicants
    pooled = pooling.pooled(studies).estimates
    e = pooled.first(estimand="promotion_12m", method="tot_dr")
    true = _pooled_truth(truth, e, "tot")
    assert e.ci_low <= true <= e.ci_high and e.estimate > 0
    assert e.headline and e.design == "capacity"
    r = results[0]
    assert r.overlap is not None and {"took part", "did not"} == set(r.overlap.index)


def test_the_strongest_design_heads_each_cohort_of_the_demo_mix(tmp_path):
    me.simulate(tmp_path, n_employees=5000, seed=0, design="mix")
    studies = _studies(tmp_path)
    heads = {}
    for s in studies:
        h = me.retention.analyze(s, "mentee").estimates.where(estimand="retention_12m", headline=True)
        assert len(h) <= 1  # at most one headline per estimand
        heads[s.cohort_id] = (h[0].design, h[0].method, h[0].evidence) if h else None
    assert heads["2023-spring"] == ("lottery", "tot_iv", "randomized")
    assert heads["2023-autumn"][:2] == ("capacity", "tot_dr")
    # the 2024 rollouts reached 2 and 3 departments against 2 never reached: no headline, and the page says why
    assert heads["2024-spring"] is None and heads["2024-autumn"] is None
    late = me.retention.analyze(studies[3], "mentee")
    assert late.design.design is None and late.design.reason == (
        "No design can head this report: the rollout reached 3 departments and compares them with 2; with fewer "
        "than 3 on either side, a shock to a single department could produce the whole difference.")
    spring = me.retention.analyze(studies[0], "mentee")
    assert spring.design.available == ("lottery", "rollout", "observational")
    assert "strongest the data support" in spring.design.reason
    text = me.narrate.evidence(spring)
    assert text.startswith("**Evidence: randomized.** Randomized: places were offered by lottery")
    # 3 applicants not offered got in anyway: a small cell, so neither share is exact
    assert "about 85% of those offered took part; fewer than 5 of those not offered got in anyway" in text
    assert "balance of the arms for information (largest standardized difference" in text
    autumn = me.retention.analyze(studies[1], "mentee")
    assert list(me.display.overlap(autumn, studies[1].disclosure).data["chance of a place, applicants who"]) == ["did not", "took part"]
    assert me.display.overlap(spring, studies[0].disclosure) is None  # a lottery needs no overlap check
    # performance ratings: the lottery leads, the matched comparison in program health steps back
    health = me.program_health.analyze(studies[0]).estimates.where(estimand="performance_rating", role="mentee")
    assert not any(e.headline for e in health)
    # the params may put a weaker design first; the data decide whether it can
    forced = me.Study(studies[0].params.model_copy(update={"design": "rollout"}), studies[0].dataset)
    forced_result = me.retention.analyze(forced, "mentee")
    assert (forced_result.headline.design, forced_result.headline.method) == ("lottery", "tot_iv")
    assert forced_result.design.reason.startswith("The params ask for the rollout design, which the data do not support.")
    assert forced_result.design.reason.endswith("The department rollout cannot head it: the rollout reached 2 "
                                                "departments and compares them with 5; with fewer than 3 on either "
                                                "side, a shock to a single department could produce the whole difference.")
    by_site = me.Study(studies[0].params.model_copy(update={"design": "rollout",
                                                            "assignment_unit": ("department", "location")}),
                       studies[0].dataset)
    h = me.retention.analyze(by_site, "mentee").headline
    assert (h.design, h.method) == ("rollout", "tot_wald")


def test_a_lottery_cohort_without_offers_is_a_validation_error(lottery_world, tmp_path):
    out, _ = lottery_world
    import shutil

    target = tmp_path / "data"
    shutil.copytree(out, target)
    enr = read_raw(target, "enrollments")
    pf = ROOT / "params" / "2023-spring.yaml"
    write_raw(target, "enrollments", enr.drop(columns=["offered", "offer_date"]))
    with pytest.raises(me.DataValidationError) as err:
        me.Study(me.load_params(pf, data_dir=str(target), design="lottery"), me.load(target))
    assert "enrollments.csv, column offered" in str(err.value) and "design: lottery" in str(err.value)
    blank = enr.copy()
    rows = blank.index[(blank["cohort_id"] == "2023-spring") & (blank["role"] == "mentee")][:2]
    blank.loc[rows, "offered"] = None
    write_raw(target, "enrollments", blank)
    with pytest.raises(me.DataValidationError) as err:
        me.Study(me.load_params(pf, data_dir=str(target), design="lottery"), me.load(target))
    message = str(err.value)
    assert f"row {rows[0] + 2}: empty" in message and "true or false for every mentee applicant" in message


def test_applicants_who_left_before_the_start_lower_the_grade(lottery_world):
    """Attrition that differs by arm is what breaks a randomized comparison: a third of the offered
    applicants gone before the start and the lottery is no longer graded randomized."""
    from dataclasses import replace

    out, _ = lottery_world
    study = _studies(out, assignment_strata=["department"])[0]
    pool = applicants.pool(study)
    assert pool.left_before_start.empty and applicants.analyze(study).evidence == "randomized"
    people = pool.people
    gone = people[people["offered"].astype(bool)].iloc[::3]
    attrited = replace(pool, people=people.drop(index=gone.index).reset_index(drop=True),
                       left_before_start=gone[["employee_id", "offered"]].reset_index(drop=True))
    result = applicants._lottery(study, attrited)
    checks = {c.check: c for c in result.checklist}
    assert not checks["differential attrition"].passed and checks["overall attrition"].passed
    assert result.evidence in ("quasi-experimental", "observational")
    assert result.grade_reason.split(":")[0] == result.evidence.capitalize()
    arms = result.arms.set_index("arm")
    assert arms.loc["offered a place", "left_before_start"] == len(gone)
    assert arms.loc["not offered", "left_before_start"] == 0


def test_the_first_rating_in_a_window_equals_sorting_the_reviews(lottery_world):
    """Each applicant's first review in [when, until), found by a search in the reviews sorted once
    per data set, equals the plain pandas answer: reviews on the window's edges, a person with none
    in it, one reviewed twice on one day, reviews without a date or a rating, and ids not employed."""
    directory, _ = lottery_world
    ds = me.load(directory)
    reviews = ds.performance_reviews
    when, until = pd.Timestamp("2023-06-01"), pd.Timestamp("2024-06-01")
    edge = reviews[reviews["review_date"] >= when].iloc[0]["employee_id"]
    extra = pd.DataFrame({"employee_id": [edge, edge, edge], "review_date": [when, until, pd.NaT],
                          "rating": [1.0, 5.0, 2.0]}).astype(reviews[["employee_id", "review_date", "rating"]].dtypes)
    reviews = pd.concat([extra, reviews], ignore_index=True)
    reviews.loc[reviews.index[10:20], "rating"] = np.nan
    ds = dataclasses.replace(ds, tables={**ds.tables, "performance_reviews": reviews})
    ids = pd.concat([ds.employees["employee_id"].iloc[::7], pd.Series(["nobody"], dtype=ds.employees["employee_id"].dtype)],
                    ignore_index=True)
    got = applicants._first_rating_after(ds, ids, when, until)

    inside = reviews[(reviews["review_date"] >= when) & (reviews["review_date"] < until)]
    first = inside.sort_values(["employee_id", "review_date"], kind="stable").drop_duplicates("employee_id")
    expected = ids.map(first.set_index("employee_id")["rating"]).to_numpy(dtype=float, na_value=np.nan)
    np.testing.assert_array_equal(got, expected)
    assert got[ids.eq(edge).to_numpy()][0] == 1.0  # the review on the first day counts, the one on `until` does not
    assert np.isnan(got[-1]) and np.isnan(got).sum() > 0 and (~np.isnan(got)).sum() > 100
