"""The data contract: the tables a mentoring program's exports hold, what every column must
contain, and `load`, which reads a data directory and reports every violation at once.

Rules are data (the `TABLES` specs below plus a few cross-column checks); a test keeps the
README's contract section in step with them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import MentoringEvalError, MissingTableError
from .storage import data_path, file_digest, is_folder, is_remote

MAX_EXAMPLES = 5

# A directory for validated data sets stored as Parquet (see `load`); the batch runner sets it so
# that every notebook of a run reads the checked tables instead of re-parsing the CSVs.
CACHE_ENV = "MENTORING_EVAL_CACHE"
FOLLOW_ENV = "MENTORING_EVAL_FOLLOW_SYMLINKS"  # "1": read tables whose links point outside the data directory
RESULTS_DIR = "results"  # below that directory: analysis results shared by one run's notebooks (see study)

# Scales of the survey instruments the workbook analyses; other instruments are kept unchecked.
INSTRUMENT_SCALES: dict[str, tuple[float, float]] = {
    "skills": (1, 5),
    "satisfaction": (1, 5),
    "nps": (0, 10),
    "participate_again": (0, 1),
}


@dataclass(frozen=True)
class Col:
    """One column of the contract: its kind, whether it must exist and be filled, and its domain."""

    name: str
    kind: str  # id | text | date | number | integer | enum | bool
    required: bool = True
    nullable: bool = False
    values: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    ref: tuple[str, str] | None = None  # foreign key: (table, column)
    doc: str = ""


@dataclass(frozen=True)
class Table:
    """One table of the contract: grain, columns, primary key and date-order rules."""

    name: str
    grain: str
    columns: tuple[Col, ...]
    key: tuple[str, ...] = ()
    required: bool = False
    date_order: tuple[tuple[str, str], ...] = ()  # (earlier, later) pairs within a row

    def column(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)


def _id(name, ref=None, **kw):
    return Col(name, "id", ref=ref, **kw)


TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "employees", "one row per employee",
            (
                _id("employee_id"),
                Col("hire_date", "date"),
                Col("termination_date", "date", required=False, nullable=True, doc="empty while employed"),
                Col("termination_reason", "enum", required=False, nullable=True,
                    values=("voluntary", "involuntary"), doc="filled exactly when termination_date is"),
                Col("department", "text"),
                Col("location", "text"),
                Col("gender", "text", required=False, nullable=True),
                Col("ethnicity", "text", required=False, nullable=True),
                Col("annual_salary", "number", required=False, nullable=True, min=0),
            ),
            key=("employee_id",), required=True,
            date_order=(("hire_date", "termination_date"),),
        ),
        Table(
            "job_history", "one row per effective-dated job record",
            (
                _id("employee_id", ref=("employees", "employee_id")),
                Col("effective_date", "date", doc="on or after the employee's hire_date"),
                Col("job_level", "integer", min=1),
                Col("salary_grade", "text", required=False, nullable=True,
                    doc="a grade code as the HR system writes it (G2, P3, M1) or a number; ranked only when every "
                        "code is a number or the params give salary_grade_order"),
                Col("department", "text"),
            ),
            key=("employee_id", "effective_date"), required=True,
        ),
        Table(
            "cohorts", "one row per cohort",
            (_id("cohort_id"), Col("name", "text"), Col("start_date", "date"), Col("end_date", "date")),
            key=("cohort_id",), required=True,
            date_order=(("start_date", "end_date"),),
        ),
        Table(
            "enrollments", "one row per person per cohort",
            (
                _id("employee_id", ref=("employees", "employee_id")),
                _id("cohort_id", ref=("cohorts", "cohort_id")),
                Col("role", "enum", values=("mentee", "mentor")),
                Col("signup_date", "date"),
                Col("status", "enum", values=("applied", "matched", "active", "completed", "withdrawn")),
                Col("withdrawal_date", "date", required=False, nullable=True),
                Col("offered", "bool", required=False, nullable=True,
                    doc="a place was offered (a lottery's draw); filled for every applicant of a lottery cohort"),
                Col("offer_date", "date", required=False, nullable=True, doc="when the place was offered"),
            ),
            key=("employee_id", "cohort_id"), required=True,
            date_order=(("signup_date", "withdrawal_date"),),
        ),
        Table(
            "matches", "one row per mentor-mentee pair",
            (
                _id("match_id"),
                _id("cohort_id", ref=("cohorts", "cohort_id")),
                _id("mentor_id", ref=("employees", "employee_id")),
                _id("mentee_id", ref=("employees", "employee_id")),
                Col("matched_date", "date"),
                Col("ended_date", "date", required=False, nullable=True),
            ),
            key=("match_id",),
            date_order=(("matched_date", "ended_date"),),
        ),
        Table(
            "meetings", "one row per meeting",
            (
                _id("match_id", ref=("matches", "match_id")),
                Col("meeting_date", "date"),
                Col("duration_minutes", "number", min=0),
            ),
        ),
        Table(
            "goals", "one row per goal",
            (
                _id("goal_id"),
                _id("cohort_id", ref=("cohorts", "cohort_id")),
                _id("owner_id", nullable=True, doc="an employee for mentor and mentee goals; may be empty for program goals"),
                Col("owner_role", "enum", values=("program", "mentor", "mentee")),
                Col("horizon", "enum", values=("short", "long")),
                *(Col(f"smart_{flag}", "bool", required=False, nullable=True)
                  for flag in ("specific", "measurable", "achievable", "relevant", "time_bound")),
                Col("smart_score", "number", required=False, nullable=True, min=0, max=5,
                    doc="0-5; an alternative to the five smart_ flags"),
                Col("created_date", "date"),
                Col("target_date", "date"),
                Col("status", "enum", values=("open", "achieved", "missed", "abandoned")),
                Col("achieved_date", "date", required=False, nullable=True),
                _id("parent_goal_id", ref=("goals", "goal_id"), required=False, nullable=True,
                    doc="links a participant goal to the program goal it serves"),
            ),
            key=("goal_id",),
            date_order=(("created_date", "target_date"), ("created_date", "achieved_date")),
        ),
        Table(
            "surveys", "one row per answer (long format)",
            (
                _id("respondent_id"),
                _id("subject_id", ref=("employees", "employee_id"), doc="the participant the answer is about"),
                _id("cohort_id", ref=("cohorts", "cohort_id")),
                Col("wave", "enum", values=("baseline", "mid", "end", "followup")),
                Col("respondent_role", "enum", values=("mentee", "mentor", "manager")),
                Col("instrument", "text", doc="skills 1-5, satisfaction 1-5, nps 0-10, participate_again 0-1; others unchecked"),
                Col("item", "text"),
                Col("score", "number"),
            ),
            key=("respondent_id", "subject_id", "cohort_id", "wave", "instrument", "item"),
        ),
        Table(
            "performance_reviews", "one row per review",
            (
                _id("employee_id", ref=("employees", "employee_id")),
                Col("review_date", "date"),
                Col("rating", "number", min=1, max=5),
            ),
            key=("employee_id", "review_date"),
        ),
        Table(
            "engagement_surveys", "one row per employee per pulse",
            (
                _id("employee_id", ref=("employees", "employee_id")),
                Col("survey_date", "date"),
                Col("score", "number", min=1, max=5),
            ),
            key=("employee_id", "survey_date"),
        ),
        Table(
            "program_costs", "one row per cost line",
            (
                _id("cohort_id", ref=("cohorts", "cohort_id")),
                Col("category", "enum", values=("software", "administration", "training", "mentor_time", "other")),
                Col("amount", "number", min=0),
            ),
        ),
    ]
}


@dataclass(frozen=True)
class Problem:
    """One violation of the contract, with up to five example rows as a spreadsheet numbers them."""

    file: str
    column: str
    expected: str
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()
    n_rows: int = 0

    def __str__(self) -> str:
        where = self.file if self.column in ("", "-") else f"{self.file}, column {self.column}"
        if not self.file:
            return self.expected
        if not self.n_rows:
            return f"{where}: {self.expected}"
        examples = ", ".join(f"row {r}: {v}" for r, v in zip(self.rows, self.values, strict=True))
        more = f", and {self.n_rows - len(self.rows)} more" if self.n_rows > len(self.rows) else ""
        noun = "row" if self.n_rows == 1 else "rows"
        return f"{where}, {self.n_rows} {noun} ({examples}{more}): expected {self.expected}"


class DataValidationError(MentoringEvalError, ValueError):
    """Every contract violation found in a data directory, collected before anything is analysed."""

    def __init__(self, source: Path | str, problems: Iterable[Problem]):
        self.source = data_path(source)
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{self.source}: {n} data problem{'s' if n != 1 else ''}"
        return head + "".join(f"\n  - {p}" for p in self.problems)

    def one_line(self) -> str:
        first = self.problems[0] if self.problems else ""
        more = f" (and {len(self.problems) - 1} more; run `mentoring-eval validate`)" if len(self.problems) > 1 else ""
        return f"{self.source}: {first}{more}"


@dataclass(frozen=True)
class _Source:
    file: str
    row_offset: int | np.ndarray  # add to a 0-based position to get the row number a user sees; or, for a
    # table read from a date on (`load(since=...)`), each kept row's number in the file


@dataclass(frozen=True)
class CohortInfo:
    """One row of the cohorts table: id, name, start and (planned) end dates."""

    cohort_id: str
    name: str
    start: pd.Timestamp
    end: pd.Timestamp


class StoredTables(Mapping):
    """The validated tables of a cache entry, each read from its Parquet file the first time it is
    asked for: a cohort's retention analysis of a large employer never reads the surveys or the goals.
    Knows each date column's latest value without reading it (`latest`)."""

    def __init__(self, entry: Path, names: Iterable[str], latest: Mapping[str, str | None]):
        self._entry, self._names, self._latest = entry, tuple(names), dict(latest)
        self._read: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._read:
            self._read[name] = self._parquet(name)
        return self._read[name]

    def column(self, name: str, column: str) -> pd.Series:
        """One column of a table, read alone unless the whole table already was (not kept: the caller
        keeps what it derives)."""
        if name in self._read:
            return self._read[name][column]
        if name not in self._names:
            raise KeyError(name)
        return self._parquet(name, [column])[column]

    def _parquet(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        try:
            return pd.read_parquet(self._entry / f"{name}.parquet", columns=columns)
        except (OSError, ValueError) as exc:
            raise MentoringEvalError(f"{self._entry}: the validated copy of {name} can no longer be read "
                                     f"({exc}); delete this cache entry and run again") from None

    def __contains__(self, name) -> bool:  # Mapping's own would read the table to answer
        return name in self._names

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def latest(self, table: str, column: str) -> pd.Timestamp | None:
        """The column's latest date as stored when the entry was written (NaT: none); None if unknown."""
        key = f"{table}.{column}"
        if key not in self._latest:
            return None
        return pd.Timestamp(self._latest[key]) if self._latest[key] else pd.NaT


def _latest_dates(tables: Mapping[str, pd.DataFrame]) -> dict[str, str | None]:
    """Each date column's latest value (ISO text, None when empty), stored with a cache entry."""
    out = {}
    for name, frame in tables.items():
        for column in TABLES[name].columns if name in TABLES else ():
            if column.kind == "date" and column.name in frame:
                latest = frame[column.name].max()
                out[f"{name}.{column.name}"] = None if pd.isna(latest) else str(latest)
    return out


# Dates that record plans rather than events; they do not count towards the data's end.
PLANNED_DATES = {("goals", "target_date"), ("cohorts", "start_date"), ("cohorts", "end_date")}


@dataclass(frozen=True, eq=False)
class Dataset:
    """The validated tables of one data directory. Access a table as `ds.employees`; an optional
    table that is absent raises MissingTableError naming the file to provide. Every contract
    column of a present table is there, optional ones filled with typed missing values when the
    export did not have them (`provided` says which columns the files held)."""

    source: Path
    tables: Mapping[str, pd.DataFrame]
    files: Mapping[str, str] = field(default_factory=dict)
    provided: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fingerprint: str = ""  # the cache entry's key when loaded through a cache, else empty
    cleaned: tuple[tuple[str, str, int, str], ...] = ()  # (file, column, rows, what) tidied while loading
    since: pd.Timestamp | None = None  # read from this date on (`load(since=...)`); None = the whole history
    history_begins: pd.Timestamp | None = None  # with `since`: what `begins` was over the whole history
    until: pd.Timestamp | None = None  # reviews and pulses read up to this date (`load(until=...)`)
    history_end: pd.Timestamp | None = None  # with `until`: the latest event among the rows not read

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name in TABLES:
            return self.require(name)
        raise AttributeError(name)

    def has(self, table: str) -> bool:
        return table in self.tables

    def has_values(self, table: str, column: str) -> bool:
        """Whether the table is present and the column holds at least one value."""
        return table in self.tables and bool(self.column(table, column).notna().any())

    def require(self, table: str, purpose: str | None = None) -> pd.DataFrame:
        """The table, or a plain error saying which file an analysis needs."""
        self._present(table, purpose)
        return self.tables[table]

    def column(self, table: str, name: str, purpose: str | None = None) -> pd.Series:
        """One column of a table (as `require(table)[name]`). From a cache entry it is read alone, the
        table's other columns left on disk: a panel needs the scores of tens of millions of pulses, not
        their ids. Not kept here: callers keep what they derive from it."""
        self._present(table, purpose)
        if isinstance(self.tables, StoredTables):
            return self.tables.column(table, name)
        return self.tables[table][name]

    def _present(self, table: str, purpose: str | None) -> None:
        if table not in self.tables:
            why = f" for {purpose}" if purpose else ""
            raise MissingTableError(f"{self.source}: no {table}.csv or {table}.parquet; it is needed{why}", table,
                                    purpose or "")

    @property
    def cohort_ids(self) -> tuple[str, ...]:
        """The cohort ids of the cohorts table, sorted."""
        return tuple(sorted(self.cohorts["cohort_id"].astype(str)))

    def cohort(self, cohort_id: str) -> CohortInfo:
        """The cohorts-table row of one cohort (LookupError naming the known ones if absent)."""
        rows = self.cohorts[self.cohorts["cohort_id"] == cohort_id]
        if rows.empty:
            raise LookupError(f"cohort {cohort_id!r} is not in {self.files.get('cohorts', 'cohorts.csv')} "
                              f"(known: {', '.join(self.cohort_ids)})")
        row = rows.iloc[0]
        return CohortInfo(str(row["cohort_id"]), str(row["name"]), pd.Timestamp(row["start_date"]),
                          pd.Timestamp(row["end_date"]))

    def employee_positions(self, table: str) -> np.ndarray:
        """Each row's employee as a position in the employees table (-1 when not in it), found once
        per table: panels index people by position, and matching millions of id strings is slow.
        int32: four bytes a row of tens of millions of pulses."""
        return self.kept(("employee positions", table), lambda: _compact(
            positions_in(self.column(table, "employee_id"), self.employees["employee_id"])))

    def employee_rows(self, ids: pd.Series) -> np.ndarray:
        """Each id's position in the employees table (-1 when not in it), by one hash index of the
        employees' ids kept for the data set (Series.map builds and checks a new one each call)."""
        index = self.kept(("employee index",), lambda: pd.Index(self.employees["employee_id"]))
        return index.get_indexer(pd.Index(ids, dtype=index.dtype)).astype(np.int64)

    def employee_column(self, ids: pd.Series, column: str) -> pd.Series:
        """An employees-table column for each id (missing where the id is not in the table), on the
        ids' index: `Series.map(employees.set_index("employee_id")[column])` with the kept index."""
        rows = self.employee_rows(ids)
        values = self.employees[column].take(np.maximum(rows, 0)).where(rows >= 0)
        return pd.Series(values.array, index=ids.index, name=column)

    def kept(self, key: tuple, compute):
        """An index derived from the tables (positions, sort orders), computed once per data set."""
        if key not in self._kept:
            self._kept[key] = compute()
        return self._kept[key]

    @cached_property
    def _kept(self) -> dict:
        return {}

    @cached_property
    def end(self) -> pd.Timestamp:
        """The last date the data record something happening (planned dates such as goal targets
        and cohort ends excluded) on or before today: the export's effective end. A date after
        today (a hire in 2099) cannot be an event; `sanity.warnings` names it."""
        today = pd.Timestamp.today().normalize()
        stored = self.tables.latest if isinstance(self.tables, StoredTables) else lambda table, column: None

        def latest(table: str, column: str) -> pd.Timestamp:
            known = stored(table, column)  # a cache entry's latest, unless it lies after today
            if known is not None and (pd.isna(known) or known <= today):
                return known
            dates = self.column(table, column)
            return dates[dates <= today].max()

        found = [latest(name, c.name) for name, spec in TABLES.items() if name in self.tables
                 for c in spec.columns if c.kind == "date" and (name, c.name) not in PLANNED_DATES]
        return max(d for d in found + [self.history_end] if pd.notna(d))

    @property
    def begins(self) -> pd.Timestamp:
        """The first date the export records an exit (hire dates and job records reach back to each
        person's hire; exits before this date are not in the data, so panels do not reach back
        further). The earliest hire date when nobody has left. Read from a date on (`since`), no
        earlier than that date: the exits before it were not read."""
        if self.since is not None:
            return max(self.since, self.history_begins) if pd.notna(self.history_begins) else self.since
        exits = self.employees["termination_date"]
        return exits.min() if exits.notna().any() else self.employees["hire_date"].min()

    def summary(self) -> pd.DataFrame:
        """Rows, columns and date range per table: what a newcomer checks first."""
        records = []
        for name, spec in TABLES.items():
            df = self.tables.get(name)
            if df is None:
                records.append({"table": name, "file": "(absent)", "rows": 0, "columns": 0,
                                "first_date": pd.NaT, "last_date": pd.NaT})
                continue
            dates = [df[c.name] for c in spec.columns if c.kind == "date" and c.name in df]
            stacked = pd.concat(dates) if dates else pd.Series([], dtype="datetime64[ns]")
            records.append({"table": name, "file": self.files.get(name, ""), "rows": len(df),
                            "columns": df.shape[1], "first_date": stacked.min(), "last_date": stacked.max()})
        return pd.DataFrame.from_records(records)


# ---------------------------------------------------------------- reading

def _read(path: Path, table: str | None = None) -> pd.DataFrame:
    if is_remote(path):  # a URL: read through its fsspec filesystem, on whichever machine runs this
        with path.open("rb") as handle:
            return _read_from(handle, path.suffix, table)
    return _read_from(path, path.suffix, table)


def _read_from(source, suffix: str, table: str | None) -> pd.DataFrame:
    if suffix == ".parquet":
        return pd.read_parquet(source, columns=_contract_columns(source, table))
    # everything as text first, so that parsing problems are reported, not silently coerced
    return pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""])


def _contract_columns(path: Path, table: str | None) -> list[str] | None:
    """The columns of a Parquet file the contract names (headers matched as `_headers` matches them):
    a wide export's other columns (names, addresses, free text) are never read. None = all."""
    if table not in TABLES:
        return None
    import pyarrow.parquet as pq

    wanted = {c.name for c in TABLES[table].columns}
    names = pq.read_schema(path).names
    if hasattr(path, "seek"):  # an open file: the read that follows starts from its beginning
        path.seek(0)
    return [n for n in names if _header_key(n) in wanted] or names


def _other_delimiter(path: Path) -> str | None:
    """The delimiter a CSV's header uses when it is not a comma (';', tab or '|': what spreadsheets
    in many locales and some HR systems export), else None."""
    with path.open("rb") as handle:
        header = handle.readline().decode("utf-8", errors="replace")
    if "," in header:
        return None
    found = [d for d in (";", "\t", "|") if d in header]
    return found[0] if found else None


def _find(directory: Path, table: str) -> Path | None:
    found = [p for p in (directory / f"{table}.csv", directory / f"{table}.parquet") if p.exists()]
    if len(found) > 1:
        raise DataValidationError(directory, [Problem(found[0].name, "-", f"only one of {found[0].name} and {found[1].name}")])
    return found[0] if found else None


def _outside(file: Path, directory: Path) -> Path | None:
    """Where a table file's link leads when that is outside the data directory (None when the file
    is the directory's own, or links to another file inside it)."""
    if is_remote(file):  # a store has no links
        return None
    target = file.resolve()
    return None if target.is_relative_to(directory.resolve()) else target


# ---------------------------------------------------------------- column conversion

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def _as_text(s: pd.Series) -> pd.Series:
    if s.dtype == "str":  # already text, missing as missing: no copy of millions of ids
        return s
    if pd.api.types.is_float_dtype(s) and (s.dropna() % 1 == 0).all():
        s = s.astype("Int64")  # Parquet ids stored as whole floats read as 12, not 12.0
    return s.astype("str").where(s.notna(), pd.NA).astype("str")


def _padded(text: pd.Series, chunk: int = 1 << 22) -> int:
    """How many values have spaces around them (those `str.strip` changes), a few million at a time:
    tens of millions of clean ids are not copied whole to find that none changes."""
    count = 0
    for lo in range(0, len(text), chunk):
        part = text.iloc[lo:lo + chunk]
        count += int((part.notna() & (part.str.strip() != part)).sum())
    return count


def _convert(s: pd.Series, col: Col) -> tuple[pd.Series, pd.Series, str]:
    """Parse one column. Returns the parsed column, a mask of unparseable values, and what was expected."""
    present = s.notna()
    if col.kind in ("id", "text", "enum"):
        out = _as_text(s)
        if col.kind == "enum":
            return out, present & ~out.isin(col.values), "one of " + ", ".join(col.values)
        return out, pd.Series(False, index=s.index), ""
    if col.kind == "date":
        return _dates(s, present)
    if col.kind in ("number", "integer"):
        if pd.api.types.is_bool_dtype(s):  # a Parquet boolean is not a number, whatever it casts to
            return pd.Series(np.nan, index=s.index), present, "a number (the column holds true/false)"
        out = s if pd.api.types.is_numeric_dtype(s) else _numbers_from_text(s)
        out = out.astype("float64")
        bad = present & (out.isna() | ~np.isfinite(out.fillna(0)) | (out.abs() > LARGEST))
        if col.kind == "integer":
            bad |= present & out.notna() & (out % 1 != 0)
            out = out.where(~bad).astype("Int64") if col.nullable else out.where(~bad)
            return out, bad, f"a whole number (at most {LARGEST:,.0f} in size)"
        return out.where(~bad), bad, f"a number (at most {LARGEST:,.0f} in size)"
    if col.kind == "bool":
        if pd.api.types.is_bool_dtype(s):
            return s.astype("boolean"), pd.Series(False, index=s.index), ""
        low = _as_text(s).str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[low.isin(_TRUE)] = True
        out[low.isin(_FALSE)] = False
        return out, present & out.isna(), "true or false"
    raise AssertionError(f"unknown column kind {col.kind}")


LARGEST = 2.0 ** 53  # beyond this a number read as a float is no longer exact
FIRST_DAY, LAST_DAY = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-12-31")
DATE_FORM = (f"a date as YYYY-MM-DD between {FIRST_DAY:%Y-%m-%d} and {LAST_DAY:%Y-%m-%d} (a whole calendar date: no "
             "time of day, no year or month alone)")


def _dates(s: pd.Series, present: pd.Series) -> tuple[pd.Series, pd.Series, str]:
    """Dates strictly as YYYY-MM-DD (CSV) or date-only timestamps (Parquet), within the range a
    workforce record can hold; anything else is reported, never completed or rounded."""
    if pd.api.types.is_datetime64_any_dtype(s):
        stamps = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        ok = stamps.notna() & (stamps == stamps.dt.normalize()) & (stamps >= FIRST_DAY) & (stamps <= LAST_DAY)
        out = stamps.where(ok).astype("datetime64[ns]")
        return out, present & ~ok, DATE_FORM
    import pyarrow as pa
    import pyarrow.compute as pc

    text = _as_text(s).str.strip()
    form = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False).astype(bool)
    # parsed in Arrow (C++, seconds, any year), kept only within range, then as datetime64[ns]
    stamps = pc.strptime(pa.array(text.where(form), type=pa.string()), format="%Y-%m-%d", unit="s",
                         error_is_null=True)
    inside = pc.and_(pc.greater_equal(stamps, pa.scalar(FIRST_DAY.to_pydatetime(), pa.timestamp("s"))),
                     pc.less_equal(stamps, pa.scalar(LAST_DAY.to_pydatetime(), pa.timestamp("s"))))
    kept = pc.cast(pc.if_else(inside, stamps, pa.scalar(None, pa.timestamp("s"))), pa.timestamp("ns"))
    out = pd.Series(kept.to_numpy(zero_copy_only=False), index=s.index).astype("datetime64[ns]")
    return out, present & out.isna(), DATE_FORM


def _numbers_from_text(s: pd.Series) -> pd.Series:
    """Numbers written as text, parsed in Arrow when every value is a plain number (the usual case,
    many times faster on millions of rows); otherwise by pandas, which marks what does not parse."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        parsed = pc.cast(pa.array(_as_text(s), type=pa.string()), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return pd.to_numeric(s, errors="coerce")
    return pd.Series(parsed.to_numpy(zero_copy_only=False), index=s.index, dtype="float64")


def _problem(file: str, offset: int | np.ndarray, column: str, expected: str, mask: pd.Series, shown: pd.Series) -> Problem | None:
    if not mask.any():
        return None
    positions = np.flatnonzero(mask.to_numpy())
    first = positions[:MAX_EXAMPLES]
    values = tuple("empty" if pd.isna(v) else repr(int(v) if isinstance(v, float) and v.is_integer() else v)
                   for v in shown.iloc[first])
    rows = first + offset if np.ndim(offset) == 0 else np.asarray(offset)[first]
    return Problem(file, column, expected, tuple(int(r) for r in rows), values, len(positions))


def _fmt_dates(s: pd.Series) -> pd.Series:
    return s.dt.strftime("%Y-%m-%d")


# ---------------------------------------------------------------- validation

def _header_key(name) -> str:
    return re.sub(r"[\s_]+", "_", str(name).strip().lower())


def _headers(spec: Table, raw: pd.DataFrame, src: _Source) -> tuple[pd.DataFrame, list[tuple], list[Problem]]:
    """Contract columns whose header differs only in case or spaces ('Employee_ID', 'hire date ')
    renamed to the contract's name, each rename noted; two headers that would take one name are a
    problem."""
    names = {c.name for c in spec.columns}
    renames, notes, problems = {}, [], []
    for header in raw.columns:
        key = _header_key(header)
        if header not in names and key in names:
            if key in raw.columns or key in renames.values():
                problems.append(Problem(src.file, str(header), f"one column named {key} (this header and another "
                                                                f"both read as {key})"))
                continue
            renames[header] = key
            notes.append((src.file, key, len(raw), f"header {str(header)!r} read as {key}"))
    return (raw.rename(columns=renames) if renames else raw), notes, problems


def _validate_table(spec: Table, raw: pd.DataFrame, src: _Source,
                    employee: np.ndarray | None = None) -> tuple[pd.DataFrame, list[Problem], list[tuple]]:
    """Check and parse one table on its own. `employee`: each row's employee as a position in the
    employees table, when the read already found every one (the duplicate check then need not hash
    millions of id strings again)."""
    raw, cleaned, problems = _headers(spec, raw, src)
    df = raw.reset_index(drop=True)  # copy-on-write: each column parsed below replaces its own, raw stays as read
    if spec.required and len(df) == 0:
        problems.append(Problem(src.file, "-", "at least one row (the file has a header and nothing else)"))
    for col in spec.columns:
        if col.name not in df:
            if col.required:
                problems.append(Problem(src.file, col.name, "a required column that is missing"
                                        f" (found: {', '.join(map(str, raw.columns))})"))
            continue
        original = df[col.name]
        if col.kind in ("id", "text", "enum") and not pd.api.types.is_numeric_dtype(original):
            text = _as_text(original)
            changed = _padded(text)
            if changed:  # 'Sales ' is Sales, not a second department; said in the quality notes
                cleaned.append((src.file, col.name, changed, "spaces around the text removed"))
                trimmed = text.str.strip()
                original = trimmed.where(trimmed != "", pd.NA)
        parsed, bad, expected = _convert(original, col)
        if (p := _problem(src.file, src.row_offset, col.name, expected, bad, original)):
            problems.append(p)
        if not col.nullable:
            p = _problem(src.file, src.row_offset, col.name, "a value (empty cells are not allowed)",
                         original.isna(), original)
            if p:
                problems.append(p)
        if col.min is not None or col.max is not None:
            lo = -np.inf if col.min is None else col.min
            hi = np.inf if col.max is None else col.max
            num = parsed.astype("float64")
            out_of_range = num.notna() & ((num < lo) | (num > hi))
            rng = f"at least {lo:g}" if col.max is None else f"between {lo:g} and {hi:g}"
            if (p := _problem(src.file, src.row_offset, col.name, f"a value {rng}", out_of_range, original)):
                problems.append(p)
        df[col.name] = parsed
    for earlier, later in spec.date_order:
        if earlier in df and later in df and pd.api.types.is_datetime64_any_dtype(df[later]):
            wrong = df[later] < df[earlier]
            shown = (_fmt_dates(df[later]) + " before " + earlier + " " + _fmt_dates(df[earlier])) if wrong.any() \
                else wrong  # written out only when something is shown: strftime on millions of rows is slow
            if (p := _problem(src.file, src.row_offset, later, f"a date on or after {earlier}", wrong, shown)):
                problems.append(p)
    if spec.key and all(k in df for k in spec.key):
        first = employee if spec.key[0] == "employee_id" and employee is not None and (employee >= 0).all() else None
        dup = _duplicated(df, list(spec.key), first) & df[list(spec.key)].notna().all(axis=1)
        shown = dup
        if dup.any():  # written out only when something is shown
            shown = df[spec.key[0]].astype("str")
            for k in spec.key[1:]:
                shown = shown + " / " + df[k].astype("str")
        p = _problem(src.file, src.row_offset, ", ".join(spec.key),
                     "one row per " + " and ".join(spec.key) + " (duplicate key)", dup, shown)
        if p:
            problems.append(p)
    return df, problems, cleaned


def member(values: pd.Series, reference) -> np.ndarray:
    """values.isin(reference) as a bool array, hashed in Arrow: Series.isin, given millions of
    strings or a large set of ids, converts them one by one in Python. `reference` is a Series, an
    Index or any collection of ids (a set from `panels.had_event`, say)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(reference, (pd.Series, pd.Index)):
        reference = pd.Series(list(reference), dtype="str")
    known = pc.unique(pa.array(reference.dropna().astype("str"), type=pa.string()))
    found = pc.is_in(pa.array(pd.Series(values).astype("str"), type=pa.string()), value_set=known)
    return found.to_numpy(zero_copy_only=False).astype(bool)


def _member(values: pd.Series, reference: pd.Series) -> pd.Series:
    """values.isin(reference) as a Series on values' index (`member`)."""
    return pd.Series(member(values, reference), index=values.index, dtype=bool)


def positions_in(values: pd.Series, reference: pd.Series) -> np.ndarray:
    """pd.Index(reference).get_indexer(values) for unique reference values, hashed in Arrow: each
    value's position in `reference`, -1 when absent."""
    import pyarrow as pa
    import pyarrow.compute as pc

    where = pc.index_in(pa.array(values.astype("str"), type=pa.string()),
                        value_set=pa.array(reference.astype("str"), type=pa.string()))
    return where.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _compact(where: np.ndarray) -> np.ndarray:
    """Row positions as int32 (half of int64's memory); kept read-only, as every caller shares them."""
    where = where.astype(np.int32, copy=False)
    where.setflags(write=False)
    return where


def _duplicated(df: pd.DataFrame, key: list[str], first: np.ndarray | None = None) -> pd.Series:
    """Rows whose key another row also has (every one of them), from each key column's integer codes
    combined into one integer (DataFrame.duplicated on string and date columns is slow at millions
    of rows). `first`: the first key column already as codes from 0 (each history row's employee
    position), so that its strings are not hashed again."""
    combined, size = np.zeros(len(df), dtype=np.int64), 1
    for i, k in enumerate(key):
        if i == 0 and first is not None:
            codes, n = np.asarray(first, np.int64), int(first.max()) + 1 if len(first) else 0
        else:
            codes, uniques = pd.factorize(df[k], use_na_sentinel=False)
            n = len(uniques)
        if size * (n + 1) >= 2**62:  # renumbered densely first: the combination never overflows
            combined, size = pd.factorize(combined)[0].astype(np.int64), len(df) + 1
        combined, size = combined * (n + 1) + codes, size * (n + 1)
    return pd.Series(pd.Series(combined, copy=False).duplicated(keep=False).to_numpy(), index=df.index)


def _foreign_keys(tables: dict[str, pd.DataFrame], sources: dict[str, _Source],
                  employees_of: Mapping[str, np.ndarray] | None = None) -> list[Problem]:
    """Every reference names a row of the table it refers to. `employees_of`: tables whose rows'
    employees the read already found (positions, -1 = not an employee): the ids are not matched again."""
    problems = []
    for name, df in tables.items():
        src = sources[name]
        for col in TABLES[name].columns:
            if col.ref is None or col.name not in df:
                continue
            ref_table, ref_col = col.ref
            if ref_table not in tables:
                problems.append(Problem(src.file, col.name, f"{ref_table}.csv or {ref_table}.parquet beside it, "
                                        f"to check that every {col.name} exists"))
                continue
            values = df[col.name]
            found = (employees_of or {}).get(name) if (col.name, col.ref) == ("employee_id", ("employees", "employee_id")) \
                else None
            if found is not None:
                orphan = values.notna() & pd.Series(found < 0, index=values.index)
            else:
                orphan = values.notna() & ~_member(values, tables[ref_table][ref_col])
            p = _problem(src.file, src.row_offset, col.name,
                         f"{ref_col} present in {sources[ref_table].file}", orphan, values)
            if p:
                problems.append(p)
    return problems


def _cross_checks(tables: dict[str, pd.DataFrame], sources: dict[str, _Source]) -> list[Problem]:
    """Rules that involve two columns or two tables."""
    problems: list[Problem | None] = []
    emp = tables["employees"]
    src = sources["employees"]
    if {"termination_date", "termination_reason"} <= set(emp):
        gone = emp["termination_date"].notna()
        missing = gone & emp["termination_reason"].isna()
        problems.append(_problem(src.file, src.row_offset, "termination_reason",
                                 "voluntary or involuntary wherever termination_date is filled",
                                 missing, emp["termination_reason"]))
        stray = ~gone & emp["termination_reason"].notna()
        problems.append(_problem(src.file, src.row_offset, "termination_reason",
                                 "empty while termination_date is empty", stray, emp["termination_reason"]))
    elif "termination_date" in emp and emp["termination_date"].notna().any():
        problems.append(Problem(src.file, "termination_reason",
                                "a termination_reason column (voluntary/involuntary), since termination_date is filled"))

    jobs, jsrc = tables["job_history"], sources["job_history"]
    if {"employee_id", "effective_date"} <= set(jobs) and {"employee_id", "hire_date"} <= set(emp):
        hired = jobs["employee_id"].map(emp.drop_duplicates("employee_id").set_index("employee_id")["hire_date"])
        early = hired.notna() & (jobs["effective_date"] < hired)
        shown = (_fmt_dates(jobs["effective_date"]) + " before hire_date " + _fmt_dates(hired)) if early.any() else early
        problems.append(_problem(jsrc.file, jsrc.row_offset, "effective_date",
                                 "a date on or after the employee's hire_date", early, shown))

    if "matches" in tables:
        m, msrc = tables["matches"], sources["matches"]
        if {"mentor_id", "mentee_id"} <= set(m):
            problems.append(_problem(msrc.file, msrc.row_offset, "mentee_id", "a person other than the mentor",
                                     m["mentor_id"] == m["mentee_id"], m["mentee_id"]))

    if "goals" in tables:
        g, gsrc = tables["goals"], sources["goals"]
        if {"owner_id", "owner_role"} <= set(g):
            personal = g["owner_role"].isin(["mentor", "mentee"])
            unknown = personal & ~_member(g["owner_id"], emp["employee_id"])
            problems.append(_problem(gsrc.file, gsrc.row_offset, "owner_id",
                                     f"an employee_id from {src.file} for mentor and mentee goals", unknown, g["owner_id"]))

    if "surveys" in tables:
        s, ssrc = tables["surveys"], sources["surveys"]
        if {"instrument", "score"} <= set(s):
            for instrument, (lo, hi) in INSTRUMENT_SCALES.items():
                off = (s["instrument"] == instrument) & s["score"].notna() & ((s["score"] < lo) | (s["score"] > hi))
                problems.append(_problem(ssrc.file, ssrc.row_offset, "score",
                                         f"{instrument} scores between {lo:g} and {hi:g}", off, s["score"]))
    return [p for p in problems if p is not None]


def load(path: str | Path, cache: str | Path | None = None, since=None, until=None) -> Dataset:
    """Read and validate every table in a data directory (`<table>.csv` or `<table>.parquet`).

    Raises DataValidationError listing all problems; returns a Dataset with ids as strings,
    dates parsed and enumerations checked. Extra columns are kept as they are.

    With `cache` (default: the MENTORING_EVAL_CACHE environment variable, if set), a data set that
    passed validation is stored there as Parquet under the fingerprint of its files and of the
    contract, and a later load of the same bytes reads it back without parsing or checking again.
    Either way the Dataset reads each table from the entry when first used (`StoredTables`): an
    analysis holds the tables it uses, not the whole export.

    With `since` (a date), the history before it is read only as far as an analysis from that date
    on needs it (see `HISTORIES`): employees who left before it are left out unless a program
    table names them, their job history with them, and reviews and pulses before it are kept only
    as each employee's latest. Every state as of a day from `since` on and every event from then
    is the same as with the whole history; ten years of a large employer's records fit in memory
    when a cohort's analysis needs two or three of them (`open_study(..., since="window")`). With
    `until` as well, reviews and pulses after it are not read either (the data's `end` still counts
    them). Parquet tables are trimmed as they are read, a batch of rows at a time; CSV after
    validation.
    """
    directory = data_path(path)
    since, until = (None if d is None else _day(d, name) for d, name in ((since, "since"), (until, "until")))
    if until is not None and (since is None or until < since):
        wanted = "given together with since" if since is None else f"on or after since ({since:%Y-%m-%d})"
        raise DataValidationError("until", [Problem("", "until", f"a date {wanted}, not {until:%Y-%m-%d}")])
    cache = cache if cache is not None else os.environ.get(CACHE_ENV) or None
    if cache is None or not is_folder(directory):
        return _load(directory, since, until)
    entry = Path(cache) / cache_entry(directory, since, until)
    cached = _read_cache(entry, directory)
    if cached is not None:
        return cached
    ds = replace(_load(directory, since, until), fingerprint=entry.name)
    if entry.exists():  # damaged: replace it
        shutil.rmtree(entry, ignore_errors=True)
    _write_cache(entry, ds)
    # from the entry just written, as a later run will: each table read when first used, and what the
    # validation held let go (unless the entry could not be written)
    return _read_cache(entry, directory) or ds


def cache_key(path: str | Path, fingerprint: str | None = None) -> str:
    """The cache entry of a data directory: its files' fingerprint (pass it if already computed) and
    the contract's own code, so that a change to either validates afresh."""
    import hashlib

    from .version import __version__

    rules = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    files = fingerprint or data_fingerprint(path)
    return hashlib.sha256(f"{files}|{rules}|{__version__}".encode()).hexdigest()[:20]


def cache_entry(path: str | Path, since: pd.Timestamp | None = None, until: pd.Timestamp | None = None,
                fingerprint: str | None = None) -> str:
    """The name of the cache entry `load(path, since=..., until=...)` writes: `cache_key`, and the
    window it was read from (each window of a data set is an entry of its own)."""
    window = "" if since is None else f"-since-{since:%Y%m%d}" + ("" if until is None else f"-until-{until:%Y%m%d}")
    return cache_key(path, fingerprint) + window


def _read_cache(entry: Path, directory: Path) -> Dataset | None:
    """The entry's Dataset, its tables read when first used (`StoredTables`); None when the entry is
    absent or damaged (a file missing or cut short), so that the data are validated afresh."""
    import pyarrow.parquet as pq

    try:
        meta = json.loads((entry / "files.json").read_text())
        files, provided = meta["files"], {k: tuple(v) for k, v in meta["provided"].items()}
        cleaned = tuple(tuple(c) for c in meta.get("cleaned", []))
        rows = {name: pq.read_metadata(entry / f"{name}.parquet").num_rows for name in files}
        positions = {name: np.load(entry / "positions" / f"{name}.npy") for name in meta.get("positions", [])}
        latest = meta["latest"]
    except (OSError, ValueError, KeyError, TypeError):  # absent, partly deleted or unreadable: validate afresh
        return None
    if any(name not in rows or len(where) != rows[name] for name, where in positions.items()):
        return None
    since, begins, until, end = (pd.Timestamp(meta[k]) if meta.get(k) else None
                                 for k in ("since", "history_begins", "until", "history_end"))
    ds = Dataset(directory, StoredTables(entry, files, latest), files, provided, entry.name, cleaned, since, begins,
                 until, end)
    for name, where in positions.items():  # matching every row's id to the employees is seconds at millions
        ds.kept(("employee positions", name), lambda where=where: _compact(where))
    return ds


def _write_cache(entry: Path, ds: Dataset) -> None:
    """Write the entry beside its place and rename it in, so that concurrent readers see all or nothing."""
    tmp = entry.with_name(f".{entry.name}.tmp-{os.getpid()}")
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        for name, frame in ds.tables.items():
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
        with_ids = [name for name, frame in ds.tables.items() if name != "employees" and "employee_id" in frame]
        (tmp / "positions").mkdir()
        for name in with_ids:  # each row's employee as a position in the employees table, for every reader
            np.save(tmp / "positions" / f"{name}.npy", ds.employee_positions(name).astype(np.int32))
        (tmp / "files.json").write_text(json.dumps({"files": dict(ds.files), "positions": with_ids,
                                                    "latest": _latest_dates(ds.tables),
                                                    "provided": {k: list(v) for k, v in ds.provided.items()},
                                                    "cleaned": [list(c) for c in ds.cleaned],
                                                    **{k: None if v is None or pd.isna(v) else str(v) for k, v in
                                                       (("since", ds.since), ("history_begins", ds.history_begins),
                                                        ("until", ds.until), ("history_end", ds.history_end))}}))
        os.rename(tmp, entry)
    except OSError:  # another process wrote the same entry first, or the cache is read-only
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _day(value, name: str = "since") -> pd.Timestamp:
    try:
        day = pd.Timestamp(value)
    except (TypeError, ValueError):
        day = pd.NaT
    if pd.isna(day) or day != day.normalize():
        raise DataValidationError(name, [Problem("", name, f"a date (YYYY-MM-DD), not {value!r}")])
    return day.tz_localize(None) if day.tzinfo else day


def _load(directory: Path, since: pd.Timestamp | None = None, until: pd.Timestamp | None = None) -> Dataset:
    if not is_folder(directory):
        raise DataValidationError(directory, [Problem("", "-", "no such directory: expected a directory holding the "
                                                               "data tables")])
    raw: dict[str, pd.DataFrame] = {}
    sources: dict[str, _Source] = {}
    problems: list[Problem] = []
    later: dict[str, Path] = {}  # histories read from `since` on, once the employees are known
    for name, spec in TABLES.items():
        file = _find(directory, name)
        if file is None:
            if spec.required:
                problems.append(Problem(f"{name}.csv", "-", f"a required table: {name}.csv or {name}.parquet in {directory}"))
            continue
        if os.environ.get(FOLLOW_ENV) != "1" and (target := _outside(file, directory)):
            problems.append(Problem(file.name, "-", f"a file inside the data directory; it links to {target}, outside "
                                                    f"it (pass --follow-symlinks to read it anyway)"))
            continue
        if file.suffix == ".csv" and (other := _other_delimiter(file)):
            problems.append(Problem(file.name, "-", f"comma-separated values; the header is separated by {other!r} "
                                                    f"instead (export the table as CSV with commas)"))
            continue
        if since is not None and name in HISTORIES:
            later[name] = file
            continue
        try:
            raw[name] = _read(file, name)
        except Exception as exc:  # unreadable file: report, do not crash
            problems.append(Problem(file.name, "-", f"a readable {file.suffix[1:].upper()} file ({type(exc).__name__}: {exc})"))
            continue
        sources[name] = _Source(file.name, 2 if file.suffix == ".csv" else 1)
    tables: dict[str, pd.DataFrame] = {}
    cleaned: list[tuple] = []
    for name in list(raw):  # each raw table let go once validated: only one is held twice at a time
        tables[name], found, tidied = _validate_table(TABLES[name], raw.pop(name), sources[name])
        problems.extend(found)
        cleaned.extend(tidied)
    history_begins, history_end = None, None
    who: dict[str, np.ndarray | None] = {}  # each kept row's employee, by position in the whole employees table
    if later:
        history_begins, kept = _employees_since(tables, sources, since, sound=not problems)
        unread = []  # the latest event (on or before today) among the rows after `until`
        for name, file in later.items():
            try:
                frame, rows, who[name], latest = _read_since(file, name, tables.get("employees"), kept, since, until)
                unread.append(latest)
            except Exception as exc:  # unreadable file: report, do not crash
                problems.append(Problem(file.name, "-", f"a readable {file.suffix[1:].upper()} file "
                                                        f"({type(exc).__name__}: {exc})"))
                continue
            offset = 2 if file.suffix == ".csv" else 1
            sources[name] = _Source(file.name, offset if rows is None else rows + offset)
            tables[name], found, tidied = _validate_table(TABLES[name], frame, sources[name],
                                                          None if rows is None else who[name])
            del frame
            problems.extend(found)
            cleaned.extend(tidied)
            if rows is not None and any(c[1] == "employee_id" for c in tidied):  # ids read with spaces around
                tables[name], rows, who[name] = _found_again(tables[name], tables["employees"], kept, rows)
                sources[name] = _Source(file.name, rows + offset)
            if rows is None and not found and kept is not None:  # read whole (CSV): trimmed now, as validated
                chosen, who[name], latest = _chosen_since(tables["employees"], kept, tables[name], HISTORIES[name],
                                                          since, until)
                tables[name] = tables[name].take(chosen).reset_index(drop=True)
                sources[name] = _Source(file.name, chosen + offset)
                unread.append(latest)
        history_end = max((d for d in unread if pd.notna(d)), default=None) if until is not None else None
        if kept is None:
            who = {}
        else:
            renumbered = np.full(kept.size + 1, -1, dtype=np.int64)  # [-1] (not an employee) stays -1
            renumbered[np.flatnonzero(kept)] = np.arange(int(kept.sum()))
            who = {name: renumbered[w] for name, w in who.items() if w is not None}
            tables["employees"] = tables["employees"].take(np.flatnonzero(kept)).reset_index(drop=True)
            employees = sources["employees"]
            sources["employees"] = _Source(employees.file, np.flatnonzero(kept) + employees.row_offset)
        tables = {name: tables[name] for name in TABLES if name in tables}
    # across tables only once every table is sound on its own (a missing column or an unparsed
    # date would make those checks fail for the wrong reason)
    if not problems and all(name in tables for name, spec in TABLES.items() if spec.required):
        problems.extend(_foreign_keys(tables, sources, who))
        problems.extend(_cross_checks(tables, sources))
    if problems:
        raise DataValidationError(directory, problems)
    provided = {name: tuple(map(str, df.columns)) for name, df in tables.items()}
    tables = {name: _with_optional_columns(TABLES[name], df) for name, df in tables.items()}
    ds = Dataset(directory, tables, {k: sources[k].file for k in tables}, provided, cleaned=tuple(cleaned),
                 since=since, history_begins=history_begins, until=until, history_end=history_end)
    for name, where in who.items():  # found while reading: matching the ids again is seconds at millions of rows
        ds.kept(("employee positions", name), lambda where=where: _compact(where))
    return ds


# ---------------------------------------------------------------- reading from a date on

def read_table(path: str | Path, table: str) -> pd.DataFrame:
    """One table of a data directory, validated on its own (no checks across tables): what a caller
    needs before deciding how to load the rest, such as a cohort's dates."""
    directory = data_path(path)
    file = _find(directory, table) if is_folder(directory) else None
    if file is None:
        raise DataValidationError(directory, [Problem(f"{table}.csv", "-", f"a table {table}.csv or {table}.parquet "
                                                                          f"in {directory}")])
    src = _Source(file.name, 2 if file.suffix == ".csv" else 1)
    frame, problems, _ = _validate_table(TABLES[table], _read(file, table), src)
    if problems:
        raise DataValidationError(directory, problems)
    return frame


HISTORIES = {"job_history": None, "performance_reviews": "review_date", "engagement_surveys": "survey_date"}
"""The tables of dated records per employee that `load(since=..., until=...)` trims: the job history
of the employees kept is kept whole (an as-of level, grade or department, each change, and each
promotion to the data's end, need it); of reviews and pulses before `since` only each employee's
latest (an as-of rating or score needs nothing older), and none after `until`. Other tables are
read whole."""
BATCH_ROWS = 1 << 21


def _employees_since(tables: dict, sources: dict, since: pd.Timestamp, sound: bool):
    """`begins` over the whole history, and which employees to keep (a mask over the employees
    table; None when the tables are not sound enough to choose): whoever was employed on or after
    `since`, and whoever a program table names (an enrollment keeps its person, however long ago)."""
    emp = tables.get("employees")
    if emp is None or not sound or not {"employee_id", "hire_date", "termination_date"} <= set(emp):
        return None, None
    exits = emp["termination_date"]
    begins = exits.min() if exits.notna().any() else emp["hire_date"].min()
    kept = (exits.isna() | (exits >= since)).to_numpy(bool, copy=True)
    for name, df in tables.items():
        for col in TABLES[name].columns:
            if (col.ref == ("employees", "employee_id") or (name, col.name) == ("goals", "owner_id")) and col.name in df:
                kept |= member(emp["employee_id"], df[col.name].dropna())
    return begins, kept


def _chosen_since(employees: pd.DataFrame, kept: np.ndarray, frame: pd.DataFrame, date_col: str | None,
                  since: pd.Timestamp, until: pd.Timestamp | None):
    """The rows of a history table `load(since=..., until=...)` keeps, as positions: every row of a
    kept employee (job history), or their latest rows before `since` and then their rows from
    `since` to `until` (reviews, pulses; each part in the file's order), each one's employee as a
    position in the whole employees table, and the latest event among the rows after `until`. A
    row whose employee is not in the employees table is kept, for validation to report."""
    where = positions_in(frame["employee_id"], employees["employee_id"])
    ours = (where < 0) | kept[np.maximum(where, 0)]
    if date_col is None:
        return np.flatnonzero(ours), where[ours], None
    dates = pd.to_datetime(frame[date_col], errors="coerce").to_numpy("datetime64[ms]")
    after = _after(dates, until)
    before = ours & (where >= 0) & (dates < np.datetime64(since, "ms"))
    chosen = np.flatnonzero(ours & ~before & ~after)
    earlier = np.flatnonzero(before)
    rows = np.concatenate([np.sort(earlier[_latest(where[earlier], dates[earlier], earlier)]), chosen])
    return rows, where[rows], _latest_event(dates[after])


def _found_again(frame: pd.DataFrame, employees: pd.DataFrame, kept: np.ndarray, rows: np.ndarray):
    """A history read from a date on whose ids only matched once validation trimmed them: each row's
    employee found again from the trimmed ids, and the rows of employees not kept let go, as they
    would have been had the ids been clean (the rows before `since` of a kept employee stay: the
    latest of them is the same)."""
    where = positions_in(frame["employee_id"], employees["employee_id"])
    ours = np.flatnonzero((where < 0) | kept[np.maximum(where, 0)])
    return frame.take(ours).reset_index(drop=True), rows[ours], where[ours]


def _after(dates: np.ndarray, until: pd.Timestamp | None) -> np.ndarray:
    return dates > np.datetime64(until, "ms") if until is not None else np.zeros(dates.size, dtype=bool)


def _latest_event(dates: np.ndarray) -> pd.Timestamp | None:
    """The latest of some dates on or before today (as `Dataset.end` counts events), or None."""
    dates = dates[dates <= np.datetime64(pd.Timestamp.today().normalize(), "ms")]
    return pd.Timestamp(dates.max()) if dates.size else None


def _latest(person: np.ndarray, dates: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions (into the arrays) of each person's latest row: latest date, then last in the file."""
    order = np.lexsort((rows, dates, person))
    last = np.r_[person[order][1:] != person[order][:-1], True] if order.size else np.array([], dtype=bool)
    return order[last]


def _read_since(file: Path, table: str, employees: pd.DataFrame | None, kept: np.ndarray | None,
                since: pd.Timestamp, until: pd.Timestamp | None):
    """A history table read from `since` (to `until`): (frame, each row's 0-based position in the
    file, its employee's position in the whole employees table, the latest event among the rows
    after `until`). A Parquet file with typed dates is trimmed batch by batch as it is read, never
    held whole; any other is read whole (positions None) and trimmed once validated."""
    date_col = HISTORIES[table]
    if kept is None or file.suffix != ".parquet" or is_remote(file):
        return _read(file, table), None, None, None
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = _contract_columns(file, table)
    schema = pq.read_schema(file)
    id_name = next((n for n in names if _header_key(n) == "employee_id"), None)
    date_name = next((n for n in names if _header_key(n) == date_col), None) if date_col else None
    if id_name is None or not pa.types.is_string(schema.field(id_name).type) and \
            not pa.types.is_large_string(schema.field(id_name).type) or \
            (date_col and (date_name is None or not pa.types.is_temporal(schema.field(date_name).type))):
        return _read(file, table), None, None, None  # ids or dates that need validating as text first
    index = pd.Index(employees["employee_id"])
    cut = np.datetime64(since, "ms")
    taken, taken_rows, taken_who = [], [], []  # kept rows, and the candidates for each person's latest before `since`
    early, early_person, early_dates, early_rows = [], [], [], []
    held, first, unread = 0, 0, []
    for batch in pq.ParquetFile(file).iter_batches(batch_size=BATCH_ROWS, columns=names):
        rows = np.arange(first, first + batch.num_rows)
        first += batch.num_rows
        if date_col is not None and until is not None:  # rows after `until`: only their latest date is kept
            dates = batch.column(date_name).cast(pa.timestamp("ms")).to_numpy(zero_copy_only=False)
            after = _after(dates, until)
            unread.append(_latest_event(dates[after]))
            if after.any():
                batch, rows = batch.filter(pa.array(~after)), rows[~after]
        where = index.get_indexer(pd.Index(batch.column(id_name).to_pandas(), dtype="str"))
        ours = (where < 0) | kept[np.maximum(where, 0)]
        if date_col is None:
            keep = np.flatnonzero(ours)
            taken.append(batch.take(keep)), taken_rows.append(rows[keep]), taken_who.append(where[keep])
            continue
        dates = batch.column(date_name).cast(pa.timestamp("ms")).to_numpy(zero_copy_only=False)
        before = ours & (where >= 0) & (dates < cut)
        keep = np.flatnonzero(ours & ~before)
        taken.append(batch.take(keep)), taken_rows.append(rows[keep]), taken_who.append(where[keep])
        pick = np.flatnonzero(before)
        pick = pick[_latest(where[pick], dates[pick], rows[pick])]
        early.append(batch.take(pick)), early_person.append(where[pick])
        early_dates.append(dates[pick]), early_rows.append(rows[pick])
        held += pick.size
        if held > 2 * len(index) + BATCH_ROWS:  # bounded: reduce the candidates to one per person so far
            early, early_person, early_dates, early_rows = _reduce_latest(early, early_person, early_dates, early_rows)
            held = early_rows[0].size
    if early:
        early, early_person, _, early_rows = _reduce_latest(early, early_person, early_dates, early_rows)
        order = np.argsort(early_rows[0], kind="stable")
        early, early_rows, early_person = [early[0].take(order)], [early_rows[0][order]], [early_person[0][order]]
    # the latest rows before `since` first, then the rest as they came: each part in the file's
    # order (a sort of the whole would copy millions of rows once more)
    none = np.array([], dtype=np.int64)
    rows = np.concatenate([none, *early_rows, *taken_rows])
    who = np.concatenate([none, *early_person, *taken_who])
    whole = _joined([*early, *taken]) if taken or early else schema.empty_table().select(names)
    early.clear(), taken.clear()  # the table alone holds the rows: each column let go as it is converted
    return (whole.to_pandas(self_destruct=True, split_blocks=True), rows, who,
            max((d for d in unread if d is not None), default=None))


def _joined(parts) -> "pa.Table":
    """Record batches and tables of one schema as one table."""
    import pyarrow as pa

    return pa.concat_tables([p if isinstance(p, pa.Table) else pa.Table.from_batches([p]) for p in parts])


def _reduce_latest(batches, person, dates, rows):
    person, dates, rows = np.concatenate(person), np.concatenate(dates), np.concatenate(rows)
    pick = _latest(person, dates, rows)
    return [_joined(batches).take(pick)], [person[pick]], [dates[pick]], [rows[pick]]


_MISSING_DTYPES = {"id": "str", "text": "str", "enum": "str", "date": "datetime64[ns]", "number": "float64",
                   "integer": "Int64", "bool": "boolean"}


def _with_optional_columns(spec: Table, df: pd.DataFrame) -> pd.DataFrame:
    """The table with every optional contract column the export lacked, as typed missing values, so
    that no analysis has to ask whether a column exists."""
    absent = [c for c in spec.columns if c.name not in df]
    if not absent:
        return df
    missing = {"date": pd.NaT, "number": np.nan}
    return df.assign(**{c.name: pd.Series(missing.get(c.kind, pd.NA), index=df.index, dtype=_MISSING_DTYPES[c.kind])
                        for c in absent})


def quality_notes(ds: Dataset) -> pd.DataFrame:
    """Things that are allowed by the contract but worth an analyst's attention before analysis:
    one row per check with the number of rows affected (zero rows = the check passed). Computed
    once per data set, by employee positions (the overview and its own table both ask)."""
    return ds.kept(("quality notes",), lambda: _quality_notes(ds))


def _quality_notes(ds: Dataset) -> pd.DataFrame:
    notes: list[tuple[str, int, str]] = []
    emp, jobs, enr, cohorts = ds.employees, ds.job_history, ds.enrollments, ds.cohorts
    holder = ds.employee_positions("job_history")
    known = holder >= 0
    no_jobs = np.bincount(holder[known], minlength=len(emp)) == 0
    notes.append(("employees without a job history record", int(no_jobs.sum()),
                  "their level and department over time are unknown; they drop out of panels"))
    first_job = np.full(len(emp), np.datetime64("NaT"), dtype="datetime64[ns]")
    dates = jobs["effective_date"].to_numpy(dtype="datetime64[ns]")[known]
    order = np.lexsort((dates, holder[known]))  # each employee's records by date: the first is the earliest
    firsts = np.r_[True, np.diff(holder[known][order]) != 0]
    first_job[holder[known][order][firsts]] = dates[order][firsts]
    late = pd.Series(first_job) > (emp["hire_date"] + pd.Timedelta(days=31)).to_numpy(dtype="datetime64[ns]")
    notes.append(("employees whose first job record starts over a month after hire", int(late.sum()),
                  "their job level is unknown for the gap"))
    w = enr["status"] == "withdrawn"
    notes.append(("withdrawn enrollments without a withdrawal date", int((w & enr["withdrawal_date"].isna()).sum()),
                  "their time in the program is unknown"))
    notes.append(("a withdrawal date on enrollments not marked withdrawn",
                  int((~w & enr["withdrawal_date"].notna()).sum()),
                  "status and date disagree"))
    start = enr["cohort_id"].map(cohorts.set_index("cohort_id")["start_date"]).to_numpy(dtype="datetime64[ns]")
    who = ds.employee_positions("enrollments")  # every enrollee is an employee (checked when loading)
    hired = emp["hire_date"].to_numpy(dtype="datetime64[ns]")[who]
    gone = emp["termination_date"].to_numpy(dtype="datetime64[ns]")[who]
    not_employed = (hired > start) | (~np.isnat(gone) & (gone < start))
    notes.append(("enrollments of people not employed at cohort start", int(not_employed.sum()),
                  "they cannot be in the at-risk population at start"))
    if ds.has("matches"):
        m = ds.matches
        in_match = pd.concat([m["mentee_id"], m["mentor_id"]], ignore_index=True)
        claimed = enr["status"].isin(["matched", "active", "completed"]).to_numpy() & ~member(enr["employee_id"], in_match)
        notes.append(("enrollments marked matched/active/completed with no match record", int(claimed.sum()),
                      "match-based metrics will miss them"))
    for col in ("gender", "ethnicity", "annual_salary"):
        notes.append((f"employees with {col.replace('_', ' ')} missing", int(emp[col].isna().sum()),
                      "segment breakdowns and costs leave them out" if col != "annual_salary" else "ROI uses the median salary for them"))
    for file, column, rows, what in ds.cleaned:  # tidied while loading: said, never silent
        notes.append((f"{file}, column {column}: {what}", int(rows), "read as the contract names it"))
    for table in ("matches", "meetings", "goals", "surveys", "performance_reviews", "engagement_surveys", "program_costs"):
        if not ds.has(table):
            notes.append((f"{table.replace('_', ' ')} table absent", 0, "analyses that need it say so and are skipped"))
    return pd.DataFrame(notes, columns=["check", "rows_affected", "consequence"])


def data_fingerprint(path: str | Path) -> str:
    """A short hash of every table file in a data directory (names and bytes): reports whose inputs
    are unchanged can be reused."""
    import hashlib

    digest = hashlib.sha256()
    directory = data_path(path)
    for name in TABLES:
        for suffix in (".csv", ".parquet"):
            f = directory / f"{name}{suffix}"
            if f.exists():
                digest.update(f.name.encode())
                file_digest(f, digest)
    return digest.hexdigest()[:16]
