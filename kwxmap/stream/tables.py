"""Reading a long table for a stream: row chunks, the time axis, chunk boundaries, samples."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

log = logging.getLogger("kwxmap.stream")

# -- reading -----------------------------------------------------------------------------------


def _read_csv(path: Path, columns: list[str], chunksize: int) -> Iterator[pd.DataFrame]:
    try:
        yield from pd.read_csv(path, usecols=columns, chunksize=chunksize, encoding="utf-8")
    except ValueError as exc:  # usecols missing
        raise InputError(
            f"{str(path)!r} needs the columns {columns!r} (a long table "
            f"time,station_id,value): {exc}"
        ) from exc
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read {str(path)!r}: {exc}") from exc


def _times(frame: pd.DataFrame, where: str) -> pd.Series:
    try:
        return pd.to_datetime(frame["time"], format="mixed")
    except (ValueError, TypeError) as exc:
        raise InputError(f"unreadable time in {where}: {exc}; use YYYY-MM-DD HH:MM") from exc


def _is_long_csv(path: Path, value: str) -> bool:
    """Whether ``path`` is a UTF-8 CSV whose header names ``time``, ``station_id``, ``value``."""
    try:
        with path.open(encoding="utf-8-sig") as f:
            header = f.readline(1 << 16)
    except (OSError, UnicodeDecodeError):
        return False
    names = {name.strip().strip('"') for name in header.split(",")}
    return {"time", "station_id", value} <= names


def _read_kma_file(path: Path, input_format: str | None, variable: str) -> pd.DataFrame:
    """Any other input the readers know (a KMA file of many times): one long table, in memory."""
    from ..readers import parse_readings

    readings = parse_readings(path.read_bytes(), input_format=input_format, variable=variable)
    if "time" not in readings.columns or readings["time"].isna().all():
        raise InputError(
            f"{str(path)!r} holds readings of one time, not a series; use 'kwxmap map'"
        )
    readings = readings.dropna(subset=["station_id", "time"])
    return readings.sort_values("time", kind="stable").reset_index(drop=True)


def _source(
    table: Any,
    value: str,
    chunksize: int,
    *,
    input_format: str | None = None,
    variable: str = "tavg",
) -> Any:
    """Return a function yielding row chunks of ``table`` (a CSV path or a DataFrame).

    A long CSV (``time,station_id,VALUE``) streams from disk; any other file the
    readers know (an API Hub or portal file of many times) is read whole first.
    """
    if not isinstance(table, pd.DataFrame):
        path = Path(table)
        if not path.is_file():
            raise InputError(f"input table {str(path)!r} does not exist or is not a file")
        if input_format in (None, "table") and _is_long_csv(path, value):
            return (lambda columns: _read_csv(path, columns, chunksize)), repr(str(path))
        table = _read_kma_file(path, input_format, variable)
    missing = {"time", "station_id", value} - set(table.columns)
    if missing:
        raise InputError(f"the table has no {sorted(missing)!r} column(s)")

    def frames(columns: list[str]) -> Iterator[pd.DataFrame]:
        for start in range(0, len(table), chunksize):
            yield table.iloc[start : start + chunksize][columns]

    return frames, "the table"


def _scan(frames: Any, where: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """First pass: the sorted time axis and the station ids; times must not go back."""
    times: list[np.ndarray] = []
    ids: set[int] = set()
    last = None
    row = 0
    for frame in frames(["time", "station_id"]):
        t = _times(frame, where)
        if t.isna().any():
            bad = int(np.flatnonzero(t.isna().to_numpy())[0]) + row
            raise InputError(f"row {bad + 1} of {where} has no time; drop it or fill it in")
        stamp = t.to_numpy()
        back = np.flatnonzero(np.diff(stamp) < np.timedelta64(0))
        if back.size or (last is not None and stamp.size and stamp[0] < last):
            at = row + (int(back[0]) + 1 if back.size else 0)
            raise InputError(
                f"times in {where} go back at row {at + 1} ({pd.Timestamp(stamp[at - row])}); "
                f"sort the table by time (e.g. `sort -t, -k1,1`) before a streaming batch"
            )
        if stamp.size:
            last = stamp[-1]
            times.append(np.unique(stamp))
        try:
            ids.update(pd.to_numeric(frame["station_id"], downcast=None).astype(int).tolist())
        except (ValueError, TypeError) as exc:
            raise InputError(f"station_id in {where} must be KMA numbers: {exc}") from exc
        row += len(frame)
    if not times:
        raise InputError(f"{where} has no rows")
    axis = pd.DatetimeIndex(np.unique(np.concatenate(times)), name="time")
    return axis, np.array(sorted(ids), dtype=np.int64)


def _chunks(
    frames: Any, where: str, axis: pd.DatetimeIndex, hours: int, value: str
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Second pass: yield ``(k, rows)`` for chunk ``k`` = ``axis[k*hours:(k+1)*hours]``."""
    carry: pd.DataFrame | None = None
    k = 0
    n_chunks = math.ceil(len(axis) / hours)
    for frame in frames(["time", "station_id", value]):
        frame = frame.assign(time=_times(frame, where))
        carry = frame if carry is None else pd.concat([carry, frame], ignore_index=True)
        while k < n_chunks - 1:
            boundary = axis[(k + 1) * hours]
            cut = int(np.searchsorted(carry["time"].to_numpy(), boundary.to_datetime64()))
            if cut == len(carry):
                break
            yield k, carry.iloc[:cut]
            carry = carry.iloc[cut:].reset_index(drop=True)
            k += 1
    if carry is not None:
        yield k, carry


def _sample(frames: Any, axis: pd.DatetimeIndex, ids: np.ndarray, value: str) -> np.ndarray:
    """Read the readings of up to 200 timestamps spread over the table: (T, N) by ``ids``.

    The timestamps :func:`~kwxmap.interpolate.variogram.pooled_variogram` fits
    kriging's shared variogram to (a pass over the table that keeps only them).
    """
    picks = axis[np.unique(np.linspace(0, len(axis) - 1, min(len(axis), 200)).round()
                           .astype(int))]
    kept = []
    for frame in frames(["time", "station_id", value]):
        frame = frame.assign(time=pd.to_datetime(frame["time"], errors="coerce"))
        kept.append(frame[frame["time"].isin(picks)])
    rows = pd.concat(kept, ignore_index=True)
    try:
        wide = rows.assign(station_id=rows["station_id"].astype(int)).pivot_table(
            index="time", columns="station_id", values=value, aggfunc="first")
        return wide.reindex(index=picks, columns=ids).to_numpy(dtype=float)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{value} values must be numbers: {exc}") from exc
