"""One cohort's study: its params, its validated data, and (built once, on first use) its
populations, panels and every analysis result.

`open_study(params_file)` is where a notebook, the batch runner and a test start; analyses take
the study (`me.retention.analyze(study)`) and ask it for what they need instead of rebuilding it.
Each result is computed once per study; when the batch runner shares a cache directory between
its notebooks (MENTORING_EVAL_CACHE), once per run: the first notebook that needs a result
computes and stores it, the others read it back."""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from .cohorts import Cohort, build_cohort
from .data import CACHE_ENV, RESULTS_DIR, TABLES, CohortInfo, DataValidationError, Dataset, Problem, load, read_table
from .errors import MentoringEvalError, ParamsError
from .estimates import Estimates
from .files import folder_name, locked, scratch_dir
from .panels import at_risk, employed_on, job_events, period_index, period_start
from .params import CohortParams, find_files, load_params, locate, unknown_cohort_message
from .privacy import Disclosure
from .storage import is_folder, place
from .version import __version__, code_fingerprint

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Study:
    """A cohort's params and validated data set, checked to belong together at construction."""

    params: CohortParams
    dataset: Dataset
    params_file: Path | None = None
    _results: dict = field(default_factory=dict, init=False, repr=False)
    _kept: dict = field(default_factory=dict, init=False, repr=False)  # large frames, this process only

    def __post_init__(self) -> None:
        where = self.params_file or "params"
        for name, spec in TABLES.items():
            if spec.required and not self.dataset.has(name):
                raise ParamsError(f"{where}, key data_dir: {self.dataset.source} has no {name} table")
        if self.params.cohort_id not in self.dataset.cohort_ids:
            file = self.dataset.source / self.dataset.files.get("cohorts", "cohorts.csv")
            raise ParamsError(unknown_cohort_message(where, self.params.cohort_id, file, self.dataset.cohort_ids))
        if self.params.design == "lottery":
            self._check_offers(where)
        if self.params.salary_grade_order:
            self._check_grades(where)

    def _check_grades(self, where) -> None:
        """Every salary grade code in job_history has a place in the params' salary_grade_order."""
        codes = self.dataset.job_history["salary_grade"]
        unlisted = codes.notna() & ~codes.isin(self.params.salary_grade_order)
        if unlisted.any():
            file = self.dataset.files.get("job_history", "job_history.csv")
            first_row = 2 if file.endswith(".csv") else 1
            rows = np.flatnonzero(unlisted.to_numpy())
            raise DataValidationError(self.dataset.source, [Problem(
                file, "salary_grade", f"a grade listed in salary_grade_order of {where} "
                f"({', '.join(self.params.salary_grade_order)})", tuple(int(r) + first_row for r in rows[:5]),
                tuple(repr(str(codes.iloc[r])) for r in rows[:5]), int(rows.size))])

    def _check_offers(self, where) -> None:
        """A lottery cohort records, for every mentee applicant, whether a place was offered."""
        enr = self.dataset.enrollments
        file = self.dataset.files.get("enrollments", "enrollments.csv")
        mine = (enr["cohort_id"] == self.params.cohort_id) & (enr["role"] == "mentee")
        if "offered" not in self.dataset.provided.get("enrollments", ()):
            raise DataValidationError(self.dataset.source, [Problem(
                file, "offered", f"a column saying whether each applicant was offered a place, since {where} says "
                f"design: lottery for cohort {self.params.cohort_id!r}")])
        blank = mine & enr["offered"].isna()
        if blank.any():
            first_row = 2 if file.endswith(".csv") else 1
            rows = np.flatnonzero(blank.to_numpy())
            raise DataValidationError(self.dataset.source, [Problem(
                file, "offered", f"true or false for every mentee applicant of cohort {self.params.cohort_id!r} "
                f"(design: lottery in {where})", tuple(int(r) + first_row for r in rows[:5]),
                tuple("empty" for _ in rows[:5]), int(rows.size))])

    # ------------------------------------------------------------ what the study is about

    @property
    def cohort_id(self) -> str:
        return self.params.cohort_id

    @cached_property
    def info(self) -> CohortInfo:
        """The cohort's row of the cohorts table: name, start and end dates."""
        return self.dataset.cohort(self.cohort_id)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def start(self) -> pd.Timestamp:
        return self.info.start

    @property
    def end(self) -> pd.Timestamp:
        """The data's effective end (the last recorded event)."""
        return self.dataset.end

    @property
    def disclosure(self) -> Disclosure:
        """What this study's reports may show (audience, smallest cell)."""
        return Disclosure(self.params.audience, self.params.min_cell_size)

    @property
    def report_dir(self) -> Path:
        """Where this cohort's report files go when no output directory is given (a notebook run on
        its own): a scratch folder, never the published reports (the runner passes its own folder)."""
        return scratch_dir() / folder_name(self.cohort_id)

    @cached_property
    def so_far(self) -> list[Study]:
        """This cohort and the program's earlier ones, in order of start: the params files beside
        this one that name the same data directory as its file does (a data_dir override, as in a
        notebook's parameters, moves them all) and
        whose cohort is in the data and started no later, read against this study's data set (one
        study per cohort; this study for its own). [self] without a params file."""
        found = {self.cohort_id: self}
        if self.params_file is not None:
            try:
                written = {place(load_params(self.params_file).data_dir)}
            except MentoringEvalError:
                written = {place(self.params.data_dir)}
            for pf in find_files(self.params_file.resolve().parent):
                try:
                    if place(load_params(pf).data_dir) not in written:
                        continue  # another program's or company's cohorts
                    p = load_params(pf, data_dir=self.params.data_dir)
                    if p.cohort_id in found or p.cohort_id not in self.dataset.cohort_ids:
                        continue
                    other = Study(p, self.dataset, pf)
                except MentoringEvalError:  # a broken sibling is its own report's error, not this one's
                    continue
                if other.start <= self.start:
                    found[p.cohort_id] = other
        return sorted(found.values(), key=lambda s: s.start)

    # ------------------------------------------------------------ built once

    @cached_property
    def cohort(self) -> Cohort:
        """The populations at the start: eligible, participants by role, comparison pool."""
        return build_cohort(self.dataset, self.params, self.info, self.employed_on(self.info.start))

    @cached_property
    def panel(self) -> pd.DataFrame:
        """The company's at-risk panel over the analysis window S-P .. S+H-1 cut to the periods the
        data cover (`window`), built once."""
        return self.panel_of(None)

    def kept(self, key: tuple, compute: Callable[[], T]) -> T:
        """A large intermediate (a snapshot of the company, say) computed once in this process and
        never written to the run's cache: cheaper to rebuild than to store."""
        if key not in self._kept:
            self._kept[key] = compute()
        return self._kept[key]

    def employed_on(self, date: pd.Timestamp) -> pd.DataFrame:
        """`panels.employed_on` of this study's data and period: everyone employed on `date` with
        their attributes then. The before/after snapshots of every outcome and role share few dates,
        so each date is built once."""
        date = pd.Timestamp(date)
        return self.kept(("employed on", date), lambda: employed_on(self.dataset, date, self.params.period))

    def panel_of(self, employee_ids, attributes: bool = True, positions: bool = False) -> pd.DataFrame:
        """`panel`'s rows of these employees only (all when None), without building the whole
        company's: a matched sample in a large company. `attributes=False`: the events only;
        `positions`: with `employee`, each row's position in the employees table."""
        first, last = period_start(np.array(self.window[:2]), self.params.period)
        return at_risk(self.dataset, self.params.period, start=pd.Timestamp(first), end=pd.Timestamp(last),
                       grade_order=self.params.salary_grade_order, employee_ids=employee_ids, attributes=attributes,
                       positions=positions)

    @cached_property
    def window(self) -> tuple[int, int, int, int]:
        """(first, last) periods of the panels, and the (first, last) the params ask for: S-P .. S+H-1
        cut to the periods from the one the data begin in (`Dataset.begins`) to the one they end in,
        never padded with periods the data do not cover."""
        p, s = self.params, self.cohort.start_period
        wanted = (s - p.pre_periods, s + p.post_periods - 1)
        begins, ends = period_index(pd.Series([self.dataset.begins, self.dataset.end]), p.period)
        return max(wanted[0], int(begins)), min(wanted[1], int(ends)), *wanted

    @cached_property
    def job_events(self) -> pd.DataFrame:
        """Promotions, grade changes and internal moves, dated by their job record."""
        return job_events(self.dataset)

    # ------------------------------------------------------------ results, computed once

    def result(self, key: tuple, compute: Callable[[], T]) -> T:
        """The result stored under `key`, computed by `compute()` the first time it is asked for (in
        this process, or in this run when the runner shares a cache directory)."""
        if key in self._results:
            return self._results[key]
        store = self._store()
        if store is None:
            value = compute()
        else:
            path = store / f"{hashlib.sha256(repr(key).encode()).hexdigest()[:24]}.pickle"
            with locked(path.with_suffix(".lock")):
                value = _read_pickle(path)
                if value is None:
                    value = compute()
                    _write_pickle(path, value)
        self._results[key] = value
        return value

    @property
    def estimates(self) -> Estimates:
        """Every estimate of the results computed so far, in the order they were computed."""
        return Estimates.combine(*(r for r in self._results.values() if hasattr(r, "estimates")))

    def _store(self) -> Path | None:
        cache = os.environ.get(CACHE_ENV)
        if not cache or not self.dataset.fingerprint:
            return None
        identity = f"{self.params.model_dump_json()}|{self.dataset.fingerprint}|{__version__}|{code_fingerprint()}"
        path = Path(cache) / RESULTS_DIR / hashlib.sha256(identity.encode()).hexdigest()[:20]
        path.mkdir(parents=True, exist_ok=True)
        return path


def open_study(params_file: str | Path, *, data_dir: str | Path | None = None, cohort_id: str | None = None,
               audience: str | None = None, dataset: Dataset | None = None, since=None) -> Study:
    """A cohort's study from its params file; data_dir, cohort_id and audience override the file's
    keys when given (None keeps them), and an already loaded `dataset` of the same data is reused.
    Raises ParamsError naming the file and key when the cohort is not in the data.

    `since="window"` reads the data from the earliest day the cohort's own analyses look at on (the
    first pre-period, or the placebo's year before its fake start), and reviews and pulses up to
    the last day of its last post-period (see `load`; a date may be given instead): its retention,
    promotion and ROI figures are the same, with a fraction of a long history in memory. Analyses
    across cohorts (the staggered rollout) need the whole history. `since=None` does as the params'
    `history` key says (`window` is `since="window"`); `since="all"` reads the whole history."""
    params_file = locate(params_file)
    if cohort_id is not None:
        _own_params_elsewhere(params_file, cohort_id)
    params = load_params(params_file, data_dir=data_dir, cohort_id=cohort_id, audience=audience)
    if not is_folder(params.data_dir):
        given = "the data_dir argument" if data_dir is not None else f"params file {params_file}, key data_dir"
        raise ParamsError(f"data_dir {params.data_dir} ({given}) does not exist")
    if dataset is None or place(dataset.source) != place(params.data_dir):
        if since is None and params.history == "window" or since == "window":
            since, until = history_window(params)
        else:
            since, until = (None if since == "all" else since), None
        dataset = load(params.data_dir, since=since, until=until)
    return Study(params, dataset, params_file)


PLACEBO_REACH_MONTHS = 24  # the placebo's fake start is a year early and compares with the year before it


def history_window(params: CohortParams) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(since, until) for `load`: the earliest day a cohort's own analyses read
    (the cohorts table read on its own), the first day of its first pre-period or PLACEBO_REACH_MONTHS
    before its start if that is earlier; and the last day of its last post-period. Raises ParamsError
    when the cohort is not in the data's cohorts table."""
    cohorts = read_table(params.data_dir, "cohorts")
    row = cohorts[cohorts["cohort_id"] == params.cohort_id]
    if row.empty:
        raise ParamsError(f"cohort_id {params.cohort_id!r} is not in the cohorts table of {params.data_dir} "
                          f"(known: {', '.join(sorted(cohorts['cohort_id'].astype(str)))})")
    start = pd.Timestamp(row["start_date"].iloc[0])
    s = period_index(pd.Series([start]), params.period)[0]
    first, after = (pd.Timestamp(d) for d in period_start(np.array([s - params.pre_periods, s + params.post_periods]),
                                                             params.period))
    return min(first, start - pd.DateOffset(months=PLACEBO_REACH_MONTHS)), after - pd.Timedelta(days=1)


def _own_params_elsewhere(params_file: Path, cohort_id: str) -> None:
    """A cohort_id override that names a cohort with its own params file beside this one would
    study that cohort with this file's eligibility, goals and costs: refused, naming the file."""
    import yaml

    for other in sorted(params_file.resolve().parent.glob("*.y*ml")):
        if other.resolve() == params_file.resolve():
            continue
        try:
            named = (yaml.safe_load(other.read_text()) or {}).get("cohort_id")
        except (OSError, yaml.YAMLError, AttributeError):
            continue
        if str(named) == cohort_id:
            raise ParamsError(f"{params_file}: cohort_id {cohort_id!r} has its own params file {other}; open that file "
                              f"instead (this one would study it with {params_file.name}'s eligibility, goals and costs)")


def open_studies(params, *, data_dir: str | Path | None = None, audience: str | None = None) -> list[Study]:
    """Studies of several params files (a directory, files, or a list), in order; a data directory
    that several share is loaded once (once per window for params with `history: window`)."""
    loaded: dict[tuple, Dataset] = {}
    studies = []
    for pf in find_files(params):
        p = load_params(pf, data_dir=data_dir, audience=audience)
        since, until = history_window(p) if p.history == "window" else (None, None)
        key = (place(p.data_dir), since, until)
        if key not in loaded:
            loaded[key] = load(p.data_dir, since=since, until=until)
        studies.append(Study(p, loaded[key], pf))
    return studies


def _read_pickle(path: Path):
    """A result this run stored, or None when absent or unreadable (then it is computed again).
    The file lives in the run's own cache directory, written by this package in the same run."""
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        return None


def _write_pickle(path: Path, value) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:  # a read-only cache: the result is still returned
        tmp.unlink(missing_ok=True)
