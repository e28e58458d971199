"""A typ01 file is read by its rows, whatever header it was saved under.

Users paste API Hub rows under headers copied from other services' answers:
hourly ``kma_sfctm2`` rows under the daily ``kma_sfcdd`` header, or daily
rows under the hourly one. The rows' own shape (12 or 8 time digits, field
count) decides; the values are the ones the rows carry at ``TA`` /
``TA_AVG``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kwxmap.readers import parse_readings

FIXTURES = Path(__file__).parent / "fixtures"
DAILY_HEADER = "# TM STN WS_AVG WR_DAY WD_MAX WS_MAX WS_MAX_TM WD_INS WS_INS WS_INS_TM TA_AVG"
KOREAN_DAILY_HEADER = "관측일,지점번호,평균풍속,풍정합,최대풍향,최대풍속,최대풍속시각"


def _rows(name: str) -> list[str]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line[:1].isdigit()]


@pytest.mark.parametrize("header", [DAILY_HEADER, KOREAN_DAILY_HEADER])
def test_hourly_sfctm2_rows_under_the_daily_header(header):
    rows = _rows("sfctm2.txt")
    readings = parse_readings("#START7777\n" + header + "\n" + "\n".join(rows) + "\n#7777END\n"
                              if header.startswith("#") else header + "\n" + "\n".join(rows))
    assert readings.attrs["input_format"] == "sfctm2"
    # TA is field 12 of each row; -99.0 is KMA's missing code
    want = [float(r.split()[11]) for r in rows]
    got = readings["temperature_c"].tolist()
    assert [g for g in got if g == g] == [w for w in want if w > -50]
    assert readings["time"].tolist() == [pd.Timestamp(r[:4] + "-" + r[4:6] + "-" + r[6:8] + " "
                                                      + r[8:10] + ":" + r[10:12]) for r in rows]


def test_daily_rows_under_the_hourly_header_read_as_daily():
    rows = _rows("sfcdd.txt")
    hourly_header = "# YYMMDDHHMI STN  WD   WS GST  GST  GST     PA     PS PT    PR    TA"
    readings = parse_readings("#START7777\n" + hourly_header + "\n" + "\n".join(rows)
                              + "\n#7777END\n", variable="tmin")
    assert readings.attrs["input_format"] == "sfcdd"
    assert readings["temperature_c"].tolist() == [float(r.split()[13]) for r in rows]


@pytest.mark.parametrize("text, fmt", [
    ("맑음서울 -50.0℃\n맑음부산 1.0℃\n맑음대구 -49.9℃\n", "widget"),
    ("station_id,temperature_c\n108,-50.0\n159,1.0\n143,-49.9\n", "table"),
])
def test_a_printed_minus_50_is_never_a_reading(text, fmt):
    readings = parse_readings(text)
    assert readings.attrs["input_format"] == fmt
    assert readings["missing"].tolist() == ["kma_code", "", ""]
    assert readings["temperature_c"].tolist()[1:] == [1.0, -49.9]
    assert readings["temperature_c"].isna().tolist() == [True, False, False]


def test_euc_kr_is_read_as_cp949():
    # 똠 is in CP949 but not in EUC-KR proper: a page saying euc-kr means CP949
    data = "<meta charset='euc-kr'>맑음똠방 24.5℃ 맑음서울 1.0℃".encode("cp949")
    for readings in (parse_readings(data, on_invalid="warn"),
                     parse_readings(data, encoding="euc-kr", on_invalid="warn")):
        assert readings["station_name"].tolist() == ["똠방", "서울"]
