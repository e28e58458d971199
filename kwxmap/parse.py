"""Scraped widget text, HTML, bytes and tables to a readings DataFrame.

News sites and portals copy KMA's current-weather table as a small widget in
which the weather word is glued to the station name::

    • 맑음동두천 26.0℃
    • 구름많음강릉 28.0℃
    • 맑음홍성(예) 23.7℃

:func:`parse_readings` finds those readings inside a whole page of unrelated
text (plain text, HTML, or bytes in any of the encodings Korean pages use),
splits each glued token into weather word and station name with the station
registry, and also reads tables (a CSV with ``station_id``/``station_name``
and ``temperature_c``, KMA's portal export ``지점,지점명,일시,기온(°C)``).

What counts as a reading
------------------------
A line is read as readings when it consists only of readings: an optional
bullet (``•``, ``·``, ``-``, ``*``, ``▶`` …), a station token (weather word
and station name, glued or separated by a space), a temperature and a
Celsius unit (``℃``, ``°C``, ``° C``, ``ºC``, ``&#8451;``), repeated any
number of times. Text before a list bullet and, after several readings with
weather words, text after the last one are allowed, so a page flattened to
one line still reads. Anything else is noise and skipped: headlines, ``기상청
제공``, dates, numbers without a unit, and article sentences, even those that
mention a temperature (``서울 25℃까지 올랐다``). A line on its own such as
``서울 25℃`` is indistinguishable from a widget reading without a weather
word, so it is read as one. A token that is neither a known station nor
starts with a known weather word is a reading only as a list item
(``• 추풍녕 20.1℃``, so the join can report the unknown name); otherwise
(``최고 30℃ 최저 20℃``, ``기온(℃)``) it is noise.

A line that has the shape of a reading but cannot be read (``맑음서울 2a.5℃``,
``맑음서울 ℃``, a Fahrenheit value) is *invalid*; ``on_invalid`` decides
what happens to it.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import html
import io
import math
import os
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._data import data_path
from .errors import InputError, KwxmapWarning, ParseError

if TYPE_CHECKING:
    from .stations import StationRegistry

__all__ = ["parse_readings", "split_station_token", "weather_words"]

ON_INVALID = ("raise", "warn", "ignore")

#: Columns of the DataFrame :func:`parse_readings` returns, in order.
COLUMNS = ("station_name", "condition", "condition_en", "temperature_c", "line")

_MAX_WARNINGS = 20
_SHOW = 60  # characters of offending text quoted in messages

# --- the weather-word table ---------------------------------------------------


@lru_cache(maxsize=1)
def _weather_table() -> tuple[tuple[str, str], ...]:
    path = data_path("kma_weather_words.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        return tuple((row["word_ko"], row["english"]) for row in csv.DictReader(fh))


def weather_words() -> dict[str, str]:
    """Return the KMA weather words kwxmap knows, with their English labels.

    The table ships as ``data/kma_weather_words.csv``: the sky states, the
    present-weather words KMA pages print, and their intensity variants
    (``약한비단속``, ``강한눈계속``, ``비/눈``, ``안개엷어짐`` …).

    Returns
    -------
    dict
        Korean word as printed -> English label.

    Examples
    --------
    >>> words = weather_words()
    >>> words["맑음"], words["진눈깨비"], words["눈/비"]
    ('clear / sunny', 'sleet', 'rain and snow mixed (rain/snow)')
    """
    return dict(_weather_table())


def _word_keys() -> dict[str, str]:
    """Weather words keyed without spaces (``비 또는 눈`` -> ``비또는눈``)."""
    return {word.replace(" ", ""): en for word, en in _weather_table()}


# --- splitting a glued station token ------------------------------------------

_HANGUL = re.compile(r"[가-힣]")
_TOKEN_CHARS = re.compile(r"[가-힣()/,][가-힣()/, ]*")
_MAX_TOKEN = 32


def split_station_token(
    token: str, names: Mapping[str, Any], words: Mapping[str, Any] | None = None
) -> tuple[str, str] | None:
    """Split a printed station token into (weather word, station name).

    The longest known station name or alias that ends the token wins, and
    the rest is the weather word (``맑음북강릉`` is 맑음 + 북강릉, not
    맑음북 + 강릉). A split that leaves a known weather word (or nothing)
    beats one that leaves an unknown word. An unknown word is accepted only
    when glued to the name, as widgets print it: ``오늘 서울`` is prose,
    not a reading. When no known name ends the token but a known weather
    word starts it, the rest is taken as an (unknown) station name, so the
    join can report it with suggestions.

    Parameters
    ----------
    token
        The text before the temperature, bullets removed: ``맑음홍성(예)``,
        ``흐림 북춘천``.
    names
        Known station names and aliases (keys of
        ``StationRegistry.name_index()``).
    words
        Known weather words; the bundled table when None.

    Returns
    -------
    tuple of str, or None
        ``(condition, station_name)``, condition ``""`` when none is printed;
        None when the text does not look like a station token.

    Examples
    --------
    >>> names = {"강릉": 105, "북강릉": 104, "홍성(예)": 177}
    >>> split_station_token("맑음북강릉", names)
    ('맑음', '북강릉')
    >>> split_station_token("구름많음 홍성(예)", names)
    ('구름많음', '홍성(예)')
    >>> split_station_token("맑음뉴욕", names)
    ('맑음', '뉴욕')
    >>> split_station_token("오늘 강릉", names) is None
    True
    """
    if words is None:
        words = _word_keys()
    s = token.strip()
    if (
        not s
        or len(s) > _MAX_TOKEN
        or not _TOKEN_CHARS.fullmatch(s)
        or not _HANGUL.match(s)
        or len(s.split()) > 4
    ):
        return None
    glued_unknown: tuple[str, str] | None = None
    for start in range(len(s)):  # longest suffix first
        name = s[start:]
        if name not in names:
            continue
        rest = s[:start]
        condition = rest.strip()
        if not condition or condition.replace(" ", "") in words:
            return condition, name
        if glued_unknown is None and not rest[-1].isspace() and " " not in condition:
            glued_unknown = (condition, name)
    if glued_unknown is not None:
        return glued_unknown
    parts = s.split()
    if len(parts) == 2 and parts[0] in names and parts[1] in words:
        return parts[1], parts[0]  # "서울 맑음": name first, then the word
    # No known name: a known weather word at the start leaves the name.
    for end in range(len(s), 0, -1):
        head = s[:end]
        tail = s[end:].strip()
        if head.replace(" ", "") in words and tail and " " not in tail:
            return head.strip(), tail
    if " " not in s:
        return "", s
    return None


# --- decoding -------------------------------------------------------------------

_META_CHARSET = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.\-]+)""")
# Korean pages that say EUC-KR are really CP949 (its superset), as browsers assume.
_KOREAN_ALIASES = {"euc_kr", "ks_c_5601_1987", "ksc5601", "ks_c_5601", "korean", "cp949"}


def _codec(name: str) -> str | None:
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    key = name.lower().replace("-", "_")
    if key in _KOREAN_ALIASES or canonical in ("euc_kr", "cp949"):
        return "cp949"
    return canonical


def _declared_charset(data: bytes) -> str | None:
    head = data[:8192]
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    return match.group(1).decode("ascii") if match else None


def _decode(data: bytes, encoding: str | None) -> str:
    """Decode input bytes: ``encoding``, else the declared charset, else UTF-8, else CP949."""
    if encoding is not None:
        codec = _codec(encoding)
        if codec is None:
            raise ParseError(
                f"unknown encoding {encoding!r}; pass a Python codec name such as "
                "'utf-8' or 'cp949'"
            )
        try:
            return data.decode(codec).removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"input is not valid {encoding!r}: {exc.reason} at byte {exc.start}; "
                "check the encoding (Korean pages are usually 'utf-8' or 'cp949')"
            ) from None
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = []
        declared = _codec(_declared_charset(data) or "")
        # A declaration found by reading the bytes as ASCII cannot be true of
        # UTF-16/32; browsers read such a page as UTF-8, and so does kwxmap.
        if declared is not None and not declared.startswith(("utf-16", "utf-32")):
            candidates.append(declared)
        candidates += ["utf-8", "cp949"]
    tried: list[str] = []
    for codec in candidates:
        if codec in tried:
            continue
        tried.append(codec)
        try:
            return data.decode(codec).removeprefix("\ufeff")
        except (UnicodeDecodeError, LookupError):
            continue
    raise ParseError(
        f"cannot decode {len(data)} bytes of input (tried {', '.join(tried)}); "
        "pass encoding='...' with the page's encoding"
    )


# --- reading the source -----------------------------------------------------------


def _read_path(path: Path, encoding: str | None) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"input file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"input {str(path)!r} is a folder; give a file") from None
    except OSError as exc:
        raise InputError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    return _decode(data, encoding)


_PATHLIKE_SUFFIX = re.compile(r"^[^\n]{1,255}\.(txt|html?|csv|tsv|xml|text)$", re.IGNORECASE)


def _source_text(source: object, encoding: str | None) -> str:
    """Return the text of any accepted source (see :func:`parse_readings`)."""
    if isinstance(source, os.PathLike):
        return _read_path(Path(source), encoding)
    if isinstance(source, str):
        if "\n" not in source and "\r" not in source and 0 < len(source) < 4096:
            try:
                is_file = Path(source).is_file()
            except (OSError, ValueError):  # names the OS cannot represent
                is_file = False
            if is_file:
                return _read_path(Path(source), encoding)
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode(bytes(source), encoding)
    read = getattr(source, "read", None)
    if callable(read):
        try:
            data = read()
        except UnicodeDecodeError as exc:  # a text-mode file opened with the wrong encoding
            raise ParseError(
                f"cannot read the file object as {exc.encoding!r}: {exc.reason} at byte "
                f"{exc.start}; open it in binary mode ('rb') so kwxmap detects the encoding"
            ) from None
        if isinstance(data, str):
            return data
        if isinstance(data, (bytes, bytearray)):
            return _decode(bytes(data), encoding)
        raise TypeError(f"file object returned {type(data).__name__} from read()")
    raise TypeError(
        "parse_readings() takes text, bytes, a path or a file object, "
        f"not {type(source).__name__}"
    )


# --- HTML -------------------------------------------------------------------------

_MARKUP = re.compile(
    r"<\s*/?\s*(html|head|body|div|p|span|br|table|tr|td|th|li|ul|ol|dl|dt|dd|meta|"
    r"script|style|strong|em|b|i|a|font|section|article|header|footer|nav|h[1-6]|"
    r"pre|tbody|thead|label|em|small|sup|sub|img)\b[^<>]*>|<!doctype\s+html",
    re.IGNORECASE,
)
_DROP_TAGS = ("script", "style", "noscript", "template", "head", "iframe", "svg", "object")
_BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption center details dialog div dl "
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr html li main "
    "nav ol option p pre section summary table tbody tfoot thead title tr ul".split()
)
# Cells of one row and terms of one definition read as one line, space-separated.
_CELL_TAGS = frozenset({"td", "th", "dt", "dd"})
_PRE_TAGS = ("pre", "textarea", "plaintext", "xmp", "listing")


def _html_lines(text: str) -> list[tuple[int, str]]:
    """Return the visible text of an HTML document as lines with source line numbers.

    Text is laid out as a browser would: block elements and ``<br>`` end a
    line, whitespace (newlines included) collapses except inside ``<pre>``,
    inline elements do not split text, so
    ``<span>흐림</span><strong>북춘천</strong> <em>-3.4</em>℃`` stays one line,
    and the cells of a table row are one line. A weather icon's ``alt`` text
    counts when it is a known weather word. A document without any block
    element (text with stray inline tags) keeps its line breaks. Each line
    carries the line of the HTML source where its text starts.
    """
    from bs4 import BeautifulSoup, Comment, NavigableString, Tag
    from bs4.element import CData, Declaration, Doctype, ProcessingInstruction

    try:
        soup = BeautifulSoup(text, "html.parser")
    except Exception as exc:  # noqa: BLE001 - html.parser raises assorted errors on broken markup
        raise ParseError(f"cannot parse the input as HTML: {exc}") from None
    words = _word_keys()
    keep_breaks = soup.find([*_BLOCK_TAGS, *_CELL_TAGS, "br"]) is None
    has_pre = soup.find(_PRE_TAGS) is not None
    lines: list[tuple[int, str]] = []
    buf: list[str] = []
    start: list[int | None] = [None]
    cur = [1]

    def flush() -> None:
        joined = "".join(buf)
        if joined.strip():
            lines.append((start[0] or cur[0], joined))
        buf.clear()
        start[0] = None

    def emit(piece: str, hard: bool) -> None:
        for k, part in enumerate(piece.split("\n")):
            if k:
                cur[0] += 1
                if hard:
                    flush()
                else:
                    buf.append(" ")
            if part.strip() and start[0] is None:
                start[0] = cur[0]
            buf.append(part)

    skip = (Comment, CData, Declaration, Doctype, ProcessingInstruction)
    # (node, action): action "open" walks a node, "block"/"cell" closes one.
    stack: list[tuple[Any, str]] = [(soup, "open")]
    while stack:
        node, action = stack.pop()
        if action == "block":
            flush()
            continue
        if action == "cell":
            buf.append(" ")
            continue
        if isinstance(node, NavigableString):
            if not isinstance(node, skip):
                hard = keep_breaks or (has_pre and node.find_parent(_PRE_TAGS) is not None)
                emit(str(node), hard)
            continue
        if not isinstance(node, Tag) or node.name in _DROP_TAGS:
            continue
        if node.sourceline is not None:
            cur[0] = node.sourceline
        if node.name == "br":
            flush()
            continue
        if node.name == "img":
            alt = node.get("alt")
            if isinstance(alt, str) and alt.strip() and alt.replace(" ", "") in words:
                emit(f" {alt.strip()} ", hard=False)
            continue
        if node.name in _BLOCK_TAGS:
            flush()
            stack.append((node, "block"))
        elif node.name in _CELL_TAGS:
            buf.append(" ")
            stack.append((node, "cell"))
        stack.extend((child, "open") for child in reversed(list(node.children)))
    flush()
    return lines


# --- text lines to readings -------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９．－", "0123456789.-")
_CELSIUS = re.compile(r"[°º˚]\s?C(?![A-Za-z])|&#8451;|&#x2103;")
_FAHRENHEIT = re.compile(r"℉|[°º˚]\s?F(?![A-Za-z])")
_BULLETS = "•·‧∙●○◦◎▶▷►▸▹◆◇■□▪▫※*-–—|,;:ㆍ/>→ "
# Bullets that only ever mark list items: text before one is not part of the reading.
_STRONG_BULLETS = re.compile(r".*[•·‧∙●○◦◎▶▷►▸▹◆◇■□▪▫※|ㆍ*→>\-–—]")
_MINUS = "-‐‑‒−–﹣－"
_VALUE_TOKEN = re.compile(rf"(?:[{_MINUS}+]\s?)?[^\s가-힣()]*\s*$")
_NUMBER = re.compile(rf"([{_MINUS}+]?)\s?([0-9]{{1,3}}(?:\.[0-9]*)?|\.[0-9]+)")  # 25. .5
_PLACEHOLDER = frozenset({"-", "--", "―", "—", "−", "–", "―――", "---"})
_PLACEHOLDER_LINE = re.compile(r"^(?P<seg>.*?)\s+(?P<ph>-{1,3}|―|—|−)\s*$")
_TAIL_OK = re.compile(r"[^가-힣A-Za-z0-9]*")
_GLUED_AFTER = re.compile(r"[가-힣A-Za-z0-9]")
_MAX_CHUNK = 200


def _normalise_line(line: str) -> str:
    line = unicodedata.normalize("NFC", line).translate(_INVISIBLE)
    if "&" in line:
        line = html.unescape(line)
    line = _SPACES.sub(" ", line).translate(_FULLWIDTH_DIGITS)
    line = _CELSIUS.sub("℃", line)
    return _FAHRENHEIT.sub("℉", line)


def _show(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= _SHOW else text[: _SHOW - 1] + "…")


@dataclass
class _Invalid:
    line: int
    text: str
    why: str

    def message(self) -> str:
        return f"line {self.line}: {self.why} in {_show(self.text)}"


def _value(token: str) -> float | str:
    """Temperature of a value token, NaN for a placeholder, or why it is bad."""
    compact = token.replace(" ", "")
    if not compact:
        return "no temperature before the unit"
    if compact in _PLACEHOLDER:
        return math.nan
    match = _NUMBER.fullmatch(compact)
    if match is None:
        return f"temperature {compact!r} is not a number"
    value = float(match.group(2))
    if match.group(1) and match.group(1) != "+":
        value = -value + 0.0  # "-0.0℃" is 0.0, not a negative zero printed as "-0.0"
    return value


def _text_lines(text: str) -> list[tuple[int, str]]:
    return [(i, line) for i, line in enumerate(re.split(r"\r\n|\r|\n", text), 1) if line.strip()]


def _readings_from_lines(
    lines: Iterable[tuple[int, str]], names: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[_Invalid]]:
    words = _word_keys()
    rows: list[dict[str, Any]] = []
    invalid: list[_Invalid] = []

    def add(split: tuple[str, str], value: float, lineno: int) -> None:
        condition, name = split
        rows.append(
            {
                "station_name": name,
                "condition": condition,
                "condition_en": words.get(condition.replace(" ", ""), ""),
                "temperature_c": value,
                "line": lineno,
            }
        )

    for lineno, raw in lines:
        line = _normalise_line(raw)
        units = list(re.finditer("[℃℉]", line))
        if not units:
            # "맑음서울 -": a placeholder without a unit, for a known station only.
            match = _PLACEHOLDER_LINE.match(line)
            if match:
                seg = _STRONG_BULLETS.sub("", match["seg"], count=1).lstrip(_BULLETS)
                split = split_station_token(seg, names, words)
                if split is not None and split[1] in names:
                    add(split, math.nan, lineno)
            continue
        chunks = []
        prev = 0
        for unit in units:
            pre = line[prev : unit.start()]
            prev = unit.end()
            if len(pre) > _MAX_CHUNK:  # far too long for a reading: prose
                chunks.append((None, "", unit.group()))
                continue
            token = _VALUE_TOKEN.search(pre)
            assert token is not None  # the pattern matches the empty string
            raw_seg = pre[: token.start()]
            seg = _STRONG_BULLETS.sub("", raw_seg, count=1).lstrip(_BULLETS)
            glued = _GLUED_AFTER.match(line, unit.end()) is not None  # "25℃까지": prose
            split = None if glued else split_station_token(seg, names, words)
            if split is not None and not (
                split[1] in names
                or split[0].replace(" ", "") in words
                or seg.strip() != raw_seg.strip()  # a list item: "• 추풍녕 20.1℃"
            ):
                split = None  # neither station nor weather word: "최고 30℃", "기온(℃)"
            chunks.append((split, token.group(), unit.group()))
        if any(split is None for split, _, _ in chunks):
            continue  # prose that mentions a temperature
        # Text after the last reading: fine after several widget readings on one
        # line (a flattened page), prose otherwise ("대구 28℃, 광주 26℃ 안팎").
        if not _TAIL_OK.fullmatch(line[prev:]) and (
            len(chunks) == 1 or not all(split[0] for split, _, _ in chunks if split)
        ):
            continue
        for split, token, unit in chunks:
            assert split is not None
            if unit == "℉":
                why = "a Fahrenheit temperature (kwxmap reads °C)"
                invalid.append(_Invalid(lineno, raw, why))
                continue
            value = _value(token)
            if isinstance(value, str):
                invalid.append(_Invalid(lineno, raw, value))
            else:
                add(split, value, lineno)
    return rows, invalid


# --- tables -------------------------------------------------------------------------

_HEADER_ALIASES = {
    "station_id": ("station_id", "stn_id", "stnid", "stn", "지점", "지점번호", "id"),
    "station_name": ("station_name", "name_ko", "name", "지점명", "station"),
    "temperature_c": (
        "temperature_c", "temp_c", "temperature", "기온(℃)", "기온", "ta", "평균기온(℃)",
    ),
    "time": ("time", "datetime", "date", "일시", "tm", "observed_at"),
    "condition": ("condition", "weather", "날씨", "현재일기"),
}


# Ids are stored as Int64; KMA numbers have at most a few digits.
_MAX_STATION_ID = 2**63 - 1


def _header_key(cell: str) -> str:
    cell = unicodedata.normalize("NFC", cell).strip().strip('"').strip()
    return _CELSIUS.sub("℃", cell).lower().replace(" ", "")


def _table_columns(header: list[str]) -> dict[str, int] | None:
    keys = [_header_key(c) for c in header]
    found: dict[str, int] = {}
    for column, aliases in _HEADER_ALIASES.items():
        for alias in aliases:
            if alias in keys:
                found[column] = keys.index(alias)
                break
    if "temperature_c" in found and ("station_id" in found or "station_name" in found):
        return found
    return None


def _sniff_table(text: str) -> tuple[str, dict[str, int]] | None:
    for line in text.lstrip("\ufeff").splitlines()[:1]:
        for sep in (",", "\t", ";"):
            if sep in line:
                cols = _table_columns(next(csv.reader([line], delimiter=sep)))
                if cols is not None:
                    return sep, cols
    return None


def _rows(reader: Any) -> Iterable[list[str]]:
    """Yield the data rows of a csv reader (header skipped); csv errors are ParseErrors."""
    try:
        next(reader)
        yield from reader
    except csv.Error as exc:
        raise ParseError(
            f"line {reader.line_num}: cannot read the table: {exc}; check the quoting"
        ) from None


# KMA tables print Korea Standard Time; a time with a zone is converted to it.
_KST = datetime.timezone(datetime.timedelta(hours=9))


def _one_time(stamp: str) -> pd.Timestamp:
    for fmt in ("ISO8601", "mixed"):
        try:
            t = pd.Timestamp(pd.to_datetime(stamp, format=fmt))
        except (ValueError, OverflowError):
            continue
        return t.tz_convert(_KST).tz_localize(None) if t.tzinfo is not None else t
    return pd.NaT


def _parse_times(stamps: pd.Series) -> pd.Series:
    """Parse printed times to naive datetimes (KST wall time); NaT where unreadable."""
    try:
        parsed = pd.to_datetime(stamps, errors="coerce", format="ISO8601")
        if parsed.isna().any():
            retry = pd.to_datetime(stamps[parsed.isna()], errors="coerce", format="mixed")
            parsed = parsed.where(parsed.notna(), retry)
        if not pd.api.types.is_datetime64_any_dtype(parsed):
            raise ValueError("zoned and zone-less times")  # objects: read one by one
    except ValueError:  # pandas will not put several zones (or none and one) in one column
        unique = pd.unique(stamps)
        lookup = dict(zip(unique, map(_one_time, unique), strict=True))
        return pd.to_datetime(stamps.map(lookup))
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_convert(_KST).dt.tz_localize(None)
    return parsed


def _parse_table(
    text: str, sep: str, cols: dict[str, int]
) -> tuple[pd.DataFrame, list[_Invalid]]:
    words = _word_keys()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=sep)
    records: list[dict[str, Any]] = []
    invalid: list[_Invalid] = []
    for row in _rows(reader):
        lineno = reader.line_num
        if not any(cell.strip() for cell in row):
            continue

        def cell(column: str, row: list[str] = row) -> str:
            i = cols.get(column)
            return row[i].strip() if i is not None and i < len(row) else ""

        raw = sep.join(row)
        rec: dict[str, Any] = {"line": lineno}
        name = unicodedata.normalize("NFC", cell("station_name"))
        sid = cell("station_id")
        if not name and not sid:
            invalid.append(_Invalid(lineno, raw, "no station id or name"))
            continue
        if sid and not sid.isdecimal():  # isdigit() also takes "²", which int() rejects
            try:
                sid_value = float(sid) if "_" not in sid else math.nan  # float() takes "1_08"
            except ValueError:
                sid_value = math.nan
            if not (math.isfinite(sid_value) and sid_value.is_integer() and sid_value >= 0):
                invalid.append(_Invalid(lineno, raw, f"station id {sid!r} is not a number"))
                continue
            sid = str(int(sid_value))
        if sid and int(sid) > _MAX_STATION_ID:
            why = f"station id {sid!r} is too large for a KMA station number"
            invalid.append(_Invalid(lineno, raw, why))
            continue
        # read a cell as a widget value: full-width digits, "25.0 °C"
        temp = _normalise_line(cell("temperature_c")).removesuffix("℃").strip()
        value = _value(temp) if cell("temperature_c") else math.nan
        if temp.lower() in ("nan", "na", "n/a", "null", "none"):
            value = math.nan
        if isinstance(value, str):
            invalid.append(_Invalid(lineno, raw, value))
            continue
        condition = unicodedata.normalize("NFC", cell("condition"))
        rec.update(
            station_name=name,
            condition=condition,
            condition_en=words.get(condition.replace(" ", ""), ""),
            temperature_c=value,
        )
        if "station_id" in cols:
            rec["station_id"] = int(sid) if sid else pd.NA
        if "time" in cols:
            rec["time"] = cell("time")
        records.append(rec)
    frame = pd.DataFrame.from_records(records)
    if records and "time" in cols:
        stamps = frame["time"]
        parsed = _parse_times(stamps)
        bad = parsed.isna() & (stamps != "")
        for i in np.flatnonzero(bad.to_numpy()):
            stamp = stamps.iloc[i]
            invalid.append(
                _Invalid(int(frame["line"].iloc[i]), stamp, f"time {stamp!r} is not a date")
            )
        frame["time"] = parsed
        frame = frame[~bad.to_numpy()]
    if records and "station_id" in cols:
        frame["station_id"] = frame["station_id"].astype("Int64")
    return frame, invalid


# --- the public function ---------------------------------------------------------------


def _names(registry: StationRegistry | None) -> Mapping[str, Any]:
    if registry is None:
        from .stations import load_stations

        registry = load_stations()
    return registry.name_index()


def _frame(rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame.from_records(rows)
    extra = [c for c in ("time", "station_id") if c in frame.columns]
    frame = frame.reindex(columns=[*COLUMNS, *extra]).reset_index(drop=True)
    for column in ("station_name", "condition", "condition_en"):
        frame[column] = frame[column].fillna("").astype(str)
    frame["temperature_c"] = frame["temperature_c"].astype("float64")
    frame["line"] = frame["line"].astype("int64")
    return frame


def parse_readings(
    source: str | bytes | os.PathLike[str] | IO[str] | IO[bytes],
    *,
    encoding: str | None = None,
    on_invalid: str = "raise",
    registry: StationRegistry | None = None,
) -> pd.DataFrame:
    """Read station readings from scraped text, HTML, bytes or a table.

    Parameters
    ----------
    source
        The input, one of:

        - ``str``: the text itself. A one-line string (no line break) that
          names an existing file is read as that file's path; to be
          unambiguous pass a :class:`pathlib.Path` (a missing file is then
          an :class:`~kwxmap.errors.InputError`, not text).
        - ``bytes``: decoded with ``encoding``, else the charset the page
          declares (``<meta charset>``, ``http-equiv`` content), else UTF-8
          (with or without BOM), else CP949 (EUC-KR).
        - a path (:class:`os.PathLike`): the file's bytes, decoded as above.
        - a file object, text or binary.

        HTML is detected and read with a real parser (``html.parser``)
        and laid out as a browser shows it: ``<script>``, ``<style>``,
        ``<noscript>``, ``<template>`` and comments are dropped, block
        elements and ``<br>`` end lines, whitespace collapses, inline
        markup inside a reading does not split it, the cells of a table
        row form one line, and a weather icon's ``alt`` text counts when it
        is a known weather word. A table (CSV, tab or
        semicolon separated) whose header has ``station_id`` or
        ``station_name`` and ``temperature_c`` (or KMA's ``지점``,
        ``지점명``, ``일시``, ``기온(°C)``; or ``stn_id``, ``name_ko``,
        ``time``, ``temp_c``) is read as a table.
    encoding
        Codec of byte input, overriding any declared charset.
    on_invalid
        What to do with a line that looks like a reading but cannot be read
        (a temperature that is not a number, a Fahrenheit value, a table row
        without a station): ``"raise"`` a :class:`~kwxmap.errors.ParseError`
        naming the line, ``"warn"`` with a :class:`~kwxmap.errors.KwxmapWarning`
        and keep the other readings, or ``"ignore"`` it.
    registry
        The station registry whose names and aliases split glued tokens;
        ``load_stations()`` when None.

    Returns
    -------
    pandas.DataFrame
        One row per reading, in input order: ``station_name`` (as printed),
        ``condition`` (the weather word as printed, ``""`` when none),
        ``condition_en`` (English label of a known word, else ``""``),
        ``temperature_c`` (float; NaN for a placeholder such as ``-``),
        ``line`` (1-based line of the input; for HTML the line of the source
        where the reading's text starts; for tables the row's line). Tables
        that carry them add ``time`` (datetime64, naive, as printed; a time
        with a zone, such as ``+00:00``, is converted to KST) and
        ``station_id`` (Int64).

    Raises
    ------
    ParseError
        When no reading is found, the bytes cannot be decoded, or (with
        ``on_invalid="raise"``) a line is invalid.
    InputError
        When a path does not exist or cannot be read.

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
    >>> html_text = "<li><span>흐림</span><b>북춘천</b> <em>-3.4</em>&#8451;</li>"
    >>> row = parse_readings(html_text).iloc[0]
    >>> row["condition"], row["station_name"], float(row["temperature_c"])
    ('흐림', '북춘천', -3.4)
    """
    if on_invalid not in ON_INVALID:
        raise InputError(
            f"on_invalid={on_invalid!r} is not one of {', '.join(map(repr, ON_INVALID))}"
        )
    text = _source_text(source, encoding)
    if not text.strip():
        raise ParseError("the input is empty: no readings found")
    table = _sniff_table(text)
    if table is not None:
        frame, invalid = _parse_table(text, *table)
    else:
        names = _names(registry)
        if _MARKUP.search(text):
            lines = _html_lines(text)
        else:
            lines = _text_lines(text)
        rows, invalid = _readings_from_lines(lines, names)
        frame = pd.DataFrame.from_records(rows)
    if invalid:
        if on_invalid == "raise":
            first = invalid[0]
            more = f" (and {len(invalid) - 1} more)" if len(invalid) > 1 else ""
            raise ParseError(
                f"{first.message()}{more}; fix the input or pass on_invalid='warn' "
                "to skip invalid lines"
            )
        if on_invalid == "warn":
            for bad in invalid[:_MAX_WARNINGS]:
                warnings.warn(
                    f"skipped invalid {bad.message()}", KwxmapWarning, stacklevel=2
                )
            if len(invalid) > _MAX_WARNINGS:
                warnings.warn(
                    f"skipped {len(invalid) - _MAX_WARNINGS} more invalid lines",
                    KwxmapWarning,
                    stacklevel=2,
                )
    if len(frame) == 0:
        skipped = ""
        if invalid:
            plural = "s" if len(invalid) > 1 else ""
            skipped = f" ({len(invalid)} invalid line{plural} skipped)"
        if table is not None:
            raise ParseError(f"no readings found in the table{skipped}")
        hint = ""
        if isinstance(source, str) and _PATHLIKE_SUFFIX.search(source.strip()):
            hint = f" ({source!r} was read as text: no such file)"
        raise ParseError(
            f"no readings found in the input{hint}{skipped}; a reading looks "
            "like '맑음서울 24.5℃' (weather word, station name, temperature, unit)"
        )
    return _frame(frame)
