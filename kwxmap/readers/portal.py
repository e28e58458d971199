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

from ..errors import ParseError
from ._common import Context, Result, finish

__all__ = ["read_dd", "read_tim", "sniff_dd", "sniff_tim"]

_HEAD = "지점,지점명,일시,"
_TIM = {"tavg": "기온(℃)"}
_DD = {"tavg": "평균기온(℃)", "tmin": "최저기온(℃)", "tmax": "최고기온(℃)"}


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
    width = max(t_i, s_i, n_i, c_i) + 1
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    lines: list[int] = []
    stations: list[str] = []
    names: list[str] = []
    temps: list[str] = []
    times: list[str] = []
    texts: list[str] = []
    try:
        next(reader)
        for row in reader:
            if not row or not any(row):
                continue
            if len(row) < width:
                row = row + [""] * (width - len(row))
            lines.append(reader.line_num)
            stations.append(row[s_i])
            names.append(row[n_i])
            times.append(row[t_i])
            temps.append(row[c_i])
            texts.append(",".join(row[: width + 1]))
    except csv.Error as exc:
        raise ParseError(f"line {reader.line_num}: cannot read the {name} file: {exc}") from None
    return finish(
        lines=lines, stations=stations, temps=temps, texts=texts, times=times, names=names
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
