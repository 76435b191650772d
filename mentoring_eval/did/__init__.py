"""Difference-in-differences estimators: the 2x2 design, two-way fixed effects, the event study
and Callaway & Sant'Anna (2021) group-time effects with their aggregations; `did.inference` holds
the least-squares and sandwich-variance pieces they share with the population designs."""

from . import inference
from .regression import DiDEstimate, EventStudy, WaldTest, did_2x2, event_study, twfe
from .honest import honest_did
from .staggered import AggregateResult, ATTgtResult, att_gt

__all__ = ["ATTgtResult", "AggregateResult", "DiDEstimate", "EventStudy", "WaldTest", "att_gt", "did_2x2",
           "event_study", "honest_did", "inference", "twfe"]
