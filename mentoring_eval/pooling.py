"""Effects pooled across cohorts: one answer from several cohorts too small to answer alone.

For each design and outcome, the pooled effect is the participant-weighted average of the
cohorts' effects (weights: mentees who took part in each cohort's analysis). For the applicant
designs (lottery, capacity) every cohort's estimate carries per-person influence values, so the
pooled variance is clustered by employee: someone in two cohorts' analyses counts once, with
both contributions. The rollout's cohorts share comparison departments, and departments, not
people, were assigned: their snapshots are stacked into one regression (each cohort its own
levels and before/after change) whose single interaction coefficient is the participant-weighted
average effect on participants, with a wild cluster bootstrap interval over the departments of
every cohort; it heads nothing with fewer than 3 treated or 3 comparison departments.
Observational comparisons are not pooled: averaging estimates that share a bias narrows the
interval around the wrong number.

Pooled rows have cohort_id "pooled"; the strongest design's effect on participants is the
headline of each outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from . import estimates as est
from .applicants import HEADLINE_METHODS, OUTCOMES, DesignResult
from .errors import NotEstimable
from .estimates import Estimates

if TYPE_CHECKING:
    from .study import Study

POOLED = "pooled"
GRADES = ("randomized", "quasi-experimental", "observational")  # strongest first
ROLLOUT_ESTIMANDS = ("retention_12m", "promotion_12m")


@dataclass(frozen=True)
class Pooled:
    """The pooled estimates and the cohort estimates that went into them (for the forest plot)."""

    estimates: Estimates = field(repr=False)
    cohorts: Estimates = field(repr=False)  # each cohort's row behind a pooled row

    def summary(self) -> str:
        return "\n".join(e.summary() for e in self.estimates)

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.to_frame()

    def headline(self, estimand: str) -> est.Estimate | None:
        return self.estimates.headline(estimand, "mentee")


def pool_applicant_effects(results: Sequence[DesignResult], estimand: str, method: str) -> tuple[float, float, int]:
    """Participant-weighted average of the cohorts' effects with a variance clustered by employee:
    (estimate, standard error, participants)."""
    parts = [(r.effects[(estimand, method)], r.n_participants) for r in results if (estimand, method) in r.effects]
    parts = [(e, n) for e, n in parts if n > 0]
    if not parts:
        raise NotEstimable(f"no cohort has a {method} estimate of {estimand}")
    total = sum(n for _, n in parts)
    estimate = sum(e.estimate * n for e, n in parts) / total
    ids = np.concatenate([e.ids.astype(str) for e, _ in parts])
    contributions = np.concatenate([e.influence * n / total for e, n in parts])
    per_person = pd.Series(contributions).groupby(ids).sum().to_numpy()
    return float(estimate), float(np.sqrt(np.sum(per_person ** 2))), int(total)


def _weakest(grades) -> str:
    present = [g for g in grades if g in GRADES]
    return max(present, key=GRADES.index) if present else ""


def program_of(study: Study) -> str:
    """Which program (company, or programme of one) a study's cohort belongs to: its data folder."""
    from .storage import place

    return place(study.params.data_dir)


def program_names(studies: Sequence[Study]) -> dict[str, str]:
    """A short name for each program of the studies: its data folder's name (with the folder above
    it when two programs' folders share a name)."""
    from pathlib import Path

    keys = sorted({program_of(s) for s in studies})
    short = {k: Path(k).name for k in keys}
    if len(set(short.values())) < len(keys):
        short = {k: f"{Path(k).parent.name}/{Path(k).name}" for k in keys}
    return short


def _in_program(result: DesignResult, name: str) -> DesignResult:
    """A cohort's design result with its people and its cohort named within its program
    ('acme:E000001', 'acme/2023-spring'), so that two companies' employee E000001 are two people
    when their cohorts are pooled."""
    from dataclasses import replace

    effects = {k: replace(e, ids=np.char.add(f"{name}:", e.ids.astype(str))) for k, e in result.effects.items()}
    return replace(result, cohort_id=f"{name}/{result.cohort_id}", effects=effects)


def pooled(studies: Sequence[Study]) -> Pooled:
    """Every design's effects pooled over the studies' cohorts (mentees), with a headline per outcome.
    Cohorts of several programs (data folders) pool as the cohorts of one, their people kept apart;
    a rollout pools within one program only (its departments were invited by that company)."""
    from . import promotion, retention

    names = program_names(studies)
    several = len(names) > 1
    applicant: dict[str, list[DesignResult]] = {}
    rollout_rows: list[tuple[est.Estimate, Study]] = []
    for study in sorted(studies, key=lambda s: s.start):
        ret, pro = retention.analyze(study, "mentee"), promotion.analyze(study, "mentee")
        if ret.applicants is not None:
            result = _in_program(ret.applicants, names[program_of(study)]) if several else ret.applicants
            applicant.setdefault(result.design, []).append(result)
        rollout_rows += [(e, study) for e in (*ret.estimates, *pro.estimates)
                         if e.design == "rollout" and e.method == "tot_wald" and e.estimand in ROLLOUT_ESTIMANDS]
    rows, behind = pooled_applicant_rows([r for results in applicant.values() for r in results])
    for estimand in ROLLOUT_ESTIMANDS:
        pairs = [(e, s) for e, s in rollout_rows if e.estimand == estimand]
        if len({program_of(s) for _, s in pairs}) > 1:
            continue  # departments of different companies are not one rollout
        used = [e for e, _ in pairs]
        if used:
            try:
                rows.append(pooled_rollout([s for s in studies if any(s is t for _, t in pairs)], estimand,
                                           _weakest(e.evidence for e in used)))
            except NotEstimable:
                continue
            behind += used
    return Pooled(Estimates(_headlines(rows)), Estimates(behind))


def strongest(studies: Sequence[Study], estimands: Sequence[str]) -> tuple[est.Estimate, tuple[str, ...]] | None:
    """The strongest answer the studies' cohorts give on any of `estimands` (earlier first at equal
    strength), with the cohorts it rests on: for several cohorts, the pooled headline of the
    strongest design, read from the cohort's own (bounded) row when that design has one cohort;
    for one cohort, its own headline. None when no design can answer."""
    from . import promotion, retention

    studies = sorted(studies, key=lambda s: s.start)

    def own(study):
        found = retention.analyze(study, "mentee").estimates + promotion.analyze(study, "mentee").estimates
        return [(h, (study.cohort_id,)) for h in (found.headline(x) for x in estimands) if h is not None]

    if len(studies) == 1:
        candidates = own(studies[0])
    else:
        rows = pooled(studies).estimates
        candidates = [(h, tuple(h.note.split("cohorts: ")[-1].split(", ")))
                      for h in (rows.headline(x) for x in estimands) if h is not None]
    if not candidates:
        return None
    rank = lambda c: (est.DESIGNS.index(c[0].design) if c[0].design in est.DESIGNS else len(est.DESIGNS),  # noqa: E731
                      list(estimands).index(c[0].estimand))
    best = min(candidates, key=rank)
    if len(studies) > 1 and len(best[1]) == 1:
        names = program_names(studies)
        label = {(f"{names[program_of(s)]}/{s.cohort_id}" if len(names) > 1 else s.cohort_id): s for s in studies}
        alone = [c for c in own(label[best[1][0]]) if c[0].design == best[0].design]
        if alone:
            return min(alone, key=rank)
    return best


SNAPSHOT_OUTCOMES = {"retention_12m": "stayed", "promotion_12m": "promoted"}


def pooled_rollout(studies: Sequence[Study], estimand: str, evidence: str = "quasi-experimental") -> est.Estimate:
    """The rollout's participant-weighted average effect on participants across cohorts (pp): the
    cohorts' snapshot rows stacked, each cohort with its own level, segment and before/after terms,
    and one coefficient for sum_c a_c x DiD_c with a_c = (cohort c's share of participants) /
    (its participation share), by reparametrizing the cohort interactions; its interval from the
    wild cluster bootstrap over the assigned units of every cohort, bounded by what the
    participants' observed rate allows. No headline below 3 treated or 3 comparison units."""
    from . import bounds
    from .assignment import MIN_CLUSTERS, cluster_labels
    from .did.bootstrap import cr2_interval, wild_cluster_bootstrap
    from .effects import snapshot_did

    outcome = SNAPSHOT_OUTCOMES[estimand]
    frames, shares, counts, observed = [], [], [], []
    unit = tuple(studies[0].params.assignment_unit)
    for c, study in enumerate(sorted(studies, key=lambda s: s.start)):
        rows = snapshot_did(study, "mentee", outcome)
        share = study.cohort.participation_share("mentee")
        if share.participants == 0 or not (rows["treated"] == 0).any():
            continue
        frames.append(rows.assign(cohort=c))
        shares.append(share.participants / share.eligible)
        counts.append(share.participants)
        observed.append(rows.loc[rows["participant"] & (rows["treated"] == 1), outcome])
    if not frames:
        raise NotEstimable("no cohort has a rollout comparison to pool")
    data = pd.concat(frames, ignore_index=True)
    k = len(frames)
    weight = np.asarray(counts, float) / sum(counts)
    a = weight / np.asarray(shares)
    d, p, y = data["treated"].to_numpy(float), data["post"].to_numpy(float), data[outcome].to_numpy(float)
    member = np.equal.outer(data["cohort"].to_numpy(), np.arange(k)).astype(float)  # rows x cohorts
    inter = member * (d * p)[:, None]
    theta = inter[:, 0] / a[0]
    rest = [inter[:, c] - a[c] / a[0] * inter[:, 0] for c in range(1, k)]
    x = np.column_stack([theta, member, member * d[:, None], member * p[:, None], *rest])
    clusters = cluster_labels(data, unit).to_numpy()
    boot = wild_cluster_bootstrap(x, y, clusters, 0, seed=studies[0].params.seed)
    small = cr2_interval(x, y, clusters, 0)
    arms = pd.DataFrame({"unit": clusters, "d": d})
    treated_units = arms.loc[arms["d"] == 1, "unit"].nunique()
    comparison_units = arms.loc[arms["d"] == 0, "unit"].nunique()
    seen = float(pd.concat(observed).mean())
    value, lo, hi = bounds.intersect(boot.estimate, min(boot.ci_low, small.ci_low), max(boot.ci_high, small.ci_high),
                                     seen)
    ok = min(treated_units, comparison_units) >= MIN_CLUSTERS
    name = " x ".join(unit)
    note = (f"cohorts' snapshots stacked, one participant-weighted effect on participants; clustered by {name}: "
            f"{treated_units} treated, {comparison_units} comparison; wild cluster bootstrap ({boot.weights} weights) "
            f"p = {boot.pvalue:.2g}, or the CR2 t interval ({small.df:.1f} Bell-McCaffrey degrees of freedom) where "
            f"wider; participants' observed rate {seen:.1f}%, implied without mentoring "
            f"{bounds.counterfactual(value, seen):.1f}%" + ("" if ok else f"; no headline: fewer than {MIN_CLUSTERS} "
                                                             f"{name}s on a side"))
    cohorts = [s.cohort_id for s in sorted(studies, key=lambda s: s.start)]
    return est.make(cohort_id=POOLED, role="mentee", estimand=estimand, method="tot_wald", estimate=value,
                    std_error=boot.std_error, ci=(lo, hi), n_treated=int(sum(counts)), design="rollout",
                    evidence=evidence if ok else "", unit=OUTCOMES[estimand][0], note=f"{note}; cohorts: {', '.join(cohorts)}")


def _pooled_row(design, estimand, method, value, se, n, evidence, cohorts, note) -> est.Estimate:
    z = stats.norm.ppf(0.975)
    return est.make(cohort_id=POOLED, role="mentee", estimand=estimand, method=method, estimate=value, std_error=se,
                    ci=(value - z * se, value + z * se), n_treated=n, design=design, evidence=evidence,
                    unit=OUTCOMES[estimand][0], note=f"{note}; cohorts: {', '.join(cohorts)}")


def pooled_applicant_rows(results: Sequence[DesignResult]) -> tuple[list[est.Estimate], list[est.Estimate]]:
    """The lottery and capacity designs' effects pooled over the cohorts' results, per design,
    outcome and method (pooled rows, without headlines), and the cohort rows behind them."""
    rows, behind = [], []
    for design in ("lottery", "capacity"):
        results_of = [r for r in results if r.design == design]
        for estimand in OUTCOMES:
            for method in (("itt_offer", "tot_iv") if design == "lottery" else ("tot_dr",)):
                used = [r for r in results_of if (estimand, method) in r.effects]
                if not used:
                    continue
                value, se, n = pool_applicant_effects(used, estimand, method)
                rows.append(_pooled_row(design, estimand, method, value, se, n, _weakest(r.evidence for r in used),
                                        [r.cohort_id for r in used],
                                        "participant-weighted average, SE clustered by employee"))
                behind += [e for r in used for e in r.estimates.where(estimand=estimand, method=method)]
    return rows, behind


def _headlines(rows: list[est.Estimate]) -> list[est.Estimate]:
    """The strongest design's effect on participants heads each outcome."""
    from dataclasses import replace

    out = list(rows)
    for estimand in OUTCOMES:
        for design in est.DESIGNS:
            pick = next((i for i, e in enumerate(out) if e.estimand == estimand and e.design == design
                         and e.method == HEADLINE_METHODS[design] and "no headline:" not in e.note), None)
            if pick is not None:
                out[pick] = replace(out[pick], headline=True)
                break
    return out


# ---------------------------------------------------------------- across programs


def random_effects(effects, std_errors) -> dict[str, float]:
    """Random-effects pooling of k independent estimates: DerSimonian-Laird between-study variance
    tau^2, Cochran's Q, I^2 (percent of the spread that is between studies, not chance), the pooled
    estimate, and its Hartung-Knapp standard error (the DL variance scaled by the weighted spread of
    the estimates, never below 1x: with few programs the normal DL interval is too narrow), read
    with Student t on k-1 degrees of freedom."""
    y, v = np.asarray(effects, float), np.asarray(std_errors, float) ** 2
    k = y.size
    if k < 2:
        raise NotEstimable("random-effects pooling needs at least two programs' estimates")
    w = 1 / v
    fixed = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - fixed) ** 2))
    c = np.sum(w) - np.sum(w ** 2) / np.sum(w)
    tau2 = max(0.0, (q - (k - 1)) / c)
    i2 = 100 * max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    wr = 1 / (v + tau2)
    mean = float(np.sum(wr * y) / np.sum(wr))
    se_dl = float(np.sqrt(1 / np.sum(wr)))
    scale = float(np.sum(wr * (y - mean) ** 2) / (k - 1))
    se = se_dl * np.sqrt(max(1.0, scale))
    t = stats.t.ppf(0.975, k - 1)
    return {"estimate": mean, "std_error": float(se), "ci_low": mean - t * se, "ci_high": mean + t * se,
            "std_error_dl": se_dl, "hartung_knapp_scale": scale, "tau2": float(tau2), "i2": float(i2), "q": q,
            "k": k}


@dataclass(frozen=True)
class BetweenPrograms:
    """Each program's best estimate of one outcome (its cohorts pooled, strongest design) and the
    random-effects pool across programs, with how much the programs differ (tau^2, I^2)."""

    estimand: str
    programs: pd.DataFrame  # program, cohorts, design, evidence, estimate, std_error, ci_low, ci_high, participants
    pooled: dict = field(repr=False)  # `random_effects` of the programs' estimates

    def summary(self) -> str:
        p = self.pooled
        return (f"{self.estimand}, {p['k']} programs, random effects: {p['estimate']:+.2f} pp "
                f"(95% interval {p['ci_low']:+.2f} to {p['ci_high']:+.2f}); tau = {np.sqrt(p['tau2']):.2f} pp, "
                f"I^2 = {p['i2']:.0f}%")

    def to_frame(self) -> pd.DataFrame:
        """The programs' rows, then the random-effects pool ('all programs')."""
        p = self.pooled
        total = pd.DataFrame([{"program": "all programs (random effects)", "cohorts": int(self.programs["cohorts"].sum()),
                               "design": "", "evidence": _weakest(self.programs["evidence"]),
                               "estimate": p["estimate"], "std_error": p["std_error"], "ci_low": p["ci_low"],
                               "ci_high": p["ci_high"], "participants": int(self.programs["participants"].sum())}])
        return pd.concat([self.programs, total], ignore_index=True)


def between_programs(studies: Sequence[Study], estimand: str = "retention_12m") -> BetweenPrograms:
    """Each program's (data folder's) answer on `estimand` from its own cohorts (`strongest`), pooled
    across programs with random effects; NotEstimable with fewer than two programs that can answer."""
    names = program_names(studies)
    if len(names) < 2:
        raise NotEstimable(f"the cohorts come from one program ({next(iter(names.values()), 'none')}); "
                           f"pooling across programs needs params files of two or more programs' data folders")
    rows = []
    for key, name in names.items():
        found = strongest([s for s in studies if program_of(s) == key], [estimand])
        if found is None or not np.isfinite(found[0].std_error):
            continue
        e, cohorts = found
        rows.append({"program": name, "cohorts": len(cohorts), "design": e.design, "evidence": e.evidence,
                     "estimate": e.estimate, "std_error": e.std_error, "ci_low": e.ci_low, "ci_high": e.ci_high,
                     "participants": int(e.n_treated or 0)})
    if len(rows) < 2:
        raise NotEstimable(f"fewer than two programs have an estimate of {estimand} with a standard error")
    programs = pd.DataFrame(rows)
    return BetweenPrograms(estimand, programs, random_effects(programs["estimate"], programs["std_error"]))
