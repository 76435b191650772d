"""mentoring-eval: what a mentoring program actually did, with honest causal evidence.

Start with `open_study(params_file)`; analyses take the study (`retention.analyze(study)`), every
result exposes `.estimates`; `narrate`, `display` and `publish` turn results into what readers see.

Modules load on first use (`me.retention` imports it then), so that the command line starts fast."""

from importlib import import_module

from .errors import ArgumentError, MentoringEvalError, MissingTableError, NotEstimable, ParamsError
from .simulate import Effects, Truth, simulate  # bound here: `simulate` names both the module and its function
from .version import __version__

_MODULES = ("applicants", "assignment", "batch", "bounds", "cli", "cohorts", "data", "did", "display", "effects", "estimates", "experiments", "intervals", "labels", "matching",
            "narrate", "panels", "params", "pdf", "pooling", "populations", "power", "preregistration", "privacy", "program_health", "promotion", "publish", "retention", "sanity",
            "roi", "runlog", "scorecard", "sensitivity", "study", "summary", "workforce")
_NAMES = {"DataValidationError": "data", "Dataset": "data", "load": "data", "Estimate": "estimates",
          "Estimates": "estimates", "CohortParams": "params", "load_params": "params", "Disclosure": "privacy",
          "Study": "study",
          "open_studies": "study", "open_study": "study"}

__all__ = sorted([*(m for m in _MODULES if m != "simulate"), *_NAMES, "Effects", "Truth", "simulate", "ArgumentError", "MentoringEvalError", "MissingTableError", "NotEstimable",
                  "ParamsError", "__version__"])


def __getattr__(name: str):
    if name in _NAMES:
        value = getattr(import_module(f".{_NAMES[name]}", __name__), name)
    elif name in _MODULES:
        value = import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'mentoring_eval' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
