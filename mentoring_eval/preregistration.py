"""The next cohort's lottery, drawn and preregistered before anyone is offered a place, and the
check that the cohort then followed it.

`plan(params_file, applicants_file, out_dir)` (the `mentoring-eval plan` command) reads the
applicants, refuses anyone who is not an employee, is listed twice or falls outside the cohort's
eligibility rule, draws a lottery within the strata the params name (`assignment_strata`): in
each stratum of n applicants, floor(n x share) or one more are offered a place, at random, so the
offered share is within one person of `share` everywhere. It writes `assignment.csv`
(employee_id, stratum, offered) and `preregistration.json` (design, estimands, alpha, strata,
seed, the minimum detectable effect, the SHA-256 of assignment.csv). The same seed, applicants
and data give byte-identical files.

`check(study)`: when a cohort's params name its preregistration, every difference between the
enrollments' `offered` and the assignment is a deviation (offered when not drawn, not offered
when drawn, an applicant not in the draw, a drawn applicant missing), listed for analysts and
counted for stakeholders.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import ArgumentError, NotEstimable, ParamsError
from .files import atomic_write, spreadsheet_safe, spreadsheet_text

if TYPE_CHECKING:
    from .study import Study

ESTIMANDS = ("voluntary_exit_12m", "retention_12m", "promotion_12m")  # primary first
ALPHA, POWER = 0.05, 0.8


@dataclass(frozen=True)
class Plan:
    """A drawn lottery: the assignment (employee_id, stratum, offered), what was written where, and
    the minimum detectable cut in 12-month voluntary exits (pp) of the effect of the offer."""

    cohort_id: str
    assignment: pd.DataFrame = field(repr=False)
    preregistration: dict = field(repr=False)
    folder: Path | None = None

    @property
    def mde(self) -> float:
        return float(self.preregistration["mde_pp"]["voluntary_exit_12m"])

    def summary(self) -> str:
        a = self.assignment
        strata = a["stratum"].nunique()
        return (f"lottery for {self.cohort_id}: {len(a):,} applicants in {strata} strat{'um' if strata == 1 else 'a'}, "
                f"{int(a['offered'].sum()):,} offered; it can detect a {self.mde:.1f} pp cut in 12-month voluntary "
                f"exits (effect of the offer, 80% power, 5% two-sided; base rate "
                f"{self.preregistration['base_rate_pct']['voluntary_exit_12m']:.1f}%)")

    def to_frame(self) -> pd.DataFrame:
        return self.assignment.copy()


def read_applicants(path: str | Path) -> pd.Series:
    """The employee ids of an applicants file (a CSV with an employee_id column), in file order;
    every problem is one clear error naming the file, column and rows."""
    path = Path(path)
    if not path.is_file():
        raise ArgumentError(f"{path}: applicants file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ArgumentError(f"{path}: not a readable CSV ({str(exc).splitlines()[0] if str(exc) else 'empty'})") from None
    if "employee_id" not in frame.columns:
        raise ArgumentError(f"{path}: no employee_id column (columns: {', '.join(map(str, frame.columns)) or 'none'})")
    ids = frame["employee_id"].str.strip()
    blank = np.flatnonzero((ids == "").to_numpy())
    if blank.size:
        raise ArgumentError(f"{path}, column employee_id, rows {_rows(blank)}: empty; every applicant needs an id")
    twice = np.flatnonzero(ids.duplicated(keep=False).to_numpy())
    if twice.size:
        raise ArgumentError(f"{path}, column employee_id, rows {_rows(twice)}: listed more than once "
                            f"({_ids(ids.iloc[twice].unique())}); each applicant once")
    if ids.empty:
        raise ArgumentError(f"{path}: no applicants")
    return ids.reset_index(drop=True)


def _rows(positions: np.ndarray, limit: int = 5) -> str:
    rows = ", ".join(str(int(p) + 2) for p in positions[:limit])  # header is row 1
    return rows + (f" and {positions.size - limit} more" if positions.size > limit else "")


def _ids(values, limit: int = 5) -> str:
    values = list(values)
    text = ", ".join(repr(str(v)) for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")


def draw(strata: pd.Series, share: float, seed: int) -> np.ndarray:
    """Offers (True/False, aligned with `strata`): in each stratum of n people, floor(n x share)
    plus one with probability equal to the remainder, chosen at random. Depends only on the seed
    and on who is in which stratum (people are put in id order first), not on the file's order."""
    if not 0 < share < 1:
        raise ArgumentError(f"--share must be between 0 and 1 (got {share})")
    order = np.lexsort((strata.index.to_numpy(dtype=str), strata.to_numpy(dtype=str)))
    labels = strata.to_numpy(dtype=str)[order]
    rng = np.random.default_rng(seed)
    key = rng.random(len(labels))
    frame = pd.DataFrame({"stratum": labels, "key": key})
    rank = frame.groupby("stratum", sort=True)["key"].rank(method="first").to_numpy() - 1
    sizes = frame.groupby("stratum", sort=True)["key"].transform("size").to_numpy()
    names = np.unique(labels)
    extra = pd.Series(rng.random(len(names)), index=names)
    quota = np.floor(sizes * share + extra.reindex(labels).to_numpy())
    offered = np.empty(len(labels), bool)
    offered[order] = rank < quota
    return offered


def plan(params_file: str | Path, applicants_file: str | Path, out_dir: str | Path, share: float = 0.5,
         seed: int | None = None, start: str | None = None) -> Plan:
    """Draw the next cohort's lottery among its applicants and preregister it (see the module).
    Eligibility is judged at the cohort's start in cohorts.csv, or `start`, or the data's last date."""
    from .cohorts import build_cohort
    from .data import CohortInfo, load
    from .params import load_params
    from .version import __version__

    params_file = Path(params_file)
    params = load_params(params_file)
    ds = load(params.data_dir)
    seed = params.seed if seed is None else seed
    if params.cohort_id in ds.cohort_ids:
        info = ds.cohort(params.cohort_id)
        when = pd.Timestamp(start) if start else info.start
        info = CohortInfo(info.cohort_id, info.name, when, info.end)
    else:
        when = pd.Timestamp(start) if start else ds.end
        info = CohortInfo(params.cohort_id, params.cohort_id, when, when + pd.DateOffset(months=9))
    ids = read_applicants(applicants_file)
    known = set(ds.employees["employee_id"])
    strangers = ids[~ids.isin(known)]
    if len(strangers):
        raise ArgumentError(f"{applicants_file}, column employee_id, rows {_rows(strangers.index.to_numpy())}: "
                            f"{_ids(strangers)} not in {ds.source / ds.files.get('employees', 'employees.csv')}; "
                            "every applicant must be an employee")
    cohort = build_cohort(ds, params, info)
    people = cohort.people.set_index("employee_id")
    gone = ids[~ids.isin(people.index)]
    if len(gone):
        raise ArgumentError(f"{applicants_file}, column employee_id, rows {_rows(gone.index.to_numpy())}: {_ids(gone)} "
                            f"not employed on {when:%Y-%m-%d}, the cohort's start")
    fits = people["mentee_eligible"].reindex(ids).to_numpy(dtype=bool)
    if not fits.all():
        outside = np.flatnonzero(~fits)
        rule = params.mentee_eligibility
        raise ArgumentError(f"{applicants_file}, column employee_id, rows {_rows(outside)}: "
                            f"{_ids(ids.iloc[outside])} outside the mentee eligibility rule of {params_file} (levels "
                            f"{list(rule.levels) if rule.levels else 'any'}, departments "
                            f"{list(rule.departments) if rule.departments else 'any'}, at least "
                            f"{rule.min_tenure_months} months' tenure on {when:%Y-%m-%d})")
    columns = list(params.assignment_strata)
    if columns:
        values = people.loc[ids, columns].astype(str)
        stratum = columns[0] + "=" + values[columns[0]]
        for c in columns[1:]:
            stratum = stratum + " | " + c + "=" + values[c]
    else:
        stratum = pd.Series("all", index=ids)
    stratum.index = ids.to_numpy()
    offered = draw(stratum, share, seed)
    assignment = pd.DataFrame({"employee_id": ids.to_numpy(), "stratum": stratum.to_numpy(), "offered": offered})
    text = _csv(assignment)
    base = _base_rates(ds, params, when)
    mde = _mde(assignment, base)
    record = {
        "cohort_id": params.cohort_id,
        "design": "lottery",
        "estimands": list(ESTIMANDS),
        "primary_estimand": ESTIMANDS[0],
        "analysis": "effect of the offer (itt_offer, regression-adjusted, strata fixed effects) and effect on "
                    "participants (tot_iv, the offer instrumenting participation), 12 months from the start",
        "alpha": ALPHA,
        "power": POWER,
        "share_offered": share,
        "strata": columns,
        "seed": seed,
        "eligibility_as_of": f"{when:%Y-%m-%d}",
        "applicants": int(len(assignment)),
        "offered": int(assignment["offered"].sum()),
        "base_rate_pct": base,
        "mde_pp": mde,
        "assignment_file": "assignment.csv",
        "assignment_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "params_file": params_file.name,
        "mentoring_eval_version": __version__,
    }
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "assignment.csv", text)
    atomic_write(folder / "preregistration.json", json.dumps(record, indent=2, sort_keys=False) + "\n")
    return Plan(params.cohort_id, assignment, record, folder)


def _csv(frame: pd.DataFrame) -> str:
    """CSV text with text cells that a spreadsheet would run as formulas neutralised (a leading ')."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False):  # one row per applicant: hundreds, written once
        writer.writerow([("true" if v else "false") if isinstance(v, bool | np.bool_) else spreadsheet_safe(v)
                         for v in row])
    return out.getvalue()


def _base_rates(ds, params, when: pd.Timestamp) -> dict[str, float]:
    """Each outcome's rate (%) among the people eligible a year before `when` over the following 12
    months: what the lottery's comparison arm is expected to show."""
    from .cohorts import eligible
    from .panels import employed_on, had_event, job_events

    then = when - pd.DateOffset(months=12)
    people = employed_on(ds, then, params.period)
    people = people[eligible(people, params.mentee_eligibility).to_numpy()]
    if people.empty:
        raise NotEstimable(f"nobody was eligible on {then:%Y-%m-%d} to give base rates for the power calculation")
    gone = ds.employee_column(people["employee_id"], "termination_date")
    left = gone.notna() & (gone < when)
    voluntary = left & (ds.employee_column(people["employee_id"], "termination_reason") == "voluntary")
    promoted = people["employee_id"].isin(had_event(job_events(ds), "promoted", then - pd.Timedelta(days=1), when))
    return {"voluntary_exit_12m": round(100 * float(voluntary.mean()), 4),
            "retention_12m": round(100 * float((~left).mean()), 4),
            "promotion_12m": round(100 * float(promoted.mean()), 4)}


def _mde(assignment: pd.DataFrame, base: dict[str, float]) -> dict[str, float]:
    """The effect of the offer each outcome's lottery can detect (pp, 80% power, 5% two-sided)."""
    from .power import mde

    n1 = int(assignment["offered"].sum())
    n0 = len(assignment) - n1
    if min(n1, n0) < 1:
        raise ArgumentError("the lottery needs at least one applicant offered and one not")
    out = {}
    for estimand, rate in base.items():
        # a cut in exits is a rise in staying: measured from the higher of the two complements
        p0 = 100 - rate if estimand == "voluntary_exit_12m" else rate
        out[estimand] = round(mde(n1, n0, min(max(p0, 0.5), 99.5), ALPHA, POWER), 4)
    return out


# ------------------------------------------------------------------ after the cohort ran


@dataclass(frozen=True)
class Deviations:
    """Every difference between the enrollments' offers and the preregistered assignment."""

    cohort_id: str
    table: pd.DataFrame = field(repr=False)  # employee_id, deviation, assigned, recorded
    registered: int  # people in the assignment
    file: Path | None = None

    @property
    def count(self) -> int:
        return len(self.table)

    def summary(self) -> str:
        if not self.count:
            return (f"The offers follow the preregistered lottery exactly ({self.registered:,} applicants, "
                    f"assignment checked against its SHA-256).")
        kinds = self.table["deviation"].value_counts()
        return (f"{self.count:,} deviation{'s' if self.count != 1 else ''} from the preregistered lottery "
                f"({self.registered:,} applicants): " + "; ".join(f"{n:,} {k}" for k, n in kinds.items()) + ".")

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def check(study: Study) -> Deviations | None:
    """The cohort's deviations from its preregistration (None when the params name none). The
    assignment file must match the SHA-256 recorded when it was drawn."""
    path = study.params.preregistration
    if path is None:
        return None
    where = study.params_file or "params"
    if not Path(path).is_file():
        raise ParamsError(f"{where}, key preregistration: {path} does not exist")
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        file = Path(path).parent / Path(record["assignment_file"]).name
        digest = record["assignment_sha256"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ParamsError(f"{where}, key preregistration: {path} is not a preregistration written by "
                          f"`mentoring-eval plan` ({type(exc).__name__})") from None
    if not file.is_file():
        raise ParamsError(f"{where}, key preregistration: its assignment {file} does not exist")
    text = file.read_bytes()
    if hashlib.sha256(text).hexdigest() != digest:
        raise ParamsError(f"{where}, key preregistration: {file} has changed since it was drawn (its SHA-256 no "
                          "longer matches the preregistration)")
    assigned = pd.read_csv(io.BytesIO(text), dtype=str, keep_default_na=False)
    assigned["employee_id"] = assigned["employee_id"].map(spreadsheet_text)
    drawn = assigned.set_index("employee_id")["offered"].eq("true")
    enr = study.dataset.enrollments
    mine = enr[(enr["cohort_id"] == study.cohort_id) & (enr["role"] == "mentee")]
    if "offered" in mine.columns:
        recorded = mine.set_index("employee_id")["offered"].astype("boolean")
    else:
        recorded = pd.Series(pd.NA, index=mine["employee_id"], dtype="boolean")
    both = drawn.index.intersection(recorded.index)
    a, r = drawn.reindex(both).to_numpy(dtype=bool), recorded.reindex(both)
    blank = r.isna().to_numpy()
    differs = blank | (r.fillna(False).to_numpy(dtype=bool) != a)
    kind = np.where(blank, "no offer recorded", np.where(a, "not offered though drawn", "offered though not drawn"))
    rows = [pd.DataFrame({"employee_id": both[differs], "deviation": kind[differs], "assigned": a[differs],
                          "recorded": r.to_numpy()[differs]})]
    extra = recorded.index.difference(drawn.index)
    rows.append(pd.DataFrame({"employee_id": extra, "deviation": "enrolled but not in the draw", "assigned": pd.NA,
                              "recorded": recorded.reindex(extra).to_numpy()}))
    missing = drawn.index.difference(recorded.index)
    rows.append(pd.DataFrame({"employee_id": missing, "deviation": "drawn but not in the enrollments",
                              "assigned": drawn.reindex(missing).to_numpy(), "recorded": pd.NA}))
    found = [part for part in rows if len(part)]
    table = pd.concat(found, ignore_index=True) if found else \
        pd.DataFrame(columns=["employee_id", "deviation", "assigned", "recorded"])
    return Deviations(study.cohort_id, table.sort_values(["deviation", "employee_id"], ignore_index=True), len(drawn), file)
