"""mentoring-eval: what a mentoring program actually did, with honest causal evidence."""

from importlib.metadata import PackageNotFoundError, version

from .data import DataValidationError, Dataset, load
from .errors import MentoringEvalError, MissingTableError, ParamsError
from .simulate import Effects, Truth, simulate

try:
    __version__ = version("mentoring-eval")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["DataValidationError", "Dataset", "Effects", "MentoringEvalError", "MissingTableError", "ParamsError",
           "Truth", "load", "simulate", "__version__"]
