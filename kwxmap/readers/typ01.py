"""KMA API Hub ``typ01`` text: ``nph-aws2_min``, ``kma_sfctm2`` and ``kma_sfcdd``.

The API Hub (apihub.kma.go.kr) answers ``typ01`` requests with plain text:
``#`` help and header lines between ``#START7777`` and ``#7777END``, then one
row per station and time, either whitespace-aligned (``disp=0``) or comma
separated with a closing ``,=`` (``disp=1``). Values at or below -50 mean
"no observation" (the help text: ``-50 이하면 관측이 없거나, 에러처리된 것``).
Columns are read **by position**, as documented, never by the printed header
(the EUC-KR ``wea`` files misprint ``WD10`` as ``WS10``).

Field orders and where they come from:

``aws2_min`` (``cgi-bin/url/nph-aws2_min``, AWS/ASOS one-minute, all stations)
    ``TM STN WD1 WS1 WDS WSS WD10 WS10 TA RE RN-15m RN-60m RN-12H RN-DAY HM
    PA PS TD``: the ``# YYMMDDHHMI STN …`` header and help lines of the
    service's own responses (the raw files listed in the reference
    ``obs/raw/MANIFEST.csv``); ``TA`` is field 9 (index 8). The same rows
    re-saved as CSV under a ``TIME,STN,WD1,…`` header read the same way.
``sfctm2`` (``url/kma_sfctm2.php``, ASOS hourly)
    ``TM STN WD WS GST_WD GST_WS GST_TM PA PS PT PR TA TD HM PV RN …``: the
    API Hub's column list for ``kma_sfctm2`` (as quoted in the
    AIP4/FInal_Project README); ``TA`` is field 12 (index 11).
``sfcdd`` (``url/kma_sfcdd.php``, ASOS daily)
    ``TM STN WS_AVG WR_DAY WD_MAX WS_MAX WS_MAX_TM WD_INS WS_INS WS_INS_TM
    TA_AVG TA_MAX TA_MAX_TM TA_MIN TA_MIN_TM …`` (56 fields): the API Hub's
    column list for ``kma_sfcdd`` (as used in Programmers-FinalProject/
    Temp_Trend), which the Korean header of re-saved files confirms
    (관측일, 지점번호, … 일평균기온, 최고기온, 최고기온시각, 최저기온): ``TA_AVG``
    index 10, ``TA_MAX`` 11, ``TA_MIN`` 13. Re-saved rows may end in a comma.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ParseError
from ._common import Context, Invalid, Result, finish

__all__ = ["AWS2_MIN", "SFCDD", "SFCTM2", "Layout"]

_START, _END = "#START7777", "#7777END"
_TM12 = re.compile(r"[0-9]{12}")
_TM8 = re.compile(r"[0-9]{8}")


@dataclass(frozen=True)
class Layout:
    """Where a typ01 service puts the time, station and temperatures.

    Attributes
    ----------
    name
        The input format name.
    time_digits
        12 (``YYYYMMDDHHMI``) or 8 (``YYYYMMDD``).
    min_fields, max_fields
        How many fields a data row of this service has.
    temperature
        Field index of each temperature variable.
    header_marks
        Words of the printed header that name this service.
    """

    name: str
    time_digits: int
    min_fields: int
    max_fields: int
    temperature: dict[str, int]
    header_marks: tuple[str, ...]

    @property
    def time_format(self) -> str:
        """The strftime format of the time field."""
        return "%Y%m%d%H%M" if self.time_digits == 12 else "%Y%m%d"

    def _fields(self, line: str) -> list[str]:
        if "," in line:
            parts = line.split(",")
            while parts and parts[-1].strip() in ("", "="):
                parts.pop()
            return parts
        return line.split()

    def _looks_like_row(self, line: str) -> bool:
        fields = self._fields(line)
        tm = _TM12 if self.time_digits == 12 else _TM8
        return (
            bool(fields)
            and tm.fullmatch(fields[0].strip()) is not None
            and self.min_fields <= len(fields) <= self.max_fields
        )

    def sniff(self, head: str) -> bool:
        """Return True when ``head`` (the start of the input) is this service's text."""
        # The rows decide: a header copied from another service (sfctm2 rows under
        # the daily header) must not make every row "truncated". A header mark
        # decides only when the head holds no row.
        header_seen = marked = False
        for line in head.splitlines()[:200]:
            text = line.strip()
            if not text:
                continue
            words = set(re.split(r"[\s,]+", text.lstrip("#").strip()))
            if text[0].isdigit():  # a row of this service, of another, or malformed
                if self._looks_like_row(text):
                    return True
                others = (AWS2_MIN, SFCTM2, SFCDD)
                return marked and not any(o._looks_like_row(text) for o in others)
            has_mark = any(mark in words for mark in self.header_marks)
            if text.startswith("#"):
                marked = marked or has_mark
                header_seen = header_seen or "STN" in words
                continue
            if _ANY_MARK & words:  # a re-saved file's header line (TIME,STN,...,TA)
                marked = marked or has_mark
                continue
            if not header_seen:
                return False  # a line of another format (a widget line, prose)
        return marked

    def read(self, text: str, context: Context) -> Result:
        """Read the rows; a truncated response or a mix of formats is a ParseError."""
        index = self.temperature.get(context.variable)
        if index is None:
            raise ParseError(
                f"variable={context.variable!r}: {self.name} input has only "
                f"{', '.join(sorted(self.temperature))}"
            )
        lines_no: list[int] = []
        stations: list[str] = []
        temps: list[str] = []
        times: list[str] = []
        texts: list[str] = []
        invalid: list[Invalid] = []
        started = ended = False
        sep: str | None = None
        last_short: int | None = None
        for lineno, line in enumerate(text.splitlines(), 1):
            text_line = line.strip()
            if not text_line:
                continue
            if text_line.startswith("#"):
                started |= text_line.startswith(_START)
                ended |= text_line.startswith(_END)
                continue
            if ended:
                raise ParseError(
                    f"line {lineno}: text after {_END!r}: the file joins several "
                    f"responses or formats; give one {self.name} response per file"
                )
            if not text_line[0].isdigit() and not stations and not invalid:
                continue  # the header of a re-saved CSV: TIME,STN,... or 관측일,지점번호,...
            row_sep = "," if "," in text_line else " "
            if sep is None:
                sep = row_sep
            elif row_sep != sep:
                kind = {",": "comma-separated", " ": "space-aligned"}
                raise ParseError(
                    f"line {lineno}: a {kind[row_sep]} row in a {kind[sep]} {self.name} "
                    f"file: the file mixes formats; keep one format per file "
                    f"({text_line[:60]!r})"
                )
            fields = self._fields(text_line)
            if not self.min_fields <= len(fields) <= self.max_fields or index >= len(fields):
                why = f"{len(fields)} fields where {self.name} rows have {self.min_fields}"
                if len(fields) < self.min_fields:
                    last_short = lineno
                invalid.append(Invalid(lineno, text_line, why))
                continue
            last_short = None
            lines_no.append(lineno)
            times.append(fields[0])
            stations.append(fields[1])
            temps.append(fields[index])
            texts.append(text_line)
        if started and not ended:
            raise ParseError(
                f"the {self.name} response is truncated (no {_END!r} after "
                f"{len(stations)} rows); download it again"
            )
        if last_short is not None:
            raise ParseError(
                f"line {last_short}: the last {self.name} row is cut short; the file is "
                "truncated, download it again"
            )
        result = finish(
            lines=lines_no,
            stations=stations,
            temps=temps,
            texts=texts,
            times=times,
            time_format=self.time_format,
        )
        result.invalid[:0] = invalid
        return result


AWS2_MIN = Layout(
    name="aws2_min",
    time_digits=12,
    min_fields=18,
    max_fields=18,
    temperature={"tavg": 8},
    header_marks=("WD1", "WS1", "RN-15m"),
)
SFCTM2 = Layout(
    name="sfctm2",
    time_digits=12,
    min_fields=30,
    max_fields=60,
    temperature={"tavg": 11},
    header_marks=("GST_WD", "GST", "GST_TM"),
)
SFCDD = Layout(
    name="sfcdd",
    time_digits=8,
    min_fields=50,
    max_fields=60,
    temperature={"tavg": 10, "tmax": 11, "tmin": 13},
    header_marks=("TA_AVG", "관측일", "WS_AVG"),
)
# A re-saved file's header line of any typ01 service (rows follow).
_ANY_MARK = {m for layout in (AWS2_MIN, SFCTM2, SFCDD) for m in layout.header_marks}
