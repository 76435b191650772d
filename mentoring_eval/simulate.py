"""A synthetic company with a staggered mentoring program and planted causal effects.

The simulator is the workbook's ground truth. Employees carry two latent traits, performance
(`ability`) and `engagement`, that lower exit hazards and raise promotion hazards *and* make
people more likely to sign up for mentoring, so naive participant-vs-rest comparisons overstate
what mentoring did. The true effects are parameters (`Effects`); `truth.json` holds, per cohort
and role, the sample average effect on the participants computed from both potential outcomes of
every participant with common random numbers (each month's uniforms are a pure function of seed,
month and employee), so `Effects.null()` gives effects of exactly zero.

One monthly loop (four years by default, up to the extraction date at the end of 2025) advances
every employee at once (numpy, no per-employee Python); the counterfactual replays reuse the same
step function on the participants only. The largest tables (reviews, pulses) are written wave by
wave, so a company of millions over ten years is written without holding them in memory.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ArgumentError

SIM_START = np.datetime64("2022-01", "M")  # month 0; a longer span starts with negative months
N_MONTHS = 48  # 2022-01 .. 2025-12: months 0 .. N_MONTHS - 1 are the default span, and the last is always 2025-12
MIN_YEARS, MAX_YEARS = 4, 20
STAYED = np.iinfo(np.int64).min  # the termination month of someone still employed at the extraction date
EXTRACTION_DATE = np.datetime64("2025-12-31")
HORIZON = 12  # months over which the 12-month estimands are measured

DEPARTMENTS = ("Engineering", "Sales", "Operations", "Customer Support", "Finance", "Marketing",
               "Product", "HR", "Legal")
DEPARTMENT_WEIGHTS = (0.22, 0.18, 0.16, 0.12, 0.08, 0.08, 0.07, 0.05, 0.04)
LOCATIONS = ("London", "New York", "Berlin", "Singapore")
LOCATION_WEIGHTS = (0.3, 0.3, 0.2, 0.2)
GENDERS = ("woman", "man", "non-binary", "")
GENDER_WEIGHTS = (0.46, 0.49, 0.03, 0.02)
ETHNICITIES = ("Asian", "Black", "Hispanic or Latino", "White", "Two or more", "")
ETHNICITY_WEIGHTS = (0.18, 0.12, 0.12, 0.48, 0.05, 0.05)
MAX_LEVEL = 7


@dataclass(frozen=True)
class CohortSpec:
    """A cohort of the demo program: who is invited (departments) and when it runs."""

    cohort_id: str
    name: str
    start_month: int  # months after SIM_START
    duration_months: int
    departments: tuple[str, ...]


DEMO_COHORTS = (
    CohortSpec("2023-spring", "Spring 2023: Engineering and Sales", 15, 9, ("Engineering", "Sales")),
    CohortSpec("2023-autumn", "Autumn 2023: Operations and Finance", 21, 9, ("Operations", "Finance")),
    CohortSpec("2024-spring", "Spring 2024: Marketing and Customer Support", 27, 9, ("Marketing", "Customer Support")),
    CohortSpec("2024-autumn", "Autumn 2024: Engineering, Sales and Product", 33, 9, ("Engineering", "Sales", "Product")),
)
# A wider rollout for checking assignment-level inference: three departments per cohort, the first
# two cohorts' departments re-invited a year later, three departments never invited, so every
# cohort has three treated and three comparison departments (the demo's have two or three and two).
WIDE_COHORTS = (
    CohortSpec("2023-spring", "Spring 2023: Engineering, Sales and Finance", 15, 9, ("Engineering", "Sales", "Finance")),
    CohortSpec("2023-autumn", "Autumn 2023: Operations, Customer Support and Marketing", 21, 9,
               ("Operations", "Customer Support", "Marketing")),
    CohortSpec("2024-spring", "Spring 2024: Engineering, Sales and Finance again", 27, 9, ("Engineering", "Sales", "Finance")),
    CohortSpec("2024-autumn", "Autumn 2024: Operations, Customer Support and Marketing again", 33, 9,
               ("Operations", "Customer Support", "Marketing")),
)
PLANS = {"demo": DEMO_COHORTS, "wide": WIDE_COHORTS}
# Eligibility used by the demo (and mirrored in the demo params files).
MENTEE_LEVELS = (1, 2, 3)
MENTEE_MIN_TENURE = 6
MENTOR_MIN_LEVEL = 4
MENTOR_MIN_TENURE = 24

# How each cohort's places are given out. "rollout" is the original demo: the invited departments'
# applicants take the mentors' places in a random order (few are left over), so the design that can
# answer is the segment rollout. "lottery": places are offered at random to half the applicants
# within each department; some offered decline, a few not offered find a mentor anyway. "capacity":
# mentor places are scarce and go by observable rules (department and job level). "observational":
# every department is invited and every applicant is matched, so only the comparison with
# non-applicants is left. "mix" is the demo company: a lottery, a capacity cohort, two rollouts.
DESIGNS = ("rollout", "lottery", "capacity", "observational")
DEMO_MIX = ("lottery", "capacity", "rollout", "rollout")
LOTTERY_OFFER_SHARE = 0.5
LOTTERY_NEVER_TAKERS = 0.10  # offered applicants who decline (and would not take part either way)
LOTTERY_ALWAYS_TAKERS = 0.05  # applicants who take part whether offered or not
OFFER_LEAD_DAYS = 21  # offers go out three weeks before the cohort starts


@dataclass(frozen=True)
class Effects:
    """True causal effects planted in the simulation.

    Hazard effects are multipliers on the monthly hazard while mentoring is in effect (from the
    match until withdrawal, persisting after completion); skills gains are in points on the 1-5
    skills scale; rating shifts are in points on the 1-5 performance scale.
    """

    mentee_exit_hazard: float = 0.70
    mentee_promotion_hazard: float = 1.40
    mentee_skills_gain: float = 0.50
    mentee_rating_shift: float = 0.25
    mentor_exit_hazard: float = 0.85
    mentor_promotion_hazard: float = 1.15
    mentor_skills_gain: float = 0.30
    mentor_rating_shift: float = 0.10
    # how strongly each cohort's mentoring works, in cohort order: its hazard multipliers are the
    # planted ones raised to this power (1 = as planted, 0 = no effect on exits or promotions);
    # empty = 1 for every cohort
    by_cohort: tuple[float, ...] = ()

    @classmethod
    def null(cls) -> "Effects":
        """No effect of mentoring on anything: only self-selection remains."""
        return cls(1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0)

    def hazard(self, kind: str, role: str, cohort: int) -> float:
        """The hazard multiplier (kind "exit" or "promotion") of a role in cohort number `cohort`."""
        base = getattr(self, f"{role}_{kind}_hazard")
        power = self.by_cohort[cohort] if cohort < len(self.by_cohort) else 1.0
        return float(base ** power)

    def for_role(self, role: str) -> dict[str, float]:
        return {k.removeprefix(f"{role}_"): v for k, v in asdict(self).items() if k.startswith(f"{role}_")}


@dataclass(frozen=True)
class Truth:
    """What the simulation planted: effects, per-cohort true and naive figures, and where it wrote."""

    out_dir: Path
    seed: int
    n_employees: int
    effects: Effects
    table: pd.DataFrame = field(repr=False)  # cohort_id, role, estimand, kind, value, n_participants
    # one row per mentee applicant employed at a cohort's start: cohort_id, employee_id, took_part,
    # complier, and the effect on each design estimand (pp or points); for checking an estimator
    # against the truth of exactly the people it analysed (not written to truth.json)
    applicants: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def value(self, cohort_id: str, role: str, estimand: str, kind: str = "att") -> float:
        t = self.table
        row = t[(t.cohort_id == cohort_id) & (t.role == role) & (t.estimand == estimand) & (t.kind == kind)]
        return float(row["value"].iloc[0])

    def summary(self) -> str:
        wide = self.table.pivot_table(index=["cohort_id", "role"], columns=["estimand", "kind"], values="value")
        return f"Simulated {self.n_employees} employees (seed {self.seed}) into {self.out_dir}\n{wide.round(2)}"


# ---------------------------------------------------------------- random numbers

def _stream(seed: int, kind: int, month: int) -> np.random.Generator:
    """The random stream of one kind of draw in one month (months before 2022-01, in a span longer
    than the default, have streams of their own: a seed sequence takes no negative numbers)."""
    return np.random.default_rng([seed, kind, month] if month >= 0 else [seed, kind, 0, -month])


def _uniforms(seed: int, month: int, n: int, k: int) -> np.ndarray:
    """The month's uniforms, k per employee: a pure function of (seed, month), so replays reuse them."""
    return _stream(seed, 1, month).random((k, n))


def _review_noise(seed: int, month: int, n: int) -> np.ndarray:
    """Everyone's rating noise at the review in `month` (drawn when needed, not kept for every review)."""
    return _stream(seed, 3, month).normal(0, 0.6, n)


# ---------------------------------------------------------------- the monthly step

@dataclass
class _People:
    """Static traits of everyone who ever works at the company, and the department shocks they work under."""

    ability: np.ndarray
    engagement: np.ndarray
    hire_month: np.ndarray  # months after SIM_START (negative for people hired before)
    shock: "_Shocks | None" = None


@dataclass
class _State:
    employed: np.ndarray
    level: np.ndarray
    months_in_level: np.ndarray

    def take(self, idx: np.ndarray) -> "_State":
        return _State(self.employed[idx].copy(), self.level[idx].copy(), self.months_in_level[idx].copy())


def _hazards(people: _People, idx: np.ndarray, state: _State, month: int,
             exit_mult: np.ndarray, promo_mult: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monthly probabilities of voluntary exit, involuntary exit and promotion for employees idx."""
    a, e = people.ability[idx], people.engagement[idx]
    tenure = month - people.hire_month[idx]
    vol = 0.0105 * np.exp(-0.6 * e - 0.3 * a + 0.35 * (tenure < 12) - 0.08 * (state.level - 1)) * exit_mult
    invol = 0.0022 * np.exp(-0.6 * a)
    eligible = (state.months_in_level >= 9) & (state.level < MAX_LEVEL)
    promo = 0.012 * np.exp(0.7 * a + 0.2 * e - 0.15 * (state.level - 1)) * promo_mult * eligible
    return np.minimum(vol, 1.0), np.minimum(invol, 1.0), np.minimum(promo, 1.0)


def _step(people: _People, idx: np.ndarray, state: _State, month: int, u: np.ndarray,
          exit_mult: np.ndarray, promo_mult: np.ndarray):
    """Advance employees idx (state aligned with idx) by one month, in place.

    Returns masks (voluntary exit, involuntary exit, promoted) and the voluntary hazard."""
    vol, invol, promo = _hazards(people, idx, state, month, exit_mult, promo_mult)
    at_risk = state.employed
    quits = at_risk & (u[0] < vol)
    fired = at_risk & ~quits & (u[1] < invol)
    promoted = at_risk & ~quits & ~fired & (u[2] < promo)
    state.employed = at_risk & ~quits & ~fired
    state.level = state.level + promoted
    state.months_in_level = np.where(promoted, 0, state.months_in_level + at_risk)
    return quits, fired, promoted, vol


@dataclass
class _Shocks:
    """Department x half-year shocks to the log hazards of voluntary exit and promotion (SD `sd`):
    the common shocks a department-level rollout cannot tell from an effect. The department each
    person was in, month by month, is kept so that replays of potential outcomes see the same shocks."""

    sd: float
    log_shock: np.ndarray  # departments x half-years of the span
    first: int = 0  # the span's first month
    history: dict = field(default_factory=dict)  # month -> department of everyone that month

    @classmethod
    def draw(cls, sd: float, seed: int, first: int = 0) -> "_Shocks":
        shape = (len(DEPARTMENTS), (N_MONTHS - first) // 6 + 1)
        table = np.random.default_rng([seed, 9]).normal(0.0, sd, shape) if sd > 0 else np.zeros(shape)
        return cls(sd, table, first)

    def record(self, month: int, department: np.ndarray) -> None:
        if self.sd > 0:
            self.history[month] = department.astype(np.int8)

    def multiplier(self, month: int, idx: np.ndarray | None = None) -> np.ndarray | float:
        """exp(shock) of each person's department in `month` (1 when there are no shocks)."""
        if self.sd <= 0:
            return 1.0
        dept = self.history[month] if idx is None else self.history[month][idx]
        return np.exp(self.log_shock[dept, (month - self.first) // 6])


# ---------------------------------------------------------------- enrollments and their effects

@dataclass
class _Enrollments:
    """Enrollment rows (one per person per cohort) with the months their treatment is in effect."""

    person: np.ndarray
    cohort: np.ndarray
    role: np.ndarray  # "mentee" / "mentor"
    on_from: np.ndarray  # first month with the effect (a large number if never matched)
    on_until: np.ndarray  # first month without it (withdrawal), large if never
    exit_effect: np.ndarray
    promo_effect: np.ndarray

    @classmethod
    def empty(cls) -> "_Enrollments":
        z = np.array([], dtype=np.int64)
        return cls(z, z, np.array([], dtype=object), z, z, np.array([]), np.array([]))

    def append(self, other: "_Enrollments") -> "_Enrollments":
        return _Enrollments(*(np.concatenate([getattr(self, f), getattr(other, f)])
                              for f in ("person", "cohort", "role", "on_from", "on_until", "exit_effect", "promo_effect")))

    def take(self, mask: np.ndarray) -> "_Enrollments":
        return _Enrollments(*(getattr(self, f)[mask] for f in
                              ("person", "cohort", "role", "on_from", "on_until", "exit_effect", "promo_effect")))

    def multipliers(self, n: int, month: int, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Hazard multipliers of all n people in `month` (only enrollment rows in `keep`)."""
        active = (self.on_from <= month) & (month < self.on_until)
        if keep is not None:
            active &= keep
        exit_mult, promo_mult = np.ones(n), np.ones(n)
        np.multiply.at(exit_mult, self.person[active], self.exit_effect[active])
        np.multiply.at(promo_mult, self.person[active], self.promo_effect[active])
        return exit_mult, promo_mult


def _logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def _month_of(dates: np.ndarray) -> np.ndarray:
    return (dates.astype("datetime64[M]") - SIM_START).astype(np.int64)


def _month_start(months) -> np.ndarray:
    return (SIM_START + np.asarray(months)).astype("datetime64[D]")


def _random_day_in_month(months: np.ndarray, u: np.ndarray) -> np.ndarray:
    first = _month_start(months)
    length = (_month_start(np.asarray(months) + 1) - first).astype(np.int64)
    return first + np.floor(u * length).astype(np.int64)


# ---------------------------------------------------------------- the simulation

def cohort_designs(design: str) -> tuple[str, ...]:
    """The design of each demo cohort for a `simulate(design=...)` value: one design for all four
    cohorts, or "mix" (a lottery, a capacity cohort and two rollouts)."""
    if design == "mix":
        return DEMO_MIX
    if design not in DESIGNS:
        raise ArgumentError(f"design must be one of {', '.join(DESIGNS)} or mix (got {design!r})")
    return (design,) * len(DEMO_COHORTS)


def _spec_for(spec: CohortSpec, design: str) -> CohortSpec:
    """An observational cohort invites every department, so no department is left to compare with."""
    if design != "observational":
        return spec
    return CohortSpec(spec.cohort_id, spec.name.split(":")[0] + ": all departments", spec.start_month,
                      spec.duration_months, DEPARTMENTS)


def _typed(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """A table with the contract's types for Parquet: dates as dates, true/false as booleans."""
    from .data import TABLES

    kinds = {c.name: c.kind for c in TABLES[name].columns} if name in TABLES else {}
    typed = {}
    for column, kind in kinds.items():
        if column not in df:
            continue
        if kind == "date":
            typed[column] = pd.to_datetime(df[column], format="%Y-%m-%d").astype("datetime64[ms]")
        elif kind == "bool":
            typed[column] = df[column].map({True: True, False: False, "True": True, "False": False}).astype("boolean")
    return df.assign(**typed)


def simulate(out_dir: str | Path, n_employees: int = 5000, seed: int = 0, effects: Effects | None = None,
             design: str = "rollout", shocks: float = 0.0, plan: str = "demo", file_format: str = "csv",
             years: int = 4) -> Truth:
    """Simulate the demo company into out_dir (CSV tables + truth.json) and return the Truth.

    `years` is the span of the records, ending at the extraction date (2025-12-31): 4 (the default)
    starts in January 2022; 10 starts in January 2016. The cohorts run on the same dates whatever
    the span. n_employees is the headcount at the span's start; hires roughly replace exits.
    `design` says how each cohort's places are given out (see DESIGNS; "mix" = the demo company).
    `shocks` is the SD of department x half-year shocks to the log hazards of voluntary exit and
    promotion (0 = none; 0.2 and 0.4 are moderate and large). `plan` says which departments each
    cohort invites: "demo" (two or three, see DEMO_COHORTS) or "wide" (three, see WIDE_COHORTS).
    `file_format` "parquet" writes the tables as Parquet with typed columns (dates as dates),
    as a large employer's export would come. The same arguments always write byte-identical files.
    """
    if file_format not in ("csv", "parquet"):
        raise ArgumentError(f"file_format must be csv or parquet, got {file_format!r}")
    effects = Effects() if effects is None else effects
    if n_employees < 200:
        raise ArgumentError(f"n_employees must be at least 200 for a usable demo (got {n_employees})")
    designs = cohort_designs(design)
    if plan not in PLANS:
        raise ArgumentError(f"plan must be one of {', '.join(PLANS)} (got {plan!r})")
    specs = PLANS[plan]
    if not (np.isfinite(shocks) and shocks >= 0):
        raise ArgumentError(f"shocks must be a standard deviation of 0 or more (got {shocks})")
    if isinstance(years, bool) or not isinstance(years, (int, np.integer)) or not MIN_YEARS <= years <= MAX_YEARS:
        raise ArgumentError(f"years must be a whole number from {MIN_YEARS} to {MAX_YEARS} (got {years!r})")
    out = Path(out_dir)
    rng = np.random.default_rng([seed, 0])
    first = N_MONTHS - 12 * int(years)  # the span's first month (0 = January 2022)

    # --- the people: initial headcount plus exogenous monthly hires
    hires = rng.poisson(0.0135 * n_employees, N_MONTHS - first)
    n0 = n_employees
    n = n0 + int(hires.sum())
    initial_tenure = np.minimum(rng.exponential(50, n0), 360).astype(np.int64) + 1
    hire_month = np.concatenate([first - initial_tenure, np.repeat(np.arange(first, N_MONTHS), hires)])
    people = _People(ability=rng.normal(size=n), engagement=rng.normal(size=n), hire_month=hire_month,
                     shock=_Shocks.draw(float(shocks), seed, first))
    shock = people.shock
    department = rng.choice(len(DEPARTMENTS), size=n, p=DEPARTMENT_WEIGHTS)
    location = rng.choice(len(LOCATIONS), size=n, p=LOCATION_WEIGHTS)
    gender = rng.choice(len(GENDERS), size=n, p=GENDER_WEIGHTS)
    ethnicity = rng.choice(len(ETHNICITIES), size=n, p=ETHNICITY_WEIGHTS)
    pay_factor = np.exp(rng.normal(0, 0.12, n))
    level0 = np.where(
        np.arange(n) < n0,
        np.clip(np.round(1.0 + initial_tenure[np.minimum(np.arange(n), n0 - 1)] / 12 * 0.3
                         + 0.5 * people.ability + rng.normal(0, 0.7, n)), 1, 6),
        np.clip(np.round(1.3 + 0.4 * people.ability + rng.normal(0, 0.5, n)), 1, 4),
    ).astype(np.int64)
    hire_day_u = rng.random(n)
    department0 = department.copy()

    state = _State(employed=hire_month < first, level=level0.copy(),
                   months_in_level=np.minimum(np.maximum(first - hire_month, 0), 24))
    grade_step = np.zeros(n, dtype=np.int64)
    term_month = np.full(n, STAYED)
    term_reason = np.full(n, "", dtype=object)
    term_u = np.zeros(n)
    job_events: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # idx, month, level, grade, dept
    enrol = _Enrollments.empty()
    snapshots: dict[int, _State] = {}
    cohort_meta: list[dict] = []
    reviews, pulses = [], []
    promo_months, promo_people = [], []
    all_idx = np.arange(n)

    small = np.int32 if n < 2**31 else np.int64  # who was reviewed or surveyed, kept for every wave
    for t in range(first, N_MONTHS):
        state.employed |= people.hire_month == t
        for ci, spec in enumerate(specs):
            if spec.start_month == t:
                new, meta = _enrol_cohort(ci, _spec_for(spec, designs[ci]), t, people, state, department, enrol,
                                          effects, np.random.default_rng([seed, 2, ci]), designs[ci],
                                          np.random.default_rng([seed, 8, ci]))
                enrol = enrol.append(new)
                cohort_meta.append(meta)
                snapshots[ci] = _State(state.employed.copy(), state.level.copy(), state.months_in_level.copy())
        u = _uniforms(seed, t, n, 6)
        exit_mult, promo_mult = enrol.multipliers(n, t)
        shock.record(t, department)
        exit_mult, promo_mult = exit_mult * shock.multiplier(t), promo_mult * shock.multiplier(t)
        was_employed = state.employed.copy()
        quits, fired, promoted, _ = _step(people, all_idx, state, t, u, exit_mult, promo_mult)
        left = quits | fired
        term_month[left] = t
        term_reason[quits] = "voluntary"
        term_reason[fired] = "involuntary"
        term_u[left] = u[3][left]
        grade_step[promoted] = 0
        promo_people.append(np.flatnonzero(promoted))
        promo_months.append(np.full(promo_people[-1].size, t))
        stays = was_employed & ~left & ~promoted & (people.hire_month < t)
        moved = stays & (u[4] < 0.003)
        department[moved] = (department[moved] + 1 + np.floor(u[5][moved] * (len(DEPARTMENTS) - 1)).astype(np.int64)) % len(DEPARTMENTS)
        stepped = stays & ~moved & (grade_step == 0) & (u[5] < 0.02)
        grade_step[stepped] = 1
        changed = promoted | moved | stepped
        if changed.any():
            idx = np.flatnonzero(changed)
            job_events.append((idx, np.full(idx.size, t), state.level[idx].copy(),
                               2 * state.level[idx] + grade_step[idx], department[idx].copy()))
        # measurements taken in the month, among those still employed at its end
        if t % 6 == 0:  # semi-annual performance reviews (January, July)
            reviews.append((t, np.flatnonzero(state.employed & (t - people.hire_month >= 3)).astype(small)))
        if t % 3 == 0:  # quarterly engagement pulse
            pulses.append((t, np.flatnonzero(state.employed).astype(small)))

    truth_rows = _assemble(
        seed, people, level0, department0, department, location, gender, ethnicity, pay_factor, hire_day_u,
        state, term_month, term_reason, term_u, job_events,
        (np.concatenate(promo_months), np.concatenate(promo_people)), enrol, snapshots, cohort_meta, reviews,
        pulses, effects, file_format, out,
    )
    truth_rows = [{"design": "", **r} if "design" not in r else r for r in truth_rows] + _pooled_truth(truth_rows)
    truth_table = pd.DataFrame(truth_rows)
    individual = [m["individual"] for m in cohort_meta if m.get("individual") is not None]
    payload = {
        "seed": seed,
        "n_employees": n_employees,
        **({"years": int(years)} if years != 4 else {}),
        "effects": asdict(effects),
        "shocks": float(shocks),
        "definitions": TRUTH_DEFINITIONS,
        "estimates": [{k: (round(v, 10) if isinstance(v, float) else v) for k, v in r.items()} for r in truth_rows],
    }
    (out / "truth.json").write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return Truth(out, seed, n_employees, effects, truth_table,
                 pd.concat(individual, ignore_index=True) if individual else None)


TRUTH_DEFINITIONS = {
    "population": "participants = everyone enrolled in the cohort in that role (matched or not, withdrawn kept)",
    "att": "mean over participants of Y(mentored) - Y(not mentored), both simulated with the same random numbers",
    "naive": "participants minus employees employed at cohort start who are not enrolled in the cohort (observed outcomes)",
    "design": "rows with a design (lottery, capacity, rollout, observational) are over the cohort's mentee applicants "
              "employed at the start, each matched on the dates they would have had or not at all",
    "tot": "mean effect on those the design's effect-on-participants estimator targets: a lottery's compliers (take "
           "part if and only if offered), otherwise the applicants who took part",
    "itt_offer": "lottery: mean over all applicants of the effect of being offered a place",
    "pooled": "cohort_id pooled: the design's cohorts averaged, weighted by n_participants (those who took part)",
    "retention_12m": "employed at the end of month 11 after cohort start (month 0 = start month), percentage points",
    "exit_rate": "voluntary-exit probability per person-month at risk over months 0-11 after start, percentage points",
    "voluntary_exit_12m": "left voluntarily in months 0-11 after start, percentage points (a cumulative incidence: "
                          "involuntary exits compete)",
    "promotion_12m": "promoted at least once in months 0-11 after start, percentage points",
    "skills_change": "self-rated skills (mean item score, 1-5) at the end wave minus baseline, points",
    "performance_rating": "rating (1-5) at the first review at least 6 months after cohort start, points",
}


def _enrol_cohort(ci: int, spec: CohortSpec, t: int, people: _People, state: _State, department: np.ndarray,
                  prior: _Enrollments, effects: Effects, rng: np.random.Generator, design: str = "rollout",
                  design_rng: np.random.Generator | None = None):
    """Who signs up (self-selected on engagement and ability), who is matched, and when, for one cohort.

    `design` says how places are given out (see DESIGNS); every applicant also gets the match and
    withdrawal dates they would have had if matched (from `design_rng`, so the rollout demo keeps
    its draws), which the truth's potential outcomes use."""
    n = state.employed.size
    in_scope = state.employed & np.isin(department, [DEPARTMENTS.index(d) for d in spec.departments])
    tenure = t - people.hire_month
    been_mentee = np.zeros(n, dtype=bool)
    been_mentor = np.zeros(n, dtype=bool)
    been_mentee[prior.person[prior.role == "mentee"]] = True
    been_mentor[prior.person[prior.role == "mentor"]] = True
    a, e = people.ability, people.engagement
    mentee_ok = in_scope & np.isin(state.level, MENTEE_LEVELS) & (tenure >= MENTEE_MIN_TENURE) & ~been_mentee
    mentor_ok = in_scope & (state.level >= MENTOR_MIN_LEVEL) & (tenure >= MENTOR_MIN_TENURE)
    u = rng.random((2, n))
    mentees = np.flatnonzero(mentee_ok & (u[0] < _logistic(-2.8 + 1.0 * e + 1.0 * a)))
    mentors = np.flatnonzero(mentor_ok & (u[1] < _logistic(-1.9 + 0.5 * e + 0.4 * a + 1.5 * been_mentor)))

    start = _month_start(t)
    signup_m = start - rng.integers(7, 45, mentees.size)
    signup_r = start - rng.integers(7, 45, mentors.size)
    # matching: each mentor takes 1-3 mentees; mentees beyond capacity stay unmatched
    capacity = rng.choice([1, 2, 3], size=mentors.size, p=[0.2, 0.4, 0.4])
    slots = rng.permutation(np.repeat(np.arange(mentors.size), capacity))
    order = rng.permutation(mentees.size)
    n_pairs = min(slots.size, mentees.size)
    pair_mentee = order[:n_pairs]  # positions in `mentees`
    pair_mentor = slots[:n_pairs]  # positions in `mentors`
    delay = np.round(rng.gamma(2.0, 12.0, n_pairs) - 10).astype(np.int64)
    matched_date = np.maximum(start + delay, signup_m[pair_mentee] + 1)
    design_rng = design_rng if design_rng is not None else np.random.default_rng([ci, 8])
    would_match = np.maximum(start + np.round(design_rng.gamma(2.0, 12.0, mentees.size) - 10).astype(np.int64),
                             signup_m + 1)
    would_withdraw = np.where(design_rng.random(mentees.size) < 0.12,
                              would_match + design_rng.integers(30, 180, mentees.size), np.datetime64("NaT"))
    offered = np.zeros(mentees.size, dtype=bool)
    complier = np.ones(mentees.size, dtype=bool)  # takes part if and only if given a place
    if design == "rollout":
        would_match[pair_mentee] = matched_date
    else:
        dept, level = department[mentees], state.level[mentees]
        if design == "lottery":
            offered = _offer_within(dept, LOTTERY_OFFER_SHARE, design_rng)
            kind = design_rng.random(mentees.size)
            never, always = kind < LOTTERY_NEVER_TAKERS, kind >= 1 - LOTTERY_ALWAYS_TAKERS
            takes_part = (offered & ~never) | always
            complier = ~never & ~always
        elif design == "capacity":  # scarce places, given before the start by department (mentor supply) and level
            supply = design_rng.normal(0.3, 0.6, len(DEPARTMENTS))
            takes_part = design_rng.random(mentees.size) < _logistic(supply[dept] + 0.8 * (2 - level))
            would_match = np.maximum(start - design_rng.integers(1, 21, mentees.size), signup_m + 1)
        else:  # observational: every applicant is matched
            takes_part = np.ones(mentees.size, dtype=bool)
        pair_mentee = np.flatnonzero(takes_part) if slots.size else np.array([], dtype=np.int64)
        pair_mentor = slots[np.arange(pair_mentee.size) % max(slots.size, 1)]
        matched_date = would_match[pair_mentee]
    mentee_matched = np.full(mentees.size, np.datetime64("NaT"), dtype="datetime64[D]")
    mentee_matched[pair_mentee] = matched_date
    # a mentor's effect starts with their first mentee
    mentor_matched = np.full(mentors.size, np.datetime64("NaT"), dtype="datetime64[D]")
    order_by_date = np.argsort(matched_date, kind="stable")[::-1]
    mentor_matched[pair_mentor[order_by_date]] = matched_date[order_by_date]
    end = (SIM_START + t + spec.duration_months).astype("datetime64[D]") - 1
    # planned withdrawals (exits during the program are added later)
    withdraws = ~np.isnat(mentee_matched) & (rng.random(mentees.size) < 0.12)
    withdrawal = np.full(mentees.size, np.datetime64("NaT"), dtype="datetime64[D]")
    planned = mentee_matched[withdraws] + rng.integers(30, 180, int(withdraws.sum()))
    withdrawal[withdraws] = np.minimum(planned, end)
    would_withdraw = np.where(np.isnat(mentee_matched), np.minimum(would_withdraw, end), withdrawal)

    big = 10**6
    def months(dates, missing):
        m = np.full(dates.size, missing, dtype=np.int64)
        ok = ~np.isnat(dates)
        m[ok] = np.maximum(_month_of(dates[ok]), t)
        return m

    new = _Enrollments(
        person=np.concatenate([mentees, mentors]),
        cohort=np.full(mentees.size + mentors.size, ci),
        role=np.array(["mentee"] * mentees.size + ["mentor"] * mentors.size, dtype=object),
        on_from=np.concatenate([months(mentee_matched, big), months(mentor_matched, big)]),
        on_until=np.concatenate([months(withdrawal, big), np.full(mentors.size, big)]),
        exit_effect=np.concatenate([np.full(mentees.size, effects.hazard("exit", "mentee", ci)),
                                    np.full(mentors.size, effects.hazard("exit", "mentor", ci))]),
        promo_effect=np.concatenate([np.full(mentees.size, effects.hazard("promotion", "mentee", ci)),
                                     np.full(mentors.size, effects.hazard("promotion", "mentor", ci))]),
    )
    meta = dict(ci=ci, spec=spec, start=start, end=end, mentees=mentees, mentors=mentors,
                signup_m=signup_m, signup_r=signup_r, mentee_matched=mentee_matched, mentor_matched=mentor_matched,
                withdrawal=withdrawal, pair_mentee=pair_mentee, pair_mentor=pair_mentor, matched_date=matched_date,
                eligible_mentees=int(mentee_ok.sum()), eligible_mentors=int(mentor_ok.sum()),
                design=design, offered=offered, complier=complier, would_match=would_match,
                would_withdraw=would_withdraw)
    return new, meta


def _offer_within(strata: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """A complete randomization within each stratum: round(share x size) places offered at random."""
    key = rng.random(strata.size)
    order = np.lexsort((key, strata))
    sorted_strata = strata[order]
    first = np.r_[True, sorted_strata[1:] != sorted_strata[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(strata.size), 0))
    rank = np.arange(strata.size) - group_start
    size = np.bincount(sorted_strata, minlength=sorted_strata.max() + 1 if strata.size else 0)[sorted_strata]
    offered = np.zeros(strata.size, dtype=bool)
    offered[order] = rank < np.round(share * size)
    return offered


# ---------------------------------------------------------------- potential outcomes

def _replay(people: _People, idx: np.ndarray, snapshot: _State, t0: int, seed: int,
            enrol: _Enrollments, keep: np.ndarray | None):
    """Re-run participants idx for HORIZON months from t0 under the enrollments in `keep`,
    with the same uniforms as the factual run. Returns (employed at end, promoted, summed voluntary
    hazard over months at risk, months at risk, left voluntarily), each per participant."""
    n = people.ability.size
    state = snapshot.take(idx)
    hazard = np.zeros(idx.size)
    at_risk_months = np.zeros(idx.size)
    promoted_any = np.zeros(idx.size, dtype=bool)
    quit_any = np.zeros(idx.size, dtype=bool)
    for t in range(t0, t0 + HORIZON):
        u = _uniforms(seed, t, n, 6)[:, idx]
        exit_mult, promo_mult = enrol.multipliers(n, t, keep)
        common = people.shock.multiplier(t, idx) if people.shock is not None else 1.0
        at_risk = state.employed.copy()
        quits, _, promoted, vol = _step(people, idx, state, t, u, exit_mult[idx] * common, promo_mult[idx] * common)
        hazard += vol * at_risk
        at_risk_months += at_risk
        promoted_any |= promoted
        quit_any |= quits
    return state.employed, promoted_any, hazard, at_risk_months, quit_any


def _rating(ability: np.ndarray, noise: np.ndarray, shift: np.ndarray) -> np.ndarray:
    return np.clip(np.round(3.0 + 0.7 * ability + noise + shift), 1, 5)


def _rating_shift(enrol: _Enrollments, dose: np.ndarray, effects: Effects, n: int, month: int,
                  keep: np.ndarray | None = None) -> np.ndarray:
    """Rating shift (points) of all n people at a review in `month`: mentoring's effect, once begun, stays."""
    on = enrol.on_from <= month
    if keep is not None:
        on &= keep
    per_row = np.where(enrol.role == "mentee", effects.mentee_rating_shift, effects.mentor_rating_shift) * dose
    shift = np.zeros(n)
    np.add.at(shift, enrol.person[on], per_row[on])
    return shift


def _skill_scores(latent: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Likert item scores 1-5 from latent skill (participants x items)."""
    return np.clip(np.round(latent[:, None] + noise), 1, 5)


# ---------------------------------------------------------------- tables

def _fmt(dates: np.ndarray) -> pd.Series:
    s = pd.Series(np.asarray(dates, dtype="datetime64[D]"))
    return s.dt.strftime("%Y-%m-%d").astype("str")


def _days(dates: np.ndarray) -> pd.Series:
    """Dates as a Parquet table holds them (no text in between: millions of rows are formatted in seconds)."""
    return pd.Series(np.asarray(dates, dtype="datetime64[D]").astype("datetime64[ms]"))


def _write(out: Path, name: str, chunks, file_format: str) -> None:
    """Write a table from its chunks (frames with the same columns) one after another: a CSV with one
    header (the same bytes as the chunks joined), or a Parquet file with a row group per chunk."""
    if file_format == "csv":
        with open(out / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            for i, chunk in enumerate(chunks):
                chunk.to_csv(handle, index=False, header=i == 0, lineterminator="\n")
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    try:
        for chunk in chunks:
            table = pa.Table.from_pandas(_typed(name, chunk), preserve_index=False,
                                         schema=writer.schema if writer is not None else None)
            if writer is None:
                writer = pq.ParquetWriter(out / f"{name}.parquet", table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def _assemble(seed, people, level0, department0, department, location, gender, ethnicity, pay_factor,
              hire_day_u, state, term_month, term_reason, term_u, job_events, promotions, enrol,
              snapshots, cohort_meta, reviews, pulses, effects, file_format, out):
    """Write every table into `out` (the largest wave by wave) and return the truth rows."""
    out.mkdir(parents=True, exist_ok=True)
    days = _fmt if file_format == "csv" else _days
    rng = np.random.default_rng([seed, 5])
    n = people.ability.size
    emp_ids = np.char.add("E", np.char.zfill(np.arange(1, n + 1).astype(str), 6))
    hire_date = _random_day_in_month(people.hire_month, hire_day_u)
    left = term_month != STAYED
    term_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    term_date[left] = np.maximum(_random_day_in_month(term_month[left], term_u[left]), hire_date[left])
    salary = np.round(52000 * pay_factor * 1.25 ** (state.level - 1), -2)
    _write(out, "employees", [pd.DataFrame({
        "employee_id": emp_ids,
        "hire_date": days(hire_date),
        "termination_date": days(term_date),
        "termination_reason": pd.Series(term_reason, dtype="str").replace("", pd.NA),
        "department": np.asarray(DEPARTMENTS)[department],
        "location": np.asarray(LOCATIONS)[location],
        "gender": pd.Series(np.asarray(GENDERS)[gender]).replace("", pd.NA),
        "ethnicity": pd.Series(np.asarray(ETHNICITIES)[ethnicity]).replace("", pd.NA),
        "annual_salary": salary.astype(np.int64),
    })], file_format)

    # job history: a record at hire, then one per promotion, department move or grade step
    ev_idx = np.concatenate([np.arange(n)] + [e[0] for e in job_events])
    ev_month = np.concatenate([people.hire_month] + [e[1] for e in job_events])
    ev_level = np.concatenate([level0] + [e[2] for e in job_events])
    ev_grade = np.concatenate([2 * level0] + [e[3] for e in job_events])
    ev_dept = np.concatenate([department0] + [e[4] for e in job_events])
    ev_date = np.concatenate([hire_date, _random_day_in_month(ev_month[n:], rng.random(ev_month.size - n))])
    order = np.lexsort((ev_date, ev_idx))
    del ev_month
    _write(out, "job_history", [pd.DataFrame({
        "employee_id": emp_ids[ev_idx[order]],
        "effective_date": days(ev_date[order]),
        "job_level": ev_level[order],
        "salary_grade": ev_grade[order],
        "department": np.asarray(DEPARTMENTS)[ev_dept[order]],
    })], file_format)
    del ev_idx, ev_level, ev_grade, ev_dept, ev_date, order

    # performance reviews (semi-annual) with the planted rating shift
    dose = _dose(enrol)

    def review_waves():
        for t, idx in reviews:
            date = _month_start(t) + 14
            idx = idx[hire_date[idx] <= date]
            shift = _rating_shift(enrol, dose, effects, n, t)
            noise = _review_noise(seed, t, n)
            yield pd.DataFrame({"employee_id": emp_ids[idx], "review_date": days(np.full(idx.size, date)),
                                "rating": _rating(people.ability[idx], noise[idx], shift[idx]).astype(np.int64)})

    def pulse_waves():
        for t, idx in pulses:
            date = _month_start(t) + 10
            idx = idx[hire_date[idx] <= date]
            noise = _stream(seed, 6, t).normal(0, 0.45, n)[idx]
            score = np.clip(np.round(3.5 + 0.55 * people.engagement[idx] + noise, 1), 1, 5)
            yield pd.DataFrame({"employee_id": emp_ids[idx], "survey_date": days(np.full(idx.size, date)),
                                "score": score})

    _write(out, "performance_reviews", review_waves(), file_format)
    _write(out, "engagement_surveys", pulse_waves(), file_format)

    review_noise = {t: _review_noise(seed, t, n) for t in _review_months(cohort_meta)}
    program, truth_rows = _program_tables(seed, people, emp_ids, hire_date, term_date, term_month, salary,
                                          enrol, dose, snapshots, cohort_meta, promotions, review_noise, effects)
    for name, df in program.items():
        _write(out, name, [df], file_format)
    return truth_rows


def _review_month(t0: int) -> int | None:
    """The first review at least 6 months after a cohort starting in month t0 (None: after the data end)."""
    return next((m for m in range(t0 + 6, N_MONTHS) if m % 6 == 0), None)


def _review_months(cohort_meta: list[dict]) -> set[int]:
    return {m for meta in cohort_meta if (m := _review_month(meta["spec"].start_month)) is not None}


def _dose(enrol: _Enrollments) -> np.ndarray:
    """Share of the programme each enrollment received: 1 if matched and stayed, 0.5 if withdrew, 0 if never matched."""
    matched = enrol.on_from < 10**6
    withdrew = enrol.on_until < 10**6
    return np.where(matched, np.where(withdrew, 0.5, 1.0), 0.0)


def _program_tables(seed, people, emp_ids, hire_date, term_date, term_month, salary, enrol, dose,
                    snapshots, cohort_meta, promotions, review_noise, effects):
    rng = np.random.default_rng([seed, 7])
    n = emp_ids.size
    cohorts, enrollments, matches, meetings, goals, surveys, costs, truth = [], [], [], [], [], [], [], []
    match_counter = 0
    goal_counter = 0
    employed_on = lambda idx, date: (hire_date[idx] <= date) & (np.isnat(term_date[idx]) | (term_date[idx] >= date))
    for meta in cohort_meta:
        ci, spec, start, end = meta["ci"], meta["spec"], meta["start"], meta["end"]
        cid = spec.cohort_id
        cohorts.append({"cohort_id": cid, "name": spec.name, "start_date": str(start), "end_date": str(end)})
        rows = np.flatnonzero(enrol.cohort == ci)
        person, role = enrol.person[rows], enrol.role[rows]
        is_mentee = role == "mentee"
        signup = np.concatenate([meta["signup_m"], meta["signup_r"]])
        matched = np.concatenate([meta["mentee_matched"], meta["mentor_matched"]])
        withdrawal = np.concatenate([meta["withdrawal"], np.full(meta["mentors"].size, np.datetime64("NaT"), dtype="datetime64[D]")])

        # pairs; a mentee who left before the match date was never matched
        pm, pr = meta["mentees"][meta["pair_mentee"]], meta["mentors"][meta["pair_mentor"]]
        mdate = meta["matched_date"]
        happened = np.isnat(term_date[pm]) | (term_date[pm] >= mdate)
        pm, pr, mdate, pair_pos = pm[happened], pr[happened], mdate[happened], meta["pair_mentee"][happened]
        ended_by = np.minimum.reduce([
            np.full(pm.size, end),
            np.where(np.isnat(meta["withdrawal"][pair_pos]), end, meta["withdrawal"][pair_pos]),
            np.where(np.isnat(term_date[pm]), end, term_date[pm]),
            np.where(np.isnat(term_date[pr]), end, term_date[pr]),
        ])
        ended = np.maximum(ended_by, mdate)
        ids = np.char.add("M", np.char.zfill(np.arange(match_counter + 1, match_counter + pm.size + 1).astype(str), 6))
        match_counter += pm.size
        matches.append(pd.DataFrame({"match_id": ids, "cohort_id": cid, "mentor_id": emp_ids[pr], "mentee_id": emp_ids[pm],
                                     "matched_date": _fmt(mdate), "ended_date": _fmt(ended)}))

        # meetings: a monthly rate per pair that often fades
        rate = rng.gamma(4.0, 0.5, pm.size)
        fade = rng.uniform(0.72, 1.0, pm.size)
        k = np.arange(10)
        counts = rng.poisson(rate[:, None] * fade[:, None] ** k[None, :])
        pair_of = np.repeat(np.repeat(np.arange(pm.size), k.size), counts.ravel())
        month_of = np.repeat(np.tile(k, pm.size), counts.ravel())
        mdates = mdate[pair_of] + 30 * month_of + rng.integers(0, 30, pair_of.size)
        keep = (mdates <= ended[pair_of]) & (mdates <= EXTRACTION_DATE)
        pair_of, mdates = pair_of[keep], mdates[keep]
        duration = rng.choice([30, 45, 60, 90], size=pair_of.size, p=[0.35, 0.3, 0.3, 0.05])
        order = np.lexsort((mdates, pair_of))
        meetings.append(pd.DataFrame({"match_id": ids[pair_of[order]], "meeting_date": _fmt(mdates[order]),
                                      "duration_minutes": duration[order]}))
        n_meet = np.bincount(pair_of, minlength=pm.size)
        months_open = np.maximum((ended - mdate).astype(np.int64) / 30.4, 1)
        intensity = n_meet / months_open  # meetings per month, per pair
        z_pair = (intensity - intensity.mean()) / (intensity.std() or 1)
        z_person = np.zeros(n)
        cnt = np.zeros(n)
        np.add.at(z_person, pm, z_pair); np.add.at(cnt, pm, 1)
        np.add.at(z_person, pr, z_pair); np.add.at(cnt, pr, 1)
        z_person = np.divide(z_person, cnt, out=np.zeros(n), where=cnt > 0)
        met = np.zeros(n, dtype=bool)
        met[pm[n_meet > 0]] = True
        met[pr[n_meet > 0]] = True
        really_matched = np.zeros(n, dtype=bool)
        really_matched[pm] = True
        really_matched[pr] = True

        # statuses as the platform would export them at the extraction date
        gone_during = ~np.isnat(term_date[person]) & (term_date[person] <= end)
        exit_withdrawal = gone_during & (np.isnat(withdrawal) | (term_date[person] < withdrawal))
        withdrawal = np.where(exit_withdrawal, term_date[person], withdrawal)
        withdrawn = ~np.isnat(withdrawal)
        status = np.where(withdrawn, "withdrawn",
                          np.where(~really_matched[person], "applied",
                                   np.where(~met[person], "matched",
                                            np.where(end <= EXTRACTION_DATE, "completed", "active"))))
        enrolled = pd.DataFrame({"employee_id": emp_ids[person], "cohort_id": cid, "role": role,
                                 "signup_date": _fmt(signup), "status": status, "withdrawal_date": _fmt(withdrawal)})
        if any(m["design"] == "lottery" for m in cohort_meta):  # the platform records offers
            lottery = meta["design"] == "lottery"
            offered = np.concatenate([meta["offered"], np.zeros(meta["mentors"].size, dtype=bool)])
            enrolled["offered"] = pd.array(np.where(is_mentee & lottery, offered, False), dtype="boolean")
            enrolled.loc[~(is_mentee & lottery), "offered"] = pd.NA
            offer_day = np.where(offered & is_mentee & lottery, start - OFFER_LEAD_DAYS, np.datetime64("NaT"))
            enrolled["offer_date"] = _fmt(offer_day.astype("datetime64[D]"))
        enrollments.append(enrolled)

        matched_for_real = np.where(really_matched[person], matched, np.datetime64("NaT"))
        goals_df, goal_counter = _goals(rng, cid, start, person, role, matched_for_real, withdrawn, dose[rows], emp_ids,
                                        goal_counter)
        goals.append(goals_df)
        survey_df, skill_truth = _surveys(seed, ci, cid, people, emp_ids, person, role, start, end,
                                          really_matched, dose[rows], z_person, employed_on, snapshots[ci], effects)
        surveys.append(survey_df)

        mentor_hours = np.bincount(pair_of, weights=duration / 60, minlength=pm.size)
        hourly = salary[pr] / 2080
        n_part = person.size
        costs.append(pd.DataFrame({
            "cohort_id": cid,
            "category": ["software", "administration", "training", "mentor_time", "other"],
            "amount": np.round([9000 + 35 * n_part, 0.2 * 70000 * spec.duration_months / 12,
                                300 * int((~is_mentee).sum()), float((mentor_hours * hourly).sum()), 2500], 2),
        }))
        truth.extend(_truth_rows(seed, people, ci, cid, spec, person, role, enrol, snapshots[ci], term_month,
                                 promotions, dose, review_noise, effects, skill_truth))
        truth.extend(_design_truth(seed, people, meta, enrol, dose, snapshots[ci], term_month, review_noise, effects,
                                   emp_ids))
    program = {
        "cohorts": pd.DataFrame(cohorts),
        "enrollments": pd.concat(enrollments, ignore_index=True),
        "matches": pd.concat(matches, ignore_index=True),
        "meetings": pd.concat(meetings, ignore_index=True),
        "goals": pd.concat(goals, ignore_index=True),
        "surveys": pd.concat(surveys, ignore_index=True),
        "program_costs": pd.concat(costs, ignore_index=True),
    }
    return program, truth


def _goals(rng, cid, start, person, role, matched, withdrawn, dose, emp_ids, counter):
    """Program goals (three per cohort) and 1-5 goals per matched participant, most linked to a program goal."""
    def ids(k):
        nonlocal counter
        out = np.char.add("G", np.char.zfill(np.arange(counter + 1, counter + k + 1).astype(str), 6))
        counter += k
        return out
    program_ids = ids(3)
    program = pd.DataFrame({
        "goal_id": program_ids, "cohort_id": cid, "owner_id": pd.NA, "owner_role": "program", "horizon": "long",
        "smart_specific": True, "smart_measurable": True, "smart_achievable": True, "smart_relevant": True,
        "smart_time_bound": True, "created_date": str(start - 30), "target_date": str(start + 365),
        "status": "open", "achieved_date": pd.NA, "parent_goal_id": pd.NA,
    })
    owners = np.flatnonzero(~np.isnat(matched))
    per_owner = np.where(role[owners] == "mentee",
                         rng.choice([1, 2, 3, 4, 5], size=owners.size, p=[0.08, 0.42, 0.35, 0.10, 0.05]),
                         rng.choice([1, 2, 3], size=owners.size, p=[0.35, 0.5, 0.15]))
    g_owner = np.repeat(owners, per_owner)
    k = g_owner.size
    flags = rng.random((5, k)) < 0.85
    short = rng.random(k) < 0.6
    created = matched[g_owner] + rng.integers(0, 21, k)
    target = created + np.where(short, 90, 240)
    p_achieve = _logistic(-2.2 + 0.45 * flags.sum(axis=0) + 0.8 * dose[g_owner] - 0.4 * ~short)
    achieved = rng.random(k) < p_achieve
    achieved_date = target - rng.integers(-20, 60, k)
    due = target <= EXTRACTION_DATE
    abandoned = withdrawn[g_owner] & ~achieved
    status = np.where(abandoned, "abandoned", np.where(achieved & (achieved_date <= EXTRACTION_DATE), "achieved",
                                                        np.where(due, "missed", "open")))
    achieved_date = np.where(status == "achieved", np.maximum(achieved_date, created + 1), np.datetime64("NaT"))
    linked = rng.random(k) < 0.75
    parent = np.where(linked, program_ids[rng.integers(0, 3, k)], "")
    personal = pd.DataFrame({
        "goal_id": ids(k), "cohort_id": cid, "owner_id": emp_ids[person[g_owner]], "owner_role": role[g_owner],
        "horizon": np.where(short, "short", "long"),
        **{f"smart_{f}": flags[i] for i, f in enumerate(("specific", "measurable", "achievable", "relevant", "time_bound"))},
        "created_date": _fmt(created), "target_date": _fmt(target), "status": status,
        "achieved_date": _fmt(achieved_date), "parent_goal_id": pd.Series(parent, dtype="str").replace("", pd.NA),
    })
    return pd.concat([program, personal], ignore_index=True), counter


SKILL_ITEMS = {"mentee": ("communication", "leadership", "career_clarity", "technical_depth"),
               "mentor": ("coaching", "giving_feedback", "leadership")}


def _surveys(seed, ci, cid, people, emp_ids, person, role, start, end, really_matched, dose, z_person,
             employed_on, snapshot, effects):
    """Skills (self and manager; baseline, mid, end), satisfaction, NPS and would-participate-again answers.

    Returns the long survey frame and, per participant, the true skills effect (points) computed from
    both potential end scores with the same noise."""
    frames = []
    skill_truth = np.zeros(person.size)
    managers_pool = np.flatnonzero(snapshot.employed & (snapshot.level >= 5))
    mid_date, end_date = start + 120, end
    for r in ("mentee", "mentor"):
        sel = np.flatnonzero(role == r)
        p = person[sel]
        items = SKILL_ITEMS[r]
        gain = effects.mentee_skills_gain if r == "mentee" else effects.mentor_skills_gain
        srng = np.random.default_rng([seed, 4, ci, 0 if r == "mentee" else 1])
        base = 2.9 + 0.3 * people.ability[p] + srng.normal(0, 0.45, p.size)
        noise = {w: srng.normal(0, 0.5, (p.size, len(items))) for w in ("baseline", "mid", "end", "mb", "me")}
        # skills would not grow without mentoring, so a paired pre/post change reads as the effect
        latent = {"baseline": base, "mid": base + 0.5 * gain * dose[sel], "end": base + gain * dose[sel]}
        end_treated = _skill_scores(latent["end"], noise["end"]).mean(axis=1)
        end_control = _skill_scores(base, noise["end"]).mean(axis=1)
        skill_truth[sel] = end_treated - end_control
        manager = managers_pool[srng.integers(0, managers_pool.size, p.size)] if managers_pool.size else p
        responds = {
            "baseline": srng.random(p.size) < 0.9,
            "mid": (srng.random(p.size) < 0.75) & really_matched[p] & employed_on(p, mid_date),
            "end": (srng.random(p.size) < 0.65) & really_matched[p] & employed_on(p, end_date) & (end_date <= EXTRACTION_DATE),
        }
        for wave in ("baseline", "mid", "end"):
            who = np.flatnonzero(responds[wave])
            scores = _skill_scores(latent[wave][who], noise[wave][who])
            frames.append(_long(emp_ids[p[who]], emp_ids[p[who]], cid, wave, r, "skills", items, scores))
            if r == "mentee" and wave in ("baseline", "end"):
                m_noise = noise["mb" if wave == "baseline" else "me"][who]
                m_scores = _skill_scores(latent[wave][who] - 0.2, m_noise * 1.2)
                frames.append(_long(emp_ids[manager[who]], emp_ids[p[who]], cid, wave, "manager", "skills", items, m_scores))
            if wave in ("mid", "end"):
                z = z_person[p[who]]
                sat = np.clip(np.round(3.7 + 0.5 * z + srng.normal(0, 0.8, who.size)), 1, 5)
                frames.append(_long(emp_ids[p[who]], emp_ids[p[who]], cid, wave, r, "satisfaction", ("overall",), sat[:, None]))
            if wave == "end":
                nps = np.clip(np.round(7.2 + 1.3 * z + srng.normal(0, 1.8, who.size)), 0, 10)
                again = (srng.random(who.size) < _logistic(1.2 + 0.8 * z)).astype(float)
                frames.append(_long(emp_ids[p[who]], emp_ids[p[who]], cid, wave, r, "nps", ("recommend",), nps[:, None]))
                frames.append(_long(emp_ids[p[who]], emp_ids[p[who]], cid, wave, r, "participate_again",
                                    ("would_participate_again",), again[:, None]))
    return pd.concat(frames, ignore_index=True), skill_truth


def _long(respondent, subject, cid, wave, respondent_role, instrument, items, scores) -> pd.DataFrame:
    k = len(items)
    return pd.DataFrame({
        "respondent_id": np.repeat(respondent, k), "subject_id": np.repeat(subject, k), "cohort_id": cid,
        "wave": wave, "respondent_role": respondent_role, "instrument": instrument,
        "item": np.tile(np.asarray(items), len(respondent)), "score": scores.ravel().astype(np.int64),
    })


def _truth_rows(seed, people, ci, cid, spec, person, role, enrol, snapshot, term_month, promotions, dose,
                review_noise, effects, skill_truth) -> list[dict]:
    """True ATT on the participants (both potential outcomes, common random numbers) and the naive gaps."""
    n = people.ability.size
    t0 = spec.start_month
    rows = []
    stayed = (term_month == STAYED) | (term_month > t0 + HORIZON - 1)
    promo_months, promo_people = promotions
    in_window = (promo_months >= t0) & (promo_months < t0 + HORIZON)
    promoted = np.zeros(n, dtype=bool)
    promoted[promo_people[in_window]] = True
    in_cohort = np.zeros(n, dtype=bool)
    in_cohort[person] = True
    others = snapshot.employed & ~in_cohort
    review_month = _review_month(t0)
    for r in ("mentee", "mentor"):
        sel = role == r
        p = person[sel]
        this = (enrol.cohort == ci) & (enrol.role == r)
        treated = _replay(people, p, snapshot, t0, seed, enrol, None)
        control = _replay(people, p, snapshot, t0, seed, enrol, ~this)
        if not np.array_equal(treated[0], stayed[p]):
            raise RuntimeError("simulation replay diverged from the factual run")  # internal invariant
        values = {
            "retention_12m": 100 * (treated[0].mean() - control[0].mean()),
            "exit_rate": 100 * (treated[2].sum() / treated[3].sum() - control[2].sum() / control[3].sum()),
            "voluntary_exit_12m": 100 * (treated[4].mean() - control[4].mean()),
            "promotion_12m": 100 * (treated[1].mean() - control[1].mean()),
            "skills_change": float(skill_truth[sel].mean()),
        }
        if review_month is not None:
            noise = review_noise[review_month][p]
            with_it = _rating_shift(enrol, dose, effects, n, review_month)[p]
            without = _rating_shift(enrol, dose, effects, n, review_month, keep=~this)[p]
            values["performance_rating"] = float((_rating(people.ability[p], noise, with_it)
                                                  - _rating(people.ability[p], noise, without)).mean())
        for estimand, v in values.items():
            rows.append({"cohort_id": cid, "role": r, "estimand": estimand, "kind": "att", "value": float(v),
                         "n_participants": int(p.size)})
        naive = {
            "retention_12m": 100 * (stayed[p].mean() - stayed[others].mean()),
            "promotion_12m": 100 * (promoted[p].mean() - promoted[others].mean()),
        }
        for estimand, v in naive.items():
            rows.append({"cohort_id": cid, "role": r, "estimand": estimand, "kind": "naive", "value": float(v),
                         "n_participants": int(p.size)})
    return rows


DESIGN_ESTIMANDS = ("retention_12m", "voluntary_exit_12m", "promotion_12m", "performance_rating")


def _design_truth(seed, people, meta, enrol, dose, snapshot, term_month, review_noise, effects, emp_ids) -> list[dict]:
    """The effects the cohort's design can estimate, from both potential outcomes of every mentee
    applicant (matched with their would-be dates, or not at all), with common random numbers.

    kind "tot": the mean effect on those the design's effect-on-participants estimator targets
    (lottery: compliers, who take part if and only if offered; otherwise: the matched applicants);
    kind "itt_offer" (lottery): the mean over all applicants of the effect of being offered a place."""
    ci, spec, design = meta["ci"], meta["spec"], meta["design"]
    p = meta["mentees"]
    if p.size == 0:
        return []
    n, t0, big = people.ability.size, spec.start_month, 10**6
    took_part = np.zeros(p.size, dtype=bool)
    took_part[meta["pair_mentee"]] = True
    on_from = np.maximum(_month_of(meta["would_match"]), t0)
    ww = meta["would_withdraw"]
    on_until = np.where(np.isnat(ww), big, np.maximum(_month_of(np.where(np.isnat(ww), meta["would_match"], ww)), t0))
    hypothetical = _Enrollments(p, np.full(p.size, ci), np.full(p.size, "mentee", dtype=object), on_from, on_until,
                                np.full(p.size, effects.hazard("exit", "mentee", ci)),
                                np.full(p.size, effects.hazard("promotion", "mentee", ci)))
    others = ~((enrol.cohort == ci) & (enrol.role == "mentee"))
    world = enrol.take(others).append(hypothetical)
    world_dose = np.concatenate([dose[others], np.where(np.isnat(ww), 1.0, 0.5)])
    without = np.arange(world.person.size) < int(others.sum())
    treated = _replay(people, p, snapshot, t0, seed, world, None)
    control = _replay(people, p, snapshot, t0, seed, world, without)
    stayed = (term_month[p] == STAYED) | (term_month[p] > t0 + HORIZON - 1)
    if not np.array_equal(np.where(took_part, treated[0], control[0]), stayed):
        raise RuntimeError("simulation replay of the design diverged from the factual run")  # internal invariant
    effect = {
        "retention_12m": 100.0 * (treated[0].astype(float) - control[0]),
        "voluntary_exit_12m": 100.0 * (treated[4].astype(float) - control[4]),
        "promotion_12m": 100.0 * (treated[1].astype(float) - control[1]),
    }
    review_month = _review_month(t0)
    if review_month is not None:
        noise = review_noise[review_month][p]
        with_it = _rating_shift(world, world_dose, effects, n, review_month)[p]
        no_it = _rating_shift(world, world_dose, effects, n, review_month, keep=without)[p]
        effect["performance_rating"] = _rating(people.ability[p], noise, with_it) - _rating(people.ability[p], noise, no_it)
    target = meta["complier"] if design == "lottery" else took_part
    meta["individual"] = pd.DataFrame({"cohort_id": spec.cohort_id, "employee_id": emp_ids[p], "took_part": took_part,
                                       "complier": meta["complier"], **effect})
    rows = []
    for estimand, values in effect.items():
        base = {"cohort_id": spec.cohort_id, "role": "mentee", "estimand": estimand, "design": design,
                "n_participants": int(took_part.sum())}
        if target.any():
            rows.append({**base, "kind": "tot", "value": float(values[target].mean())})
        if design == "lottery":
            rows.append({**base, "kind": "itt_offer", "value": float((values * meta["complier"]).mean())})
    return rows


def _pooled_truth(rows: list[dict]) -> list[dict]:
    """Participant-weighted averages of the cohorts' design effects, per design, kind and estimand
    (what the pooled estimates target), with cohort_id "pooled"."""
    frame = pd.DataFrame([r for r in rows if r.get("kind") in ("tot", "itt_offer")])
    if frame.empty:
        return []
    frame["weighted"] = frame["value"] * frame["n_participants"]
    pooled = frame.groupby(["design", "kind", "role", "estimand"], as_index=False)[["weighted", "n_participants"]].sum()
    return [{"cohort_id": "pooled", "role": r.role, "estimand": r.estimand, "design": r.design, "kind": r.kind,
             "value": float(r.weighted / r.n_participants), "n_participants": int(r.n_participants)}
            for r in pooled.itertuples() if r.n_participants > 0]


def staggered_panel(n_units: int = 1000, n_periods: int = 10, cohorts: tuple[int, ...] = (4, 6, 8),
                    never_share: float = 0.3, effect_slope: float = 0.5, cohort_gain: float = 0.5,
                    pretrend: float = 0.0, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A unit-period panel with staggered adoption and known, heterogeneous effects, for checking
    the DiD estimators. Periods are 1..n_periods; a unit of cohort g is treated from period g.
    The effect at e = t - g >= 0 periods since adoption is (1 + effect_slope * e) x (1 + cohort_gain
    x the cohort's position), so later cohorts gain more and effects grow with exposure: the setting
    in which two-way fixed effects is biased (cohort_gain=0 makes effects equal across cohorts). pretrend adds pretrend x (t - g) to treated units
    before adoption (a parallel-trends violation). Returns (panel, truth) where truth lists the
    true ATT(g, t) of every post-treatment cell."""
    rng = np.random.default_rng([seed, 9])
    periods = np.arange(1, n_periods + 1)
    cohort_of = np.where(rng.random(n_units) < never_share, 0, rng.choice(np.asarray(cohorts), n_units))
    unit_fe = rng.normal(0, 1, n_units)
    time_fe = np.cumsum(rng.normal(0.1, 0.3, n_periods))
    g = np.repeat(cohort_of, n_periods)
    t = np.tile(periods, n_units)
    treated = (g > 0) & (t >= g)
    position = np.searchsorted(np.asarray(cohorts), g)
    tau = np.where(treated, (1 + effect_slope * (t - g)) * (1 + cohort_gain * position), 0.0)
    trend = np.where((g > 0) & (t < g), pretrend * (t - g), 0.0)
    y = np.repeat(unit_fe, n_periods) + time_fe[t - 1] + tau + trend + rng.normal(0, 1, g.size)
    panel = pd.DataFrame({"unit": np.repeat(np.arange(n_units), n_periods), "time": t, "cohort": g,
                          "treated": treated.astype(np.int64), "y": y})
    truth = (panel[treated].assign(att=tau[treated]).groupby(["cohort", "time"], as_index=False)["att"].mean())
    return panel, truth
