"""Small-cell suppression for stakeholder tables: no group smaller than min_cell_size is shown,
and no suppressed cell can be recovered by subtracting the shown cells from a row or column total."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd


def suppress(table: pd.DataFrame, count_cols: str | Sequence[str], min_cell_size: int = 5,
             derived: Sequence[str] = (), by: Sequence[str] = ("rows", "columns")) -> pd.DataFrame:
    """Blank (NA) counts in 1..min_cell_size-1, then blank the smallest further cell of any row or
    column left with a single blank (the smallest non-zero one; a zero only when nothing else is
    left), so that totals cannot give the blank back.
    Columns in `derived` (rates, means, shares computed from the counts) are blanked in every row
    where a count was blanked. `by` names the lines a total could give a blank back along: rows and
    columns for a cross-table, rows alone for a list of separate figures (an estimates table, whose
    rows share no total)."""
    cols = [count_cols] if isinstance(count_cols, str) else list(count_cols)
    values = table[cols].to_numpy(dtype=float)
    hidden = (values > 0) & (values < min_cell_size)
    changed = True
    while changed:
        changed = False
        lines = [pair for name, pair in (("rows", (values, hidden)), ("columns", (values.T, hidden.T))) if name in by]
        for axis_values, axis_hidden in lines:
            for i in range(axis_values.shape[0]):
                if axis_hidden[i].sum() == 1:
                    open_ = ~axis_hidden[i] & ~np.isnan(axis_values[i])
                    nonzero = open_ & (axis_values[i] != 0)
                    candidates = np.where(nonzero if nonzero.any() else open_, axis_values[i], np.inf)
                    if np.isfinite(candidates.min()):
                        axis_hidden[i, int(np.argmin(candidates))] = True
                        changed = True
    out = table.copy()
    for j, c in enumerate(cols):
        out[c] = pd.array(np.where(hidden[:, j], np.nan, values[:, j]), dtype="Float64").astype("Int64")
    touched = hidden.any(axis=1)
    for c in derived:
        out[c] = out[c].astype("Float64").mask(touched)
    return out


@dataclass(frozen=True)
class Disclosure:
    """What a report may show: the audience (stakeholders see aggregates only, analysts see
    everything) and the smallest group a stakeholder table may show."""

    audience: Literal["stakeholder", "analyst"] = "stakeholder"
    min_cell_size: int = 5

    @property
    def stakeholder(self) -> bool:
        return self.audience == "stakeholder"

    @classmethod
    def strictest(cls, disclosures) -> Disclosure:
        """One rule for a page that shows several cohorts: stakeholder if any is, the largest cell."""
        items = list(disclosures)
        if not items:
            return cls()
        audience = "stakeholder" if any(d.stakeholder for d in items) else "analyst"
        return cls(audience, max(d.min_cell_size for d in items))

    def count(self, n: int) -> str:
        """A head count as this audience may read it in a sentence ('fewer than 5' for a small group)."""
        return f"fewer than {self.min_cell_size}" if self.stakeholder and 0 < n < self.min_cell_size else f"{n:,}"
