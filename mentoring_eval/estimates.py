"""The machine-readable results every analysis returns and every notebook writes to the cohort's
estimates.csv, in the units of the simulator's truth.json (percentage points for rates).

One `Estimate` is one figure with its uncertainty; an `Estimates` collection is what every
analysis result exposes as `.estimates`, what roi, summary, scorecard and the index read (with
`.where(...)`, never by filtering frames on strings), and what `.write(out_dir)` merges into
estimates.csv."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .files import spreadsheet_safe, spreadsheet_text, write_atomically

COLUMNS = ["cohort_id", "role", "estimand", "method", "estimate", "std_error", "ci_low", "ci_high",
           "n_treated", "n_control", "headline", "note", "design", "unit", "evidence"]
KEY = ("cohort_id", "role", "estimand", "method")
TEXT = ("cohort_id", "role", "estimand", "method", "note", "design", "unit", "evidence")
SOURCE_ENV = "MENTORING_EVAL_SOURCE"  # set by the batch runner for each report: the notebook writing estimates

# The study design an estimate comes from, strongest first: "lottery" (places offered at random
# among applicants), "capacity" (matched against unmatched applicants when places ran out),
# "rollout" (the eligible segment against departments not yet reached, before and after),
# "observational" (participants against matched non-participants); "descriptive" figures (rates,
# survey scores, before/after changes) and "naive" comparisons are not causal evidence.
Design = Literal["lottery", "capacity", "rollout", "observational", "descriptive", "naive"]
DESIGNS = ("lottery", "capacity", "rollout", "observational")  # strongest first
# The evidence grade a design earns when its checks pass (What Works Clearinghouse, adapted); an
# applicant design whose checks fail is graded lower. Descriptive and naive figures carry none.
EVIDENCE = {"lottery": "randomized", "capacity": "quasi-experimental", "rollout": "quasi-experimental",
            "observational": "observational"}


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """One figure of one cohort and role: what is estimated (estimand), how (method, design), the
    value in `unit` with its standard error and interval, the group sizes, and whether it is the
    headline of its estimand."""

    cohort_id: str
    role: str
    estimand: str
    method: str
    estimate: float
    std_error: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    n_treated: int | None = None
    n_control: int | None = None
    headline: bool = False
    note: str = ""
    design: str = ""
    unit: str = ""
    evidence: str = ""  # randomized / quasi-experimental / observational; empty for descriptive and naive figures

    @property
    def has_interval(self) -> bool:
        return not (math.isnan(self.ci_low) or math.isnan(self.ci_high))

    @property
    def includes_zero(self) -> bool:
        """True when the interval covers zero: the data cannot tell the effect from none."""
        return self.has_interval and self.ci_low <= 0 <= self.ci_high

    @property
    def participation_share(self) -> float:
        """n_treated / (n_treated + n_control): for an effect on participants estimated through the
        eligible population, the share of the eligible who took part."""
        if self.n_treated is None or self.n_control is None or self.n_treated + self.n_control == 0:
            return math.nan
        return self.n_treated / (self.n_treated + self.n_control)

    def summary(self) -> str:
        ci = f" [{self.ci_low:.3g}, {self.ci_high:.3g}]" if self.has_interval else ""
        return f"{self.cohort_id} {self.role} {self.estimand} ({self.method}): {self.estimate:.4g}{ci} {self.unit}".rstrip()


def make(*, cohort_id: str, role: str, estimand: str, method: str, estimate: float, std_error: float | None = None,
         ci: tuple[float, float] | None = None, n_treated: int | None = None, n_control: int | None = None,
         headline: bool = False, note: str = "", design: str = "", unit: str = "", evidence: str | None = None,
         alpha: float = 0.05) -> Estimate:
    """An Estimate whose interval defaults to estimate +/- z x SE (normal, 1 - alpha); its evidence
    grade defaults to the one its design earns (EVIDENCE)."""
    if ci is None and std_error is not None and np.isfinite(std_error):
        from scipy import stats

        z = stats.norm.ppf(1 - alpha / 2)
        ci = (estimate - z * std_error, estimate + z * std_error)
    lo, hi = ci if ci is not None else (math.nan, math.nan)
    return Estimate(cohort_id=cohort_id, role=role, estimand=estimand, method=method, estimate=float(estimate),
                    std_error=math.nan if std_error is None else float(std_error), ci_low=float(lo), ci_high=float(hi),
                    n_treated=None if n_treated is None else int(n_treated),
                    n_control=None if n_control is None else int(n_control), headline=bool(headline), note=note,
                    design=design, unit=unit, evidence=EVIDENCE.get(design, "") if evidence is None else evidence)


class Estimates:
    """An ordered, immutable collection of Estimate; `a + b` joins two."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[Estimate] = ()):
        self._items = tuple(items)

    @classmethod
    def combine(cls, *parts) -> Estimates:
        """The estimates of several results (anything with `.estimates`) or collections, as one;
        None parts (a result that does not exist) are skipped."""
        out: list[Estimate] = []
        for part in parts:
            if part is None:
                continue
            out.extend(part if isinstance(part, Estimates) else part.estimates)
        return cls(out)

    def __iter__(self) -> Iterator[Estimate]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __getitem__(self, i: int) -> Estimate:
        return self._items[i]

    def __add__(self, other: Estimates) -> Estimates:
        return Estimates(self._items + tuple(other))

    def __repr__(self) -> str:
        return f"Estimates({len(self)} estimates)"

    def where(self, **criteria) -> Estimates:
        """The estimates whose fields equal every criterion, e.g. where(estimand="retention_12m",
        role="mentee", headline=True); a tuple or set of values matches any of them."""
        unknown = set(criteria) - {f.name for f in fields(Estimate)}
        if unknown:
            raise TypeError(f"Estimates.where: no field {sorted(unknown)}")

        def match(e: Estimate) -> bool:
            for name, wanted in criteria.items():
                value = getattr(e, name)
                if isinstance(wanted, tuple | set | frozenset | list):
                    if value not in wanted:
                        return False
                elif value != wanted:
                    return False
            return True

        return Estimates(e for e in self._items if match(e))

    def first(self, **criteria) -> Estimate | None:
        """The first estimate matching the criteria, or None."""
        found = self.where(**criteria)
        return found[0] if found else None

    def headline(self, estimand: str, role: str = "mentee") -> Estimate | None:
        """The headline estimate of an estimand for a role, or None."""
        return self.first(estimand=estimand, role=role, headline=True)

    def naive(self, estimand: str, role: str = "mentee") -> Estimate | None:
        """The naive comparison of an estimand for a role, or None."""
        return self.first(estimand=estimand, role=role, method="naive")

    def to_frame(self) -> pd.DataFrame:
        """One row per estimate, the estimates.csv columns."""
        out = pd.DataFrame([asdict(e) for e in self._items], columns=COLUMNS)
        for c in ("n_treated", "n_control"):
            out[c] = pd.array([None if v is None else v for v in out[c]], dtype="Int64")
        out["headline"] = out["headline"].astype(bool)
        for c in ("estimate", "std_error", "ci_low", "ci_high"):
            out[c] = out[c].astype(float)
        return out

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Estimates:
        """Estimates from an estimates table (e.g. a cohort's estimates.csv read back)."""
        items = []
        for r in frame.to_dict("records"):
            values = {c: r.get(c) for c in COLUMNS}
            for c in ("n_treated", "n_control"):
                values[c] = None if pd.isna(values[c]) else int(values[c])
            for c in ("std_error", "ci_low", "ci_high"):
                values[c] = math.nan if pd.isna(values[c]) else float(values[c])
            for c in ("note", "design", "unit", "evidence"):
                values[c] = "" if values[c] is None or pd.isna(values[c]) else str(values[c])
            values["headline"] = bool(values["headline"]) if not isinstance(values["headline"], str) else \
                values["headline"].strip().lower() == "true"
            values["estimate"] = float(values["estimate"])
            values["cohort_id"], values["role"] = str(values["cohort_id"]), str(values["role"])
            items.append(Estimate(**values))
        return cls(items)

    def disclosed(self, disclosure) -> Estimates:
        """The estimates as a shared folder may hold them: for stakeholders, a descriptive figure
        (a rate of people) with a group of 1 to min_cell_size-1 loses that count, the other count
        of its row and the figure with its interval, as its table on the page does; causal and
        naive figures and every figure for analysts unchanged."""
        from .privacy import suppress

        frame = self.to_frame()
        rows = (frame["design"] == "descriptive").to_numpy()
        if not disclosure.stakeholder or not rows.any():
            return self
        part = suppress(frame[rows].reset_index(drop=True), ["n_treated", "n_control"], disclosure.min_cell_size,
                        ["estimate", "std_error", "ci_low", "ci_high"], by=("rows",))
        frame = frame.astype({c: "Float64" for c in ("estimate", "std_error", "ci_low", "ci_high")})
        frame.loc[rows, part.columns] = part.to_numpy()
        return Estimates.from_frame(frame.astype({c: "float64" for c in ("estimate", "std_error", "ci_low", "ci_high")}))

    @classmethod
    def read(cls, path: str | Path) -> Estimates:
        """A cohort's estimates.csv."""
        frame = pd.read_csv(path, dtype={"cohort_id": "str", "role": "str", "note": "str", "design": "str", "unit": "str",
                                         "evidence": "str"},
                            keep_default_na=False, na_values={c: [""] for c in
                                                              ("estimate", "std_error", "ci_low", "ci_high", "n_treated",
                                                               "n_control")})
        for c in ("design", "unit", "evidence"):
            if c not in frame:
                frame[c] = ""
        for c in TEXT:
            frame[c] = frame[c].map(spreadsheet_text)
        return cls.from_frame(frame)

    def write(self, out_dir: str | Path, source: str | None = None) -> Path:
        """Merge into out_dir/estimates.csv, atomically and under a lock. With a `source` (the
        notebook writing; default: the SOURCE_ENV variable the batch runner sets for each report)
        the rows replace everything that source wrote before, so a figure a rerun no longer
        produces (an ROI the evidence cannot support any more) leaves the file too; the sources'
        rows are kept in out_dir/.estimates/<source>.csv. Without one, rows of the same (cohort,
        role, estimand, method) are replaced."""
        from .files import locked

        out = Path(out_dir)
        path = out / "estimates.csv"
        out.mkdir(parents=True, exist_ok=True)
        source = source if source is not None else os.environ.get(SOURCE_ENV) or None
        with locked(out / ".estimates.lock"):
            if source is not None:
                parts = out / ".estimates"
                parts.mkdir(exist_ok=True)
                _write_csv(self, parts / f"{_safe_name(source)}.csv")
                merged = self._merged_with(path, exclude=self._written_by_others(parts, source))
            else:
                merged = self._merged_with(path)
            _write_csv(Estimates(merged), path)
        return path

    def _merged_with(self, path: Path, exclude: set | None = None) -> list[Estimate]:
        """This collection's rows plus the file's rows of other keys; with `exclude` (the keys other
        sources wrote), the file's rows of this source that it no longer produces are dropped."""
        if not path.exists():
            return list(self._items)
        fresh = {tuple(getattr(e, k) for k in KEY) for e in self._items}
        kept = [e for e in Estimates.read(path) if tuple(getattr(e, k) for k in KEY) not in fresh
                and (exclude is None or tuple(getattr(e, k) for k in KEY) in exclude)]
        return kept + list(self._items)

    def _written_by_others(self, parts: Path, source: str) -> set:
        mine = f"{_safe_name(source)}.csv"
        keys: set = set()
        for part in parts.glob("*.csv"):
            if part.name != mine:
                keys |= {tuple(getattr(e, k) for k in KEY) for e in Estimates.read(part)}
        return keys


def source_rows(out_dir: str | Path, source: str) -> Path:
    """The file holding the rows one source (a notebook) wrote into out_dir/estimates.csv."""
    return Path(out_dir) / ".estimates" / f"{_safe_name(source)}.csv"


def _safe_name(source: str) -> str:
    """A file name for a source: letters, digits, dot, dash and underscore only."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]", "_", source)[:100] or "_"


def _write_csv(found: Estimates, path: Path) -> None:
    """The estimates as CSV, sorted, text that a spreadsheet would run as a formula quoted; atomic."""
    frame = found.to_frame().sort_values(["role", "estimand", "method"], ignore_index=True)
    for c in TEXT:  # a quote in front keeps it text; read() takes it off again
        frame[c] = frame[c].map(spreadsheet_safe)
    write_atomically(path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.10g"))
