"""Who counts as eligible, enrolled, matched, active, completed and withdrawn in a cohort: one
definition of each, so that every page that prints a count prints the same number.

- eligible: employed on the cohort's start date and meeting the params' eligibility rule;
- enrolled: signed up for the cohort (an enrollment row, whatever its status);
- matched: enrolled and in one of the cohort's matches (from the platform's status when the data
  have no matches table);
- active: matched and at least one meeting (status active or completed without a meetings table);
- completed / withdrawn: the platform's status at the end of the data."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .data import member

if TYPE_CHECKING:
    from .study import Study

POPULATIONS = ("eligible", "enrolled", "matched", "active", "completed", "withdrawn")
ROLES = ("mentee", "mentor")


def members(study: Study, role: str, population: str) -> pd.Series:
    """The employee ids of one population of a cohort (unique, sorted)."""
    if population not in POPULATIONS:
        raise ValueError(f"population {population!r}: expected one of {', '.join(POPULATIONS)}")
    ds, cohort_id = study.dataset, study.cohort_id
    if population == "eligible":
        people = study.cohort.people
        ids = people.loc[people[f"{role}_eligible"].to_numpy(dtype=bool), "employee_id"]
        return pd.Series(np.sort(ids.unique()), name="employee_id")
    enr = ds.enrollments[(ds.enrollments["cohort_id"] == cohort_id) & (ds.enrollments["role"] == role)]
    if population in ("matched", "active") and ds.has("matches"):
        m = ds.matches[ds.matches["cohort_id"] == cohort_id]
        if population == "active":
            if ds.has("meetings"):
                m = m[member(m["match_id"], ds.meetings["match_id"])]
            else:
                enr = enr[enr["status"].isin(["active", "completed"])]
        enr = enr[member(enr["employee_id"], m[f"{role}_id"])]
    elif population == "matched":
        enr = enr[enr["status"].isin(["matched", "active", "completed"])]
    elif population == "active":
        enr = enr[enr["status"].isin(["active", "completed"])]
    elif population in ("completed", "withdrawn"):
        enr = enr[enr["status"] == population]
    return pd.Series(np.sort(enr["employee_id"].unique()), name="employee_id")


def count(study: Study, role: str, population: str) -> int:
    """How many people one population of a cohort holds."""
    return int(counts(study).set_index("role").loc[role, population])


def counts(study: Study) -> pd.DataFrame:
    """Every population's count, one row per role (mentees, mentors), one column per population."""
    def compute() -> pd.DataFrame:
        return pd.DataFrame([{"role": role, **{p: len(members(study, role, p)) for p in POPULATIONS}} for role in ROLES])

    return study.result(("populations",), compute)


def published(study: Study) -> pd.DataFrame:
    """The counts as a page may print them (`counts`, Int64; missing = withheld), the one rule every
    page follows. For stakeholders a count of 1 to min_cell_size-1 people is withheld, and so is any
    count that differs from a group holding all of its people by 1 to min_cell_size-1 (30 enrolled
    mentors, 29 of them matched: the 29 would single out the one left unmatched); analysts see
    every count."""
    def compute() -> pd.DataFrame:
        found = counts(study)
        if not study.disclosure.stakeholder:
            return found.astype({p: "Int64" for p in POPULATIONS})
        small = study.disclosure.min_cell_size
        rows = []
        for role in ROLES:
            n = found.set_index("role").loc[role, list(POPULATIONS)].astype(int).to_dict()
            ids = {p: set(members(study, role, p)) for p in POPULATIONS}
            hidden = {p for p in POPULATIONS if 0 < n[p] < small}
            for outer in POPULATIONS:  # one pass: hiding only ever removes pairs from consideration
                for inner in POPULATIONS:
                    if outer != inner and outer not in hidden and inner not in hidden and n[inner] <= n[outer] \
                            and 0 < n[outer] - n[inner] < small and ids[inner] <= ids[outer]:
                        hidden.add(inner)
            rows.append({"role": role, **{p: pd.NA if p in hidden else n[p] for p in POPULATIONS}})
        return pd.DataFrame(rows).astype({p: "Int64" for p in POPULATIONS})

    return study.result(("published populations",), compute)  # every count on every page asks: computed once


def shown(study: Study, role: str, population: str) -> int | None:
    """A population's count as the pages print it (`published`); None when it is withheld."""
    value = published(study).set_index("role").loc[role, population]
    return None if pd.isna(value) else int(value)
