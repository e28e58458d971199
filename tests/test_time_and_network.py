"""Readings of the whole network, at the time the user chose, in KST.

Every value here is worked by hand from the small tables written in each
test: which rows a ``--time`` keeps, what an offset converts to, which
stations a ``--network`` resolves.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kwxmap import load_stations
from kwxmap.errors import InputError
from kwxmap.kmatime import cf_time, select_time, to_kst
from kwxmap.pipeline import load_joined
from kwxmap.readers import parse_readings

# Three stations at two hours; AWS 400 (강남) and 410 (기상청), ASOS 108 (서울).
SERIES = (
    "time,station_id,temperature_c\n"
    "2026-12-01 09:00,108,-3.2\n"
    "2026-12-01 09:00,400,-4.0\n"
    "2026-12-01 09:00,410,-6.5\n"
    "2026-12-01 10:00,108,-1.0\n"
    "2026-12-01 10:00,400,-2.0\n"
    "2026-12-01 10:00,410,-5.5\n"
)


def kwxmap_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kwxmap", *args], input=stdin, capture_output=True,
        text=True, check=False,
    )


@pytest.mark.parametrize("stamp", ["2026-12-01T01:00Z", "2026-12-01T01:00+00:00",
                                   "2026-12-01T10:00+09:00", "2026-12-01 10:00"])
def test_time_keeps_the_readings_of_that_kst_hour(stamp):
    joined = load_joined(SERIES, time=stamp, one_time=True)
    assert joined.set_index("station_id")["temperature_c"].to_dict() == {
        108: -1.0, 400: -2.0, 410: -5.5}
    assert (joined["time"] == pd.Timestamp("2026-12-01 10:00")).all()


def test_a_time_the_file_lacks_lists_the_nearest_it_has():
    with pytest.raises(InputError, match=r"no time 2026-12-01 12:00 \(KST\); nearest: "
                       r"2026-12-01 10:00, 2026-12-01 09:00$"):
        load_joined(SERIES, time="2026-12-01 12:00")


@pytest.mark.parametrize("zone, hour", [("Z", "18:00"), ("+00:00", "18:00"), ("+09:00", "09:00"),
                                        ("+05:30", "12:30"), ("", "09:00")])
def test_table_times_with_an_offset_are_read_as_kst(zone, hour):
    text = f"time,station_id,temperature_c\n2026-12-01T09:00{zone},108,-3.2\n"
    readings = parse_readings(text)
    assert readings["time"].tolist() == [pd.Timestamp(f"2026-12-01 {hour}")]


def test_to_kst_converts_every_zone_and_refuses_words():
    assert to_kst("2026-12-31T23:30Z") == pd.Timestamp("2027-01-01 08:30")
    assert to_kst(pd.Timestamp("2026-12-01 00:00", tz="UTC")) == pd.Timestamp("2026-12-01 09:00")
    with pytest.raises(InputError, match="not a time"):
        to_kst("noon")
    t = pd.Series(pd.to_datetime(["2020-08-01", "2020-08-02"]))
    assert select_time(t, "2020-08-02").tolist() == [False, True]


def test_cf_time_encodes_kst_instants_in_utc_hours_and_days_by_their_bounds():
    hours, bounds = cf_time(pd.DatetimeIndex(["1970-01-01 09:00", "1970-01-01 10:00"]))
    hour = np.timedelta64(1, "h")
    assert ((hours["time"][1] - np.datetime64("1970-01-01")) / hour).tolist() == [0.0, 1.0]
    assert bounds == {}
    days, bounds = cf_time(pd.DatetimeIndex(["1970-01-02", "1970-01-03"]))
    # 1970-01-02 KST runs 1970-01-01 15:00 .. 1970-01-02 15:00 UTC; its noon is 03:00 UTC.
    assert ((days["time"][1] - np.datetime64("1970-01-01")) / hour).tolist() == [27.0, 51.0]
    assert ((bounds["time_bnds"][1] - np.datetime64("1970-01-01")) / hour).tolist() == [
        [15.0, 39.0], [39.0, 63.0]]


@pytest.mark.parametrize("command", [["parse"], ["cv", "--method", "idw"],
                                     ["point", "--at", "37.5,127.0", "--method", "idw"]])
def test_every_command_takes_time_and_says_what_it_placed(command):
    proc = kwxmap_cli(*command, "-", "--time", "2026-12-01T10:00", stdin=SERIES)
    assert proc.returncode == 0, proc.stderr
    assert "3 of 3 readings placed" in proc.stderr
    if command == ["parse"]:
        rows = pd.read_csv(pd.io.common.StringIO(proc.stdout))
        assert sorted(rows["temperature_c"]) == [-5.5, -2.0, -1.0]


def test_without_time_a_series_names_the_option():
    proc = kwxmap_cli("cv", "-", stdin=SERIES)
    assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1
    assert "2 times" in proc.stderr and "--time" in proc.stderr


def test_network_narrows_a_file_route_and_says_how_many_are_left():
    proc = kwxmap_cli("parse", "-", "--time", "2026-12-01 09:00", "--network", "asos",
                      stdin=SERIES)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("only 1 of 3 readings placed (67 % not); not placed: "
                                  "2 unknown stations — add newer stations")
    assert pd.read_csv(pd.io.common.StringIO(proc.stdout))["station_id"].tolist() == [108]


def test_a_file_of_only_unknown_ids_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "map.html"
    proc = kwxmap_cli("map", "-", "-o", str(out), "--network", "asos",
                      stdin="station_id,temperature_c\n400,1.0\n401,2.0\n402,3.0\n")
    assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1
    assert "no known station among the 3 readings" in proc.stderr
    assert "--network" in proc.stderr and "stations --update" in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_default_registry_holds_every_network_and_closed_stations_keep_their_sites():
    reg = load_stations()
    assert {s.network for s in reg} == {"ASOS", "AWS"}
    assert set(load_stations("asos").ids) | set(load_stations("aws").ids) == set(reg.ids)
    # 528 백령면 closed in 2018; in 2001 it stood at 37.9743 N 124.7187 E, 32.26 m
    # (the 2022 station-history export), and a 2001 reading is placed there.
    site = reg.get(528).at("2001-06-01")
    assert (site.lat, site.lon, site.elevation_m) == (37.9743, 124.7187, 32.26)
    joined = load_joined("time,station_id,temperature_c\n2001-06-01,528,17.5\n")
    place = joined.iloc[0]
    assert (place.geometry.y, place.geometry.x, place["elevation_m"]) == (37.9743, 124.7187, 32.26)


@pytest.mark.parametrize("table, args, want", [
    # an hour of readings: the variable, the KST time, the count and the source
    (SERIES, ["--time", "2026-12-01 10:00", "--method", "idw"],
     "기온 · 2026년 12월 1일 10:00 KST · 3개 중 3개 지점 · 기상청"),
    # a file of days: the date alone, the daily variable
    ("time,station_id,temperature_c\n2020-08-01,108,25.0\n2020-08-01,400,26.0\n"
     "2020-08-01,410,24.0\n2020-08-02,108,27.0\n2020-08-02,400,28.0\n2020-08-02,410,26.5\n",
     ["--time", "2020-08-02", "--method", "idw", "--lang", "en"],
     "Daily mean temperature · 2 Aug 2020 · 3 of 3 stations · KMA"),
])
def test_the_page_title_says_what_when_how_many_and_whence(tmp_path, table, args, want):
    out = tmp_path / "m.html"
    proc = kwxmap_cli("map", "-", "-o", str(out), "--resolution", "20000", *args, stdin=table)
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    assert f"<title>{want}</title>" in page
    lang = "en" if "--lang" in args else "ko"
    assert f'<html lang="{lang}">' in page
