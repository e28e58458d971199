"""Time in kwxmap: KMA readings are Korea Standard Time; files say so.

Every reader turns printed times into naive KST wall time (a time printed
with ``Z`` or an offset is converted first), and every CF output encodes
those instants the same way: ``minutes since 1970-01-01`` (UTC), so
any CF tool selects the right hour. A daily value (a series whose times all
fall at midnight) is a whole KST day: its time is noon KST of that day,
with ``time_bnds`` from midnight to midnight (UTC), so selecting the date
returns that day's map in any tool.

This module is the one place those rules live.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError

# Korea has kept UTC+9 all year since 1988: a fixed offset.
KST = _dt.timezone(_dt.timedelta(hours=9), "KST")


def to_kst(stamp: Any) -> pd.Timestamp:
    """Read one time as naive KST wall time; a zoned time is converted.

    Examples
    --------
    >>> to_kst("2026-12-01T00:00Z"), to_kst("2026-12-01 09:00+09:00")
    (Timestamp('2026-12-01 09:00:00'), Timestamp('2026-12-01 09:00:00'))
    >>> to_kst("2026-12-01 09:00")
    Timestamp('2026-12-01 09:00:00')
    >>> to_kst("soon")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kwxmap.errors.InputError: 'soon' is not a time; use YYYY-MM-DD HH:MM (KST), or add Z ...
    """
    try:
        t = pd.Timestamp(stamp)
    except (ValueError, TypeError, OverflowError):
        t = pd.NaT
    if t is pd.NaT:
        raise InputError(
            f"{stamp!r} is not a time; use YYYY-MM-DD HH:MM (KST), or add Z or an offset"
        )
    return t.tz_convert(KST).tz_localize(None) if t.tzinfo is not None else t


def is_daily(times: Sequence[Any] | pd.DatetimeIndex) -> bool:
    """Whether naive KST times are a daily series: two or more, all at midnight, a day apart.

    One time at midnight stays an instant: nothing says it is a day.

    Examples
    --------
    >>> is_daily(pd.DatetimeIndex(["2020-08-01", "2020-08-02"]))
    True
    >>> is_daily(pd.DatetimeIndex(["2020-08-01 00:00", "2020-08-01 01:00"]))
    False
    >>> is_daily(pd.DatetimeIndex(["2020-08-01"]))
    False
    """
    index = pd.DatetimeIndex(times)
    if len(index) < 2 or not (index == index.normalize()).all():
        return False
    return bool(index.sort_values().to_series().diff().min() >= pd.Timedelta(days=1))


TIME_ENCODING = {"units": "minutes since 1970-01-01", "calendar": "standard",
                 "dtype": "float64"}
"""How ``time`` and ``time_bnds`` are stored: whole minutes (exact in float64), UTC."""


def cf_time(times: Sequence[Any] | pd.DatetimeIndex) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """Return the CF ``time`` coordinate of naive KST times, and ``time_bnds`` for days.

    Instants become UTC (written with :data:`TIME_ENCODING`), so every CF
    tool selects the right hour. A daily series (every time at midnight)
    puts each value at noon KST of its day, bounded by its KST midnights:
    selecting the date returns that day.

    Returns
    -------
    coords, data_vars
        ``{"time": (dims, values, attrs)}`` and, for days,
        ``{"time_bnds": ...}`` (empty for instants).

    Examples
    --------
    >>> coords, bounds = cf_time(pd.DatetimeIndex(["2020-08-01 09:00"]))
    >>> coords["time"][1], bounds
    (array(['2020-08-01T00:00:00.000000000'], dtype='datetime64[ns]'), {})
    >>> coords, bounds = cf_time(pd.DatetimeIndex(["2020-08-01", "2020-08-02"]))
    >>> str(coords["time"][1][0]), [str(b) for b in bounds["time_bnds"][1][0]]
    ('2020-08-01T03:00:00.000000000', ['2020-07-31T15:00:00.000000000', \
'2020-08-01T15:00:00.000000000'])
    """
    kst = pd.DatetimeIndex(times)
    if kst.tz is not None:
        kst = kst.tz_convert(KST).tz_localize(None)
    utc = kst.to_numpy(dtype="datetime64[ns]") - np.timedelta64(9, "h")
    attrs = {"standard_name": "time", "long_name": "observation time", "axis": "T",
             "comment": "KMA observation times, Korea Standard Time (UTC+9), stored in UTC"}
    bounds: dict[str, tuple] = {}
    if is_daily(kst):
        bounds["time_bnds"] = (("time", "nv"), np.stack([utc, utc + np.timedelta64(1, "D")], 1),
                               {})
        attrs.update(bounds="time_bnds", long_name="day (KST) of the daily value",
                     comment="daily values: each KST day runs from midnight to midnight; the "
                     "time is its noon, stored in UTC")
        utc = utc + np.timedelta64(12, "h")
    return {"time": ("time", utc, attrs)}, bounds


def select_time(times: pd.Series, wanted: Any) -> np.ndarray:
    """Return the rows whose time is ``wanted`` (KST; an offset or Z is converted).

    A time the readings do not hold is an :class:`~kwxmap.errors.InputError`
    that lists the nearest times they do hold.

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2026-12-01 09:00", "2026-12-01 10:00"]))
    >>> select_time(t, "2026-12-01T01:00Z").tolist()
    [False, True]
    >>> select_time(t, "2026-12-01 11:00")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kwxmap.errors.InputError: the readings hold no time 2026-12-01 11:00 (KST); nearest: ...
    """
    want = to_kst(wanted)
    times = pd.to_datetime(times)
    hit = (times == want).to_numpy()
    if hit.any():
        return hit
    have = pd.DatetimeIndex(times.dropna().unique())
    if not len(have):
        raise InputError(f"--time {wanted}: the readings carry no times to select from")
    near = have[np.argsort(np.abs((have - want).to_numpy()), kind="stable")[:5]]
    raise InputError(
        f"the readings hold no time {_label(want)} (KST); nearest: "
        + ", ".join(_label(t) for t in near)
    )


def _label(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%d" if t == t.normalize() and t.hour == 0 else "%Y-%m-%d %H:%M")
