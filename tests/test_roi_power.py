"""ROI arithmetic by hand, the uncertainty carried into it, and the power formulas by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import mentoring_eval as me
from mentoring_eval import power, roi
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    """The demo company (5,000 employees, a lottery, a capacity cohort and two rollouts): the study of
    its last cohort, whose `so_far` holds all four (the first is the lottery)."""
    out = tmp_path_factory.mktemp("mix")
    me.simulate(out, n_employees=5000, seed=0, design="mix")
    pf = ROOT / "params" / "2024-autumn.yaml"
    return me.Study(me.load_params(pf, data_dir=str(out)), me.load(out), pf)


def _result(cut=(2.0, 1.0, 3.0, 0.5), multiplier=(1.0, 1.0), naive=6.0, exits="voluntary"):
    """10,000 spent on 50 mentees earning 60,000: a point of exits is worth 30,000 x the multiplier."""
    c = None if cut is None else roi.ExitCut(*cut, exits=exits, design="lottery", evidence="randomized",
                                             cohorts=("C",))
    return roi.ROIResult("C", cost=10_000, participants=50, salary=60_000, multiplier=multiplier, currency="EUR",
                         cut=c, naive_cut=naive, prior_sd=2.5)


def test_roi_arithmetic_by_hand():
    r = _result()
    # worth of one point = 50 / 100 x 60,000 x 1 = 30,000; break-even = 10,000 / 30,000 pp
    assert r.worth() == pytest.approx(30_000) and r.break_even == pytest.approx(1 / 3)
    assert r.roi == pytest.approx((2.0 * 30_000 - 10_000) / 10_000)  # 5.0
    assert r.roi_interval == pytest.approx(((1.0 * 30_000 - 10_000) / 10_000, (3.0 * 30_000 - 10_000) / 10_000))
    assert r.net == pytest.approx(50_000) and r.naive_roi == pytest.approx(17.0)
    assert r.verdict == "pays back"  # the whole interval (1 to 3 pp) clears a third of a point
    wide = _result(multiplier=(0.5, 2.0))
    assert wide.break_even == pytest.approx(10_000 / (0.5 * 60_000 * 1.25)) and wide.break_even_range == pytest.approx(
        (10_000 / (0.5 * 60_000 * 2.0), 10_000 / (0.5 * 60_000 * 0.5)))
    # corners: the low end of the cut at the cheapest departure, the high end at the dearest
    assert wide.roi_interval == pytest.approx(((1.0 * 15_000 - 10_000) / 10_000, (3.0 * 60_000 - 10_000) / 10_000))
    table = r.to_frame().set_index(["estimand", "method"])
    assert table.loc[("roi", "causal"), "estimate"] == pytest.approx(500.0)  # percent
    assert table.loc[("net_benefit", "causal"), "unit"] == "EUR" and table.loc[("program_cost", "costs"), "estimate"] == 10_000
    assert table.loc[("roi", "causal"), "note"].startswith("verdict: pays back;")
    assert table.loc[("exit_cut", "naive"), "estimate"] == 6.0


@pytest.mark.parametrize("low, high, expected", [(1.0, 3.0, "pays back"), (-4.0, 0.3, "does not pay back"),
                                                 (-4.0, 3.0, "cannot tell yet"), (0.1, 3.0, "cannot tell yet"),
                                                 (float("nan"), float("nan"), "cannot tell yet")])
def test_verdict_needs_the_whole_interval_on_one_side_of_the_break_even(low, high, expected):
    assert roi.verdict(low, high, break_even=1 / 3) == expected
    assert _result(cut=None).verdict == "cannot tell yet"


def test_an_observational_comparison_never_decides():
    r = _result()
    assert r.verdict == "pays back"
    matched = roi.ROIResult("C", 10_000, 50, 60_000, (1.0, 1.0), "EUR",
                            roi.ExitCut(2.0, 1.0, 3.0, 0.5, "voluntary", "observational", "observational", ("C",)),
                            6.0, 2.5)
    assert matched.verdict == "cannot tell yet" and "carries the volunteers' selection" in matched.sentence()
    assert matched.prob_pays_back == matched.prior_pays_back < r.prob_pays_back  # its selection moves nothing


def test_rounding_follows_the_width_of_the_interval():
    assert roi.rounded(-1834.4, -6559.0, 1487.0) == -2000  # an 8,000-point-wide interval: thousands
    assert roi.rounded(37.4, 20.0, 60.0) == 40  # 40 wide: tens
    assert roi.rounded(3.46, 2.0, 5.0) == 3  # narrow: units, never decimals


def test_chance_it_paid_back_is_the_skeptical_posterior():
    # independent: the posterior of a normal prior N(0, 2.5^2) and a normal likelihood, on a grid
    from scipy.integrate import quad

    for cut, se, threshold in ((4.0, 1.0, 1.0), (1.2, 4.6, 0.7), (-3.0, 2.0, 0.5)):
        def density(theta, cut=cut, se=se):
            return stats.norm.pdf(theta, 0, 2.5) * stats.norm.pdf(cut, theta, se)

        expected = quad(density, threshold, 60)[0] / quad(density, -60, 60)[0]
        assert roi.skeptical_probability(cut, se, threshold, 2.5) == pytest.approx(expected, abs=1e-8)
    # no data: the prior's own answer; a precise zero: almost no chance
    assert roi.skeptical_probability(0.0, np.inf, 1.0, 2.5) == pytest.approx(stats.norm.sf(1.0 / 2.5))
    assert roi.skeptical_probability(0.0, 0.05, 1.0, 2.5) < 1e-6
    r = _result(cut=(1.2, -7.8, 10.2, 4.6))
    assert r.prior_pays_back < r.prob_pays_back < 0.5  # an imprecise estimate barely moves the prior


def test_with_no_planted_effect_the_money_cannot_say_it_paid_back(tmp_path):
    me.simulate(tmp_path, n_employees=6000, seed=2, effects=me.Effects.null())
    # invitations counted by department and location, so the rollout can head the report (no shocks planted)
    study = me.Study(me.load_params(ROOT / "params" / "2023-spring.yaml", data_dir=str(tmp_path),
                                    assignment_unit=["department", "location"]), me.load(tmp_path))
    me.retention.analyze(study, "mentee", bootstrap=20)
    r = roi.compute(study)
    head = me.retention.analyze(study, "mentee").headline
    assert head.estimand == "retention_12m" and r.cut.exits == "any reason"  # the rollout measures every exit
    assert (r.cut.estimate, r.cut.ci_low, r.cut.ci_high) == (head.estimate, head.ci_low, head.ci_high)
    assert r.verdict != "pays back"
    lo, hi = r.roi_interval
    assert lo <= -1.0 <= hi  # -100%: the cost spent and nothing back is among what the evidence allows
    assert r.naive_roi > r.roi  # the naive gap from self-selection alone looks like a return
    cost = roi.costs(study).set_index("category")["amount"]
    assert {"software", "mentor_time", "mentee_time"} <= set(cost.index) and (cost > 0).all()
    assert r.cost == pytest.approx(cost.sum())


def test_the_money_rests_on_the_strongest_evidence_so_far(program):
    late = program
    assert [s.cohort_id for s in late.so_far] == ["2023-spring", "2023-autumn", "2024-spring", "2024-autumn"]
    r = roi.compute(late)
    lottery = me.retention.analyze(late.so_far[0], "mentee").estimates.first(estimand="voluntary_exit_12m",
                                                                             method="tot_iv")
    # the only lottery is the strongest design: its (bounded) effect on voluntary exits, sign flipped
    assert r.cut.design == "lottery" and r.cut.cohorts == ("2023-spring",) and r.cut.exits == "voluntary"
    assert r.cut.estimate == pytest.approx(-lottery.estimate) and r.cut.ci_low == pytest.approx(-lottery.ci_high)
    # priced for this cohort: its own cost and the mentees who took part (a match), employed at its start
    assert r.cost == pytest.approx(roi.costs(late)["amount"].sum())
    m = late.dataset.matches
    matched = set(m.loc[m["cohort_id"] == "2024-autumn", "mentee_id"])
    assert r.participants == late.cohort.participants("mentee")["employee_id"].isin(matched).sum() > 100
    early = roi.compute(late.so_far[0])  # the lottery: applicants turned down avoid no departure
    assert early.participants == me.applicants.pool(late.so_far[0]).people["took_part"].sum()  # the first cohort


def test_what_it_would_take_counts_the_next_lottery_by_hand(program):
    study = program.so_far[0]  # the lottery cohort: the first, so the evidence so far is its own
    assert study.so_far == [study]
    found = power.what_it_takes(study, break_even=1.0)
    people = me.applicants.pool(study).people
    rate = len(people) / study.cohort.participation_share("mentee").eligible
    n = int(round(rate * study.cohort.participation_share("mentee").eligible))
    assert found.expected_applicants == n
    offered = people["offered"].astype(bool)
    take_up = people.loc[offered, "took_part"].mean() - people.loc[~offered, "took_part"].mean()
    alone = power.mde(n // 2, n - n // 2, 100 - people["voluntary_exit_12m"].mean(), participation_share=take_up)
    have = me.retention.analyze(study, "mentee").estimates.first(estimand="voluntary_exit_12m", method="tot_iv")
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    pooled = z / np.sqrt((z / alone) ** 2 + 1 / have.std_error ** 2)
    assert found.mde("voluntary_exit_12m", "next_lottery") == pytest.approx(pooled)
    assert found.mde("voluntary_exit_12m", "this_cohort") == pytest.approx(z * have.std_error)
    rows = found.estimates.to_frame()
    assert {"mde_retention_12m", "mde_voluntary_exit_12m", "mde_promotion_12m"} <= set(rows["estimand"])
    # lotteries of that size needed to see the break-even: (se_next / se_goal)^2 less what the lottery so far gives
    need = ((z / 1.0) ** 2 - 1 / have.std_error ** 2) * (alone / z) ** 2
    assert found.lotteries_to_know == pytest.approx(need)


def test_minimum_detectable_effect_matches_simulated_power():
    n, base = 600, 15.0
    effect = power.mde(n, n, base)
    rng = np.random.default_rng(0)
    p0, p1 = base / 100, base / 100 + effect / 100
    x0, x1 = rng.binomial(n, p0, 4000), rng.binomial(n, p1, 4000)
    pooled = (x0 + x1) / (2 * n)
    z = (x1 / n - x0 / n) / np.sqrt(pooled * (1 - pooled) * 2 / n)
    assert np.mean(np.abs(z) > 1.959964) == pytest.approx(0.80, abs=0.03)
    assert power.sample_size(effect, base) == n
    assert power.mde(n, n, base, participation_share=0.1) == pytest.approx(10 * effect)


@pytest.mark.parametrize(
    "value, low, high, elapsed, direction, expected_status",
    [
        (88.0, 86.0, 90.0, 0.5, "increase", "on track"),  # expected now 87.5: reached
        (86.0, 83.0, 89.0, 0.5, "increase", "at risk"),  # below 87.5, interval reaches it
        (84.0, 82.0, 86.0, 0.5, "increase", "off track"),  # even the interval falls short
        (89.0, 87.0, 91.0, 1.5, "increase", "missed"),  # deadline passed: below the target 90, whatever its interval
        (91.0, 87.0, 93.0, 1.0, "increase", "met"),
        (12.0, 10.0, 14.0, 1.0, "decrease", "met"),  # a rate to bring down from 20 to 12
        (16.0, 15.0, 17.0, 1.0, "decrease", "missed"),
        (17.0, 15.0, 18.0, 0.5, "decrease", "at risk"),  # halfway: expected 16, only the interval reaches it
    ],
)
def test_scorecard_status_rule(value, low, high, elapsed, direction, expected_status):
    from mentoring_eval.scorecard import status

    baseline, target = (85.0, 90.0) if direction == "increase" else (20.0, 12.0)
    got, expected_now = status(value, low, high, baseline, target, elapsed, direction)
    assert got == expected_status
    assert expected_now == pytest.approx(baseline + (target - baseline) * min(elapsed, 1.0))


@pytest.mark.parametrize(
    "value, low, high, elapsed, expected_status",
    [
        (3.0, 2.5, 3.5, 1.2, "met"),  # the whole interval reaches the 2 pp target
        (3.0, -1.0, 7.0, 1.2, "cannot tell"),  # a point above the target is not enough
        (0.5, -1.0, 1.5, 1.2, "missed"),  # even the interval's top falls short
        (3.0, -1.0, 7.0, 0.5, "at risk"),  # halfway: expected 1 pp; only the interval reaches it
        (3.0, 1.5, 4.5, 0.5, "on track"),
    ],
)
def test_effect_goals_are_scored_on_the_interval(value, low, high, elapsed, expected_status):
    from mentoring_eval.scorecard import status

    assert status(value, low, high, 0.0, 2.0, elapsed, "increase", kind="effect")[0] == expected_status


def test_scorecard_flags_goals_that_are_not_smart_and_keeps_levels_apart_from_effects(program):
    study = program.so_far[0]
    card = me.scorecard.build(study).table.set_index(["metric", "kind"])
    assert card.loc[("nps", "level"), "status"] == "not SMART (no baseline)"
    level, effect = card.loc[("retention_12m", "level")], card.loc[("retention_12m", "effect")]
    assert level["status"] in ("met", "missed") and effect["status"] in ("met", "missed", "cannot tell")  # deadline passed
    naive = me.retention.naive(study, "mentee")
    assert level["value"] == pytest.approx(naive.rate_participants)  # the mentees' own rate, shown as a level
    head = me.retention.analyze(study, "mentee").headline
    assert (effect["value"], effect["ci_low"], effect["ci_high"]) == pytest.approx((head.estimate, head.ci_low, head.ci_high))
    assert effect["baseline"] == 0.0


def test_executive_summary_first_screen_answers_in_order(program):
    page = me.summary.build(program)
    text = me.narrate.summary(page)
    paragraphs = text.split("\n\n")[1:6]  # after the cohort's heading
    assert [p.split(":", 1)[0] for p in paragraphs] == ["**Verdict", "**Best estimate", "**What a platform would print",
                                                        "**Money", "**What it would take to know"]
    r = page.roi
    assert paragraphs[0].startswith({"pays back": "**Verdict: mentoring works and pays back.**",
                                     "does not pay back": "**Verdict: no effect large enough to matter.**",
                                     "cannot tell yet": "**Verdict: "}[r.verdict])
    assert f"between {me.narrate.signed(r.cut.ci_low)} and {me.narrate.signed(r.cut.ci_high)} pp" in paragraphs[1]
    assert f"**{abs(r.cut.estimate):.1f}" not in text  # the point estimate is never led with in bold
    naive = me.retention.naive(program, "mentee")
    assert f"mentees stayed {naive.rate_participants:.0f}% vs {naive.rate_others:.0f}%" in paragraphs[2]
    assert f"at least {r.break_even:.1f} pp" in paragraphs[3] and f"{r.cost:,.0f} USD" in paragraphs[3]
    assert f"the chance it paid back is {100 * r.prob_pays_back:.0f}%" in paragraphs[3]
    # this cohort on its own comes after, and says it cannot answer when its rollout is too small
    rest = text.split("### This cohort on its own", 1)[1]
    head = page.retention.headline
    assert head is None and "This cohort alone cannot answer" in rest  # 3 departments against 2


def test_the_cohorts_so_far_are_those_of_the_same_data(demo_dir, tmp_path):
    """Params files beside each other but naming another company's data are not this program's."""
    import shutil

    import yaml

    other = tmp_path / "other"
    shutil.copytree(demo_dir, other)  # same cohort ids, another company
    folder = tmp_path / "params"
    folder.mkdir()
    for name, cohort, data in (("a1", "2023-spring", demo_dir), ("a2", "2024-autumn", demo_dir),
                               ("b1", "2023-autumn", other), ("a0", "2024-spring", demo_dir)):
        raw = yaml.safe_load((ROOT / "params" / f"{cohort}.yaml").read_text())
        (folder / f"{name}.yaml").write_text(yaml.safe_dump({**raw, "data_dir": str(data)}))
    late = me.open_study(folder / "a2.yaml")
    assert [s.cohort_id for s in late.so_far] == ["2023-spring", "2024-spring", "2024-autumn"]
    assert late.so_far[-1] is late
    # read against another copy of the same data (a notebook's data_dir override): the same siblings
    moved = me.open_study(folder / "a2.yaml", data_dir=other)
    assert [s.cohort_id for s in moved.so_far] == ["2023-spring", "2024-spring", "2024-autumn"]
    assert all(s.dataset is moved.dataset for s in moved.so_far)
