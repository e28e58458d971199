"""The kwxmap exception tree and warning class.

Every error kwxmap raises on purpose is a :class:`KwxmapError`. Children also
subclass the builtin they refine, so ``except KeyError`` keeps working for a
station lookup and ``except ValueError`` for bad values.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "DataError",
    "FetchError",
    "InputError",
    "InterpolationError",
    "JoinError",
    "KwxmapError",
    "KwxmapWarning",
    "MissingDependencyError",
    "OutputError",
    "ParseError",
    "RegionError",
    "UnknownStationError",
]


class KwxmapError(Exception):
    """Base class of every error kwxmap raises on purpose."""


class KwxmapWarning(UserWarning):
    """A problem kwxmap worked around (lenient modes, skipped inputs)."""


class DataError(KwxmapError, ValueError):
    """A data file (bundled or supplied by the user) is missing or malformed."""


class UnknownStationError(KwxmapError, KeyError):
    """A station name or id that the registry does not know.

    Parameters
    ----------
    query
        The name or id that was looked up.
    suggestions
        The closest known names, best first.
    line
        The input line the name came from, when known.
    ambiguous
        True when the name matches several stations rather than none.
    """

    def __init__(
        self,
        query: object,
        suggestions: Sequence[str] = (),
        *,
        line: int | None = None,
        ambiguous: bool = False,
    ) -> None:
        self.query = query
        self.suggestions = list(suggestions)
        self.line = line
        self.ambiguous = ambiguous
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        if self.ambiguous:
            head = f"{where}station name {self.query!r} is ambiguous"
            tail = f"; use one of: {', '.join(self.suggestions)}" if self.suggestions else ""
            return head + tail
        head = f"{where}unknown station {self.query!r}"
        if self.suggestions:
            return head + f"; did you mean {', '.join(repr(s) for s in self.suggestions)}?"
        return head + "; see `kwxmap stations -o stations.csv` for the known names"

    def __str__(self) -> str:
        # KeyError.__str__ would wrap the message in quotes.
        return self._message()


class InputError(KwxmapError, ValueError):
    """An input file or argument value that cannot be used.

    A missing file, a bbox that is not four numbers, an option that is not one
    of its valid values, a date that is not a date. Also a ``ValueError``.
    """


class ParseError(KwxmapError, ValueError):
    """Text, HTML or bytes that cannot be read as station readings."""


class JoinError(KwxmapError, ValueError):
    """Readings that cannot be joined to stations (duplicates, bad values)."""


class RegionError(KwxmapError, ValueError):
    """An unknown region name or an unusable region geometry."""


class InterpolationError(KwxmapError, ValueError):
    """Inputs that cannot be interpolated (too few stations, NaN, bad options)."""


class OutputError(KwxmapError, OSError):
    """An output file or directory that cannot be written."""


class MissingDependencyError(KwxmapError, ImportError):
    """An optional dependency a feature needs is not installed (the message says which extra)."""


class FetchError(KwxmapError, OSError):
    """A KMA server that refused or failed a request (HTTP, key, quota, error body)."""
