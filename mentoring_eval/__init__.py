"""mentoring-eval: what a mentoring program actually did, with honest causal evidence."""

from importlib.metadata import PackageNotFoundError, version

from . import cohorts, data, did, effects, estimates, matching, metrics, panels, params, power, privacy, promotion, report, retention, roi, scorecard, summary
from .data import DataValidationError, Dataset, load
from .errors import MentoringEvalError, MissingTableError, ParamsError
from .params import CohortParams, load_params, open_cohort
from .simulate import Effects, Truth, simulate

try:
    __version__ = version("mentoring-eval")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["power", "roi", "scorecard", "summary", "cohorts", "data", "did", "effects", "estimates", "matching", "metrics", "panels", "promotion", "retention", "params", "privacy", "report", "CohortParams", "DataValidationError", "Dataset", "Effects", "load_params", "open_cohort", "MentoringEvalError", "MissingTableError", "ParamsError",
           "Truth", "load", "simulate", "__version__"]
