"""Readers: every input kwxmap reads, recognised by content, to one readings table.

Each format family is one module with a ``sniff(head) -> bool`` /
``read(text, context) -> Result`` pair, registered in :data:`READERS` in the
order they are tried: the most specific formats first, the scraped widget
(which accepts any text) last. A new format is one module and one line here.

=================  ===========================================================
``input_format``   what it is
=================  ===========================================================
``datagokr_json``  공공데이터포털 ASOS hourly/daily open API, JSON
``datagokr_xml``   the same, XML
``aws2_min``       API Hub ``nph-aws2_min`` (AWS+ASOS one-minute), ``disp=0/1``
                   or re-saved CSV
``sfctm2``         API Hub ``kma_sfctm2`` (ASOS hourly)
``sfcdd``          API Hub ``kma_sfcdd`` (ASOS daily; ``variable``)
``portal_dd``      기상자료개방포털 ``OBS_ASOS_DD`` / ``OBS_AWS_DD`` (``variable``)
``portal_tim``     기상자료개방포털 ``OBS_ASOS_TIM`` / ``OBS_AWS_TIM``
``table``          a tidy CSV, DataFrame or GeoDataFrame (``station_id``,
                   ``temperature_c``, optional ``time``, ``lon``/``lat``)
``widget``         scraped text or HTML (``맑음서울 24.5℃``)
=================  ===========================================================
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InputError, KwxmapWarning, ParseError
from . import datagokr, portal, table, typ01, widget
from ._common import COLUMNS, MISSING_CODE_MAX_C, Context, Result
from ._source import PATHLIKE_SUFFIX, source_text
from .widget import split_station_token, weather_words

if TYPE_CHECKING:
    from ..stations import StationRegistry

__all__ = [
    "INPUT_FORMATS",
    "READERS",
    "VARIABLES",
    "Reader",
    "parse_readings",
    "split_station_token",
    "weather_words",
]

ON_INVALID = ("raise", "warn", "ignore")

#: Temperatures a daily input can give: the mean, the minimum, the maximum.
VARIABLES = ("tavg", "tmin", "tmax")

_MAX_WARNINGS = 20
_HEAD = 65536  # characters a sniff sees


@dataclass(frozen=True)
class Reader:
    """One input format: its name, how to recognise it, how to read it."""

    name: str
    sniff: Callable[[str], bool]
    read: Callable[[str, Context], Result]


#: Every reader, in the order :func:`parse_readings` tries them.
READERS: tuple[Reader, ...] = (
    Reader("datagokr_json", datagokr.sniff_json, datagokr.read_json),
    Reader("datagokr_xml", datagokr.sniff_xml, datagokr.read_xml),
    Reader("aws2_min", typ01.AWS2_MIN.sniff, typ01.AWS2_MIN.read),
    Reader("sfctm2", typ01.SFCTM2.sniff, typ01.SFCTM2.read),
    Reader("sfcdd", typ01.SFCDD.sniff, typ01.SFCDD.read),
    Reader("portal_dd", portal.sniff_dd, portal.read_dd),
    Reader("portal_tim", portal.sniff_tim, portal.read_tim),
    Reader("table", table.sniff, table.read),
    Reader("widget", widget.sniff, widget.read),
)

#: The valid ``input_format`` names (``--input-format`` choices).
INPUT_FORMATS: tuple[str, ...] = tuple(r.name for r in READERS)

# Station lists are not readings: `kwxmap stations --update FILE` merges them.
_STATION_LIST = re.compile(
    r"^\ufeff?(?:#\s*STN\s+LON\s+LAT\b|STN,LON,LAT,|지점,시작일,종료일,지점명|지점번호,지점명,"
    r"[^\n]{0,80}위도,경도)",
    re.MULTILINE,
)
_TITLE = re.compile(r"<title[^>]{0,200}>([^<]{0,200})", re.IGNORECASE)


def sniff_format(head: str) -> str:
    r"""Return the name of the first reader that recognises ``head``.

    Examples
    --------
    >>> sniff_format("#START7777\n# YYMMDDHHMI STN WD1 WS1 WDS WSS WD10 WS10 TA")
    'aws2_min'
    >>> sniff_format("• 맑음서울 24.5℃")
    'widget'
    """
    return next(r.name for r in READERS if r.sniff(head))


def _check_station_list(head: str) -> None:
    if _STATION_LIST.search(head[:8192]):
        raise ParseError(
            "the input is a KMA station list (stn_inf or META_관측지점정보), not readings; "
            "merge it into the registry with `kwxmap stations --update FILE`"
        )


def _names(registry: StationRegistry | None) -> Callable[[], Mapping[str, Any]]:
    def names() -> Mapping[str, Any]:
        reg = registry
        if reg is None:
            from ..stations import load_stations

            reg = load_stations()
        return reg.name_index()

    return names


def _frame(frame: pd.DataFrame) -> pd.DataFrame:
    extra = [
        c for c in ("time", "station_id", "lon", "lat", "elevation_m") if c in frame.columns
    ]
    frame = frame.reindex(columns=[*COLUMNS, *extra]).reset_index(drop=True)
    for column in ("station_name", "condition", "condition_en", "missing"):
        frame[column] = frame[column].fillna("").astype(str)
    frame["temperature_c"] = frame["temperature_c"].astype("float64")
    # KMA's "no observation" (-50 or below) is never a reading, whatever the format
    code = (frame["temperature_c"] <= MISSING_CODE_MAX_C).to_numpy()
    if code.any():
        frame.loc[code, "temperature_c"] = np.nan
        frame.loc[code, "missing"] = "kma_code"
    frame["line"] = frame["line"].astype("int64")
    return frame


def _report_invalid(invalid: list[Any], on_invalid: str) -> None:
    if not invalid:
        return
    if on_invalid == "raise":
        first = invalid[0]
        more = f" (and {len(invalid) - 1} more)" if len(invalid) > 1 else ""
        raise ParseError(
            f"{first.message()}{more}; fix the input or pass on_invalid='warn' "
            "to skip invalid lines"
        )
    if on_invalid == "warn":
        for bad in invalid[:_MAX_WARNINGS]:
            warnings.warn(f"skipped invalid {bad.message()}", KwxmapWarning, stacklevel=3)
        if len(invalid) > _MAX_WARNINGS:
            warnings.warn(
                f"skipped {len(invalid) - _MAX_WARNINGS} more invalid lines",
                KwxmapWarning,
                stacklevel=3,
            )


def _nothing_found(reader: str, text: str, source: object, invalid: list[Any]) -> ParseError:
    skipped = ""
    if invalid:
        plural = "s" if len(invalid) > 1 else ""
        skipped = f" ({len(invalid)} invalid line{plural} skipped)"
    if reader != "widget":
        return ParseError(f"no readings found in the {reader} input{skipped}")
    title = _TITLE.search(text[:_HEAD])
    if title is not None:
        return ParseError(
            f"no readings found in the HTML page titled {title.group(1).strip()[:80]!r}"
            f"{skipped}; is it an error page instead of data? Download the data again"
        )
    hint = ""
    if (
        isinstance(source, str)
        and PATHLIKE_SUFFIX.search(source.strip())
        and not os.path.exists(source.strip())
    ):
        hint = f" ({source!r} was read as text: no such file)"
    return ParseError(
        f"no readings found in the input{hint}{skipped}; a reading looks "
        "like '맑음서울 24.5℃' (weather word, station name, temperature, unit)"
    )


def parse_readings(
    source: str | bytes | os.PathLike[str] | IO[str] | IO[bytes] | pd.DataFrame,
    *,
    input_format: str | None = None,
    variable: str = "tavg",
    encoding: str | None = None,
    on_invalid: str = "raise",
    registry: StationRegistry | None = None,
    crs: Any = None,
) -> pd.DataFrame:
    r"""Read station readings from any KMA delivery format, scraped text or a table.

    Parameters
    ----------
    source
        The input, one of:

        - ``str``: the text itself. A one-line string (no line break) that
          names an existing file is read as that file's path; to be
          unambiguous pass a :class:`pathlib.Path` (a missing file is then
          an :class:`~kwxmap.errors.InputError`, not text).
        - ``bytes``: decoded with ``encoding``, else the charset the page
          declares (``<meta charset>``, ``<?xml encoding>``), else UTF-8
          (with or without BOM), else CP949 (EUC-KR).
        - a path (:class:`os.PathLike`): the file's bytes, decoded as above.
        - a file object, text or binary.
        - a DataFrame or GeoDataFrame, read as a ``table``.

        The format is recognised by content (see :data:`INPUT_FORMATS` and
        the module docstring of :mod:`kwxmap.readers`); scraped HTML is
        laid out as a browser shows it, with a streaming parser.
    input_format
        Force one reader by name (one of :data:`INPUT_FORMATS`); None
        recognises the format by content.
    variable
        ``"tavg"`` (default), ``"tmin"`` or ``"tmax"``: which temperature of
        a daily input (``sfcdd``, ``portal_dd``, data.go.kr daily). Inputs
        with one temperature accept only ``"tavg"``.
    encoding
        Codec of byte input, overriding any declared charset.
    on_invalid
        What to do with a row that looks like a reading but cannot be read
        (a temperature that is not a number, a Fahrenheit value, a row
        without a station, a typ01 row with the wrong number of fields):
        ``"raise"`` a :class:`~kwxmap.errors.ParseError` naming the line,
        ``"warn"`` with a :class:`~kwxmap.errors.KwxmapWarning` and keep the
        other readings, or ``"ignore"`` it.
    registry
        The station registry whose names and aliases split glued widget
        tokens; ``load_stations()`` when None.
    crs
        The CRS of ``x``/``y`` columns of a table (``"EPSG:5179"``).

    Returns
    -------
    pandas.DataFrame
        One row per reading, in input order: ``station_name`` (as printed),
        ``condition`` (the weather word as printed, ``""`` when none),
        ``condition_en`` (English label of a known word, else ``""``),
        ``temperature_c`` (float; NaN when missing), ``line`` (1-based line
        of the input; the item number for data.go.kr responses),
        ``missing`` (why ``temperature_c`` is NaN: ``"kma_code"`` for KMA's
        -99.x / -999 codes, anything at or below -50 °C; ``"blank"``;
        ``"placeholder"`` for a widget's ``-``; ``""`` for a reading).
        Inputs that carry them add ``time`` (datetime64, naive KST),
        ``station_id`` (Int64), and ``lon``/``lat`` (EPSG:4326) and
        ``elevation_m``. ``frame.attrs["input_format"]`` names the reader.

    Raises
    ------
    ParseError
        When no reading is found, the bytes cannot be decoded, the input is
        a truncated response, an error page, a station list or a mix of
        formats, or (with ``on_invalid="raise"``) a row is invalid.
    InputError
        When a path does not exist or cannot be read, or an option value is
        not one of its valid values.

    Examples
    --------
    >>> text = '''오늘의 날씨
    ... • 맑음북강릉 26.0℃
    ... • 구름많음홍성(예) -3.5°C
    ... 기상청 제공'''
    >>> parse_readings(text)[["station_name", "condition", "temperature_c", "line"]]
      station_name condition  temperature_c  line
    0          북강릉        맑음           26.0     2
    1        홍성(예)      구름많음           -3.5     3
    >>> row = "202601150600 {} 270 1.5 280 2.0 275 1.4 {} 0 0 0 0 0 55 1015 1022 -11.8"
    >>> typ01 = "\n".join(["#START7777", row.format(108, -4.2), row.format(119, -99.9), "#7777END"])
    >>> readings = parse_readings(typ01)
    >>> readings.attrs["input_format"], readings["temperature_c"].tolist()
    ('aws2_min', [-4.2, nan])
    >>> readings["missing"].tolist()
    ['', 'kma_code']
    """
    if on_invalid not in ON_INVALID:
        raise InputError(
            f"on_invalid={on_invalid!r} is not one of {', '.join(map(repr, ON_INVALID))}"
        )
    if input_format is not None and input_format not in INPUT_FORMATS:
        raise InputError(
            f"input_format={input_format!r} is not one of {', '.join(INPUT_FORMATS)}"
        )
    if variable not in VARIABLES:
        raise InputError(f"variable={variable!r} is not one of {', '.join(VARIABLES)}")
    context = Context(variable=variable, names=_names(registry), crs=crs)
    if isinstance(source, pd.DataFrame):
        if input_format not in (None, "table"):
            raise InputError(
                f"input_format={input_format!r} reads text; a DataFrame is read as 'table'"
            )
        result, name, text = table.read_frame(source, context), "table", ""
    else:
        text = source_text(source, encoding)
        if "\r" in text:  # CR LF and old Mac CR-only files read as LF
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            raise ParseError("the input is empty: no readings found")
        head = text[:_HEAD]
        if input_format is None:
            _check_station_list(head)
        name = input_format or sniff_format(head)
        reader = next(r for r in READERS if r.name == name)
        if variable != "tavg" and name == "widget":
            raise InputError(
                f"variable={variable!r} needs a daily input (sfcdd, portal_dd, data.go.kr "
                f"daily, or a table with a {variable}_c column); this input is read as "
                f"{name!r}, which has one temperature"
            )
        result = reader.read(text, context)
    _report_invalid(result.invalid, on_invalid)
    if len(result.frame) == 0:
        raise _nothing_found(name, text, source, result.invalid)
    frame = _frame(result.frame)
    frame.attrs["input_format"] = name
    if result.dates:  # times written as dates alone: readings of days (a daily mean...)
        frame.attrs["dates"] = True
    return frame
