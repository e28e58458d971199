"""KMA station lists: API Hub ``stn_inf`` and the portal's ``META_관측지점정보``.

Both read to one table, :data:`COLUMNS`: ``station_id, name_ko, lon, lat,
elevation_m, start, end, network`` (``start``/``end`` ISO days or None, a
period covering ``start <= day < end``; ``network`` ``"ASOS"``, ``"AWS"`` or
None when the file does not say).

- ``stn_inf``: KMA API Hub ``/api/typ01/url/stn_inf.php?inf=SFC|AWS``
  (UTF-8 or EUC-KR). ``#`` help lines, a ``# STN LON LAT STN_SP HT …`` header
  with a second ``#  ID …`` line that completes the names (``STN`` + ``ID``
  → ``STN_ID``, ``STN`` + ``AD`` → ``STN_AD``), then whitespace-separated rows;
  ``inf=AWS`` output may end each row with a ``LAW_ADDR`` of several words.
  Copies re-saved with a ``STN,LON,LAT,…`` CSV header line read too. The list
  carries no dates (``start``/``end`` are None): it is the network as of the
  day it was fetched. ``inf=SFC`` (it has ``HT_PA``, the barometer height) is
  ASOS, ``inf=AWS`` is AWS.
- ``META_관측지점정보``: the 기상자료개방포털 (data.kma.go.kr) station-history
  export, CP949 CSV: ``지점,시작일,종료일,지점명,지점주소,관리관서,위도,경도,
  노장해발고도(m)[,기압계(관측장비지상높이(m)),…]``, one row per site/name
  period; periods KMA gives no position for are left out. The ASOS export
  has the instrument-height columns (``network`` ASOS); the AWS export has
  none, and says nothing about the network (None).
"""

from __future__ import annotations

import csv
import io
import math
import re

import pandas as pd

from kwxmap.errors import ParseError

__all__ = ["COLUMNS", "read_portal_meta", "read_stn_inf", "sniff_portal_meta", "sniff_stn_inf"]

#: The columns both readers return, in order.
COLUMNS = ("station_id", "name_ko", "lon", "lat", "elevation_m", "start", "end", "network")

_STN_INF_HEADER = re.compile(r"^#?\s*STN[\s,]+LON[\s,]+LAT\b", re.MULTILINE)
_META_HEADER = ("지점", "시작일", "종료일", "지점명")
_META_COLUMNS = {"지점": "station_id", "시작일": "start", "종료일": "end", "지점명": "name_ko",
                 "위도": "lat", "경도": "lon", "노장해발고도(m)": "elevation_m"}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _text(data: bytes | str) -> str:
    """Decode a station list: UTF-8 (with or without a byte-order mark), else CP949."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"a station list is bytes or str, not {type(data).__name__}")
    for codec in ("utf-8-sig", "cp949"):
        try:
            return bytes(data).decode(codec)
        except UnicodeDecodeError:
            continue
    raise ParseError("the station list is neither UTF-8 nor CP949 (EUC-KR) text; "
                     "save it again as UTF-8 or as KMA delivered it")


def sniff_stn_inf(head: str) -> bool:
    r"""Return True when ``head`` looks like an API Hub ``stn_inf`` station list.

    Examples
    --------
    >>> sniff_stn_inf("#START7777\n# STN  LON  LAT STN_SP  HT\n")
    True
    >>> sniff_stn_inf("지점,시작일,종료일,지점명\n")
    False
    """
    return bool(_STN_INF_HEADER.search(head[:8192]))


def sniff_portal_meta(head: str) -> bool:
    r"""Return True when ``head`` starts like a ``META_관측지점정보`` export.

    Examples
    --------
    >>> sniff_portal_meta("지점,시작일,종료일,지점명,지점주소,관리관서,위도,경도\n")
    True
    """
    first = head.removeprefix("\ufeff").lstrip().split("\n", 1)[0]
    return tuple(c.strip() for c in first.split(",")[:4]) == _META_HEADER


def _stn_inf_columns(lines: list[str]) -> tuple[list[str], int]:
    """Return the column names and the index of the first data line."""
    for i, line in enumerate(lines):
        if not _STN_INF_HEADER.match(line):
            continue
        if not line.startswith("#"):  # a re-saved copy: STN,LON,LAT,... then rows
            names = [c.strip() for c in line.split(",")]
            names = [("STN_ID" if j == 0 else "STN_AD") if n == "STN" else n
                     for j, n in enumerate(names)]
            return names, i + 1
        names = line.lstrip("#").split()
        units = lines[i + 1].lstrip("#").split() if i + 1 < len(lines) else []
        if len(units) == len(names):
            names = [f"{n}_{u}" if u in ("ID", "AD") else n for n, u in zip(names, units,
                                                                        strict=True)]
        return names, i + 1
    raise ParseError("no '# STN LON LAT ...' header line: this is not a KMA stn_inf station "
                     "list; fetch it from /api/typ01/url/stn_inf.php (help=1 keeps the header)")


def read_stn_inf(data: bytes | str) -> pd.DataFrame:
    r"""Read an API Hub ``stn_inf`` station list.

    Parameters
    ----------
    data
        The response body (bytes, UTF-8 or EUC-KR) or its text.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`, one row per station; ``start``/``end`` None.

    Raises
    ------
    ParseError
        No header, a row with too few fields, or a position that is not a
        number (the message quotes the line).

    Examples
    --------
    >>> text = '''#START7777
    ... # STN           LON           LAT STN_SP          HT     HT_WD  LAU STN STN_KO  STN_EN
    ... #  ID         degee        degree --------         m         m   ID  AD ------  ------
    ...   901  127.10000000   37.20000000 01111000     42.00     10.00 4109 119 가상  ----
    ... #7777END'''
    >>> row = read_stn_inf(text).to_dict("records")[0]
    >>> row["station_id"], row["name_ko"], row["lon"], row["lat"], row["start"], row["network"]
    (901, '가상', 127.1, 37.2, None, 'AWS')
    """
    lines = _text(data).splitlines()
    names, first = _stn_inf_columns(lines)
    missing = [c for c in ("STN_ID", "LON", "LAT", "HT", "STN_KO") if c not in names]
    if missing:
        raise ParseError(f"the stn_inf header {' '.join(names)!r} lacks {missing}; "
                         "fetch the list again with help=1")
    network = "ASOS" if "HT_PA" in names else "AWS"
    at = {n: names.index(n) for n in ("STN_ID", "LON", "LAT", "HT", "STN_KO")}
    rows = []
    for number, line in enumerate(lines[first:], start=first + 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(None, len(names) - 1)
        if len(fields) < at["STN_KO"] + 1:
            raise ParseError(f"line {number}: {len(fields)} fields, expected {len(names)} "
                             f"({' '.join(names)}) in {line.strip()[:60]!r}; "
                             "the list is truncated or not a stn_inf list")
        try:
            sid = int(fields[at["STN_ID"]])
            lon, lat = float(fields[at["LON"]]), float(fields[at["LAT"]])
            height = float(fields[at["HT"]])
        except ValueError:
            raise ParseError(f"line {number}: station number, LON, LAT or HT is not a number "
                             f"in {line.strip()[:60]!r}") from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ParseError(f"line {number}: position {lon!r}, {lat!r} is not lon/lat degrees")
        rows.append((sid, fields[at["STN_KO"]], lon, lat,
                     height if height > -99 else math.nan, None, None, network))
    if not rows:
        raise ParseError("the stn_inf list has a header but no stations; "
                         "check the request (inf=SFC or inf=AWS, stn=0)")
    return _frame(rows)


def read_portal_meta(data: bytes | str) -> pd.DataFrame:
    r"""Read a 기상자료개방포털 ``META_관측지점정보`` station-history export.

    Parameters
    ----------
    data
        The downloaded file's bytes (CP949 as the portal delivers it, or UTF-8)
        or its text.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`, one row per site/name period, ``end`` None for the
        current one.

    Raises
    ------
    ParseError
        Not a META export, or a row whose number, date or position cannot be
        read (the message gives the line).

    Examples
    --------
    >>> text = ("지점,시작일,종료일,지점명,지점주소,관리관서,위도,경도,노장해발고도(m)\n"
    ...         "901,2001-05-01,2019-03-04,가상,,,37.2,127.1,40\n"
    ...         "901,2019-03-04,,가상,,,37.21,127.1,42\n")
    >>> read_portal_meta(text)[["station_id", "start", "end", "lat"]].values.tolist()
    [[901, '2001-05-01', '2019-03-04', 37.2], [901, '2019-03-04', None, 37.21]]
    """
    text = _text(data)
    if not sniff_portal_meta(text):
        raise ParseError("the file does not start with '지점,시작일,종료일,지점명': it is not a "
                         "META_관측지점정보 export (기상자료개방포털 → 지점정보 → 관측지점정보)")
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader)]
    at = {key: header.index(name) for name, key in _META_COLUMNS.items() if name in header}
    if len(at) < len(_META_COLUMNS):
        raise ParseError(f"the META header {','.join(header)!r} lacks "
                         f"{sorted(set(_META_COLUMNS) - set(header))}")
    network = "ASOS" if any(h.startswith("기압계") for h in header) else None
    rows = []
    for number, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue  # the blank ',,,,' line under the header
        if len(fields) < len(header):
            raise ParseError(f"line {number}: {len(fields)} fields, expected {len(header)}; "
                             "the file is truncated")
        value = {k: fields[i].strip() for k, i in at.items()}
        if not value["lon"] and not value["lat"]:
            continue  # KMA gives no position for some old periods: nothing to place
        try:
            sid = int(value["station_id"])
            lon, lat = float(value["lon"]), float(value["lat"])
        except ValueError:
            raise ParseError(f"line {number}: station number or position is not a number in "
                             f"{','.join(fields)[:60]!r}") from None
        days = []
        for key in ("start", "end"):
            day = value[key][:10]
            if day and not _DAY.fullmatch(day):
                raise ParseError(f"line {number}: {key} {value[key]!r} is not YYYY-MM-DD")
            days.append(day or None)
        height = float(value["elevation_m"]) if value["elevation_m"] else math.nan
        rows.append((sid, value["name_ko"], lon, lat, height, *days, network))
    if not rows:
        raise ParseError("the META_관측지점정보 export has a header but no stations")
    return _frame(rows)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    columns = list(zip(*rows, strict=True))
    dtypes = ("int64", object, "float64", "float64", "float64", object, object, object)
    return pd.DataFrame({name: pd.Series(values, dtype=dtype)
                         for name, values, dtype in zip(COLUMNS, columns, dtypes, strict=True)})
