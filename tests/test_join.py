"""Tests for kwxmap.join (readings to stations) and the ``kwxmap parse`` command."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from kwxmap import (
    JoinError,
    JoinReport,
    KwxmapWarning,
    UnknownStationError,
    join_readings,
    load_stations,
    parse_readings,
)
from kwxmap.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
ARTICLE = FIXTURES / "widget_article.txt"
WINTER_HTML = FIXTURES / "widget_winter_euckr.html"
PORTAL_CSV = FIXTURES / "kma_portal_hourly_cp949.csv"
ROOT = Path(__file__).resolve().parents[1]
REGISTRY = load_stations()


def kma_2017_ids() -> dict[str, int]:
    """Printed name -> id from KMA's 2017 current-weather page (an independent source)."""
    path = ROOT / "scripts" / "sources" / "kma_currentweather_2017_95names_to_ids.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["name_on_2017_kma_page"]: int(row["stn_id"]) for row in csv.DictReader(fh)}


# --- the seed-shaped page ------------------------------------------------------------------


def test_article_joins_to_the_ids_kma_printed():
    gdf = join_readings(parse_readings(ARTICLE))
    truth = kma_2017_ids()
    assert len(gdf) == 26
    assert gdf["station_id"].tolist() == [truth[n] for n in gdf["station_name"]]
    by_name = gdf.set_index("station_name")
    assert by_name.loc["홍성(예)", "station_id"] == 177
    assert by_name.loc["강진군", "station_id"] == 259
    assert by_name.loc["고산", "station_id"] == 185
    assert by_name.loc["고산", "temperature_c"] == 18.1
    assert gdf.attrs["join_report"].summary() == "26 of 26 readings placed"


def test_output_frame_shape_crs_and_geometry():
    gdf = join_readings(parse_readings(ARTICLE), REGISTRY)
    assert isinstance(gdf, gpd.GeoDataFrame)
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf.columns) == [
        "station_id",
        "station_name",
        "name_ko",
        "name_en",
        "network",
        "elevation_m",
        "condition",
        "condition_en",
        "temperature_c",
        "line",
        "geometry",
    ]
    assert gdf["station_id"].dtype == "int64"
    for sid, point, elev, net in zip(gdf["station_id"], gdf.geometry, gdf["elevation_m"],
                                     gdf["network"], strict=True):
        st = REGISTRY.get(sid)
        assert (point.x, point.y) == (st.lon, st.lat)
        assert elev == st.elevation_m and net == st.network
        assert 124 < point.x < 132 and 33 < point.y < 39


def test_winter_html_joins_other_stations():
    gdf = join_readings(parse_readings(WINTER_HTML))
    ids = dict(zip(gdf["station_name"], gdf["station_id"], strict=True))
    assert ids["북강릉"] == 104 and ids["대관령"] == 100
    assert ids["진도(첨찰산)"] == 175 and ids["세종(예)"] == 239
    report = gdf.attrs["join_report"]
    assert report.missing_values == [(95, 28)]  # 맑음철원 -℃ kept as NaN
    assert math.isnan(gdf.set_index("station_id").loc[95, "temperature_c"])


# --- unknown stations --------------------------------------------------------------------

UNKNOWN = "• 맑음서울 24.5℃\n• 맑음추풍녕 20.1℃\n• 흐림부산 21.0℃"


def test_unknown_station_names_line_and_suggestions():
    with pytest.raises(UnknownStationError, match=r"line 2: unknown station '추풍녕'") as info:
        join_readings(parse_readings(UNKNOWN))
    assert info.value.line == 2
    assert "추풍령" in info.value.suggestions
    assert isinstance(info.value, KeyError)


def test_unknown_station_from_a_known_weather_word():
    readings = parse_readings("• 맑음뉴욕 12.0℃\n• 맑음서울 1.0℃")
    with pytest.raises(UnknownStationError, match=r"line 1: unknown station '뉴욕'"):
        join_readings(readings)


def test_ambiguous_name_is_unknown_with_choices():
    with pytest.raises(UnknownStationError, match="ambiguous") as info:
        join_readings(parse_readings("• 맑음진도 1.0℃"))
    assert set(info.value.suggestions) == {"진도(첨찰산)", "진도군"}


def test_on_unknown_warn_keeps_the_rest_and_reports():
    with pytest.warns(KwxmapWarning, match=r"line 2: unknown station '추풍녕'") as record:
        gdf = join_readings(parse_readings(UNKNOWN), on_unknown="warn")
    assert all(Path(w.filename) == Path(__file__) for w in record)
    assert gdf["station_id"].tolist() == [108, 159]
    report = gdf.attrs["join_report"]
    assert [(n, ln) for n, ln, _ in report.unknown] == [("추풍녕", 2)]
    assert "추풍령" in report.unknown[0][2]
    assert report.summary() == (
        "only 2 of 3 readings placed (33 % not); not placed: 1 unknown station — add newer "
        "stations with `kwxmap stations --update FILE` (a KMA station list), check --network, "
        "or give the readings lon/lat"
    )


def test_on_unknown_ignore_is_quiet_but_reported():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gdf = join_readings(parse_readings(UNKNOWN), on_unknown="ignore")
    assert len(gdf) == 2 and len(gdf.attrs["join_report"].unknown) == 1


@pytest.mark.parametrize("mode", ["warn", "ignore"])
def test_no_known_station_at_all_is_an_error(mode):
    readings = parse_readings("• 맑음뉴욕 1.0℃\n• 흐림파리 2.0℃")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KwxmapWarning)
        with pytest.raises(
            JoinError,
            match=r"no known station among the 2 readings "
            r"\(first: line 1: unknown station '뉴욕'",
        ):
            join_readings(readings, on_unknown=mode)


# --- duplicates --------------------------------------------------------------------------

DUPES = "• 맑음서울 24.0℃\n• 흐림부산 21.0℃\n• 구름많음서울 25.0℃"


def test_duplicate_raises_naming_both_lines():
    with pytest.raises(
        JoinError,
        match=r"station 108 .*line 1 .*24 °C.* and line 3 .*25 °C"
        r".*on_duplicate='first', 'last' or 'mean'",
    ):
        join_readings(parse_readings(DUPES))


@pytest.mark.parametrize(
    ("policy", "value", "condition"),
    [("first", 24.0, "맑음"), ("last", 25.0, "구름많음"), ("mean", 24.5, "맑음")],
)
def test_duplicate_policies(policy, value, condition):
    gdf = join_readings(parse_readings(DUPES), on_duplicate=policy)
    assert gdf["station_id"].tolist().count(108) == 1
    row = gdf.set_index("station_id").loc[108]
    assert row["temperature_c"] == value and row["condition"] == condition
    report = gdf.attrs["join_report"]
    assert report.duplicates == [(108, [1, 3])]
    assert report.summary().endswith(
        f"2 of 3 readings placed (33 % not); not placed: 1 duplicate of a station merged ({policy})"
    )


def test_alias_and_name_of_one_station_are_duplicates():
    with pytest.raises(JoinError, match="station 177"):
        join_readings(parse_readings("맑음홍성(예) 1.0℃\n맑음홍성 1.5℃"))


def test_same_station_at_different_times_is_not_a_duplicate():
    gdf = join_readings(parse_readings(PORTAL_CSV))
    assert len(gdf) == 6
    assert gdf.attrs["join_report"].duplicates == []
    assert pd.api.types.is_datetime64_any_dtype(gdf["time"])
    with pytest.raises(JoinError, match=r"at 2024-01-15 06:00"):
        join_readings(pd.concat([parse_readings(PORTAL_CSV)] * 2))


# --- implausible and missing values ----------------------------------------------------------


def test_implausible_value_raises_by_default():
    readings = parse_readings("• 맑음서울 24.5℃\n• 맑음대구 245℃")
    with pytest.raises(
        JoinError,
        match=r"line 2: '대구' temperature 245 °C is outside"
        r" the plausible range -50\.\.50",
    ):
        join_readings(readings)


def test_implausible_nan_and_keep():
    readings = parse_readings("• 맑음서울 24.5℃\n• 맑음대구 245℃\n• 맑음대관령 -49.9℃")
    with pytest.warns(KwxmapWarning, match="implausible temperature 245 °C blanked"):
        gdf = join_readings(readings, on_implausible="nan")
    assert math.isnan(gdf["temperature_c"].iloc[1])
    assert gdf["temperature_c"].iloc[2] == -49.9  # inside the bound (-50 is KMA's missing code)
    report = gdf.attrs["join_report"]
    assert report.implausible == [(143, 2, 245.0)]
    assert report.summary().endswith(
        "2 of 3 readings placed (33 % not); not placed: 1 implausible blanked"
    )
    with pytest.warns(KwxmapWarning, match="kept"):
        gdf = join_readings(readings, on_implausible="keep")
    assert gdf["temperature_c"].iloc[1] == 245.0


def test_missing_values_are_kept_and_reported():
    gdf = join_readings(parse_readings("• 맑음서울 -℃\n• 맑음부산 --\n• 맑음대구 1.0℃"))
    assert gdf["temperature_c"].isna().tolist() == [True, True, False]
    assert gdf.attrs["join_report"].missing_values == [(108, 1), (159, 2)]
    summary = gdf.attrs["join_report"].summary()
    assert (
        summary
        == "only 1 of 3 readings placed (67 % not); not placed: 2 missing values (2 placeholder)"
    )


# --- registry dates ----------------------------------------------------------------------------


def test_as_of_uses_names_of_that_day():
    readings = parse_readings("• 맑음홍성(예) 23.7℃\n• 맑음고창 25.3℃")
    now = join_readings(readings)
    assert now["name_ko"].tolist() == ["홍성", "고창"]
    then = join_readings(readings, as_of="2016-10-27")
    assert then["station_id"].tolist() == [177, 172]
    assert then["name_ko"].tolist() == ["홍성(예)", "고창"]
    # 고창 meant another station before the current one opened
    old = REGISTRY.as_of("2009-01-01").lookup("고창").station_id
    assert join_readings(readings.iloc[[1]], as_of="2009-01-01")["station_id"].tolist() == [old]


def test_as_of_before_a_station_opened_is_unknown():
    with pytest.raises(UnknownStationError, match="line 1: unknown station '세종'"):
        join_readings(parse_readings("• 흐림세종 1.0℃"), as_of="2016-01-01")


def test_bad_as_of():
    with pytest.raises(JoinError, match="as_of='yesterday'.*YYYY-MM-DD"):
        join_readings(parse_readings("• 맑음서울 1.0℃"), as_of="yesterday")


def test_time_column_looks_up_each_reading_on_its_day():
    table = "time,station_name,temperature_c\n2009-01-01,고창,1\n2020-01-01,고창,2\n"
    gdf = join_readings(parse_readings(table))
    assert gdf["station_id"].tolist() == [
        REGISTRY.as_of("2009-01-01").lookup("고창").station_id,
        REGISTRY.as_of("2020-01-01").lookup("고창").station_id,
    ]


def test_id_only_table_gets_registry_names():
    gdf = join_readings(parse_readings("station_id,temperature_c\n108,1.0\n185,2\n"))
    assert gdf["station_name"].tolist() == ["서울", "고산"]
    with pytest.raises(UnknownStationError, match="unknown station '7'"):
        join_readings(parse_readings("station_id,temperature_c\n7,1.0\n"))


def test_user_frames_with_ids():
    frame = pd.DataFrame(
        {
            "station_id": [108.0, "185", None],
            "station_name": ["", "", "부산"],
            "temperature_c": [1, 2, 3],
        }
    )
    assert join_readings(frame)["station_id"].tolist() == [108, 185, 159]
    bad = pd.DataFrame({"station_id": ["x"], "temperature_c": [1.0]})
    with pytest.raises(JoinError, match="line 1: station_id 'x' is not a KMA station number"):
        join_readings(bad)
    named = pd.DataFrame({"station_id": [7], "station_name": ["서울"], "temperature_c": [1.0]})
    with pytest.raises(UnknownStationError, match=r"unknown station '서울 \(7\)'"):
        join_readings(named)


@pytest.mark.parametrize("sid", [108.7, math.inf, -math.inf])
def test_user_frame_id_that_is_not_a_whole_number(sid):
    frame = pd.DataFrame({"station_id": [sid], "temperature_c": [1.0]})
    with pytest.raises(JoinError, match=r"line 1: station_id .* is not a KMA station number"):
        join_readings(frame)


def test_user_frame_line_that_is_not_finite_falls_back_to_the_row():
    frame = pd.DataFrame({"station_id": [108], "temperature_c": [1.0], "line": [math.inf]})
    assert join_readings(frame)["line"].tolist() == [1]


@pytest.mark.parametrize(
    ("times", "match"),
    [
        (["2024-01-01 00:00", "yesterday"], r"line 2: time 'yesterday' is not a date"),
        (["2024-01-01T00:00+09:00", "2024-01-01T00:00"], r"mixes times with and without"),
    ],
)
def test_user_frame_times_that_are_not_dates(times, match):
    frame = pd.DataFrame({"station_id": [108, 105], "temperature_c": [1.0, 2.0], "time": times})
    with pytest.raises(JoinError, match=match):
        join_readings(frame)


def test_daily_table_joins_every_row():
    path = ROOT / "examples" / "data" / "kma_asos_daily_2020.csv"
    readings = parse_readings(path)
    gdf = join_readings(readings)
    assert len(gdf) == len(readings)
    assert (gdf["station_id"].to_numpy() == readings["station_id"].to_numpy()).all()


def test_hostile_name_kept_as_data():
    hostile = "<img src=x onerror=alert(1)>"
    readings = pd.DataFrame({"station_name": [hostile, "서울"], "temperature_c": [1.0, 2.0]})
    with pytest.warns(KwxmapWarning):
        gdf = join_readings(readings, on_unknown="warn")
    assert gdf.attrs["join_report"].unknown[0][0] == hostile
    assert gdf["line"].tolist() == [2]  # row position when there is no line column


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "valid"),
    [
        ("on_unknown", "skip", "'raise', 'warn', 'ignore'"),
        ("on_duplicate", "drop", "'raise', 'first', 'last', 'mean'"),
        ("on_implausible", "clip", "'raise', 'nan', 'keep'"),
    ],
)
def test_options_are_validated(option, value, valid):
    with pytest.raises(ValueError, match=rf"{option}='{value}' is not one of {valid}"):
        join_readings(parse_readings("맑음서울 1℃"), **{option: value})


def test_bad_inputs():
    with pytest.raises(TypeError, match="use parse_readings"):
        join_readings("맑음서울 1℃")  # type: ignore[arg-type]
    with pytest.raises(JoinError, match="temperature_c"):
        join_readings(pd.DataFrame({"station_name": ["서울"]}))
    with pytest.raises(JoinError, match="not numbers"):
        join_readings(pd.DataFrame({"station_name": ["서울"], "temperature_c": ["warm"]}))


def test_report_summary():
    report = JoinReport(
        n_readings=4, n_joined=3, n_placed=2, unknown=[("x", 1, [])], missing_values=[(108, 2)]
    )
    assert report.not_placed == {"unknown station": 1, "missing value": 1}
    assert report.summary().startswith(
        "only 2 of 4 readings placed (50 % not); not placed: 1 unknown station — add newer"
    )
    assert report.summary().endswith("lon/lat, 1 missing value")
    few = JoinReport(n_readings=40, n_joined=40, n_placed=37, missing_values=[(1, 2)] * 3)
    assert few.summary() == "37 of 40 readings placed; not placed: 3 missing values"


# --- CLI -------------------------------------------------------------------------------------

REQUIRED = ["station_id", "station_name", "condition", "temperature_c", "lon", "lat"]


def test_cli_parse_csv_to_file(tmp_path, capsys):
    out = tmp_path / "readings.csv"
    assert main(["parse", str(ARTICLE), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.strip() == "26 of 26 readings placed"
    table = pd.read_csv(out, encoding="utf-8")
    assert set(REQUIRED) <= set(table.columns)
    truth = kma_2017_ids()
    assert table["station_id"].tolist() == [truth[n] for n in table["station_name"]]
    assert [p.name for p in tmp_path.iterdir()] == ["readings.csv"]  # no temp files left


def test_cli_parse_json_and_geojson(tmp_path, capsys):
    assert main(["parse", str(WINTER_HTML), "-o", str(tmp_path / "r.json")]) == 0
    records = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert set(REQUIRED) <= set(records[0])
    assert [r["temperature_c"] for r in records if r["station_id"] == 95] == [None]
    assert main(["parse", str(WINTER_HTML), "-o", str(tmp_path / "r.geojson")]) == 0
    gdf = gpd.read_file(tmp_path / "r.geojson")
    assert len(gdf) == 12 and gdf.crs.to_epsg() == 4326
    assert gdf.geometry.x.tolist() == [r["lon"] for r in records]


def test_cli_parse_stdin_to_stdout(monkeypatch, capsys):
    data = "· 맑음서울 1.5℃\n· 흐림세종(예) -2.0℃".encode("cp949")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["parse", "-", "--format", "json"]) == 0
    captured = capsys.readouterr()
    records = json.loads(captured.out)
    assert [(r["station_id"], r["temperature_c"]) for r in records] == [(108, 1.5), (239, -2.0)]
    assert captured.err.strip() == "2 of 2 readings placed"


def test_cli_unknown_warns_by_default_and_raise_fails(tmp_path, capsys):
    src = tmp_path / "w.txt"
    src.write_text(UNKNOWN, encoding="utf-8")
    assert main(["parse", str(src)]) == 0
    err = capsys.readouterr().err
    assert "warning: left out line 2: unknown station '추풍녕'" in err
    assert "only 2 of 3 readings placed (33 % not); not placed: 1 unknown station" in err
    out = tmp_path / "o.csv"
    assert main(["parse", str(src), "--on-unknown", "raise", "-o", str(out)]) == 1
    assert "line 2: unknown station '추풍녕'; did you mean '추풍령'" in capsys.readouterr().err
    assert not out.exists()


def test_cli_errors(tmp_path, capsys):
    assert main(["parse", str(tmp_path / "missing.txt")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["parse", str(ARTICLE), "-o", str(tmp_path / "out.xlsx")]) == 1
    assert "--format" in capsys.readouterr().err
    noise = tmp_path / "noise.txt"
    noise.write_text("기상청 제공\n", encoding="utf-8")
    assert main(["parse", str(noise)]) == 1
    assert "no readings found" in capsys.readouterr().err
    assert main(["parse", str(ARTICLE), "--on-unknown", "maybe"]) == 2
    dupes = tmp_path / "d.txt"
    dupes.write_text(DUPES, encoding="utf-8")
    assert main(["parse", str(dupes)]) == 1
    assert main(["parse", str(dupes), "--on-duplicate", "mean"]) == 0


def test_cli_parse_subprocess(tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, "-m", "kwxmap", "parse", str(PORTAL_CSV), "--format", "json"],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    records = json.loads(proc.stdout.decode("utf-8"))
    assert [r["time"] for r in records[:2]] == ["2024-01-15T06:00:00", "2024-01-15T07:00:00"]
    assert proc.stderr.decode("utf-8").strip() == (
        "only 5 of 6 readings placed (17 % not); not placed: 1 missing value (1 blank)"
    )


def test_a_station_read_many_times_is_one_short_line():
    """A page that repeats one reading 5,000 times: the error quotes three and counts
    the rest (it listed every one: a 100 KB 'one line')."""
    from kwxmap.errors import JoinError

    readings = parse_readings("\n".join(["• 맑음서울 3.0℃"] * 5000))
    with pytest.raises(JoinError) as err:
        join_readings(readings)
    assert str(err.value) == (
        "station 108 (서울) is read 5000 times: line 1 ('서울' 3 °C) and line 2 ('서울' 3 °C) "
        "and line 3 ('서울' 3 °C) (and 4997 more); keep one with on_duplicate='first', "
        "'last' or 'mean'"
    )


def test_a_station_number_has_at_most_18_digits():
    """18 digits still fit an int64 id (an unknown station); 19 are not a station number."""
    from kwxmap.errors import JoinError

    ok = pd.DataFrame({"station_id": ["1" * 18, "108", "159"], "temperature_c": [1.0, 2.0, 3.0]})
    assert len(join_readings(ok, on_unknown="ignore")) == 2
    bad = ok.assign(station_id=["1" * 19, "108", "159"])
    with pytest.raises(JoinError, match=r"^line 1: station_id '1{19}' is not a KMA station"):
        join_readings(bad, on_unknown="ignore")


def test_plausible_temperatures_include_the_bounds():
    """-50 and 50 °C are plausible; just beyond is implausible."""
    from kwxmap.errors import JoinError

    edge = pd.DataFrame({"station_id": [108, 159, 105], "temperature_c": [-50.0, 50.0, 20.0]})
    assert join_readings(edge)["temperature_c"].tolist() == [-50.0, 50.0, 20.0]
    with pytest.raises(JoinError, match=r"temperature 50.1 °C is outside the plausible range"):
        join_readings(edge.assign(temperature_c=[-50.0, 50.1, 20.0]))


def test_the_implausible_warning_points_at_the_caller():
    edge = pd.DataFrame({"station_id": [108, 159, 105], "temperature_c": [-50.0, 50.1, 20.0]})
    with pytest.warns(KwxmapWarning, match="implausible temperature 50.1") as rec:
        join_readings(edge, on_implausible="keep")
    assert rec[0].filename == __file__


def test_the_first_duplicate_in_reading_order_is_named():
    twice = parse_readings("• 맑음부산 1.0℃\n• 맑음서울 2.0℃\n• 맑음부산 1.5℃\n• 맑음서울 2.5℃")
    with pytest.raises(Exception, match=r"^station 159 \(부산\) is read 2 times"):
        join_readings(twice)
