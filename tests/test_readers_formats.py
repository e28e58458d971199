"""Tests for kwxmap.readers: each KMA format read from a small fixture in its real format.

The fixtures in ``tests/fixtures`` are written for these tests (their own
numbers) in the layouts of KMA's API Hub typ01 text, the 기상자료개방포털
downloads and the 공공데이터포털 responses; the expected values below are
read off those files by eye, not by the readers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kwxmap import ParseError, parse_readings
from kwxmap.errors import InputError, KwxmapError
from kwxmap.readers import INPUT_FORMATS, READERS, VARIABLES, sniff_format
from kwxmap.readers._source import source_text

FIXTURES = Path(__file__).parent / "fixtures"

# fixture -> (format, [(station_id, time, temperature or NaN, missing reason)])
EXPECTED = {
    "aws2_min_disp0.txt": (
        "aws2_min",
        [
            (108, "2026-01-15 06:00", -3.4, ""),
            (112, "2026-01-15 06:00", -2.1, ""),
            (119, "2026-01-15 06:00", math.nan, "kma_code"),
            (133, "2026-01-15 06:00", 1.7, ""),
            (9991, "2026-01-15 06:00", 0.0, ""),
        ],
    ),
    "aws2_min_disp1_euckr.csv": (
        "aws2_min",
        [
            (108, "2026-01-15 06:01", -3.5, ""),
            (112, "2026-01-15 06:01", -2.0, ""),
            (119, "2026-01-15 06:01", math.nan, "kma_code"),
            (133, "2026-01-15 06:01", 1.6, ""),
        ],
    ),
    "aws2_min_resaved.csv": (
        "aws2_min",
        [
            (108, "2026-01-15 06:01", -3.6, ""),
            (112, "2026-01-15 06:01", -1.9, ""),
            (119, "2026-01-15 06:01", math.nan, "kma_code"),
        ],
    ),
    "sfctm2.txt": (
        "sfctm2",
        [
            (108, "2026-01-15 06:00", -4.0, ""),
            (159, "2026-01-15 06:00", 2.5, ""),
            (108, "2026-01-15 07:00", math.nan, "kma_code"),
            (159, "2026-01-15 07:00", 2.9, ""),
        ],
    ),
    "sfcdd.txt": (
        "sfcdd",
        [
            (108, "2026-01-14", -2.3, ""),
            (159, "2026-01-14", 3.4, ""),
            (108, "2026-01-15", math.nan, "kma_code"),
        ],
    ),
    "sfcdd_korean_header.csv": (
        "sfcdd",
        [(108, "2026-01-14", -2.2, ""), (159, "2026-01-14", 3.3, "")],
    ),
    "portal_dd_cp949.csv": (
        "portal_dd",
        [
            (400, "2026-01-14", -1.8, ""),
            (400, "2026-01-15", math.nan, "blank"),
            (401, "2026-01-14", -2.0, ""),
        ],
    ),
    "kma_portal_hourly_cp949.csv": ("portal_tim", None),
    "datagokr_hourly.json": (
        "datagokr_json",
        [
            (108, "2026-01-15 06:00", -4.1, ""),
            (159, "2026-01-15 06:00", 2.6, ""),
            (108, "2026-01-15 07:00", math.nan, "blank"),
        ],
    ),
    "datagokr_daily.xml": (
        "datagokr_xml",
        [(108, "2026-01-14", -2.4, ""), (159, "2026-01-14", 3.5, "")],
    ),
    "table_own_place.csv": (
        "table",
        [
            (108, "2026-01-15 06:00", -4.0, ""),
            (9001, "2026-01-15 06:00", -5.5, ""),
            (112, "2026-01-15 06:00", -3.1, ""),
        ],
    ),
    "widget_article.txt": ("widget", None),
    "widget_winter_euckr.html": ("widget", None),
}


def _rows(df: pd.DataFrame) -> list[tuple]:
    return [
        (int(s), pd.Timestamp(t), v, m)
        for s, t, v, m in zip(df["station_id"], df["time"], df["temperature_c"], df["missing"],
                              strict=True)
    ]


def _expected(rows: list[tuple]) -> list[tuple]:
    return [(s, pd.Timestamp(t), v, m) for s, t, v, m in rows]


def _same(got: list[tuple], want: list[tuple]) -> bool:
    def same_value(a: float, b: float) -> bool:
        return a == b or (math.isnan(a) and math.isnan(b))

    return len(got) == len(want) and all(
        g[:2] == w[:2] and g[3] == w[3] and same_value(g[2], w[2])
        for g, w in zip(got, want, strict=True)
    )


@pytest.mark.parametrize("name", [n for n, (_, rows) in EXPECTED.items() if rows])
def test_each_fixture_reads_to_its_values(name):
    fmt, rows = EXPECTED[name]
    df = parse_readings(FIXTURES / name)
    assert df.attrs["input_format"] == fmt
    assert _same(_rows(df), _expected(rows)), _rows(df)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_sniffing_order_every_fixture_is_its_own_format_and_no_other(name):
    fmt = EXPECTED[name][0]
    text = source_text(FIXTURES / name, None)
    assert sniff_format(text) == fmt
    others = [r.name for r in READERS if r.name not in (fmt, "widget") and r.sniff(text)]
    assert others == []


def test_a_missing_file_hint_only_for_files_that_do_not_exist(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("오늘은 맑습니다\n", encoding="utf-8")
    with pytest.raises(ParseError) as err:
        parse_readings(str(path))
    assert "no such file" not in str(err.value)
    with pytest.raises(ParseError, match="was read as text: no such file"):
        parse_readings(str(tmp_path / "missing.txt"))


def test_forcing_a_format_reads_with_that_reader_only():
    df = parse_readings(FIXTURES / "aws2_min_disp0.txt", input_format="aws2_min")
    assert len(df) == 5
    with pytest.raises(ParseError, match="no readings found in the input"):
        parse_readings(FIXTURES / "aws2_min_disp0.txt", input_format="widget")


@pytest.mark.parametrize(
    ("name", "variable", "values"),
    [
        ("sfcdd.txt", "tmin", [-6.8, -0.9, -7.2]),
        ("sfcdd.txt", "tmax", [2.1, 8.0, 1.0]),
        ("sfcdd_korean_header.csv", "tmin", [-6.9, -9.0]),  # -9.0 is a real reading
        ("portal_dd_cp949.csv", "tmin", [-6.1, -7.0, -6.5]),
        ("portal_dd_cp949.csv", "tmax", [3.2, 1.9, 3.0]),
        ("datagokr_daily.xml", "tmin", [-6.7, -0.8]),
        ("datagokr_daily.xml", "tmax", [2.2, 8.1]),
    ],
)
def test_daily_variables(name, variable, values):
    df = parse_readings(FIXTURES / name, variable=variable)
    assert df["temperature_c"].tolist() == values


def test_names_and_choices_are_exported():
    assert INPUT_FORMATS == (
        "datagokr_json", "datagokr_xml", "aws2_min", "sfctm2", "sfcdd",
        "portal_dd", "portal_tim", "table", "widget",
    )
    assert VARIABLES == ("tavg", "tmin", "tmax")


def test_multi_timestamp_input_is_a_long_table_with_time():
    df = parse_readings(FIXTURES / "sfctm2.txt")
    assert df["time"].nunique() == 2
    assert df["time"].dtype.kind == "M"
    assert df.groupby("time")["station_id"].apply(list).to_dict() == {
        pd.Timestamp("2026-01-15 06:00"): [108, 159],
        pd.Timestamp("2026-01-15 07:00"): [108, 159],
    }


# --- bad input: one clear KwxmapError -------------------------------------------------------


def _text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("source", "kwargs", "error", "match"),
    [
        # a truncated typ01 response: no end marker
        (lambda: _text("aws2_min_disp0.txt").split("#7777END")[0][:-40], {}, ParseError,
         "truncated"),
        # the last row of a re-saved file cut short
        (lambda: _text("aws2_min_resaved.csv")[:-30], {}, ParseError, "cut short"),
        # a cut JSON / XML response
        (lambda: _text("datagokr_hourly.json")[:200], {}, ParseError, "cut short or broken"),
        (lambda: _text("datagokr_daily.xml")[:300], {}, ParseError, "cut short or broken"),
        # an HTML error page instead of data
        (lambda: "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway"
                 "</h1><hr>nginx</body></html>", {}, ParseError, "titled '502 Bad Gateway'.*"
                 "error page"),
        # data.go.kr errors
        (lambda: '{"response":{"header":{"resultCode":"03","resultMsg":"NO_DATA"}}}', {},
         ParseError, "resultCode '03'.*NO_DATA"),
        (lambda: "<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR</errMsg>"
                 "<returnAuthMsg>SERVICE_KEY_IS_NOT_REGISTERED_ERROR</returnAuthMsg>"
                 "</cmmMsgHeader></OpenAPI_ServiceResponse>", {}, ParseError,
         "SERVICE_KEY_IS_NOT_REGISTERED_ERROR"),
        # wrong variable
        (lambda: _text("aws2_min_disp0.txt"), {"variable": "tmin"}, ParseError,
         "variable='tmin': aws2_min input has only tavg"),
        (lambda: _text("datagokr_hourly.json"), {"variable": "tmax"}, ParseError,
         "no maxTa field"),
        (lambda: _text("sfcdd.txt"), {"variable": "tmean"}, InputError,
         "variable='tmean' is not one of tavg, tmin, tmax"),
        (lambda: "• 맑음서울 3.1℃", {"variable": "tmin"}, InputError, "needs a daily input"),
        (lambda: "x", {"input_format": "csv"}, InputError,
         "input_format='csv' is not one of datagokr_json, .*widget"),
        # a file mixing formats
        (lambda: _text("aws2_min_disp0.txt").replace(
            "#7777END", "202601150600,140,0,0,0,0,0,0,2.0,0,0,0,0,0,50,1015,1022,-9.0,=\n#7777END"),
         {}, ParseError, "comma-separated row in a space-aligned aws2_min file: the file mixes"),
        (lambda: _text("aws2_min_disp0.txt") + _text("sfctm2.txt"), {}, ParseError,
         "text after '#7777END'"),
        # a station list is not readings
        (lambda: "# STN LON LAT STN_SP HT\n 90 128.56 38.25 0 18.1\n", {}, ParseError,
         "kwxmap stations --update FILE"),
        (lambda: "STN,LON,LAT,STN_SP,HT\n   90  128.5  38.2 35100 17.5\n", {}, ParseError,
         "a KMA station list"),
        (lambda: "지점,시작일,종료일,지점명,지점주소,관리관서,위도,경도\n"
                 "90,1968-01-01,,속초,,,38.2,128.5\n", {}, ParseError, "a KMA station list"),
    ],
)
def test_bad_inputs_are_one_clear_error(source, kwargs, error, match):
    with pytest.raises(error, match=match):
        parse_readings(source(), **kwargs)


# --- hostile input (#13): linear time and KwxmapError only ----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "서울" + " " * 40_000 + "맑음",
        "x" * 40_000 + " -",
        "x" * 1_000_000 + " -",
        "•" + " " * 100_000 + "-",
        "<div" + " " * 200_000,
        "<!--" + "a" * 200_000,
        "<script>" + "<" * 100_000,
    ],
    ids=["spaces", "x-dash", "1MB-line", "bullet-spaces", "open-tag", "open-comment", "script"],
)
def test_long_lines_parse_in_linear_time(text):
    import time

    start = time.perf_counter()
    with pytest.raises(ParseError, match="no readings found"):
        parse_readings(text)
    assert time.perf_counter() - start < 3.0


def test_a_one_megabyte_line_of_readings_reads_every_one():
    df = parse_readings("• 맑음서울 3.1℃ " * 40_000)
    assert len(df) == 40_000


@pytest.mark.parametrize("encoding", ["rot13", "base64", "undefined", "hex", "zlib"])
def test_non_text_encodings_are_parse_errors(encoding):
    with pytest.raises(ParseError, match=f"unknown encoding '{encoding}'"):
        parse_readings("• 맑음서울 3.1℃".encode(), encoding=encoding)


def test_a_page_declaring_charset_undefined_is_read_as_utf8():
    page = '<html><head><meta charset="undefined"></head><body><p>• 맑음서울 3.1℃</p></body></html>'
    df = parse_readings(page.encode("utf-8"))
    assert df["temperature_c"].tolist() == [3.1]


def test_csv_time_of_minus_one_is_an_invalid_row():
    text = "station_id,time,temperature_c\n108,2026-01-15 06:00,1.0\n108,-1,2.0\n"
    with pytest.raises(ParseError, match=r"line 3: time '-1' is not a date"):
        parse_readings(text)
    assert len(parse_readings(text, on_invalid="ignore")) == 1


def test_station_id_of_5000_digits_is_an_invalid_row():
    with pytest.raises(ParseError, match="is too large for a KMA station number"):
        parse_readings("station_id,temperature_c\n" + "9" * 5000 + ",1.0\n")


def test_typ01_station_id_of_5000_digits_is_an_invalid_row():
    text = _text("aws2_min_disp0.txt").replace("202601150600   108", "202601150600 " + "9" * 5000)
    with pytest.raises(ParseError, match="station id is not a KMA station number"):
        parse_readings(text)
    assert len(parse_readings(text, on_invalid="ignore")) == 4


def test_mutated_fixtures_raise_nothing_but_kwxmap_errors():
    """A seeded slice of the fuzz harness: byte flips, cuts, splices of every fixture."""
    rng = np.random.default_rng(13)
    files = sorted(FIXTURES.iterdir())
    outcomes = {"read": 0, "error": 0}
    for _ in range(400):
        data = bytearray(files[rng.integers(len(files))].read_bytes())
        for _ in range(rng.integers(1, 6)):
            op = rng.integers(4)
            at = int(rng.integers(len(data) + 1))
            if op == 0 and data:
                data[min(at, len(data) - 1)] = int(rng.integers(256))
            elif op == 1:
                del data[at : at + int(rng.integers(1, 200))]
            elif op == 2:
                other = files[rng.integers(len(files))].read_bytes()
                s = int(rng.integers(len(other)))
                data[at:at] = other[s : s + int(rng.integers(1, 300))]
            else:
                data[at:at] = bytes(rng.choice([b"\x00", b",", b"\n", b"-99.9", b"<", b"="]))
        try:
            parse_readings(bytes(data), on_invalid="warn")
            outcomes["read"] += 1
        except KwxmapError:
            outcomes["error"] += 1
    assert outcomes["read"] > 50 and outcomes["error"] > 50, outcomes


# --- the command line -----------------------------------------------------------------------


def test_cli_parse_input_format_and_variable(capsys):
    from kwxmap.cli import main

    assert main(["parse", str(FIXTURES / "sfcdd.txt"), "--variable", "tmin"]) == 0
    out = capsys.readouterr()
    rows = list(csv_rows(out.out))
    assert [(r["station_id"], r["temperature_c"]) for r in rows] == [
        ("108", "-6.8"), ("159", "-0.9"), ("108", "-7.2"),
    ]
    assert "3 of 3 readings placed" in out.err


def csv_rows(text: str):
    import csv
    import io

    return csv.DictReader(io.StringIO(text))


def test_cli_wrong_variable_is_one_line_and_writes_nothing(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "readings.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "kwxmap", "parse", str(FIXTURES / "aws2_min_disp0.txt"),
         "--variable", "tmax", "-o", str(out)],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
        env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "kwxmap: error: variable='tmax': aws2_min input has only tavg"
    ]
    assert not out.exists()
    proc = subprocess.run(
        [sys.executable, "-m", "kwxmap", "parse", "-", "--input-format", "nope"],
        capture_output=True, text=True, input="",
    )
    assert proc.returncode == 2 and "invalid choice: 'nope'" in proc.stderr


def test_a_multi_day_typ01_file_goes_straight_to_render_batch(tmp_path):
    """A long table from kma_sfcdd: one map per day, the chosen daily variable."""
    from kwxmap import render_batch

    stations = {108: (1.0, 6.0), 159: (5.0, 11.0), 143: (2.0, 8.0), 156: (3.0, 9.0),
                133: (1.5, 7.0), 105: (2.5, 7.5)}
    rows = []
    for day, shift in (("20260114", 0.0), ("20260115", 2.0)):
        for stn, (avg, tmax) in stations.items():
            fields = [day, str(stn), "2.1", "180", "27", "4.0", "1432", "27", "7.1", "1410",
                      f"{avg + shift:.1f}", f"{tmax + shift:.1f}", "1445", "-5.0", "0630"]
            rows.append(" ".join(fields + ["-9.0"] * 41))
    text = "#START7777\n" + "\n".join(rows) + "\n#7777END\n"
    result = render_batch(
        text.encode(), tmp_path / "maps", method="idw", resolution=20000, tiles=None,
        variable="tmax",
    )
    assert not result.failed
    assert [p.name[:10] for p in result.maps] == ["2026-01-14", "2026-01-15"]
    page = result.maps[1].read_text(encoding="utf-8")
    assert "13.0" in page  # 부산's maximum on the second day (11.0 + 2.0), not its mean


def test_messages_quote_up_to_60_characters():
    from kwxmap.readers._common import show

    assert show("  " + "가" * 60 + " ") == repr("가" * 60)
    assert show("가" * 61) == repr("가" * 59 + "…")  # 60 characters with the ellipsis


def test_a_station_number_has_at_most_nine_digits():
    from kwxmap.readers._common import station_ids

    ids, bad = station_ids(["123456789", "1234567890", "108"])
    assert bad.tolist() == [False, True, False]
    assert ids[0] == 123456789 and ids[2] == 108


def test_more_than_1000_invalid_rows_are_all_counted():
    rows = "".join(f"108,x{i}\n" for i in range(1500))
    text = "station_id,temperature_c\n109,1.5\n" + rows
    with pytest.raises(ParseError, match=r"line 3: .*'x0'.*\(and 1499 more\)"):
        parse_readings(text)
    with pytest.raises(ParseError, match=r"\(1500 invalid lines skipped\)"):
        parse_readings("station_id,temperature_c\n" + rows, on_invalid="ignore")


def test_a_path_the_os_cannot_open_is_one_input_error():
    name = "x" * 300 + ".txt"  # longer than a file name may be (255 bytes)
    with pytest.raises(InputError, match=r"^cannot read '.*x\.txt': File name too long$"):
        parse_readings(Path(name))


def test_a_one_letter_file_name_is_read_as_a_file(tmp_path, monkeypatch):
    (tmp_path / "a").write_text("• 맑음서울 1.5℃\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert parse_readings("a")["temperature_c"].tolist() == [1.5]


def test_a_too_long_station_id_is_quoted_whole_up_to_30_characters():
    for sid, shown in (("9" * 30, "9" * 30), ("9" * 31, "9" * 29 + "…")):
        with pytest.raises(ParseError, match=f"station id '{shown}' is too large"):
            parse_readings(f"station_id,temperature_c\n{sid},1.0\n")


def test_lon_lat_win_over_x_y_and_need_no_crs():
    got = parse_readings("station_id,temperature_c,lon,lat,x,y\n9001,1.0,127.04,37.6,5,6\n")
    assert got[["lon", "lat"]].values.tolist() == [[127.04, 37.6]]
    assert "x" not in got.columns and "y" not in got.columns


def test_x_y_in_epsg_5179_read_as_lon_lat():
    # EPSG:5179 lists northing first; the table's x is the easting all the same
    text = "station_id,temperature_c,x,y\n9001,-5.5,1000000.0,2000000.0\n"  # 127.5 E, 38 N
    got = parse_readings(text, crs="EPSG:5179")
    assert got[["lon", "lat"]].round(4).values.tolist() == [[127.5, 38.0]]


def test_a_lone_lon_column_is_no_place():
    got = parse_readings("station_id,temperature_c,lon\n108,1.0,127.04\n")
    assert "lon" not in got.columns and got["temperature_c"].tolist() == [1.0]


def test_lon_lat_limits_are_inclusive():
    text = ("station_id,temperature_c,lon,lat\n9001,1,180,90\n9002,2,180.5,37\n"
            "9003,3,127,90.5\n9004,4,-180,-90\n")
    with pytest.raises(ParseError, match=r"line 3: lon/lat is not a place.*'lon=180\.5, lat=37\.0'"
                       r" \(and 1 more\)"):
        parse_readings(text)
    got = parse_readings(text, on_invalid="ignore")
    assert got[["station_id", "lon", "lat"]].values.tolist() == [[9001, 180, 90],
                                                                 [9004, -180, -90]]


def test_a_geodataframe_or_its_plain_dataframe_is_placed_by_its_points():
    import geopandas as gpd

    gdf = gpd.GeoDataFrame({"station_id": [9001], "temperature_c": [-5.5]},
                           geometry=gpd.points_from_xy([127.04], [37.6]), crs=4326).to_crs(5179)
    for frame in (gdf, pd.DataFrame(gdf)):  # the plain frame keeps a geometry column
        got = parse_readings(frame)
        assert got[["lon", "lat"]].round(6).values.tolist() == [[127.04, 37.6]]


def test_headerless_aws2_rows_are_sniffed_by_their_18_fields():
    rows = [ln for ln in _text("aws2_min_disp0.txt").splitlines()
            if ln.strip() and not ln.startswith("#")]
    assert sniff_format("\n".join(rows)) == "aws2_min"
    assert sniff_format(rows[0] + " 1.0") != "aws2_min"  # 19 fields: not an aws2 row


def test_a_note_line_after_a_stn_comment_header_does_not_stop_the_sniff():
    rows = [ln for ln in _text("aws2_min_disp0.txt").splitlines()
            if ln.strip() and not ln.startswith("#")]
    text = "#  YYMMDDHHMI STN  TA\nnote: 1-minute data\n" + "\n".join(rows)
    assert sniff_format(text) == "aws2_min"
    assert sniff_format("note: 1-minute data\n" + "\n".join(rows)) != "aws2_min"


def test_a_comma_row_in_a_space_aligned_typ01_file_is_quoted_to_60_characters():
    text = _text("aws2_min_disp0.txt")
    row = "202601150600,119," + ",".join(["1.0"] * 16)
    lines = text.splitlines()
    at = next(k for k, ln in enumerate(lines) if ln.startswith("2026"))
    lines.insert(at + 1, row)
    with pytest.raises(ParseError) as info:
        parse_readings("\n".join(lines))
    message = str(info.value)
    assert f"line {at + 2}: a comma-separated row in a space-aligned aws2_min file" in message
    assert message.endswith(f"({row[:60]!r})") and len(row) > 60


def test_an_sfctm2_row_has_at_most_60_fields():
    lines = _text("sfctm2.txt").splitlines()
    at = next(k for k, ln in enumerate(lines) if ln[:1].isdigit())
    fields = lines[at].split()
    padded = fields + ["0.0"] * (60 - len(fields))
    lines[at] = " ".join(padded)
    assert len(parse_readings("\n".join(lines))) == len(parse_readings(_text("sfctm2.txt")))
    lines[at] = " ".join(padded + ["0.0"])
    with pytest.raises(ParseError, match=f"line {at + 1}: 61 fields where sfctm2 rows have 30"):
        parse_readings("\n".join(lines))


def test_a_blank_line_in_a_portal_file_keeps_the_line_numbers():
    text = ("지점,지점명,일시,기온(°C),강수량(mm)\n108,서울,2024-01-15 06:00,-5.2,\n\n"
            "108,서울,2024-01-15 07:00,x1,\n")
    with pytest.raises(ParseError, match=r"^line 4: temperature is not a number"):
        parse_readings(text)


def test_na_in_a_portal_file_is_text_not_a_missing_value():
    """KMA's portal leaves a missing reading blank; 'NA' or 'N/A' in its temperature or
    station column is foreign text, reported (pandas' default NA strings are not taken)."""
    text = ("지점,지점명,일시,기온(°C),강수량(mm)\n108,서울,2024-01-15 06:00,-5.2,\n"
            "108,서울,2024-01-15 07:00,NA,\n108,서울,2024-01-15 08:00,,\n")
    with pytest.raises(ParseError, match=r"^line 3: temperature is not a number in "
                       r"'108,서울,2024-01-15 07:00,NA'"):
        parse_readings(text)
    got = parse_readings(text, on_invalid="ignore")
    assert got["temperature_c"].tolist()[0] == -5.2 and len(got) == 2  # the blank is missing
    assert math.isnan(got["temperature_c"].tolist()[1])


def _datagokr(items) -> str:
    return json.dumps({"response": {"header": {"resultCode": "00", "resultMsg": "OK"},
                                    "body": {"items": {"item": items}}}}, ensure_ascii=False)


def test_datagokr_items_must_be_objects():
    with pytest.raises(ParseError, match="response.body.items.item is not a list of objects"):
        parse_readings(_datagokr([1, "x"]), input_format="datagokr_json")


def test_datagokr_without_the_variable_names_the_temperatures_it_has():
    item = {"tm": "2024-01-15", "stnId": "108", "stnNm": "서울", "avgTa": "-5.2"}
    with pytest.raises(ParseError, match=r"no minTa field \(temperatures present: avgTa\)"):
        parse_readings(_datagokr([item]), input_format="datagokr_json", variable="tmin")


def test_more_than_1000_invalid_rows_of_a_portal_file_are_all_counted():
    rows = "".join(f"108,서울,2024-01-15 06:00,x{i},\n" for i in range(1500))
    text = "지점,지점명,일시,기온(°C),강수량(mm)\n108,서울,2024-01-15 05:00,1.0,\n" + rows
    with pytest.raises(ParseError, match=r"^line 3: temperature is not a number in "
                       r"'108,서울,2024-01-15 06:00,x0' \(and 1499 more\)"):
        parse_readings(text)
    got = parse_readings(text, on_invalid="ignore")
    assert got["temperature_c"].tolist() == [1.0]


def test_datagokr_json_is_an_object_with_a_response_member():
    from kwxmap.readers.datagokr import sniff_json

    assert sniff_json(' \ufeff{"response": {"header": {}}}')
    assert not sniff_json('{"station_id": 108, "temperature_c": 1.5}')  # JSON, not data.go.kr
    assert not sniff_json('station,"response"\n108,1.5\n')  # the word, but no JSON object


def test_datagokr_invalid_items_are_quoted_with_their_korean_text():
    item = {"tm": "2024-01-15 06:00", "stnId": "108", "stnNm": "서울", "ta": "x"}
    with pytest.raises(ParseError, match='"stnNm": "서울"'):
        parse_readings(_datagokr([item]), input_format="datagokr_json")
