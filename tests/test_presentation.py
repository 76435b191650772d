"""What stakeholders read: readers' names and number formats, one count per population, the page
header and index, and the PDF printer's errors; each checked against a worked answer."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import mentoring_eval as me
from mentoring_eval import labels
from mentoring_eval.privacy import Disclosure

from .conftest import ROOT
from .test_metrics import TINY


@pytest.fixture
def tiny(tmp_path):
    for name, text in TINY.items():
        (tmp_path / f"{name}.csv").write_text(text)
    return me.Study(me.CohortParams(cohort_id="C1", data_dir=tmp_path), me.load(tmp_path))


def test_numbers_by_kind_never_print_minus_zero():
    assert labels.number(1436.7, "count") == "1,437"
    assert labels.number(-0.04, "pp") == "+0.0"  # rounds to zero: no sign of a direction
    assert labels.number(-0.004, "score") == "0.00"
    assert labels.number(2.345, "pp") == "+2.3"
    assert labels.number(17.46, "pct") == "17.5"
    assert labels.number(115982.4, "money") == "115,982"
    assert labels.number(float("nan"), "pct") == "\u2014"
    assert labels.number(True, "level") == "yes"
    assert labels.interval(-0.04, 0.43, "score") == "-0.04 to 0.43"
    assert labels.interval(-0.001, 0.43, "score") == "0.00 to 0.43"


def test_readable_tables_join_intervals_name_columns_and_say_yes_or_no():
    frame = pd.DataFrame({"role": ["mentee", "mentor"], "satisfaction_mean": [4.123, 3.9],
                          "satisfaction_ci_low": [3.9, 3.5], "satisfaction_ci_high": [4.3, 4.2],
                          "outside_2_3": [True, False], "nps_std_error": [3.0, 4.0], "method": ["tot_wald", "naive"]})
    shown, kinds = labels.readable(frame)
    assert list(shown.columns) == ["role", "satisfaction (mean, 1-5)", "satisfaction: interval",
                                   "outside the recommended 2-3", "method"]
    assert shown["role"].tolist() == ["mentees", "mentors"]
    assert shown["satisfaction: interval"].tolist() == ["3.90 to 4.30", "3.50 to 4.20"]
    assert shown["outside the recommended 2-3"].tolist() == ["yes", "no"]
    assert shown["method"].tolist() == ["effect on participants (department comparison)",
                                        "naive: participants vs everyone else"]
    assert kinds["satisfaction (mean, 1-5)"] == "score"
    analyst, _ = labels.readable(frame, stakeholder=False)
    assert "nps std error" in analyst.columns  # analysts keep the standard error
    assert analyst["method"].tolist()[0] == "effect on participants (department comparison) [tot_wald]"


def test_tables_escape_text_from_the_data_and_print_people_as_whole_numbers():
    frame = pd.DataFrame({"department": ["Sales<script>alert(1)</script>", "HR"],
                          "average_headcount": [5007.5, 12.0], "turnover_rate": [-0.01, 17.46]})
    page = me.display.table(frame, Disclosure("stakeholder", 5)).to_html()
    assert "<script>" not in page and "Sales&lt;script&gt;alert(1)&lt;/script&gt;" in page
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", page)
    assert cells == ["Sales&lt;script&gt;alert(1)&lt;/script&gt;", "5,008", "0.0", "HR", "12", "17.5"]
    assert ">average headcount</th>" in page and ">turnover (% per year)</th>" in page


def test_each_population_counted_once_by_hand(tiny):
    # C1 starts 2022-02-01. Mentees (levels 1-3, 6+ months): E1 (level 1, 24 months) and E2 (level 2,
    # 21 months); E3 has 12 days. Mentors (levels 4-7, 24+ months): E4 was hired that day. E1 and E2
    # enrolled as mentees (E2 withdrew), E4 as a mentor and completed; no matches table, so matched
    # and active come from the platform's status.
    found = me.populations.counts(tiny).set_index("role")
    assert found.loc["mentee"].tolist() == [2, 2, 0, 0, 0, 1]
    assert found.loc["mentor"].tolist() == [0, 1, 1, 1, 1, 0]
    assert list(found.columns) == list(me.populations.POPULATIONS)
    assert me.populations.members(tiny, "mentee", "withdrawn").tolist() == ["E2"]
    funnel = me.program_health.funnel(tiny).set_index(["role", "stage"])["count"]
    assert funnel.loc["mentee"].tolist() == [2, 2, 0, 0, 0, 1]  # the funnel prints the same counts
    span = me.narrate.people(tiny, "mentee", "enrolled")
    assert span == '<span class="pop-mentee pop-mentee-enrolled">fewer than 5</span>'  # suppressed, tagged


def test_a_window_beyond_the_data_is_cut_and_said(demo_dir):
    params = me.load_params(me.params.find_files(["params"])[0], data_dir=str(demo_dir))
    wide = me.Study(params.model_copy(update={"period": "quarter", "pre_periods": 12}), me.load(demo_dir))
    first, last, wanted_first, wanted_last = wide.window
    assert wanted_first < first and (first, last) != (wanted_first, wanted_last)
    begins = me.panels.period_index(pd.Series([wide.dataset.begins]), "quarter")[0]
    assert first == begins  # the panel starts in the quarter the data begin, not before
    assert wide.panel["period"].min() == first and wide.panel["period"].max() <= last
    text = me.narrate.data_span(wide)
    assert text.startswith(f"The data begin on {wide.dataset.begins.day} ")
    assert f"the {first - wanted_first} earliest of the 12 quarters before the start" in text
    normal = me.Study(params, me.load(demo_dir))
    assert me.narrate.data_span(normal) == "" and normal.window[:2] == normal.window[2:]


def test_comparison_text_follows_the_params(tiny):
    matched = me.narrate.comparison(tiny)
    assert "matched on department, job level, tenure band, rating band" in matched and "by months" in matched
    never = me.Study(tiny.params.model_copy(update={"comparison": "never_treated", "period": "quarter"}), tiny.dataset)
    text = me.narrate.comparison(never)
    assert "not matched" in text and "matched on" not in text and "by quarters since" in text


def test_page_header_links_every_page_by_name_and_the_index():
    pages = ("00_data_overview", "06_summary", "07_cohorts_compared")
    head = me.publish.navigation("2023-spring", ("Spring <2023>", "2023-04-01", "2023-12-31"), "06_summary", pages)
    assert "<b>Spring &lt;2023&gt;</b> <span class='me-dates'>2023-04-01 to 2023-12-31</span>" in head
    assert "<a href='00_data_overview.html'>Data</a>" in head
    assert "<a href='06_summary.html' aria-current='page'>Summary</a>" in head
    assert "<a href='../all-cohorts/07_cohorts_compared.html'>All cohorts compared</a>" in head
    assert "<a href='../index.html'>" in head and "Intervals on this page are 95% intervals." in head
    shared = me.publish.navigation("all-cohorts", ("", "", ""), "07_cohorts_compared", pages)
    assert "Data</a>" not in shared and "<b>All cohorts</b>" in shared


def test_index_lists_the_pooled_row_first_then_cohorts_by_start(tmp_path):
    rows = [{"cohort_id": c, "notebook": nb, "status": "done", "seconds": 1.0, "html": f"{c}/{nb}.html", "cell": "",
             "message": ""} for c in ("zeta", "alpha", "all-cohorts", "mid") for nb in ("06_summary",)]
    cohorts = {"zeta": ("Zeta <first>", "2021-01-01", "2021-06-30"), "alpha": ("Alpha", "2024-01-01", "2024-06-30"),
               "mid": ("Mid", "2022-06-01", "2022-12-31")}
    page = me.publish.write_index(tmp_path, pd.DataFrame(rows), cohorts).read_text()
    order = re.findall(r"<tr id='([^']+)'>", page)
    assert order == ["all-cohorts", "zeta", "mid", "alpha"]
    assert "<b>Zeta &lt;first&gt;</b><br><span class='me-dates'>2021-01-01 to 2021-06-30</span>" in page
    assert '<a href="mid/06_summary.html" title="ran in 1 s">Summary</a>' in page


def test_pdf_without_a_browser_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(me.pdf.CHROMIUM_ENV, raising=False)
    with pytest.raises(me.MentoringEvalError, match=r"--pdf needs headless Chromium: install it \(Debian: apt-get "
                                                     r"install chromium\) or set MENTORING_EVAL_CHROMIUM"):
        me.pdf.browser()
    monkeypatch.setenv(me.pdf.CHROMIUM_ENV, "/nowhere/chrome")
    with pytest.raises(me.MentoringEvalError, match="MENTORING_EVAL_CHROMIUM=/nowhere/chrome: no such program"):
        me.pdf.browser()


def test_funnel_chart_is_linear_labelled_with_counts_and_hides_small_cells(tiny):
    import matplotlib

    matplotlib.use("Agg")
    table = pd.DataFrame({"role": ["mentee"] * 5 + ["mentor"] * 5, "stage": list(me.populations.POPULATIONS[:5]) * 2,
                          "count": [400, 60, 40, 3, 30, 100, 20, 15, 15, 12],
                          "pct_of_eligible": np.r_[[100, 15, 10, 0.75, 7.5], [100, 20, 15, 15, 12]]})
    ax = me.display.funnel(table, Disclosure("stakeholder", 5))
    assert ax.get_yscale() == "linear"
    shown = [t.get_text() for t in ax.texts]
    assert "400" in shown and "60" in shown and "3" not in shown  # the small cell has no label


def test_funnel_rates_blank_only_the_small_stages():
    table = pd.DataFrame({"role": ["mentee"] * 3, "stage": ["eligible", "enrolled", "withdrawn"],
                          "count": [400, 60, 3], "pct_of_previous": [np.nan, 15.0, np.nan],
                          "pct_of_eligible": [100.0, 15.0, 0.75], "ci_low": [99.0, 11.9, 0.3],
                          "ci_high": [100.0, 18.8, 2.2]})
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", me.display.funnel_rates(table, Disclosure("stakeholder", 5)).to_html())
    assert cells == ["mentees", "enrolled", "15.0", "15.0", "11.9 to 18.8", "mentees", "withdrawn", "\u2014", "\u2014", ""]
    shown = re.findall(r"<td[^>]*>([^<]*)</td>", me.display.funnel_rates(table, Disclosure("analyst", 5)).to_html())
    assert shown[-3:] == ["\u2014", "0.8", "0.3 to 2.2"]  # analysts see the small stage


def test_published_counts_withhold_small_groups_and_small_remainders(demo_dir):
    study = me.open_study(ROOT / "params" / "2023-spring.yaml", data_dir=demo_dir)
    n = me.populations.counts(study).set_index("role")
    public = me.populations.published(study).set_index("role")
    small = study.disclosure.min_cell_size
    for role in me.populations.ROLES:
        ids = {p: set(me.populations.members(study, role, p)) for p in me.populations.POPULATIONS}
        for p in me.populations.POPULATIONS:
            if 0 < n.loc[role, p] < small:
                assert pd.isna(public.loc[role, p]), (role, p)
            if pd.notna(public.loc[role, p]):
                assert public.loc[role, p] == n.loc[role, p]
        for outer in me.populations.POPULATIONS:  # no two shown counts of nested groups differ by 1 to 4 people
            for inner in me.populations.POPULATIONS:
                if outer != inner and ids[inner] <= ids[outer] and pd.notna(public.loc[role, outer]) \
                        and pd.notna(public.loc[role, inner]):
                    assert not 0 < n.loc[role, outer] - n.loc[role, inner] < small, (role, outer, inner)
    withheld = [(r, p) for r in me.populations.ROLES for p in me.populations.POPULATIONS if pd.isna(public.loc[r, p])]
    assert any(n.loc[r, p] >= small for r, p in withheld)  # the small test company has a small remainder
    analyst = me.Study(study.params.model_copy(update={"audience": "analyst"}), study.dataset)
    assert me.populations.published(analyst).set_index("role").equals(n.astype("Int64"))
    role, p = next((r, p) for r, p in withheld if n.loc[r, p] >= small)
    assert me.narrate.people(study, role, p).endswith(">all but a few</span>")


def test_funnel_rates_never_give_back_a_withheld_count():
    table = pd.DataFrame({"role": ["mentee"] * 4, "stage": ["eligible", "enrolled", "matched", "active"],
                          "count": [400, 60, 58, 50], "pct_of_previous": [np.nan, 15.0, 96.7, 86.2],
                          "pct_of_eligible": [100.0, 15.0, 14.5, 12.5], "ci_low": [99.0, 11.9, 11.4, 9.6],
                          "ci_high": [100.0, 18.8, 18.2, 16.1], "withheld": [False, False, True, False]})
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", me.display.funnel_rates(table, Disclosure("stakeholder", 5)).to_html())
    # matched (60 - 58 = 2 left out) shows no rate; active's share of matched would give it back too
    assert cells == ["mentees", "enrolled", "15.0", "15.0", "11.9 to 18.8",
                     "mentees", "matched", "\u2014", "\u2014", "",
                     "mentees", "active", "\u2014", "12.5", "9.6 to 16.1"]


def test_a_suppressed_rate_shows_no_interval_either():
    found = me.Estimates([me.Estimate(cohort_id="C1", role="mentor", estimand="match_rate", method="funnel",
                                      estimate=96.67, ci_low=83.33, ci_high=99.41, n_treated=29, n_control=1,
                                      design="descriptive", unit="percent")])
    html_ = me.display.estimates(found, Disclosure("stakeholder", 5)).to_html()
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html_)
    assert "96.7" not in html_ and "83.3" not in html_ and "99.4" not in html_
    assert cells[-4:] == ["\u2014", "", "\u2014", "\u2014"]


def test_a_small_cell_in_one_estimate_blanks_no_other_estimate():
    rows = [me.Estimate(cohort_id="C1", role="mentor", estimand="match_rate", method="funnel", estimate=96.67,
                        ci_low=83.33, ci_high=99.41, n_treated=29, n_control=1, design="descriptive", unit="percent"),
            me.Estimate(cohort_id="C1", role="mentee", estimand="retention_12m", method="itt_did", estimate=3.1,
                        ci_low=-1.0, ci_high=7.0, n_treated=300, n_control=280, design="lottery", unit="pp",
                        headline=True)]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", me.display.estimates(me.Estimates(rows), Disclosure("stakeholder",
                                                                                                       5)).to_html())
    assert cells[3:7] == ["+3.1", "-1.0 to +7.0", "300", "280"]  # the headline row is whole
    assert cells[-4:] == ["\u2014", "", "\u2014", "\u2014"]  # the 29 of 30 would give the 1 back: all blank


def test_a_shared_estimates_file_holds_no_small_group_of_a_descriptive_figure(tmp_path):
    rows = [me.Estimate(cohort_id="C1", role="mentor", estimand="match_rate", method="funnel", estimate=96.67,
                        ci_low=83.33, ci_high=99.41, n_treated=29, n_control=1, design="descriptive", unit="percent"),
            me.Estimate(cohort_id="C1", role="mentee", estimand="match_rate", method="funnel", estimate=50.0,
                        ci_low=40.0, ci_high=60.0, n_treated=30, n_control=30, design="descriptive", unit="percent"),
            me.Estimate(cohort_id="C1", role="mentee", estimand="retention_12m", method="itt_did", estimate=3.1,
                        ci_low=-1.0, ci_high=7.0, n_treated=300, n_control=280, design="lottery", unit="pp")]
    found = me.Estimates(rows)
    back = me.Estimates.read(found.disclosed(Disclosure("stakeholder", 5)).write(tmp_path)).to_frame()
    mentor = back[back["role"] == "mentor"].iloc[0]
    assert mentor[["estimate", "ci_low", "ci_high", "n_treated", "n_control"]].isna().all()
    assert back[back["role"] == "mentee"].set_index("estimand")["estimate"].to_dict() == {"match_rate": 50.0,
                                                                                         "retention_12m": 3.1}
    assert found.disclosed(Disclosure("analyst", 5)) is found
