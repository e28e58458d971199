"""기상자료개방포털 (data.kma.go.kr) CSV downloads: ``OBS_*_TIM`` and ``OBS_*_DD``.

The portal's 종관기상관측(ASOS) and 방재기상관측(AWS) downloads are CP949 CSV
files whose header names each column in Korean with its unit; a blank cell
is a missing value. Columns are read by header name, as the portal prints
them (the reference raw files ``OBS_AWS_DD_*.csv`` and the portal's 시간자료
export):

``portal_tim`` (시간자료, ``OBS_ASOS_TIM_*`` / ``OBS_AWS_TIM_*``)
    ``지점,지점명,일시,기온(°C),…``: the temperature is ``기온(°C)``.
``portal_dd`` (일자료, ``OBS_ASOS_DD_*`` / ``OBS_AWS_DD_*``)
    ``지점,지점명,일시,평균기온(°C),최저기온(°C),…,최고기온(°C),…``:
    ``variable`` picks 평균 (tavg), 최저 (tmin) or 최고 (tmax).
"""

from __future__ import annotations

import csv
import io
import unicodedata

import numpy as np
import pandas as pd

from ..errors import ParseError
from ._common import Context, Result, finish

__all__ = ["read_dd", "read_tim", "sniff_dd", "sniff_tim"]

_HEAD = "지점,지점명,일시,"
_TIM = {"tavg": "기온(℃)"}
_DD = {"tavg": "평균기온(℃)", "tmin": "최저기온(℃)", "tmax": "최고기온(℃)"}
_CHUNK = 200_000  # rows per chunk


def _header(head: str) -> list[str]:
    line = head.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    if not line.startswith(_HEAD):
        return []
    cells = next(csv.reader([line]))
    return [unicodedata.normalize("NFC", c).strip().replace("°C", "℃") for c in cells]


def sniff_tim(head: str) -> bool:
    r"""Return True for a portal hourly download.

    Examples
    --------
    >>> sniff_tim("지점,지점명,일시,기온(°C),강수량(mm)\n108,서울,2024-01-15 06:00,-5.2,")
    True
    """
    return _TIM["tavg"] in _header(head)


def sniff_dd(head: str) -> bool:
    r"""Return True for a portal daily download.

    Examples
    --------
    >>> sniff_dd("지점,지점명,일시,평균기온(°C),최저기온(°C),최고기온(°C)\n")
    True
    """
    return any(column in _header(head) for column in _DD.values())


def _check_width(data: bytes, width: int, name: str) -> None:
    r"""Raise naming the first line with more cells than the header (before pandas reads).

    One vectorised pass over the bytes: the portal quotes nothing, so a row's
    cells are its commas + 1. pandas would otherwise widen a whole chunk to a
    row of 100,000 commas (gigabytes), or quietly drop its extra cells.

    Examples
    --------
    >>> _check_width(b"a,b\n1,2\n3,4,5,6\n", 2, "portal_dd")
    Traceback (most recent call last):
    ...
    kwxmap.errors.ParseError: line 3: 4 cells where the portal_dd header has 2; ...
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.append(np.flatnonzero(arr == ord("\n")), arr.size)
    commas = np.searchsorted(np.flatnonzero(arr == ord(",")), ends)
    cells = np.diff(commas, prepend=0) + 1
    wide = np.flatnonzero(cells > width)
    if wide.size:
        raise ParseError(
            f"line {int(wide[0]) + 1}: {int(cells[wide[0]])} cells where the {name} header has "
            f"{width}; is it one portal download, unchanged?"
        )


def _read(text: str, columns: dict[str, str], variable: str, name: str) -> Result:
    header = _header(text[:65536])
    column = columns.get(variable)
    if column is None:
        raise ParseError(
            f"variable={variable!r}: a {name} file has only {', '.join(sorted(columns))}"
        )
    if column not in header:
        raise ParseError(
            f"the {name} header has no {column!r} column for variable={variable!r}; "
            f"columns: {', '.join(header)}"
        )
    t_i, s_i, n_i = header.index("일시"), header.index("지점"), header.index("지점명")
    c_i = header.index(column)
    # pandas' C parser in chunks: time and memory linear, a few times the input.
    # Rows are lines (the portal quotes nothing), so line = row index + 2. Every
    # column of the header is named (no usecols), so a row wider than the header
    # is an error at that row, before pandas widens the chunk to fit it.
    raw = text.lstrip("\ufeff").encode("utf-8")
    _check_width(raw, len(header), name)
    data = io.BytesIO(raw)
    try:
        chunks = pd.read_csv(
            data,
            header=None,
            names=list(range(len(header))),
            skiprows=1,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            chunksize=_CHUNK,
            encoding="utf-8",
        )
        fmt = "%Y-%m-%d %H:%M" if columns is _TIM else "%Y-%m-%d"
        results = [_chunk(chunk, s_i, n_i, t_i, c_i, fmt) for chunk in chunks]
    except (pd.errors.ParserError, ValueError) as exc:
        raise ParseError(
            f"cannot read the {name} file: {exc}; is it one portal download?"
        ) from None
    frame = pd.concat([r.frame for r in results], ignore_index=True)
    return Result(frame, [bad for r in results for bad in r.invalid])


def _chunk(
    chunk: pd.DataFrame, s_i: int, n_i: int, t_i: int, c_i: int, time_format: str
) -> Result:
    chunk = chunk.fillna("")
    stations = np.asarray(chunk[s_i], dtype=object)
    if (stations == "").any():  # blank lines
        chunk = chunk[stations != ""]

    def text_of(i: int) -> str:
        return ",".join(str(chunk[c].iloc[i]) for c in (s_i, n_i, t_i, c_i))

    return finish(
        lines=chunk.index.to_numpy() + 2,
        stations=chunk[s_i],
        names=chunk[n_i].tolist(),
        times=chunk[t_i],
        time_format=time_format,
        temps=chunk[c_i],
        texts=text_of,
    )


def read_tim(text: str, context: Context) -> Result:
    r"""Read a portal hourly download.

    Examples
    --------
    >>> r = read_tim("지점,지점명,일시,기온(°C)\n108,서울,2024-01-15 06:00,-5.2\n", Context())
    >>> r.frame[["station_id", "station_name", "temperature_c"]].values.tolist()
    [[108, '서울', -5.2]]
    """
    return _read(text, _TIM, context.variable, "portal_tim")


def read_dd(text: str, context: Context) -> Result:
    r"""Read a portal daily download; ``context.variable`` picks the column.

    Examples
    --------
    >>> text = "지점,지점명,일시,평균기온(°C),최저기온(°C),최고기온(°C)\n"
    >>> text += "572,성남,2022-01-01,-5.2,-11.8,.8\n"
    >>> read_dd(text, Context(variable="tmax")).frame["temperature_c"].tolist()
    [0.8]
    """
    return _read(text, _DD, context.variable, "portal_dd")
