"""Program and workforce metrics computed from a Dataset: headcount, exits and turnover over
time, and cohort sizes. Rates follow the SHRM definition: separations / average headcount."""

from __future__ import annotations

import pandas as pd

from .data import Dataset

PERIOD_FREQ = {"month": "M", "quarter": "Q", "year": "Y"}
STATUSES = ("applied", "matched", "active", "completed", "withdrawn")


def _freq(period: str) -> str:
    try:
        return PERIOD_FREQ[period]
    except KeyError:
        raise ValueError(f"period must be one of {', '.join(PERIOD_FREQ)}, got {period!r}") from None


def headcount_by_period(ds: Dataset, period: str = "month", start=None, end=None) -> pd.DataFrame:
    """Headcount at the start and end of each period, hires, and voluntary and involuntary exits,
    with the period's turnover rate in percent (separations / average headcount).

    The default span runs from the first recorded exit (where the HRIS export's history starts)
    to the latest date in the employees table."""
    freq = _freq(period)
    emp = ds.employees
    terminated = emp["termination_date"] if "termination_date" in emp else pd.Series(pd.NaT, index=emp.index)
    first = pd.Timestamp(start) if start is not None else (terminated.min() if terminated.notna().any() else emp["hire_date"].min())
    last = pd.Timestamp(end) if end is not None else max(emp["hire_date"].max(), terminated.max() if terminated.notna().any() else emp["hire_date"].max())
    periods = pd.period_range(first, last, freq=freq)
    hire_p = emp["hire_date"].dt.to_period(freq)
    exit_p = terminated.dt.to_period(freq)
    reason = emp["termination_reason"] if "termination_reason" in emp else pd.Series(pd.NA, index=emp.index, dtype="str")
    before = lambda p: p < periods[0]
    start_count = int((before(hire_p) & ~(exit_p.notna() & before(exit_p))).sum())
    hires = hire_p[~before(hire_p)].value_counts().reindex(periods, fill_value=0)
    vol = exit_p[(reason == "voluntary").fillna(False)].value_counts().reindex(periods, fill_value=0)
    inv = exit_p[(reason == "involuntary").fillna(False)].value_counts().reindex(periods, fill_value=0)
    exits = vol + inv
    end_count = start_count + (hires - exits).cumsum()
    start_counts = end_count.shift(1, fill_value=start_count)
    out = pd.DataFrame({
        "period": periods.astype(str),
        "period_start": periods.start_time,
        "headcount_start": start_counts.to_numpy(),
        "hires": hires.to_numpy(),
        "exits_voluntary": vol.to_numpy(),
        "exits_involuntary": inv.to_numpy(),
        "headcount_end": end_count.to_numpy(),
    })
    average = (out["headcount_start"] + out["headcount_end"]) / 2
    out["turnover_rate"] = 100 * (out["exits_voluntary"] + out["exits_involuntary"]) / average
    out["voluntary_turnover_rate"] = 100 * out["exits_voluntary"] / average
    return out


def cohort_sizes(ds: Dataset, cohort_id: str | None = None) -> pd.DataFrame:
    """Enrolled people per cohort and role, by status (applied, matched, active, completed, withdrawn)."""
    enr = ds.enrollments
    if cohort_id is not None:
        enr = enr[enr["cohort_id"] == cohort_id]
    statuses = list(STATUSES)
    wide = (enr.groupby(["cohort_id", "role", "status"]).size().unstack("status")
            .reindex(columns=statuses).fillna(0).astype("int64"))
    wide["enrolled"] = wide[statuses].sum(axis=1)
    wide.columns.name = None
    return wide.reset_index()


def plot_headcount(headcount: pd.DataFrame, ax=None):
    """Headcount (line, left axis) and voluntary / involuntary exits per period (bars, right axis)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.6))
    x = headcount["period_start"]
    ax.plot(x, headcount["headcount_end"], color="#0072B2", lw=2, label="headcount (end of period)")
    ax.set_ylabel("employees")
    ax.set_ylim(0, headcount["headcount_end"].max() * 1.15)
    ax2 = ax.twinx()
    width = (x.iloc[1] - x.iloc[0]).days * 0.8 if len(x) > 1 else 20
    ax2.bar(x, headcount["exits_voluntary"], width=width, color="#E69F00", alpha=0.7, label="voluntary exits")
    ax2.bar(x, headcount["exits_involuntary"], width=width, bottom=headcount["exits_voluntary"], color="#999999",
            alpha=0.7, label="involuntary exits")
    ax2.set_ylabel("exits per period")
    ax2.set_ylim(0, (headcount["exits_voluntary"] + headcount["exits_involuntary"]).max() * 3)
    lines = ax.get_legend_handles_labels()
    bars = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + bars[0], lines[1] + bars[1], loc="lower center", bbox_to_anchor=(0.5, 1.0),
              frameon=False, ncols=3)
    ax.spines[["top"]].set_visible(False)
    return ax
