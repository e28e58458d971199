"""Scraped widget text and HTML (input format ``widget``): the fallback reader.

News sites and portals copy KMA's current-weather table as a small widget in
which the weather word is glued to the station name::

    • 맑음동두천 26.0℃
    • 구름많음강릉 28.0℃
    • 맑음홍성(예) 23.7℃

This reader finds those readings inside a whole page of unrelated text
(plain text, or HTML laid out as a browser shows it by a linear tokenizer)
and splits each glued token into weather word and station name with the
station registry. Every pattern runs on bounded text or without
backtracking, so a page is read in time linear in its size.

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

import bisect
import csv
import html
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import pandas as pd

from .._data import data_path
from ._common import Context, Invalid, Result

__all__ = ["read", "sniff", "split_station_token", "weather_words"]

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
_TOKEN_CHARS = re.compile(r"[가-힣()/,][가-힣0-9()/, ]*")  # AWS names may end in a digit: 양주1
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
    >>> split_station_token("맑음양주1", {"양주1": 98})
    ('맑음', '양주1')
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
        if head.replace(" ", "") in words and tail and " " not in tail and _HANGUL.match(tail):
            return head.strip(), tail
    if " " not in s:
        return "", s
    return None


# --- HTML -------------------------------------------------------------------------

# Every pattern below is linear in its input: no two unbounded loops can match the
# same characters (one "[\s/]*" rather than "\s*/?\s*", a tag's attributes start with
# a character its name cannot hold), so a "<" followed by 100,000 spaces or letters
# costs one scan of them. tests/test_linear.py times each path at 1, 2, 4 and 8 x.
_MARKUP = re.compile(
    r"<[\s/]*(html|head|body|div|p|span|br|table|tr|td|th|li|ul|ol|dl|dt|dd|meta|"
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


_LAYOUT_TAGS = re.compile(
    r"<\s*(?:" + "|".join(sorted(_BLOCK_TAGS | _CELL_TAGS | {"br"})) + r")\b", re.IGNORECASE
)


# One token of HTML: a comment start, a declaration (<!doctype ...>, <?xml ...?>),
# or a start/end tag. Tags stop at the next "<", so a stray "<" costs one short scan.
_HTML_TOKEN = re.compile(
    r"<(?:(!--)|[!?][^<>]*>|(/?)([A-Za-z][A-Za-z0-9:-]*)((?:[^<>A-Za-z0-9:-][^<>]*)?)>)"
)
_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
# Elements whose content is raw text up to their end tag.
_RAW_TEXT = ("script", "style", "textarea", "xmp", "plaintext")


def _alt(attrs: str) -> str | None:
    """Return an image's ``alt`` text."""
    alt = _ALT.search(attrs)
    if alt is None:
        return None
    return html.unescape(next(g for g in alt.groups() if g is not None))


class _Layout:
    """Lay out HTML text as a browser shows it, one token at a time (linear, no tree).

    Positions are offsets in the source; they become line numbers only for
    the lines that are kept (a binary search in the newline offsets).
    """

    def __init__(self, text: str, keep_breaks: bool) -> None:
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.keep_breaks = keep_breaks
        self.words = _word_keys()
        self.lines: list[tuple[int, str]] = []
        self.buf: list[str] = []
        self.start: int | None = None  # source offset of the line's first text
        self.drop = 0  # depth inside <script>, <style>, <head> ...
        self.pre = 0  # depth inside <pre> and its kin

    def flush(self) -> None:
        if self.start is not None:
            joined = "".join(self.buf)
            if joined.strip():
                self.lines.append((bisect.bisect_left(self.newlines, self.start) + 1, joined))
        self.buf.clear()
        self.start = None

    def starttag(self, tag: str, alt: str | None, at: int) -> None:
        if tag == "body" and self.drop:  # an unclosed <head> ends where <body> starts
            self.drop = 0
        if tag in _DROP_TAGS:
            self.drop += 1
            return
        if self.drop:
            return
        if tag == "br":
            self.flush()
        elif tag == "img":
            if alt and alt.strip() and alt.replace(" ", "") in self.words:
                self.data(f" {alt.strip()} ", at)
        elif tag in _BLOCK_TAGS:
            self.flush()
        elif tag in _CELL_TAGS:
            self.buf.append(" ")
        if tag in _PRE_TAGS:
            self.pre += 1

    def endtag(self, tag: str) -> None:
        if tag in _DROP_TAGS:
            self.drop = max(0, self.drop - 1)
            return
        if self.drop:
            return
        if tag in _PRE_TAGS:
            self.pre = max(0, self.pre - 1)
        if tag in _BLOCK_TAGS:
            self.flush()
        elif tag in _CELL_TAGS:
            self.buf.append(" ")

    def data(self, piece: str, at: int) -> None:
        if self.drop:
            return
        if "&" in piece:
            piece = html.unescape(piece)  # offsets inside shift; lines stay right
        hard = self.keep_breaks or self.pre > 0
        if "\n" not in piece:
            if self.start is None and not piece.isspace():
                self.start = at
            self.buf.append(piece)
            return
        offset = at
        for k, part in enumerate(piece.split("\n")):
            if k:
                if hard:
                    self.flush()
                else:
                    self.buf.append(" ")
            if self.start is None and part.strip():
                self.start = offset
            self.buf.append(part)
            offset += len(part) + 1


def _html_lines(text: str) -> list[tuple[int, str]]:
    r"""Return the visible text of an HTML document as lines with source line numbers.

    Text is laid out as a browser would: block elements and ``<br>`` end a
    line, whitespace (newlines included) collapses except inside ``<pre>``,
    inline elements do not split text, so
    ``<span>흐림</span><strong>북춘천</strong> <em>-3.4</em>℃`` stays one line,
    and the cells of a table row are one line. A weather icon's ``alt`` text
    counts when it is a known weather word. A document without any block
    element (text with stray inline tags) keeps its line breaks. Each line
    carries the line of the HTML source where its text starts. The page is
    read token by token (no tree), in time and memory linear in its size.

    Examples
    --------
    >>> _html_lines("<ul><li><b>맑음</b>서울 <em>3.1</em>℃</li>\n<li>흐림 부산 5℃</li></ul>")
    [(1, '맑음서울 3.1℃'), (2, '흐림 부산 5℃')]
    """
    layout = _Layout(text, keep_breaks=_LAYOUT_TAGS.search(text) is None)
    n = len(text)
    pos = 0
    while pos < n:
        m = _HTML_TOKEN.search(text, pos)
        if m is None:
            layout.data(text[pos:], pos)
            break
        start, end = m.span()
        if start > pos:
            layout.data(text[pos:start], pos)
        comment, slash, tag, attrs = m.groups()
        if comment:  # a comment runs to "-->", or to the end when unclosed
            close = text.find("-->", end)
            end = n if close < 0 else close + 3
        elif tag:
            tag = tag.lower()
            if slash:
                layout.endtag(tag)
                pos = end
                continue
            alt = _alt(attrs) if tag == "img" else None
            layout.starttag(tag, alt, start)
            if attrs.endswith("/") and tag not in ("br", "img"):
                layout.endtag(tag)  # <div/>: opened and closed
            elif tag in _RAW_TEXT:  # raw text up to the end tag
                close_tag = re.compile(rf"</{tag}\s*>", re.IGNORECASE).search(text, end)
                stop = n if close_tag is None else close_tag.start()
                if stop > end:
                    layout.data(text[end:stop], end)
                end = stop
        pos = end
    layout.flush()
    return layout.lines


# --- text lines to readings -------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９．－", "0123456789.-")
_CELSIUS = re.compile(r"[°º˚]\s?C(?![A-Za-z])|&#8451;|&#x2103;")
_FAHRENHEIT = re.compile(r"℉|[°º˚]\s?F(?![A-Za-z])")
_BULLETS = "•·‧∙●○◦◎▶▷►▸▹◆◇■□▪▫※*-–—|,;:ㆍ/>→ "
# Bullets that only ever mark list items: text before one is not part of the reading.
_STRONG_BULLETS = "•·‧∙●○◦◎▶▷►▸▹◆◇■□▪▫※|ㆍ*→>-–—"
_MINUS = "-‐‑‒−–﹣－"
_VALUE_TOKEN = re.compile(rf"(?:[{_MINUS}+]\s?)?[^\s가-힣()]*\s*$")
_NUMBER = re.compile(rf"([{_MINUS}+]?)\s?([0-9]{{1,3}}(?:\.[0-9]*)?|\.[0-9]+)")  # 25. .5
_PLACEHOLDER = frozenset({"-", "--", "―", "—", "−", "–", "―――", "---"})
_PLACEHOLDER_WORDS = frozenset({"-", "--", "---", "―", "—", "−"})
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


_STRONG_BULLET = re.compile("[" + re.escape(_STRONG_BULLETS) + "]")
# A line can hold a reading only with a unit sign, or a placeholder at its end.
_MAY_READ = re.compile(r"[℃℉°º˚]|&#(?:8451|x2103);|[-―—−]\s*$")


def _after_bullet(seg: str) -> str:
    """Drop everything up to the last strong bullet (one scan of the reversed text)."""
    last = _STRONG_BULLET.search(seg[::-1])
    return (seg[len(seg) - last.start() :] if last else seg).lstrip(_BULLETS)


def _placeholder_segment(line: str) -> str | None:
    """Return the text before a trailing ``-`` placeholder (``맑음서울 -``), else None."""
    parts = line.rstrip().rsplit(None, 1)
    if not parts or parts[-1] not in _PLACEHOLDER_WORDS:
        return None
    if len(parts) == 1:
        return "" if line[:1].isspace() else None
    return parts[0]


@lru_cache(maxsize=4096)
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
) -> tuple[list[dict[str, Any]], list[Invalid]]:
    words = _word_keys()
    rows: list[dict[str, Any]] = []
    invalid: list[Invalid] = []
    splits: dict[str, tuple[str, str] | None] = {}  # a page repeats its tokens

    def split_of(seg: str) -> tuple[str, str] | None:
        if seg not in splits:
            splits[seg] = split_station_token(seg, names, words)
        return splits[seg]

    def add(split: tuple[str, str], value: float, lineno: int) -> None:
        condition, name = split
        rows.append(
            {
                "station_name": name,
                "condition": condition,
                "condition_en": words.get(condition.replace(" ", ""), ""),
                "temperature_c": value,
                "line": lineno,
                "missing": "placeholder" if math.isnan(value) else "",
            }
        )

    for lineno, raw in lines:
        if _MAY_READ.search(raw) is None:
            continue
        line = _normalise_line(raw)
        units = list(re.finditer("[℃℉]", line))
        if not units:
            # "맑음서울 -": a placeholder without a unit, for a known station only.
            placeholder = _placeholder_segment(line)
            if placeholder is not None:
                seg = _after_bullet(placeholder)
                split = split_of(seg)
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
            seg = _after_bullet(raw_seg)
            glued = _GLUED_AFTER.match(line, unit.end()) is not None  # "25℃까지": prose
            split = None if glued else split_of(seg)
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
                invalid.append(Invalid(lineno, raw, why))
                continue
            value = _value(token)
            if isinstance(value, str):
                invalid.append(Invalid(lineno, raw, value))
            else:
                add(split, value, lineno)
    return rows, invalid



def sniff(head: str) -> bool:
    """Any text may hold a widget: the reader tried last.

    Examples
    --------
    >>> sniff("• 맑음서울 24.5℃")
    True
    """
    return True


def read(text: str, context: Context) -> Result:
    r"""Read widget readings from text or HTML (see the module docstring).

    Examples
    --------
    >>> names = {"북강릉": 104, "서울": 108}
    >>> r = read("• 맑음북강릉 26.0℃\n• 흐림서울 -", Context(names=lambda: names))
    >>> r.frame[["station_name", "temperature_c", "missing"]].values.tolist()
    [['북강릉', 26.0, ''], ['서울', nan, 'placeholder']]
    """
    lines = _html_lines(text) if _MARKUP.search(text) else _text_lines(text)
    rows, invalid = _readings_from_lines(lines, context.names())
    return Result(pd.DataFrame.from_records(rows), invalid)
