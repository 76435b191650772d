"""The machine-readable results every analysis returns and every notebook writes to the cohort's
estimates.csv, in the units of the simulator's truth.json (percentage points for rates)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

COLUMNS = ["cohort_id", "role", "estimand", "method", "estimate", "std_error", "ci_low", "ci_high",
           "n_treated", "n_control", "headline", "note"]


def row(cohort_id: str, role: str, estimand: str, method: str, estimate: float, std_error: float | None = None,
        ci: tuple[float, float] | None = None, n_treated: int | None = None, n_control: int | None = None,
        headline: bool = False, note: str = "", alpha: float = 0.05) -> dict:
    """One estimate; the interval defaults to estimate +/- z x SE."""
    if ci is None and std_error is not None and np.isfinite(std_error):
        z = stats.norm.ppf(1 - alpha / 2)
        ci = (estimate - z * std_error, estimate + z * std_error)
    lo, hi = ci if ci is not None else (np.nan, np.nan)
    return {"cohort_id": cohort_id, "role": role, "estimand": estimand, "method": method, "estimate": float(estimate),
            "std_error": np.nan if std_error is None else float(std_error), "ci_low": float(lo), "ci_high": float(hi),
            "n_treated": n_treated, "n_control": n_control, "headline": bool(headline), "note": note}


def frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["n_treated"] = out["n_treated"].astype("Int64")
    out["n_control"] = out["n_control"].astype("Int64")
    return out


def write(estimates: pd.DataFrame, out_dir: str | Path) -> Path:
    """Merge into out_dir/estimates.csv: rows of the same (role, estimand, method) are replaced, so
    each notebook adds its own rows and a rerun gives the same file. Written atomically."""
    path = Path(out_dir) / "estimates.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        old = pd.read_csv(path, dtype={"cohort_id": "str", "role": "str"})
        key = ["cohort_id", "role", "estimand", "method"]
        fresh = set(map(tuple, estimates[key].astype(str).to_numpy()))
        old = old[[tuple(r) not in fresh for r in old[key].astype(str).to_numpy()]]
        estimates = pd.concat([old, estimates], ignore_index=True) if len(old) else estimates
    estimates = estimates[COLUMNS].sort_values(["role", "estimand", "method"], ignore_index=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    estimates.to_csv(tmp, index=False, float_format="%.10g")
    os.replace(tmp, path)
    return path


def combine(*results) -> pd.DataFrame:
    """The estimates of several analyses (tables, or anything with to_frame()) as one table."""
    return pd.concat([r if isinstance(r, pd.DataFrame) else r.to_frame() for r in results], ignore_index=True)
