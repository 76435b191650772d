"""Errors a user can act on. The CLI turns each into a one-line message and exit status 1; any
other exception is a bug and keeps its traceback."""

from __future__ import annotations


class MentoringEvalError(Exception):
    """Base of every error caused by the user's input rather than by a bug."""


class MissingTableError(MentoringEvalError, LookupError):
    """An analysis needs an optional table that the data directory does not have (`table`, and
    what for: `purpose`)."""

    def __init__(self, message: str, table: str = "", purpose: str = ""):
        super().__init__(message)
        self.table, self.purpose = table, purpose


class ParamsError(MentoringEvalError, ValueError):
    """A cohort parameter file is missing, malformed or inconsistent with the data."""


class NotEstimable(MentoringEvalError):
    """An estimate cannot be formed from these data: too few people, no comparison group, no
    follow-up yet, a design with an empty cell. Analyses catch it by name and say why in a note."""


class ArgumentError(MentoringEvalError, ValueError):
    """A value passed to a command or function is outside what it accepts (e.g. too few employees)."""
