"""Sanity warnings: values the data contract allows but an export almost never means. Shown by
`mentoring-eval validate` and on the data overview page (with the quality notes); never fatal,
never silently fixed.

- dates after today: no export can record an event that has not happened (a hire in 2099); the
  data's end (`Dataset.end`) stops at the last date on or before today, so one such date does not
  stretch every panel to it;
- enrollments far outside their cohort: signed up more than a year before the cohort starts or
  after it ends (a wrong cohort_id or a mistyped year);
- names that differ only in case or spaces ('Sales' and 'sales', 'Customer  Success'): counted as
  separate departments or locations (a rollout's units, matching strata) unless the export is fixed.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .data import PLANNED_DATES, TABLES, Dataset

FAR = pd.Timedelta(days=365)  # an enrollment this far outside its cohort's dates is worth a look
COLUMNS = ["check", "rows_affected", "examples", "consequence"]


def today() -> pd.Timestamp:
    """The day the check runs: no recorded event can be later."""
    return pd.Timestamp.today().normalize()


def warnings(ds: Dataset, on: pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per sanity check that found something (check, rows_affected, examples as a spreadsheet
    numbers the rows, consequence); an empty frame when the data look sane. `on` = the day of the
    check (default today)."""
    on = today() if on is None else pd.Timestamp(on)
    found = [*_future_dates(ds, on), *_far_enrollments(ds), *_spellings(ds)]
    return pd.DataFrame(found, columns=COLUMNS)


def _rows(ds: Dataset, table: str, mask: np.ndarray, values: pd.Series) -> str:
    """'row 5: 2099-01-01, row 9: ...' for the first three flagged rows of a table's file."""
    file = ds.files.get(table, f"{table}.csv")
    first = 2 if file.endswith(".csv") else 1
    return ", ".join(f"row {int(i) + first}: {values.iloc[int(i)]}" for i in np.flatnonzero(mask)[:3])


def _future_dates(ds: Dataset, on: pd.Timestamp) -> list[tuple]:
    found = []
    for name, spec in TABLES.items():
        if not ds.has(name):
            continue
        for col in spec.columns:
            if col.kind != "date" or (name, col.name) in PLANNED_DATES:
                continue
            dates = ds.tables[name][col.name]
            later = (dates > on).to_numpy(dtype=bool, na_value=False)
            if later.any():
                found.append((f"{ds.files.get(name, name)}, column {col.name}: dates after today ({on:%Y-%m-%d})",
                              int(later.sum()), _rows(ds, name, later, dates.dt.strftime("%Y-%m-%d")),
                              "no export can record them; the data's end is taken as the last date on or before "
                              "today, so the analyses do not reach them"))
    return found


def _far_enrollments(ds: Dataset) -> list[tuple]:
    enr, cohorts = ds.enrollments, ds.cohorts.set_index("cohort_id")
    start = enr["cohort_id"].map(cohorts["start_date"])
    end = enr["cohort_id"].map(cohorts["end_date"])
    far = ((enr["signup_date"] < start - FAR) | (enr["signup_date"] > end + FAR)).to_numpy(dtype=bool, na_value=False)
    if not far.any():
        return []
    shown = enr["signup_date"].dt.strftime("%Y-%m-%d") + " for " + enr["cohort_id"].astype(str)
    return [(f"{ds.files.get('enrollments', 'enrollments')}, column signup_date: sign-ups more than a year before "
             f"their cohort starts or after it ends", int(far.sum()), _rows(ds, "enrollments", far, shown),
             "a wrong cohort_id or a mistyped year; they are counted in the cohort as recorded")]


def _spellings(ds: Dataset) -> list[tuple]:
    """Departments and locations whose names differ only in case or spaces, across the tables that
    hold them."""
    found = []
    for column, tables in (("department", ("employees", "job_history")), ("location", ("employees",))):
        names = pd.concat([ds.tables[t][column] for t in tables if ds.has(t)], ignore_index=True).dropna()
        counts = names.value_counts()
        key = pd.Series([re.sub(r"\s+", " ", str(n)).casefold() for n in counts.index], index=counts.index)
        groups = counts.groupby(key.to_numpy(), sort=True)
        for _, group in groups:
            if len(group) < 2:
                continue
            spellings = " / ".join(repr(str(n)) for n in group.index)
            found.append((f"{column} names that differ only in case or spaces: {spellings}",
                          int(group.sum() - group.max()), f"{group.max():,} rows read {str(group.idxmax())!r}",
                          f"counted as {len(group)} different {column}s (a rollout's units, matching strata) unless "
                          f"the export is fixed"))
    return found
