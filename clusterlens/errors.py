"""Error reporting: user input problems, parameter vectors outside a model's valid range, likelihood failures.

Reading a model folder collects *all* problems before raising, so a user fixes a spreadsheet in
one pass instead of one error per run; every problem names file, line, column, value and expectation.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in one cell (or line, or file) of the user's input."""

    file: str
    message: str
    line: int | None = None
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        what = ""
        if self.column is not None:
            what = f" column '{self.column}'"
        if self.value is not None:  # repr escapes control characters; a long value is cut
            long = isinstance(self.value, str) and len(self.value) > 60
            shown = self.value[:57] + "..." if long else self.value
            what += f" value {shown!r}"
        return f"{where}:{what}{':' if what else ''} {self.message}"


class ModelError(ValueError):
    """Invalid model input; ``problems`` lists every problem found, in file and line order."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.column or ""))
        super().__init__(self.report())

    def report(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the model input:"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


class InvalidParameters(ValueError):
    """A parameter vector that makes a model row invalid (e.g. r_core >= r_cut, a source moved in front
    of the lens): outside the model's domain, so the likelihood there is -inf. Not a bug."""


class LikelihoodError(RuntimeError):
    """A likelihood evaluation failed for another reason than :class:`InvalidParameters` (a bug to report);
    the message names the parameter values, the original error is the ``__cause__``."""
