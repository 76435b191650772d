"""Cohort parameters: one YAML file per cohort in `params/`, validated on load.

Every key has a documented default except `cohort_id`. Relative paths (data_dir) are resolved
against the YAML file's own directory, so a params file means the same thing from anywhere.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, ValidationError, field_validator,
                      model_validator)

from .errors import ParamsError
from .storage import data_path, is_url

DEFAULT_MATCHING = ("department", "job_level", "tenure_band", "rating_band")


# A local folder (a Path) or a URL read through fsspec (see storage); written out as its text.
DataDir = Annotated[Any, PlainValidator(data_path), PlainSerializer(str, return_type=str)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Eligibility(_Strict):
    """Who may take part in one role: job levels, departments (None = all) and minimum tenure."""

    levels: tuple[int, ...] | None = Field(None, description="job levels allowed (None = any)")
    departments: tuple[str, ...] | None = Field(None, description="departments allowed (None = any)")
    min_tenure_months: int = Field(0, ge=0, description="months employed at cohort start")


class ProgramGoal(_Strict):
    """A program-level SMART goal: the metric, where it started, where it should be, and by when."""

    metric: str = Field(description="a metric name, e.g. retention_12m, promotion_12m, nps, signup_rate")
    description: str = ""
    baseline: float | None = None
    target: float | None = None
    deadline: dt.date | None = None
    direction: Literal["increase", "decrease"] = "increase"
    kind: Literal["level", "effect"] = Field(
        "level", description="level: a descriptive rate of the participants (never evidence of impact); effect: "
        "the program's causal effect (pp), scored against the honest estimate and its interval")


class CohortParams(_Strict):
    """Everything one cohort's analysis needs besides the data itself."""

    cohort_id: str = Field(description="a cohort_id from cohorts.csv")
    data_dir: DataDir = Field(Path("../data/demo"), description="data directory, relative to this file, or an "
                              "fsspec URL (s3://bucket/hr, gs://..., file:///...) read where the report runs")
    period: Literal["month", "quarter"] = Field("month", description="time unit of panels and event studies")
    pre_periods: int = Field(12, ge=1, description="periods before cohort start in the panels")
    post_periods: int = Field(12, ge=1, description="periods after cohort start in the panels")
    mentee_eligibility: Eligibility = Field(Eligibility(levels=(1, 2, 3), min_tenure_months=6))
    mentor_eligibility: Eligibility = Field(Eligibility(levels=(4, 5, 6, 7), min_tenure_months=24))
    comparison: Literal["never_treated", "not_yet_treated", "matched"] = Field(
        "matched", description="how the comparison group is formed")
    matching_variables: tuple[str, ...] = Field(DEFAULT_MATCHING, description="strata for coarsened exact matching")
    design: Literal["auto", "lottery", "capacity", "rollout", "observational"] = Field(
        "auto", description="the design that heads the report; auto = the strongest the data support")
    assignment_strata: tuple[str, ...] = Field(
        (), description="columns of the people at the start within which a lottery drew its offers, e.g. [department]")
    assignment_unit: tuple[str, ...] = Field(
        ("department",), description="what a rollout invited, and so what its uncertainty is counted in: "
        "[department] (default), or [department, location] when invitations went by site")
    min_cell_size: int = Field(5, ge=3, description="smallest group shown in stakeholder reports (3 or more: a group "
                               "of 1 or 2 identifies people)")
    audience: Literal["stakeholder", "analyst"] = "stakeholder"
    turnover_cost_multiplier: tuple[float, float] = Field(
        (0.5, 2.0), description="cost of a departure as a range of multiples of annual salary")
    mentor_hourly_cost: float | None = Field(
        None, gt=0, description="cost of an hour of mentor time; None = annual salary / 2080")
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code of every cost and salary in the data")
    prior_sd: float = Field(
        2.5, gt=0, description="spread (SD, pp) of the skeptical prior on the cut in 12-month exits: normal, centred "
        "at no effect, 95% of its weight within +/-5 pp, the range of credible published mentoring effects")
    preregistration: Path | None = Field(
        None, description="preregistration.json written by `mentoring-eval plan`, relative to this file: the run "
        "checks the enrollments' offers against its assignment")
    salary_grade_order: tuple[str, ...] | None = Field(
        None, description="salary grade codes from lowest to highest (e.g. [G1, G2, P1, P2, M1]) when job_history's "
        "salary_grade holds codes, not numbers: ranks the grades; every code in the data must be listed")
    history: Literal["all", "window"] = Field(
        "all", description="which records are read: all (the whole history) or window (only the years this cohort's "
        "own analyses look at, from its first pre-period or the placebo's year before to its last post-period: ten "
        "years of a large employer's records in the memory of two or three; the rollout across cohorts then says it "
        "needs all)")
    seed: int = Field(0, description="seed for every random draw (bootstrap, ROI simulation)")
    goals: tuple[ProgramGoal, ...] = ()

    @field_validator("cohort_id")
    @classmethod
    def _one_folder_name(cls, v: str) -> str:
        """The cohort's reports go to <out>/<cohort_id>: the id must be one plain folder name."""
        if not v.strip() or v in (".", "..") or v.startswith(".") or any(c in v for c in '/\\:') \
                or any(ord(c) < 32 for c in v):
            raise ValueError("must be a plain name (no /, \\, :, leading dot or control characters), "
                             "since it names the cohort's report folder")
        return v

    @field_validator("salary_grade_order")
    @classmethod
    def _distinct_grades(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is not None and (not v or len(set(v)) != len(v)):
            raise ValueError("must list each grade code once, lowest first")
        return v

    @field_validator("turnover_cost_multiplier")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= v[0] <= v[1]:
            raise ValueError("must be [low, high] with 0 <= low <= high")
        return v

    @model_validator(mode="after")
    def _known_matching_variables(self) -> "CohortParams":
        known = {"department", "job_level", "tenure_band", "rating_band", "location", "gender", "engagement_band"}
        unknown = [v for v in self.matching_variables if v not in known]
        if unknown:
            raise ValueError(f"matching_variables: {unknown} not among {sorted(known)}")
        strata = {"department", "location", "job_level", "tenure_band", "rating_band", "engagement_band", "gender"}
        unknown = [v for v in self.assignment_strata if v not in strata]
        if unknown:
            raise ValueError(f"assignment_strata: {unknown} not among {sorted(strata)}")
        unknown = [v for v in self.assignment_unit if v not in ("department", "location")]
        if unknown or not self.assignment_unit:
            raise ValueError(f"assignment_unit: {unknown or 'empty'}: name department, location or both")
        return self


def locate(path: str | Path) -> Path:
    """A params file or folder named relative to the working directory, or to a folder above it: a
    notebook's `params/2023-spring.yaml` means the same when Jupyter runs it in notebooks/ and when
    papermill runs it from the project's root. Absolute and existing paths are kept as given."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    for folder in Path.cwd().parents:
        if (folder / path).exists():
            return folder / path
    return path  # not found: the loader names it


def find_files(params) -> list[Path]:
    """Params files from a directory (its *.yaml and *.yml), a file, or a list of either; in order."""
    items = params if isinstance(params, list | tuple) else [params]
    files: list[Path] = []
    for item in map(locate, items):
        if item.is_dir():
            files.extend(sorted([*item.glob("*.yaml"), *item.glob("*.yml")]))
        elif item.is_file():
            files.append(item)
        else:
            raise ParamsError(f"{item}: no such params file or directory")
    if not files:
        raise ParamsError(f"no params files (*.yaml) in {', '.join(map(str, items))}")
    return files


SET_ENV = "MENTORING_EVAL_SET"  # `mentoring-eval run --set` settings (JSON), read by every load in the run's kernels


def parse_settings(items: list[str]) -> dict:
    """`--set key=value` pairs as {key: value}: the value read as YAML (12, quarter, [department,
    job_level], null); a dotted key reaches into a section (mentee_eligibility.min_tenure_months=12);
    a path (data_dir, preregistration) is taken from the working directory."""
    settings: dict = {}
    for item in items:
        key, sep, text = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParamsError(f"--set {item!r}: expected key=value, e.g. --set period=quarter")
        top = key.split(".")[0]
        if top not in CohortParams.model_fields:
            raise ParamsError(f"--set {key}: unknown key (allowed: {', '.join(CohortParams.model_fields)})")
        if top == "cohort_id":
            raise ParamsError("--set cohort_id: a params file is one cohort's; name that cohort's params file instead")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ParamsError(f"--set {key}: {text!r} is not a YAML value ({str(exc).splitlines()[0]})") from None
        if top in ("data_dir", "preregistration") and isinstance(value, str) and not is_url(value):
            value = str(Path(value).resolve())
        settings[key] = value
    return settings


def _with_settings(raw: dict, settings: dict) -> dict:
    """The params file's keys with `--set` settings in place (a dotted key inside its section, the
    section's defaults kept)."""
    raw = dict(raw)
    for key, value in settings.items():
        *sections, last = key.split(".")
        target = raw
        for name in sections:
            here = target.get(name)
            if here is None:
                field = CohortParams.model_fields.get(name) if target is raw else None
                default = field.default if field is not None else None
                here = default.model_dump() if isinstance(default, BaseModel) else {}
            elif not isinstance(here, dict):
                raise ParamsError(f"--set {key}: {name} is not a section (it holds {here!r})")
            target[name] = here = dict(here)
            target = here
        target[last] = value
    return raw


def active_settings() -> dict:
    """The settings of the run this process belongs to (none outside `mentoring-eval run --set`)."""
    text = os.environ.get(SET_ENV)
    return json.loads(text) if text else {}


def load_params(path: str | Path, **overrides) -> CohortParams:
    """Read and validate one cohort's YAML file.

    Keyword overrides (e.g. from a notebook's parameters cell) replace keys; None means keep.
    Whether the cohort is in the data is checked where the data are opened (`open_study`).
    """
    path = locate(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found (looked from {Path.cwd()} and the folders above it)"
                          if not path.is_absolute() else f"{path}: params file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of keys to values, got {type(raw).__name__}")
    settings = active_settings()
    raw = _with_settings(raw, settings)
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        params = CohortParams.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(_describe(path, exc, settings)) from None
    if not params.data_dir.is_absolute():
        params = params.model_copy(update={"data_dir": (path.parent / params.data_dir).resolve()})
    if params.preregistration is not None and not params.preregistration.is_absolute():
        params = params.model_copy(update={"preregistration": (path.parent / params.preregistration).resolve()})
    return params


def _describe(path: Path, exc: ValidationError, settings: dict | None = None) -> str:
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if any(key == s or key.startswith(f"{s}.") or s.startswith(f"{key}.") for s in settings or {}):
            key = f"{key} (from --set)"
        if err["type"] == "extra_forbidden":
            allowed = f" (allowed: {', '.join(CohortParams.model_fields)})" if len(err["loc"]) == 1 else ""
            parts.append(f"{path}, key {key}: unknown key{allowed}")
        elif err["type"] == "missing":
            parts.append(f"{path}, key {key}: required but missing")
        else:
            parts.append(f"{path}, key {key}: {err['msg']} (got {err.get('input')!r})")
    return "; ".join(parts)


def unknown_cohort_message(params_file, cohort_id: str, cohorts_file, known) -> str:
    """The one line for a params file whose cohort is not in the data."""
    return (f"{params_file}, key cohort_id: {cohort_id!r} is not in {cohorts_file} "
            f"(known: {', '.join(known) or 'none'})")
