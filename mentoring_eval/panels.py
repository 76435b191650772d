"""Employee-period panels built from the effective-dated HRIS tables.

The at-risk panel has one row per employee per period while employed (the period of hire and the
period of exit included): whether the employee exited (voluntarily / involuntarily), was promoted
or changed salary grade in the period, and their level, department, tenure, last rating and last
engagement score as of the start of the period (or of their hire, if later). Everything is built
with array operations: no per-employee Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data import Dataset, member

PERIODS_PER_YEAR = {"month": 12, "quarter": 4}


def period_index(dates: pd.Series | pd.DatetimeIndex, period: str = "month") -> np.ndarray:
    """Integer period number of each date: months (or quarters) since year 0, so that consecutive
    periods differ by 1 and event time is period - cohort start. NaT gives -1."""
    if period not in PERIODS_PER_YEAR:
        raise ValueError(f"period must be 'month' or 'quarter', got {period!r}")
    d = pd.DatetimeIndex(dates)
    idx = d.year.to_numpy() * 12 + d.month.to_numpy() - 1
    if period == "quarter":
        idx = idx // 3
    return np.where(d.isna(), -1, idx).astype(np.int64)


def period_start(index: np.ndarray, period: str = "month") -> np.ndarray:
    """First day of each integer period (the inverse of period_index), as datetime64[ns]."""
    months = np.asarray(index, dtype=np.int64) * (3 if period == "quarter" else 1)
    return (months - 1970 * 12).astype("datetime64[M]").astype("datetime64[ns]")


def as_of_position(keys_emp: np.ndarray, keys_day: np.ndarray, rec_emp: np.ndarray, rec_day: np.ndarray,
           strictly_before: bool = False) -> np.ndarray:
    """For each (employee, day), the position of that employee's latest record dated on or before the
    day (before it, if strictly_before), or -1. Records need not be sorted."""
    return DatedRecords.of(rec_emp, rec_day).as_of(keys_emp, keys_day, strictly_before)


@dataclass(frozen=True)
class DatedRecords:
    """A table's records sorted by employee position and day, sorted once and searched for many
    (employee, day) pairs: `order` (row positions in that order) and their sorted keys. Twelve bytes
    a record (int32 positions when they fit): at millions of reviews and pulses the employee of each
    is read from its key, not kept beside it."""

    order: np.ndarray
    key: np.ndarray  # `employee_day_key`, in `order`

    @classmethod
    def of(cls, rec_emp: np.ndarray, rec_day: np.ndarray) -> DatedRecords:
        key = employee_day_key(rec_emp, rec_day)
        order = np.argsort(key, kind="stable")  # = lexsort((day, employee)), half the time: one key, not two
        key = key[order]
        return cls(order.astype(np.int32) if order.size < 2**31 else order, key)

    @property
    def employee(self) -> np.ndarray:
        """Each record's employee position, in `order` (computed when asked for, not kept)."""
        return key_employee(self.key)

    def as_of(self, keys_emp: np.ndarray, keys_day: np.ndarray, strictly_before: bool = False) -> np.ndarray:
        """`as_of_position` on these records."""
        key = employee_day_key(keys_emp, keys_day)
        pos = np.searchsorted(self.key, key, side="left" if strictly_before else "right") - 1
        valid = pos >= 0
        valid[valid] &= key_employee(self.key[pos[valid]]) == np.asarray(keys_emp)[valid]
        return np.where(valid, self.order[np.maximum(pos, 0)], -1)


_DAY_OFFSET = 10**6  # day numbers from 1970 run from about -26,000 (1900) to NaT's 10**6 - 1


def employee_day_key(emp: np.ndarray, day: np.ndarray) -> np.ndarray:
    """One int64 that sorts by employee position, then day (days before 1970 and NaT included)."""
    return np.asarray(emp).astype(np.int64) * (4 * _DAY_OFFSET) + (np.asarray(day, dtype=np.int64) + _DAY_OFFSET)


def key_employee(key: np.ndarray) -> np.ndarray:
    """The employee position of `employee_day_key`s (-1 stays -1: the division floors)."""
    return np.asarray(key) // (4 * _DAY_OFFSET)


def dated_records(ds: Dataset, table: str, date_col: str) -> DatedRecords:
    """`DatedRecords` of a table of the data set, sorted once per data set."""
    return ds.kept(("dated records", table, date_col),
                   lambda: DatedRecords.of(ds.employee_positions(table), day_numbers(ds.column(table, date_col))))


def day_numbers(dates: pd.Series) -> np.ndarray:
    """Days since 1970 (int); NaT as a large number so that it sorts last."""
    values = dates.to_numpy(dtype="datetime64[D]")
    out = values.astype(np.int64)
    out[np.isnat(values)] = 10**6 - 1
    return out


def grade_ranks(codes: pd.Series, order: tuple[str, ...] | None = None) -> np.ndarray | None:
    """Salary grades as numbers that can be compared: each code's place in `order` (the params'
    salary_grade_order, lowest first, from 1), else the codes themselves when every one is a number;
    None when they are codes without an order (G2, P3: a change of grade is known, a rise is not)."""
    if order:
        return codes.map({code: rank for rank, code in enumerate(order, start=1)}).to_numpy(dtype=float, na_value=np.nan)
    numbers = pd.to_numeric(codes, errors="coerce")
    if (numbers.notna() | codes.isna()).all():
        return numbers.to_numpy(dtype=float, na_value=np.nan)
    return None


def _read_only(values: np.ndarray | None) -> np.ndarray | None:
    """An array kept for the data set, locked so that no caller changes it for the next."""
    if values is not None:
        values.setflags(write=False)
    return values


def _grade_changes(codes: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each record's grade as an integer code (-1 = none) and whether it differs from the record
    before (same employee, both known), for records already in the employee's date order."""
    code = pd.factorize(codes)[0]
    prev = np.r_[-1, code[:-1]]
    return code, (code >= 0) & (prev >= 0) & (code != prev)


# what the at-risk panel knows of each person in each period (`attributes_at`)
ATTRIBUTES = ("job_level", "salary_grade", "department", "location", "tenure_months", "last_rating", "last_engagement")


def at_risk(ds: Dataset, period: str = "month", start=None, end=None,
            grade_order: tuple[str, ...] | None = None, employee_ids=None, positions: bool = False,
            attributes: bool = True, categorical: bool = False) -> pd.DataFrame:
    """One row per employee per period while employed, between start and end (dates; default: the
    span of recorded exits). Columns: employee_id, period (integer), period_start, exited,
    exited_voluntary, exited_involuntary, promoted, grade_changed (the grade code differs from the
    record before), job_level, salary_grade (its rank, see `grade_ranks`; missing for codes
    without an order), department, location, tenure_months, last_rating, last_engagement.
    `employee_ids` keeps the rows of those people only (a matched sample in a large company);
    `positions` adds `employee`, each row's position in the employees table (integer keys for
    joining millions of rows); `attributes=False` leaves out the job attributes, tenure, rating and
    engagement (the events only: cheaper for a design that needs no more); `categorical` gives
    department and location as categoricals."""
    emp = ds.employees.reset_index(drop=True)
    _, _, lo, hi, exit_p = employment_periods(emp, period, start, end)
    n_rows = np.maximum(hi - lo + 1, 0)
    if employee_ids is not None:
        n_rows = np.where(member(emp["employee_id"], employee_ids), n_rows, 0)
    who, per = person_periods(n_rows, lo)
    panel = _panel_rows(ds, emp, who, per, exit_p, period, grade_order, attributes, categorical)
    if positions:
        panel["employee"] = who
    return panel


def career_periods(ds: Dataset, people: np.ndarray, period: str = "month", start=None,
                   end=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The at-risk panel's rows of these people (positions in the employees table) as arrays:
    employee, period, promoted, grade_changed, in `at_risk`'s order and with its values, without its
    other columns (a matched sample's promotions at a large employer: tens of millions of rows)."""
    emp = ds.employees
    _, _, lo, hi, _ = employment_periods(emp, period, start, end)
    wanted = np.zeros(len(emp), dtype=bool)
    wanted[np.asarray(people, np.int64)] = True
    who, per = person_periods(np.where(wanted, np.maximum(hi - lo + 1, 0), 0), lo)
    keys = career_event_keys(ds, period)
    rows = employee_period_key(who, per)
    return who, per, contains(rows, keys["promoted"]), contains(rows, keys["grade_changed"])


def person_periods(n_rows: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(employee position, period) of every person-period: n_rows[i] periods from first[i] on."""
    who = np.repeat(np.arange(n_rows.size), n_rows)
    return who, first[who] + np.arange(who.size) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows)


def _panel_rows(ds: Dataset, emp: pd.DataFrame, who: np.ndarray, per: np.ndarray, exit_p: np.ndarray, period: str,
                grade_order: tuple[str, ...] | None, attributes: bool = True, categorical: bool = False) -> pd.DataFrame:
    """The at-risk panel's rows for these (employee position, period) pairs."""
    starts = period_start(per, period)
    exited = (exit_p[who] == per)
    voluntary, involuntary = exit_reasons(ds)
    panel = pd.DataFrame({
        "employee_id": emp["employee_id"].array.take(who),  # Arrow strings taken, not a Python object per row
        "period": per,
        "period_start": starts,
        "exited": exited,
        "exited_voluntary": exited & voluntary[who],
        "exited_involuntary": exited & involuntary[who],
    })
    found = attributes_at(ds, who, per, period, grade_order, categorical) if attributes else None
    for name in ("job_level", "salary_grade", "department", "location", "tenure_months") if attributes else ():
        panel[name] = found[name].array
    # promotions and grade changes: rises between consecutive records, placed in their period
    keys = career_event_keys(ds, period)
    rows = employee_period_key(who, per)
    panel["promoted"] = contains(rows, keys["promoted"])
    panel["grade_changed"] = contains(rows, keys["grade_changed"])
    for name in ("last_rating", "last_engagement") if attributes else ():
        panel[name] = found[name].array
    return panel


def attributes_at(ds: Dataset, who: np.ndarray, per: np.ndarray, period: str = "month",
                  grade_order: tuple[str, ...] | None = None, categorical: bool = False,
                  columns: tuple[str, ...] = ATTRIBUTES) -> pd.DataFrame:
    """Each (employee position in the employees table, period)'s attributes as the at-risk panel
    gives them, for any rows asked for (one per person at a reference period, say) without the
    panel: job_level, salary_grade (rank), department (the job record in force at the later of the
    period's start and hire, else the employees table's), location, tenure_months (at the period's
    start), last_rating and last_engagement (the latest strictly before that day). `categorical`:
    department and location as categoricals (small codes for grouping millions of rows); `columns`:
    only these attributes (each one left out is work not done)."""
    emp = ds.employees.reset_index(drop=True)
    who, per = np.asarray(who, np.int64), np.asarray(per, np.int64)
    starts = period_start(per, period)
    jobs = ds.job_history
    asof_day = np.maximum(day_numbers(pd.Series(starts)), day_numbers(emp["hire_date"])[who])
    pos = dated_records(ds, "job_history", "effective_date").as_of(who, asof_day)
    has = pos >= 0
    out = pd.DataFrame(index=pd.RangeIndex(who.size))
    if "job_level" in columns:
        out["job_level"] = pd.array(np.where(has, jobs["job_level"].to_numpy(dtype=float)[np.maximum(pos, 0)],
                                             np.nan)).astype("Int64")
    if "salary_grade" in columns:
        rank = ds.kept(("grade ranks", tuple(grade_order or ())),
                       lambda: _read_only(grade_ranks(jobs["salary_grade"], grade_order)))
        rank = np.full(len(jobs), np.nan) if rank is None else rank
        out["salary_grade"] = pd.array(np.where(has, rank[np.maximum(pos, 0)], np.nan)).astype("Int64")
    names = place_codes(ds)
    dept = np.where(has, names["job_department"][np.maximum(pos, 0)], names["employee_department"][who])
    for column, code in (("department", dept), ("location", names["employee_location"][who])):
        levels = names[column]
        if column in columns:
            out[column] = (pd.Categorical.from_codes(code, levels) if categorical else
                           pd.array(np.append(levels.to_numpy(dtype=object), None)[code], dtype="str"))  # -1: missing
    if "tenure_months" in columns:
        hire_days = day_numbers(emp["hire_date"])[who]
        out["tenure_months"] = np.maximum((day_numbers(pd.Series(starts)) - hire_days) / 30.4375, 0).round(1)
    for table, date_col, value_col, name in (("performance_reviews", "review_date", "rating", "last_rating"),
                                             ("engagement_surveys", "survey_date", "score", "last_engagement")):
        if name not in columns:
            continue
        if ds.has(table):
            pos = dated_records(ds, table, date_col).as_of(who, asof_day, strictly_before=True)
            values = ds.kept(("values", table, value_col), lambda: _read_only(ds.column(table, value_col).to_numpy(
                dtype=float, na_value=np.nan)))  # the scores alone, once: not the table of ids and dates
            out[name] = np.where(pos >= 0, values[np.maximum(pos, 0)], np.nan)
        else:
            out[name] = np.nan
    return out


def place_codes(ds: Dataset) -> dict[str, np.ndarray | pd.Index]:
    """`_place_codes`, computed once per data set."""
    return ds.kept(("place codes",), lambda: _place_codes(ds))


def _place_codes(ds: Dataset) -> dict[str, np.ndarray | pd.Index]:
    """Departments (of the job records and the employees table) and locations as integer codes
    into one sorted list of names each (-1 = missing)."""
    jobs, emp = ds.job_history["department"], ds.employees["department"]
    codes, departments = pd.factorize(pd.concat([jobs, emp], ignore_index=True), sort=True)
    location, locations = pd.factorize(ds.employees["location"], sort=True)
    codes, location = _read_only(codes.astype(np.int32)), _read_only(location.astype(np.int32))  # kept: half the bytes
    return {"job_department": codes[:len(jobs)], "employee_department": codes[len(jobs):], "department": departments,
            "employee_location": location, "location": locations}


def employment_periods(emp: pd.DataFrame, period: str, start=None, end=None):
    """(first period, last period, each employee's first and last period in it, each exit's period
    or -1): the window between start and end (default: the span of recorded exits)."""
    term = emp["termination_date"]
    first_date = pd.Timestamp(start) if start is not None else (term.min() if term.notna().any() else emp["hire_date"].min())
    last_date = pd.Timestamp(end) if end is not None else max(emp["hire_date"].max(), term.max() if term.notna().any() else emp["hire_date"].max())
    p0, p1 = period_index(pd.Series([first_date, last_date]), period)
    hire_p = period_index(emp["hire_date"], period)
    exit_p = period_index(term, period)
    lo = np.maximum(hire_p, p0)
    hi = np.where(exit_p >= 0, np.minimum(exit_p, p1), p1)
    return int(p0), int(p1), lo, hi, exit_p


def spells(ds: Dataset, period: str = "month", start=None, end=None) -> pd.DataFrame:
    """Each employee's time in the window as runs of periods in one department (the job record in
    force at the start of each period, or at hire if later; the employees table's department before
    the first record): employee (position in the employees table), first and last period,
    department. The at-risk panel's rows, without a row per person per period: its rows in a
    department are exactly the periods these spells cover. Sorted by employee and first period."""
    found = coded_spells(ds, period, start, end)
    names = place_codes(ds)
    department = pd.array(names["department"].to_numpy(dtype=object)[found["department"].to_numpy()], dtype="str")
    return found.assign(department=department)


def coded_spells(ds: Dataset, period: str = "month", start=None, end=None) -> pd.DataFrame:
    """`spells` with the department as its integer code into the sorted department names of
    `_place_codes` (no strings for millions of runs), computed once per data set and window."""
    key = ("coded spells", period, None if start is None else str(pd.Timestamp(start)),
           None if end is None else str(pd.Timestamp(end)))
    return ds.kept(key, lambda: _coded_spells(ds, period, start, end)).copy(deep=False)


def _coded_spells(ds: Dataset, period: str, start, end) -> pd.DataFrame:
    emp = ds.employees.reset_index(drop=True)
    _, _, lo, hi, _ = employment_periods(emp, period, start, end)
    jobs = ds.job_history
    names = place_codes(ds)
    records = dated_records(ds, "job_history", "effective_date")
    order, je = records.order, records.employee
    jd = day_numbers(jobs["effective_date"])[order]
    rec_p = period_index(jobs["effective_date"].iloc[order], period)
    on_or_after = rec_p + (day_numbers(pd.Series(period_start(rec_p, period))) < jd)  # first period starting >= the day
    in_force = np.where(day_numbers(emp["hire_date"])[je] >= jd, lo[je], np.maximum(lo[je], on_or_after))
    last_of_emp = np.r_[je[1:] != je[:-1], True]
    until = np.where(last_of_emp, hi[je], np.minimum(np.r_[in_force[1:], 0] - 1, hi[je]))
    first_of_emp = np.r_[True, je[1:] != je[:-1]]
    first_record = np.full(len(emp), np.iinfo(np.int64).max)
    first_record[je[first_of_emp]] = in_force[first_of_emp]
    before = np.minimum(first_record - 1, hi)  # the employees table's department until a record is in force
    employee = np.r_[je, np.arange(len(emp))]
    first, last = np.r_[in_force, lo], np.r_[until, before]
    department = np.r_[names["job_department"][order], names["employee_department"]]
    keep = first <= last
    employee, first, last, department = employee[keep], first[keep], last[keep], department[keep]
    sort = np.lexsort((first, employee))  # stable: ties keep the job records' order, as before
    return pd.DataFrame({"employee": employee[sort], "first": first[sort], "last": last[sort],
                         "department": department[sort]})


def spell_at(found: pd.DataFrame, employee: np.ndarray, per: np.ndarray) -> np.ndarray:
    """For each (employee position, period), the row of `spells` covering it, or -1."""
    key = found["employee"].to_numpy().astype(np.int64) * (1 << 32) + found["first"].to_numpy()
    at = np.searchsorted(key, np.asarray(employee, np.int64) * (1 << 32) + np.asarray(per, np.int64), side="right") - 1
    ok = at >= 0
    ok[ok] &= (found["employee"].to_numpy()[at[ok]] == np.asarray(employee)[ok]) & \
        (found["last"].to_numpy()[at[ok]] >= np.asarray(per)[ok])
    return np.where(ok, at, -1)


SEGMENT_EVENTS = ("exited", "exited_voluntary", "exited_involuntary", "promoted", "grade_changed")


def segment_counts(ds: Dataset, period: str = "month", by: tuple[str, ...] = ("department", "location"),
                   events: tuple[str, ...] = ("exited_voluntary",), start=None, end=None) -> pd.DataFrame:
    """People at risk and people with each event per segment (combinations of `by`: department as
    of each period, location) and period, computed from the spells (`spells`) and the exits and
    job records directly: what grouping the at-risk panel by segment and period gives, without
    building it (47.9M rows for a million employees over four years). Columns: *by, period,
    at_risk, one column per event; only cells with someone at risk."""
    unknown = [e for e in events if e not in SEGMENT_EVENTS]
    if unknown:
        raise ValueError(f"events {unknown}: expected among {', '.join(SEGMENT_EVENTS)}")
    emp = ds.employees.reset_index(drop=True)
    p0, p1, lo, hi, exit_p = employment_periods(emp, period, start, end)
    found = coded_spells(ds, period, start, end)
    names = place_codes(ds)
    segment, keys = _segments(found, names, by)
    width = p1 - p0 + 1
    at_risk = covered(segment, len(keys), found["first"].to_numpy() - p0, found["last"].to_numpy() - p0, width)
    cells, per = np.nonzero(at_risk > 0)
    frame = pd.DataFrame({c: pd.array(keys[c].to_numpy(dtype=object)[cells], dtype="str") for c in by})
    frame["period"] = per + p0
    frame["at_risk"] = at_risk[cells, per]
    for name in events:
        who, when = _events(ds, emp, name, period, lo, hi, exit_p)
        row = spell_at(found, who, when)
        hits = np.bincount(segment[row] * width + (when - p0), minlength=len(keys) * width).reshape(len(keys), width)
        frame[name] = hits[cells, per]
    return frame


def _segments(found: pd.DataFrame, names: dict, by: tuple[str, ...]) -> tuple[np.ndarray, pd.DataFrame]:
    """Each spell's segment (combination of `by` values) as a number 0..k-1 in the order of the
    values' names, and the k segments' names (one column per `by`)."""
    unknown = [c for c in by if c not in ("department", "location")]
    if unknown:
        raise ValueError(f"by {unknown}: segments are combinations of department and location")
    codes = {"department": found["department"].to_numpy(),
             "location": names["employee_location"][found["employee"].to_numpy()]}
    combined = np.zeros(len(found), dtype=np.int64)
    for c in by:  # mixed radix: sorts as the tuple of codes, and the codes sort as the names
        combined = combined * len(names[c]) + codes[c]
    present, segment = np.unique(combined, return_inverse=True)
    keys = {}
    for c in reversed(by):
        keys[c] = names[c][present % len(names[c])]
        present = present // len(names[c])
    return segment, pd.DataFrame({c: keys[c].to_numpy(dtype=object) for c in by})


def covered(group: np.ndarray, n_groups: int, first: np.ndarray, last: np.ndarray, width: int) -> np.ndarray:
    """How many runs [first, last] (periods counted from 0) of each group cover each of `width`
    periods (groups x periods), by difference arrays: people at risk per cell without a row per
    person per period."""
    size = n_groups * (width + 1)
    change = (np.bincount(group * (width + 1) + first, minlength=size)
              - np.bincount(group * (width + 1) + last + 1, minlength=size))
    return change.reshape(n_groups, width + 1).cumsum(axis=1)[:, :-1]


def _events(ds: Dataset, emp: pd.DataFrame, name: str, period: str, lo, hi, exit_p) -> tuple[np.ndarray, np.ndarray]:
    """(employee position, period) of each person-period with the event, within each one's window
    (one per person and period, as the panel's flags count them)."""
    if name.startswith("exited"):
        hit = (exit_p >= 0) & (exit_p >= lo) & (exit_p <= hi)
        if name != "exited":
            hit &= exit_reasons(ds)[0 if name == "exited_voluntary" else 1]
        return np.flatnonzero(hit), exit_p[hit]
    keys = career_event_keys(ds, period)[name]  # unique (employee, period) pairs, sorted
    who, when = keys // _PERIOD_SPAN, keys % _PERIOD_SPAN
    inside = (when >= lo[who]) & (when <= hi[who])
    return who[inside], when[inside]


_PERIOD_SPAN = 1 << 20  # more periods than months from year 0 to 87,000


def employee_period_key(who: np.ndarray, per: np.ndarray) -> np.ndarray:
    """One int64 per (employee position, period): the same pair, the same number."""
    return np.asarray(who, np.int64) * _PERIOD_SPAN + np.asarray(per, np.int64)


def _unique_sorted(keys: np.ndarray) -> np.ndarray:
    """np.unique(keys), in one pass when they are already in order (records sorted by employee and
    day give keys in order; np.unique hashes millions of them first)."""
    if keys.size and (keys[1:] < keys[:-1]).any():
        keys = np.sort(keys)
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys


def career_event_keys(ds: Dataset, period: str = "month") -> dict[str, np.ndarray]:
    """`employee_period_key` of every (employee, period) with a promotion (the job level rose from
    the record before) or a salary-grade change, each once, found once per data set and period
    length."""
    def find() -> dict[str, np.ndarray]:
        jobs = ds.job_history
        records = dated_records(ds, "job_history", "effective_date")
        order, e_sorted = records.order, records.employee
        same = np.r_[False, e_sorted[1:] == e_sorted[:-1]]
        rose = same & (np.r_[0, np.diff(jobs["job_level"].to_numpy(dtype=float)[order])] > 0)
        changed = same & _grade_changes(jobs["salary_grade"].take(order))[1]
        rec_period = period_index(jobs["effective_date"].take(order), period)
        return {name: _read_only(_unique_sorted(employee_period_key(e_sorted[hit], rec_period[hit])))
                for name, hit in (("promoted", rose), ("grade_changed", changed))}

    return ds.kept(("career event keys", period), find)


def exit_reasons(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Whether each employee (by position) left voluntarily, and involuntarily, once per data set."""
    def find() -> tuple[np.ndarray, np.ndarray]:
        reason = ds.employees["termination_reason"]
        return tuple(_read_only((reason == kind).to_numpy(dtype=bool, na_value=False))
                     for kind in ("voluntary", "involuntary"))

    return ds.kept(("exit reasons",), find)


def contains(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """np.isin(values, keys) for integer keys by hashing (pandas' hash table): ten times faster than
    np.isin's sort on tens of millions of person-periods."""
    return pd.Series(np.asarray(values, np.int64), copy=False).isin(np.asarray(keys, np.int64)).to_numpy()


def job_events(ds: Dataset) -> pd.DataFrame:
    """Career events dated by their job record: employee_id, effective_date, promoted (job level
    rose from the previous record), grade_changed (salary grade differs from the previous record),
    moved (department differs: an internal move), and employee (the position in the employees
    table). Found in the job records sorted by employee and date once per data set (no sort of the
    id strings)."""
    jobs = ds.job_history
    records = dated_records(ds, "job_history", "effective_date")
    order, who = records.order, records.employee
    same = np.r_[False, who[1:] == who[:-1]]
    level = jobs["job_level"].to_numpy(dtype=float)[order]
    promoted = same & (level > np.r_[np.nan, level[:-1]])
    regraded = same & _grade_changes(jobs["salary_grade"].take(order))[1]
    dept = place_codes(ds)["job_department"][order]
    moved = same & (dept != np.r_[-1, dept[:-1]])
    hit = promoted | regraded | moved
    rows = order[hit]
    return pd.DataFrame({"employee_id": jobs["employee_id"].array.take(rows),
                         "effective_date": jobs["effective_date"].array.take(rows),
                         "promoted": promoted[hit], "grade_changed": regraded[hit], "moved": moved[hit],
                         "employee": who[hit]})


def had_event(events: pd.DataFrame, kind: str, after: pd.Timestamp, before: pd.Timestamp) -> pd.Index:
    """Employees with an event of `kind` ("promoted", "grade_changed" or "moved") dated in (after,
    before): their ids, each once (an Index, not a set: no Python object per id)."""
    e = events[events[kind] & (events["effective_date"] > after) & (events["effective_date"] < before)]
    return pd.Index(e["employee_id"].unique(), name="employee_id")


def employed_on(ds: Dataset, date: pd.Timestamp, period: str = "month") -> pd.DataFrame:
    """Everyone employed on `date` (hired on or before it, not gone before it), with their attributes
    as of that day (the at-risk panel's row for the date's period) and their termination_date."""
    date = pd.Timestamp(date)
    emp = ds.employees.reset_index(drop=True)
    term = emp["termination_date"]
    who = np.flatnonzero(((emp["hire_date"] <= date) & (term.isna() | (term >= date))).to_numpy())
    per = np.full(who.size, period_index(pd.Series([date]), period)[0], dtype=np.int64)
    snap = _panel_rows(ds, emp, who, per, period_index(term, period), period, None)
    snap["termination_date"] = term.iloc[who].to_numpy()
    return snap
