"""What every reader shares: the readings columns, missing codes, times, bad rows.

A reader returns a :class:`Result`: a DataFrame of readings and the rows it
could not read (:class:`Invalid`). Temperatures go through
:func:`temperatures`, which turns KMA's missing-value codes into NaN and says
why each value is missing, so the join report can count them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..kmatime import KST

__all__ = [
    "COLUMNS",
    "MISSING_CODE_MAX_C",
    "Context",
    "Invalid",
    "Result",
    "finish",
    "parse_times",
    "station_ids",
    "temperatures",
]

#: Columns every reader returns, in order (``time``, ``station_id`` and the
#: position columns follow when the input carries them).
COLUMNS = ("station_name", "condition", "condition_en", "temperature_c", "line", "missing")

#: KMA writes "no observation" as a value at or below this (°C): -99.0,
#: -99.9, -999 (the typ01 help text: "-50 이하면 관측이 없거나, 에러처리된 것").
MISSING_CODE_MAX_C = -50.0

_SHOW = 60  # characters of offending text quoted in messages
_MAX_ID_DIGITS = 9  # KMA station numbers have 2-3 digits; anything longer is not one



def show(text: str) -> str:
    """Quote ``text`` for a message, shortened to a readable length.

    Examples
    --------
    >>> show("  맑음서울 2a.5℃ ")
    "'맑음서울 2a.5℃'"
    """
    text = text.strip()
    return repr(text if len(text) <= _SHOW else text[: _SHOW - 1] + "…")


@dataclass
class Invalid:
    """A row that looks like a reading but cannot be read."""

    line: int
    text: str
    why: str

    def message(self) -> str:
        """Return ``line N: why in 'text'``."""
        return f"line {self.line}: {self.why} in {show(self.text)}"


@dataclass(frozen=True)
class Context:
    """Options a reader may need, validated once by ``parse_readings``.

    Attributes
    ----------
    variable
        ``tavg``, ``tmin`` or ``tmax``: which temperature of a daily file.
    names
        Returns the station names and aliases the widget reader splits with.
    crs
        The CRS of ``x``/``y`` columns of a table, when given.
    """

    variable: str = "tavg"
    names: Callable[[], Mapping[str, Any]] = dict
    crs: Any = None


@dataclass
class Result:
    """A reader's output: the readings and the rows it could not read."""

    frame: pd.DataFrame
    invalid: list[Invalid] = field(default_factory=list)
    #: Every time was written as a date alone (``2020-08-01``): the readings are of days.
    dates: bool = False


def temperatures(raw: Sequence[str] | pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read printed temperatures, with KMA's missing codes made NaN.

    Parameters
    ----------
    raw
        The cells as printed.

    Returns
    -------
    values : ndarray of float
        NaN for blanks and missing codes.
    missing : ndarray of str
        ``""`` for a reading, ``"blank"`` for an empty cell, ``"kma_code"``
        for a value at or below :data:`MISSING_CODE_MAX_C`.
    bad : ndarray of bool
        Cells that are not numbers at all (the caller reports them).

    Examples
    --------
    >>> values, missing, bad = temperatures(["12.5", "-99.9", "", "-999", "x"])
    >>> values.tolist()[:2], missing.tolist(), bad.tolist()
    ([12.5, nan], ['', 'kma_code', 'blank', 'kma_code', ''], [False, False, False, False, True])
    """
    cells = pd.Series(raw, dtype="object").fillna("").astype(str)
    values = pd.to_numeric(cells, errors="coerce").to_numpy(dtype="float64", copy=True)
    unread = np.isnan(values)
    blank = np.zeros(len(cells), dtype=bool)
    bad = np.zeros(len(cells), dtype=bool)
    if unread.any():  # look closer only at the cells that are not plain numbers
        rest = cells[unread].str.strip()
        blank[unread] = (rest == "").to_numpy()
        bad[unread] = ~(rest == "").to_numpy() & ~rest.str.lower().isin(
            ["nan", "null", "none"]
        ).to_numpy()
    code = values <= MISSING_CODE_MAX_C
    missing = np.full(len(cells), "", dtype=object)
    missing[blank | (unread & ~bad)] = "blank"
    missing[code] = "kma_code"
    values = np.where(code, np.nan, values) + 0.0  # -0.0 reads as 0.0
    return values, missing, bad


def station_ids(raw: Sequence[str] | pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Read printed station numbers to Int64; also return which cells are bad.

    Examples
    --------
    >>> ids, bad = station_ids(["108", " 90", "1_08", "1e2", "9" * 5000])
    >>> ids.tolist()[:2], bad.tolist()
    ([108, 90], [False, False, True, True, True])
    """
    cells = np.strings.strip(np.asarray(pd.Series(raw, dtype="object").fillna(""), dtype=str))
    # digits only (numpy's C string ufuncs): "1_08", "1e2", "²" are not station numbers
    ok = np.strings.isdigit(cells) & (np.strings.str_len(cells) <= _MAX_ID_DIGITS)
    ids = pd.Series(pd.NA, index=range(len(cells)), dtype="Int64")
    if ok.any():
        ids[ok] = cells[ok].astype("int64")
    return ids.reset_index(drop=True), ~ok


def _one_time(stamp: str) -> pd.Timestamp:
    for fmt in ("ISO8601", "mixed"):
        try:
            t = pd.Timestamp(pd.to_datetime(stamp, format=fmt))
        except (ValueError, OverflowError, TypeError):
            continue
        return t.tz_convert(KST).tz_localize(None) if t.tzinfo is not None else t
    return pd.NaT


# A printed time must at least look like one: a 4-digit year first. pandas'
# "mixed" parser reads "-1" or "7" as a date, which is not what a user meant.
_TIMELIKE = r"\s*[0-9]{4}(?:[-./][0-9]{1,2}(?:[-./][0-9]{1,2})?|[0-9]{2,10})?(?:[T ].*)?"


def parse_times(stamps: pd.Series, fmt: str | None = None) -> pd.Series:
    """Parse printed times to naive datetimes (KST wall time); NaT where unreadable.

    Parameters
    ----------
    stamps
        The times as printed.
    fmt
        A strftime format the stamps follow (``%Y%m%d%H%M`` for typ01), tried
        first (fast); stamps it misses, and all stamps when None, are read
        as ISO 8601 or other common forms.

    Examples
    --------
    >>> parse_times(pd.Series(["202508092148", "-1", "2025-08-09"]), "%Y%m%d%H%M").tolist()
    [Timestamp('2025-08-09 21:48:00'), NaT, Timestamp('2025-08-09 00:00:00')]
    >>> parse_times(pd.Series(["2024-01-15 06:00", "-1"])).tolist()
    [Timestamp('2024-01-15 06:00:00'), NaT]
    """
    stamps = stamps.fillna("").astype(str).reset_index(drop=True)
    if fmt is not None:
        parsed = pd.to_datetime(stamps, format=fmt, errors="coerce")
        if not parsed.isna().any():
            return parsed
        rest = parse_times(stamps[parsed.isna()])
        return parsed.where(parsed.notna(), rest.set_axis(stamps.index[parsed.isna()]))
    stamps = stamps.str.strip()
    usable = stamps.where(stamps.str.fullmatch(_TIMELIKE).fillna(False), "")
    try:
        parsed = pd.to_datetime(usable, errors="coerce", format="ISO8601")
        if parsed.isna().any():
            retry = pd.to_datetime(usable[parsed.isna()], errors="coerce", format="mixed")
            parsed = parsed.where(parsed.notna(), retry)
        if not pd.api.types.is_datetime64_any_dtype(parsed):
            raise ValueError("zoned and zone-less times")  # objects: read one by one
    except (ValueError, OverflowError):  # several zones (or none and one) in one column
        unique = pd.unique(usable)
        lookup = dict(zip(unique, map(_one_time, unique), strict=True))
        return pd.to_datetime(usable.map(lookup))
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_convert(KST).dt.tz_localize(None)
    return parsed


def finish(
    *,
    lines: Sequence[int] | np.ndarray,
    stations: Sequence[str],
    temps: Sequence[str],
    texts: Sequence[str] | Callable[[int], str],
    times: Sequence[str] | None = None,
    time_format: str | None = None,
    names: Sequence[str] | None = None,
) -> Result:
    """Build a :class:`Result` from the printed cells of delimited KMA rows.

    Each row needs a readable station number, a readable time (when
    ``times`` is given) and a number or missing code as temperature; rows
    that fail are :class:`Invalid`, quoting ``texts`` (the rows as printed, or
    a function of the row number that returns one, for big inputs).

    Examples
    --------
    >>> r = finish(lines=[3, 4], stations=["90", "92"], temps=["23.6", "-99.9"],
    ...            texts=["a", "b"], times=["202508092148"] * 2, time_format="%Y%m%d%H%M")
    >>> r.frame[["station_id", "temperature_c", "missing"]].values.tolist()
    [[90, 23.6, ''], [92, nan, 'kma_code']]
    """
    n = len(stations)
    line_arr = np.asarray(lines, dtype="int64")
    ids, bad_id = station_ids(stations)
    values, missing, bad_value = temperatures(temps)
    why = np.full(n, "", dtype=object)
    why[bad_value] = "temperature is not a number"
    frame = pd.DataFrame(
        {
            "station_name": list(names) if names is not None else [""] * n,
            "condition": "",
            "condition_en": "",
            "temperature_c": values,
            "line": line_arr,
            "missing": missing,
            "station_id": ids,
        }
    )
    if times is not None:
        stamps = pd.Series(times, dtype="object")
        parsed = parse_times(stamps, time_format)
        why[parsed.isna().to_numpy() & (why == "")] = "time is not a date"
        frame.insert(len(COLUMNS), "time", parsed)
    why[bad_id & (why == "")] = "station id is not a KMA station number"
    bad = why != ""
    text_of = texts if callable(texts) else texts.__getitem__
    invalid = [
        Invalid(int(line_arr[i]), text_of(int(i)), str(why[i]))
        for i in np.flatnonzero(bad)[:1000]
    ]
    if bad.sum() > len(invalid):  # keep the count right without holding every row
        invalid += [Invalid(0, "", "")] * int(bad.sum() - len(invalid))
    return Result(frame[~bad].reset_index(drop=True), invalid)
