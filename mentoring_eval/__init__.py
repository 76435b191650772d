"""mentoring-eval: what a mentoring program actually did, with honest causal evidence.

Start with `open_study(params_file)`; analyses take the study (`retention.analyze(study)`), every
result exposes `.estimates`; `narrate`, `display` and `publish` turn results into what readers see."""

from . import (cohorts, data, did, display, effects, estimates, intervals, matching, narrate, panels, params, power,
               privacy, program_health, promotion, publish, retention, roi, scorecard, study, summary, workforce)
from .data import DataValidationError, Dataset, load
from .errors import MentoringEvalError, MissingTableError, NotEstimable, ParamsError
from .estimates import Estimate, Estimates
from .params import CohortParams, load_params
from .privacy import Disclosure
from .simulate import Effects, Truth, simulate
from .study import Study, open_studies, open_study
from .version import __version__

__all__ = ["CohortParams", "DataValidationError", "Dataset", "Disclosure", "Effects", "Estimate", "Estimates",
           "MentoringEvalError", "MissingTableError", "NotEstimable", "ParamsError", "Study", "Truth", "__version__",
           "cohorts", "data", "did", "display", "effects", "estimates", "intervals", "load", "load_params", "matching",
           "narrate", "open_studies", "open_study", "panels", "params", "power", "privacy", "program_health",
           "promotion", "publish", "retention", "roi", "scorecard", "simulate", "study", "summary", "workforce"]
