"""Retention and promotion: survival arithmetic against lifelines and by hand, the Wald arithmetic,
the estimates table, and the null-effect world where only self-selection remains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mentoring_eval as me
from mentoring_eval import effects, estimates, promotion, retention
from mentoring_eval.did.regression import DiDEstimate
from mentoring_eval.params import load_params
from tests.conftest import ROOT


def test_kaplan_meier_by_hand_and_against_lifelines():
    from lifelines import KaplanMeierFitter

    duration = np.array([2, 3, 3, 5, 8, 8, 9, 12])
    event = np.array([1, 1, 0, 1, 0, 1, 1, 0], dtype=bool)
    curve = retention.kaplan_meier(duration, event)
    # at risk / events: t=2 8/1, t=3 7/1 (one censored), t=5 5/1, t=8 4/1 (one censored), t=9 2/1
    expected = np.cumprod([7 / 8, 6 / 7, 4 / 5, 3 / 4, 1 / 2])
    np.testing.assert_allclose(curve["survival"], expected)
    assert curve["time"].tolist() == [2, 3, 5, 8, 9]
    w = np.array([1, 2, 1, 1, 3, 1, 2, 1], dtype=float)
    mine = retention.kaplan_meier(duration, event, w)
    kmf = KaplanMeierFitter().fit(duration, event, weights=w)
    theirs = kmf.survival_function_.iloc[:, 0]
    for t, s in zip(mine["time"], mine["survival"], strict=True):
        assert s == pytest.approx(theirs.loc[t], abs=1e-12)
    assert retention.survival_at(mine, 6) == pytest.approx(float(theirs.loc[5]))
    # the bootstrap's batched KM gives the same survival for an unresampled draw
    once = retention._at_draws(duration.astype(float), event, event, w, 8.5, np.ones((1, 8)))[0][0]
    assert once == pytest.approx(retention.survival_at(mine, 8.5))


def test_wald_effect_arithmetic():
    itt = DiDEstimate("2x2 DiD", estimate=0.5, std_error=0.2, ci_low=0, ci_high=0, pvalue=0, n_obs=1000)
    w = effects.wald(itt, n_participants=100, n_eligible=1000)  # share 0.1
    assert w.estimate == pytest.approx(5.0)
    var = 0.2**2 / 0.1**2 + 0.5**2 * (0.1 * 0.9 / 1000) / 0.1**4
    assert w.std_error == pytest.approx(np.sqrt(var))
    assert w.ci_low == pytest.approx(5.0 - 1.959964 * np.sqrt(var), abs=1e-5)
    with pytest.raises(me.NotEstimable, match="no participants among the eligible"):
        effects.wald(itt, 0, 1000)


@pytest.fixture(scope="module")
def null_company(tmp_path_factory):
    out = tmp_path_factory.mktemp("null-company")
    truth = me.simulate(out, n_employees=12000, seed=21, effects=me.Effects.null())
    return out, truth


def test_null_world_naive_gaps_stay_while_headlines_include_zero(null_company):
    out, truth = null_company
    ds = me.load(out)
    naive_ret, naive_pro = [], []
    for cohort_id in ("2023-spring", "2024-spring"):
        study = me.Study(load_params(ROOT / "params" / f"{cohort_id}.yaml", data_dir=str(out)), ds)
        ret = retention.analyze(study, "mentee", bootstrap=50)
        pro = promotion.analyze(study, "mentee")
        for estimand, result in (("retention_12m", ret), ("exit_rate", ret), ("promotion_12m", pro)):
            # two invited departments: the rollout heads nothing, and its interval, counted in departments, covers 0
            tot = result.estimates.first(estimand=estimand, method="tot_wald")
            assert tot.includes_zero and not tot.headline, (cohort_id, estimand, tot)
            head = result.estimates.headline(estimand)
            if head is None:
                assert "no headline: the rollout reached 2 departments" in tot.note
            else:  # applicants left without a place make a capacity design
                assert head.design == "capacity" and head.includes_zero, (cohort_id, estimand, head)
            assert truth.value(cohort_id, "mentee", estimand) == 0.0
        naive_ret.append(ret.naive)
        naive_pro.append(pro.naive)
    pooled = lambda rows: sum(r.difference * r.participants for r in rows) / sum(r.participants for r in rows)
    assert pooled(naive_ret) > 3 and pooled(naive_pro) > 3  # self-selection alone, in percentage points


def test_estimates_table_has_one_headline_per_estimand_and_merges_on_rerun(demo_dir, tmp_path):
    # invitations counted by department and location: 8 treated and 20 comparison units, enough for a headline
    study = me.Study(load_params(ROOT / "params" / "2023-spring.yaml", data_dir=str(demo_dir),
                                 assignment_unit=["department", "location"]), me.load(demo_dir))
    ret = retention.analyze(study, "mentee", bootstrap=20)
    pro = promotion.analyze(study, "mentee")
    assert ret.retention_tot.assignment.clusters == (8, 20) and ret.design.design == "rollout"
    found = me.Estimates.combine(ret, pro)
    table = found.to_frame()
    assert list(table.columns) == estimates.COLUMNS
    heads = table[table["headline"]].groupby(["role", "estimand"]).size()
    assert (heads == 1).all()
    assert {"retention_12m", "exit_rate", "promotion_12m"} <= set(heads.index.get_level_values("estimand"))
    assert found.where(estimand="retention_12m", headline=True)[0] is ret.headline
    assert [e.method for e in found.where(estimand="retention_12m", method=("naive", "km_matched"))] == ["naive", "km_matched"]
    assert retention.analyze(study, "mentee", bootstrap=20) is ret  # computed once per study
    path = found.write(tmp_path)
    found.write(tmp_path)  # a rerun replaces its own rows
    again = pd.read_csv(path)
    assert len(again) == len(table)
    assert set(again["method"]) >= {"naive", "itt_did", "tot_wald", "km_matched", "did_matched"}
    back = me.Estimates.read(path).to_frame()  # read back, every field survives the file (10 significant digits)
    order = ["role", "estimand", "method"]
    pd.testing.assert_frame_equal(back.sort_values(order, ignore_index=True), table.sort_values(order, ignore_index=True),
                                  rtol=1e-9)


def test_matched_promotion_panel_is_the_at_risk_panel_of_people_employed_through_the_pre_window(demo_dir):
    study = me.Study(load_params(ROOT / "params" / "2023-spring.yaml", data_dir=str(demo_dir)), me.load(demo_dir))
    panel, _ = promotion.matched_panel(study, "mentee")
    # by pandas from the whole company's at-risk panel: the matched people with weight, and of them
    # those whose first period in the window is its first
    matched, _ = study.cohort.matched("mentee")
    matched = matched[matched["cem_weight"] > 0].set_index("employee_id")
    pre, post, start = study.params.pre_periods, study.params.post_periods, study.cohort.start
    assert start.day == 1 and (pre, post) == (12, 12)
    full = me.panels.at_risk(study.dataset, "month", start=start - pd.DateOffset(months=pre),
                             end=start + pd.DateOffset(months=post) - pd.Timedelta(days=1), positions=True)
    full = full[full["employee_id"].isin(matched.index)]
    s = study.cohort.start_period
    full = full[full.groupby("employee_id")["period"].transform("min") == s - pre].reset_index(drop=True)
    assert full["period"].max() == s + post - 1
    assert panel["employee"].tolist() == full["employee"].tolist() and panel["period"].tolist() == full["period"].tolist()
    assert panel["promoted"].tolist() == full["promoted"].tolist() and full["promoted"].any()
    assert panel["grade_changed"].tolist() == full["grade_changed"].tolist()
    arm = matched["treated"].reindex(full["employee_id"]).to_numpy()
    assert panel["participant"].tolist() == arm.tolist() and 0 < arm.mean() < 1
    assert panel["cem_weight"].tolist() == matched["cem_weight"].reindex(full["employee_id"]).tolist()
    assert panel["treated_now"].tolist() == ((arm == 1) & (full["period"] >= s)).astype(int).tolist()
    assert panel["first_period"].tolist() == np.where(arm == 1, s, 0).tolist()
    assert (panel["promoted_pct"] == 100 * full["promoted"]).all()
    # stored small: 32 bytes a person-period (ints of four bytes or one, the weight and outcome as floats)
    assert panel.memory_usage(index=False).sum() == 32 * len(panel)


def test_comparison_groups_follow_the_params(demo_dir):
    ds = me.load(demo_dir)
    base = load_params(ROOT / "params" / "2023-spring.yaml", data_dir=str(demo_dir))
    enr = ds.enrollments
    later = set(enr.loc[(enr["cohort_id"] == "2024-autumn") & (enr["role"] == "mentee"), "employee_id"])
    near = set(enr.loc[enr["cohort_id"].isin(["2023-spring", "2023-autumn"]), "employee_id"])  # within 12 months
    groups = {}
    for comparison in ("matched", "never_treated", "not_yet_treated"):
        cohort = me.Study(base.model_copy(update={"comparison": comparison}), ds).cohort
        both, _ = cohort.matched("mentee")
        groups[comparison] = both
        control = set(both.loc[both["treated"] == 0, "employee_id"])
        if comparison == "not_yet_treated":
            assert control and control <= later  # later cohorts' mentees, eligible at this start
        else:
            assert control and not control & near  # nobody enrolled in a cohort within the window
    assert (groups["never_treated"]["cem_weight"] == 1).all()
    # a mentor who returns in a later cohort is a participant here, never also their own comparison
    study = me.Study(base.model_copy(update={"comparison": "not_yet_treated"}), ds)
    both, _ = study.cohort.matched("mentor")
    assert not both["employee_id"].duplicated().any()
    assert promotion.analyze(study, "mentor").matched_did is not None
    matched = groups["matched"]
    strata = matched[matched["cem_weight"] > 0].groupby("cem_stratum")["treated"].nunique()
    assert (strata == 2).all()  # every kept stratum holds both arms


def test_rollout_units_start_when_a_cohort_first_reaches_them(demo_dir):
    ds = me.load(demo_dir)
    rates = effects.rollout_panel(ds)
    first = rates.groupby("unit")["first_period"].first()
    spring_2023 = 2023 * 12 + 3  # April 2023 as a period number
    assert (first[first.index.str.startswith("HR /")] == 0).all()  # never invited
    assert (first[first.index.str.startswith("Engineering /")] == spring_2023).all()
    assert (first[first.index.str.startswith("Product /")] == 2024 * 12 + 9).all()  # first reached in autumn 2024
    by_unit_period = rates.set_index(["unit", "period"])
    panel = me.panels.at_risk(ds)
    one = panel[(panel["department"] == "Sales") & (panel["location"] == "Berlin") & (panel["period"] == spring_2023)]
    row = by_unit_period.loc[("Sales / Berlin", spring_2023)]
    assert row["at_risk"] == len(one)
    assert row["rate"] == pytest.approx(100 * one["exited_voluntary"].mean())
    result, _ = effects.fit_staggered(ds)
    assert result.control_group == "never_treated" and np.isfinite(result.aggregate("simple").overall_se)


def test_efron_sums_over_all_times_at_once_equal_lifelines_loop(monkeypatch):
    """The Cox model's Efron hessian, gradient and log partial likelihood, summed by time without a
    Python loop over rows, equal lifelines' own loop: two covariates, weights, many tied events and
    tied censorings, at a point away from zero; and nothing at all when there is no event."""
    from lifelines.fitters.coxph_fitter import SemiParametricPHFitter

    rng = np.random.default_rng(8)
    n = 2000
    x = np.c_[rng.integers(0, 2, n), rng.normal(size=n)]
    duration = np.sort(rng.integers(1, 60, n).astype(float))
    event = rng.random(n) < 0.5
    weights = rng.choice([0.5, 1.0, 3.0], n)
    beta = np.array([-0.4, 0.25])
    frame = [pd.DataFrame(x), pd.Series(duration), pd.Series(event), pd.Series(weights)]
    theirs = SemiParametricPHFitter()._get_efron_values_single(*frame, None, beta)
    ours = retention.efron_values(x, duration, event, weights, beta)
    assert np.bincount(np.unique(duration, return_inverse=True)[1][event]).max() > 20  # ties of 20+ events
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10)
    assert ours[2] == pytest.approx(theirs[2], rel=1e-12) and ours[2] < -1000
    none = retention.efron_values(x, duration, np.zeros(n, bool), weights, beta)
    assert none[2] == 0.0 and not none[0].any() and not none[1].any()
    # and the fitter the matched comparison uses calls it, not lifelines' loop
    original, calls = retention.efron_values, []

    def counted(*args):
        calls.append(args[0].shape)
        return original(*args)

    monkeypatch.setattr(retention, "efron_values", counted)
    people = pd.DataFrame({"duration": duration, "event": event.astype(int), "participant": x[:, 0], "weight": weights})
    retention._cox_fitter()().fit(people, "duration", "event", weights_col="weight", robust=True)
    assert len(calls) >= 2 and calls[0] == (n, 1)  # one Newton step or more, on the one covariate


def test_cox_robust_errors_by_cumulative_sums_equal_lifelines():
    """The matched Cox model's robust standard error and Schoenfeld residuals, computed with
    cumulative sums, equal lifelines' own O(n^2) loops on weighted data with tied durations."""
    from lifelines import CoxPHFitter
    from lifelines.fitters.coxph_fitter import SemiParametricPHFitter

    for name in ("_compute_score_within_strata", "_compute_schoenfeld_within_strata", "_choose_gradient_calculator",
                 "_fit_model_breslow"):
        # the methods replaced still exist in lifelines (else ours would be silently unused, and slow)
        assert hasattr(SemiParametricPHFitter if name != "_fit_model_breslow" else CoxPHFitter, name), name
    rng = np.random.default_rng(4)
    n = 3000
    frame = pd.DataFrame({"duration": rng.integers(1, 30, n) + rng.random(n).round(1),
                          "event": (rng.random(n) < 0.4).astype(int), "participant": rng.integers(0, 2, n),
                          "weight": rng.choice([0.5, 1.0, 2.5], n)})
    frame["event"] = frame["event"] * ((frame["participant"] == 0) | (rng.random(n) < 0.8))  # a hazard ratio below 1
    theirs = CoxPHFitter().fit(frame, "duration", "event", weights_col="weight", robust=True).summary.loc["participant"]
    ours = retention._cox_fitter()().fit(frame, "duration", "event", weights_col="weight", robust=True).summary.loc["participant"]
    assert theirs["se(coef)"] != pytest.approx(np.sqrt(1 / 300), rel=0.01)  # robust, not the model-based one
    for column in ("coef", "se(coef)", "exp(coef) lower 95%", "exp(coef) upper 95%", "p"):
        assert ours[column] == pytest.approx(theirs[column], rel=1e-10), column
    # the proportional-hazards test's Schoenfeld residuals (Efron ties) too
    from lifelines.statistics import proportional_hazard_test

    fits = [CoxPHFitter().fit(frame, "duration", "event", weights_col="weight"),
            retention._cox_fitter()().fit(frame, "duration", "event", weights_col="weight")]
    theirs_r, ours_r = (f.compute_residuals(frame, "schoenfeld").to_numpy() for f in fits)
    assert len(ours_r) == frame["event"].sum() and np.abs(ours_r).max() > 0.1
    np.testing.assert_allclose(ours_r, theirs_r, rtol=1e-10, atol=1e-12)
    tests = [proportional_hazard_test(f, frame, time_transform="rank").p_value[0] for f in fits]
    assert tests[1] == pytest.approx(tests[0], rel=1e-10)
