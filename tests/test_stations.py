"""The station registry: bundled data, lookup, nearest, as_of, export."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pyogrio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer
from shapely.geometry import Point, shape

from kwxmap import (
    KwxmapError,
    OutputError,
    Station,
    StationRegistry,
    UnknownStationError,
    load_stations,
    write_stations,
)
from kwxmap._names import canonical, name_keys, romanize, similarity
from kwxmap.errors import DataError

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "scripts" / "sources"
GEOD = Geod(ellps="WGS84")


def read_source(name: str) -> list[dict[str, str]]:
    with open(SOURCES / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2] / 1000.0


@pytest.fixture(scope="module")
def reg() -> StationRegistry:
    return load_stations("asos")


@pytest.fixture(scope="module")
def reg_all() -> StationRegistry:
    return load_stations("all")


# --- the bundled file -----------------------------------------------------------


def test_committed_file_equals_a_fresh_build():
    script = ROOT / "scripts" / "build_stations.py"
    spec = importlib.util.spec_from_file_location("build_stations", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text, _ = module.build()
    assert (ROOT / "data" / "stations.geojson").read_text(encoding="utf-8") == text
    assert module.build()[0] == text  # deterministic


def test_file_is_rfc7946_utf8_with_korean_characters():
    raw = (ROOT / "data" / "stations.geojson").read_bytes()
    assert "추풍령".encode() in raw and b"\\u" not in raw
    data = json.loads(raw.decode("utf-8"))
    assert data["type"] == "FeatureCollection" and "crs" not in data
    for feat in data["features"]:
        assert feat["type"] == "Feature" and feat["geometry"]["type"] == "Point"
        lon, lat = feat["geometry"]["coordinates"]
        assert 124 < lon < 132 and 33 < lat < 39  # lon first
    info = pyogrio.read_info(ROOT / "data" / "stations.geojson")
    assert info["features"] == len(data["features"])


def test_feature_properties_have_the_documented_types():
    data = json.loads((ROOT / "data" / "stations.geojson").read_text(encoding="utf-8"))
    keys = {"station_id", "name_ko", "name_en", "elevation_m", "network", "active", "start_date",
            "end_date", "address", "province", "aliases", "history"}
    for feat in data["features"]:
        p = feat["properties"]
        assert set(p) == keys
        assert isinstance(p["station_id"], int) and isinstance(p["active"], bool)
        assert p["network"] in ("ASOS", "AWS")
        assert isinstance(p["aliases"], list) and all(isinstance(a, str) for a in p["aliases"])
        assert p["elevation_m"] is None or isinstance(p["elevation_m"], int | float)
        for day in (p["start_date"], p["end_date"]):
            assert day is None or dt.date.fromisoformat(day)
        for h in p["history"]:
            assert set(h) == {"start", "end", "name_ko", "lon", "lat", "elevation_m", "address"}


def test_asos_counts_and_values_match_the_kma_table(reg):
    rows = read_source("kma_asos_stations.csv")
    assert len(reg) == len(rows) == 105
    assert sum(s.active for s in reg) == 97
    for r in rows:
        s = reg.get(int(r["stn_id"]))
        assert (s.name_ko, s.name_en, s.network) == (r["name_ko"], r["name_en"], "ASOS")
        assert (s.lon, s.lat, s.elevation_m) == (float(r["lon"]), float(r["lat"]),
                                                 float(r["elevation_m"]))
        assert s.active == (r["active"] == "1")
        assert s.start_date == r["first_start"] and s.end_date == (r["end_date"] or None)
        assert (s.end_date is None) == s.active


def test_aws_network_is_separate_and_complete(reg_all):
    asos_ids = {int(r["stn_id"]) for r in read_source("kma_asos_stations.csv")}
    ids = {int(r["stn_id"]) for r in read_source("kma_aws_stations.csv")}
    ids |= {int(r["stn_id"]) for r in read_source("kma_stn_inf_stations_2024_2026.csv")
            if r["inf"] == "AWS"}
    closed = {int(r["지점"]) for r in read_source("kma_meta_station_history_2022.csv")
              if 90 <= int(r["지점"]) < 1000 and r["종료일"]} - ids - asos_ids
    aws = load_stations("aws")
    assert set(aws.ids) == (ids | closed) - asos_ids and {s.network for s in aws} == {"AWS"}
    assert len(reg_all) == 105 + len(aws) == 788 and len(closed) == 22
    assert all(not aws.get(sid).active for sid in closed)
    assert all(s.name_en and s.name_en.isascii() for s in aws)


def test_aws_lists_date_moves_renames_and_closures(reg_all):
    # 덕적도 513 moved ~21 km and became 덕적지도 between the 2022 export and
    # the 2024-12-13 list: the site changes halfway between the two lists.
    s = reg_all.get(513)
    old, new = s.history
    assert (old.name_ko, new.name_ko, old.end, new.start) == (
        "덕적도", "덕적지도", "2023-07-31", "2023-07-31")
    assert 20 < km(old.lon, old.lat, new.lon, new.lat) < 23
    assert reg_all.as_of("2023-07-30").get(513).name_ko == "덕적도"
    assert (reg_all.as_of("2024-10-24").get(513).lon, s.name_ko) == (new.lon, "덕적지도")
    # 오창 693 is in no list after 2022: it ends on the first list without it
    closed = reg_all.get(693)
    assert (closed.active, closed.end_date) == (False, "2024-12-13")
    assert 693 in reg_all.as_of("2024-12-12") and 693 not in reg_all.as_of("2024-12-13")
    # a station new in the 2025-08-09 list counts from the day after the previous list
    new_ids = {int(r["stn_id"]) for r in read_source("kma_stn_inf_stations_2024_2026.csv")
               if r["version"] == "2025-08-09"} - {
        int(r["stn_id"]) for r in read_source("kma_stn_inf_stations_2024_2026.csv")
        if r["version"] == "2024-12-13"}
    assert new_ids and {reg_all.get(i).start_date for i in new_ids} == {"2024-12-14"}


def test_asos_numbers_that_are_aws_sites_outside_their_asos_years(reg_all):
    # 관악산 116 closed as ASOS in 1990; the AWS lists show 관악(레) on the same hill
    assert reg_all.as_of("1989-01-01").get(116).name_ko == "관악산"
    assert 116 not in reg_all.as_of("2000-01-01")
    assert reg_all.as_of("2024-10-24").get(116).name_ko == "관악(레)"
    # 북부산 296 was an AWS site before its ASOS period began on 2025-04-25
    before, asos = reg_all.get(296).history
    assert (before.end, asos.start, asos.address) == ("2025-04-25", "2025-04-25",
                                                      "부산광역시 강서구 대저1동")


SNAPSHOTS = ROOT.parent / "shared" / "reference" / "obs" / "kma_aws_snapshots.csv"


@pytest.mark.skipif(not SNAPSHOTS.exists(), reason=f"{SNAPSHOTS} (../shared) is absent")
def test_every_snapshot_station_is_placed_as_of_its_time(reg_all):
    # KMA whole-network one-minute snapshots (2024-10, 2025-08) with each
    # station's position from the station list nearest in time: every station
    # must be in the registry as of that day, within 1 km of that position.
    with open(SNAPSHOTS, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    by_day: dict[str, StationRegistry] = {}
    far = []
    for r in rows:
        day = r["time"][:10]
        if day not in by_day:  # (setdefault would build the registry for every row)
            by_day[day] = reg_all.as_of(day)
        then = by_day[day]
        s = then.get(int(r["stn_id"]))  # UnknownStationError fails the test
        d = km(s.lon, s.lat, float(r["lon"]), float(r["lat"]))
        if d > 1.0:
            far.append((r["time"], s.station_id, round(d, 2)))
    assert len(rows) > 11000 and len(by_day) >= 5
    assert far == []


def test_history_has_all_146_periods_in_order(reg):
    rows = read_source("kma_asos_station_history.csv")
    # plus the AWS-list periods of 116, 175 and 296 outside their ASOS years
    assert sum(len(s.history) for s in reg) == len(rows) + 3 == 149
    for s in reg:
        starts = [p.start for p in s.history]
        assert starts == sorted(starts)
        last = s.history[-1]
        if s.active:  # the open period is the current site
            assert last.end is None and (last.lon, last.lat) == (s.lon, s.lat)


def test_provinces_use_the_2018_names_and_contain_the_station(reg_all):
    fc = json.loads((ROOT / "data" / "provinces.geojson").read_text(encoding="utf-8"))
    polys = {f["properties"]["name"]: shape(f["geometry"]) for f in fc["features"]}
    assert reg_all.get(100).province == "강원도"  # address says 강원특별자치도
    assert reg_all.get(146).province == "전라북도"  # address says 전북특별자치도
    assert reg_all.get(926).province == "경상남도"  # address typo 경상북도 창원시
    renamed = {"강원특별자치도": "강원도", "전북특별자치도": "전라북도"}
    unplaced = []
    for s in reg_all:
        if s.province is None:  # offshore, no address: far from every polygon
            assert s.address is None, s
            assert min(p.distance(Point(s.lon, s.lat)) for p in polys.values()) > 0.05
            unplaced.append(s.station_id)
            continue
        assert s.province in polys, s
        # inside or near its polygon; small islands, which the simplified
        # polygons leave out, are placed by their address
        if polys[s.province].distance(Point(s.lon, s.lat)) > 0.05:
            head = s.address.removeprefix("(산지)").split()[0]
            assert renamed.get(head, head) == s.province, s
    assert len(unplaced) < 15 and all(s.province for s in reg_all.select(network="asos"))


# --- independent lists ---------------------------------------------------------------

SEED_WIDGET = {  # ids from KMA's station table
    "동두천": 98, "강릉": 105, "서울": 108, "충주": 127, "서산": 129, "청주": 131, "대전": 133,
    "추풍령": 135, "대구": 143, "울산": 152, "광주": 156, "부산": 159, "고창": 172,
    "홍성(예)": 177, "제주": 184, "고산": 185, "강화": 201, "제천": 221, "보은": 226,
    "천안": 232, "보령": 235, "부여": 236, "금산": 238, "강진군": 259, "경주시": 283, "거제": 294,
}


def test_seed_widget_names_resolve(reg):
    assert len(SEED_WIDGET) == 26
    assert {name: reg.lookup(name).station_id for name in SEED_WIDGET} == SEED_WIDGET


def test_all_95_current_weather_names_resolve(reg, reg_all):
    rows = read_source("kma_currentweather_2017_95names_to_ids.csv")
    assert len(rows) == 95
    for r in rows:
        name, sid = r["name_on_2017_kma_page"], int(r["stn_id"])
        assert reg.lookup(name).station_id == sid, name
        assert reg_all.lookup(name).station_id == sid, name  # AWS names never take over
        assert reg.name_index()[name] == sid
        assert name == reg.get(sid).name_ko or name in reg.get(sid).aliases


def _unmoved_since(station: Station, day: str) -> bool:
    current = station.history[-1]
    return station.active and (current.start is None or current.start <= day)


def test_coordinates_agree_with_the_current_weather_list(reg):
    # The 2017 page's station list: every active station whose site has not
    # moved since then must be within 0.1 km of it.
    checked = 0
    for r in read_source("kma_currentweather_2017_95names_to_ids.csv"):
        s = reg.get(int(r["stn_id"]))
        if not _unmoved_since(s, "2017-05-17"):
            continue
        assert km(s.lon, s.lat, float(r["lon"]), float(r["lat"])) < 0.1, s
        checked += 1
    assert checked >= 75


def test_coordinates_agree_with_the_history_file(reg):
    history: dict[int, dict[str, str]] = {}
    for r in read_source("kma_asos_station_history.csv"):
        if not r["end"]:
            history[int(r["stn_id"])] = r
    active = [s for s in reg if s.active]
    assert len(active) == 97
    for s in active:
        r = history[s.station_id]
        assert km(s.lon, s.lat, float(r["lon"]), float(r["lat"])) < 0.1, s


def test_a_moved_site_is_detected(reg):
    # 천안 moved about 15 km in 2016: the distance check is not vacuous
    old, new = reg.get(232).history
    assert 10 < km(old.lon, old.lat, new.lon, new.lat) < 20


# --- lookup ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (108, 108),
        (np.int64(108), 108),
        ("108", 108),
        (" 108 ", 108),
        ("１０８", 108),  # full-width digits
        ("서울", 108),
        ("홍성(예)", 177),  # printed name of a trial period
        ("홍성 (예)", 177),
        ("홍성（예）", 177),  # full-width parentheses
        ("홍성[예]", 177),
        ("홍 성", 177),
        ("홍성", 177),
        ("세종(예)", 239),
        ("서청주(예)", 181),
        ("문산", 99),  # historic name
        ("마산", 155),
        ("강진", 259),  # bare forms
        ("경주", 283),
        ("정선", 217),
        ("광양", 266),
        ("강진군", 259),
        ("진도(첨찰산)", 175),
        ("첨찰산", 175),
        ("진도군", 268),
        ("고창", 172),
        ("고창군", 251),
        ("강릉", 105),
        ("북강릉", 104),
        ("성산", 188),  # the active one of two stations named 성산
        ("대구(기)", 176),
        ("seoul", 108),
        ("SEOUL", 108),
        ("ＳＥＯＵＬ", 108),
        ("Chupungnyeong", 135),
        ("gangjin-gun", 259),
        ("Gangjin Gun", 259),
        ("Gangjin", 259),
        ("Hongseong(Ye)", 177),
        ("진도군 (268)", 268),
        ("서울\u200b", 108),  # a zero-width space copied from a web page
        ("홍\u00ad성", 177),  # a soft hyphen
        ("가산", None),  # AWS only: unknown in the ASOS registry
    ],
)
def test_lookup(reg, query, expected):
    if expected is None:
        with pytest.raises(UnknownStationError):
            reg.lookup(query)
    else:
        assert reg.lookup(query).station_id == expected


@pytest.mark.parametrize(
    ("query", "error", "match"),
    [
        ("", UnknownStationError, r"unknown station ''"),
        ("   ", UnknownStationError, r"unknown station '   '"),
        (None, TypeError, r"None is not a name \(str\) or a KMA id \(int\)"),
        (1.5, TypeError, r"1.5 is not a name"),
        (True, TypeError, r"True is not a name"),
        (["서울"], TypeError, r"is not a name"),
        (99999, UnknownStationError, r"unknown station 99999"),
        ("99999", UnknownStationError, r"unknown station '99999'"),
        ("없는관측소", UnknownStationError, r"unknown station '없는관측소'"),
        ("추풍녕", UnknownStationError, r"did you mean '추풍령'"),
        ("진도", UnknownStationError, r"'진도' is ambiguous; use one of: 진도\(첨찰산\), 진도군"),
        ("Jindo", UnknownStationError, r"'Jindo' is ambiguous"),
        ("서울 (135)", UnknownStationError, r"unknown station '서울 \(135\)'"),
        ("➀", UnknownStationError, r"unknown station '➀'"),  # a digit int() rejects
    ],
)
def test_lookup_bad_inputs(reg, query, error, match):
    with pytest.raises(error, match=match):
        reg.lookup(query)


def test_unknown_station_error_is_a_keyerror_with_details(reg):
    with pytest.raises(KeyError) as info:
        reg.lookup("추풍녕")
    err = info.value
    assert isinstance(err, KwxmapError) and not err.ambiguous
    assert err.query == "추풍녕" and err.suggestions[0] == "추풍령"
    with pytest.raises(UnknownStationError) as info:
        reg.lookup("진도")
    assert info.value.ambiguous
    assert [reg.lookup(s).station_id for s in info.value.suggestions] == [175, 268]


def test_get_takes_ids_only(reg):
    assert reg.get(135).name_ko == "추풍령" and reg.get("135").name_ko == "추풍령"
    with pytest.raises(UnknownStationError, match="unknown station 7"):
        reg.get(7)
    with pytest.raises(TypeError, match="'추풍령' is not an int"):
        reg.get("추풍령")
    with pytest.raises(TypeError, match="'➀' is not an int"):
        reg.get("➀")


def test_contains(reg):
    assert 108 in reg and "108" in reg and "홍성(예)" in reg and reg.get(108) in reg
    assert "진도" not in reg and None not in reg and 399 not in reg


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("추풍녕", "추풍령"), ("강능", "강릉"), ("북강능", "북강릉"), ("대괸령", "대관령"),
     ("chupungryeong", "Chupungnyeong"), ("seoull", "Seoul")],
)
def test_suggestions_are_hangul_aware(reg, typo, meant):
    assert reg.suggest(typo)[0] == meant


def test_jamo_similarity_beats_syllable_similarity():
    # 녕/령 differ in one jamo out of three: jamo comparison ranks it close
    assert similarity("추풍녕", "추풍령") > 0.8
    assert similarity("추풍녕", "추풍령") > similarity("추풍녕", "추자도")


def test_name_index_is_consistent_with_lookup(reg, reg_all):
    for registry in (reg, reg_all):
        index = registry.name_index()
        for name, sid in index.items():
            assert registry.lookup(name).station_id == sid
    index = reg.name_index()
    assert index["고창"] == 172 and index["고창군"] == 251 and index["홍성(예)"] == 177
    assert index["강진"] == 259 and index["Seoul"] == 108
    assert "진도" not in index
    assert all(name in index for name in SEED_WIDGET)


def test_aws_names_never_take_asos_names(reg_all):
    aws = load_stations("aws")
    for name, asos_id, aws_id in [("서청주", 181, 399), ("삼척", 214, 876), ("무안", 164, 699),
                                  ("보성", 258, 732)]:
        assert reg_all.lookup(name).station_id == asos_id
        assert aws.lookup(name).station_id == aws_id
        assert reg_all.lookup(aws_id).network == "AWS"
    assert reg_all.name_index()["보성"] == 258


def test_duplicate_aws_names_are_ambiguous_with_ids():
    aws = load_stations("aws")
    with pytest.raises(UnknownStationError, match=r"use one of: 가산 \(473\), 가산 \(824\)"):
        aws.lookup("가산")
    assert aws.lookup("가산 (824)").station_id == 824


# --- nearest ----------------------------------------------------------------------------


def test_nearest_uses_geodesic_distance(reg):
    (s, d), = reg.nearest(126.9658, 37.5714)
    assert s.station_id == 108 and d == 0
    hits = reg.nearest(127.0, 36.5, k=5)
    dists = [d for _, d in hits]
    assert dists == sorted(dists) and len(hits) == 5
    brute = sorted((GEOD.inv(127.0, 36.5, s.lon, s.lat)[2], s.station_id) for s in reg)[:5]
    assert [s.station_id for s, _ in hits] == [sid for _, sid in brute]
    assert dists == pytest.approx([d for d, _ in brute], rel=0, abs=1e-6)
    # a haversine on a 6371 km sphere agrees to 0.5 %
    s0, d0 = hits[0]
    p1, p2 = math.radians(36.5), math.radians(s0.lat)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(
        math.radians(s0.lon - 127.0) / 2) ** 2
    assert d0 == pytest.approx(2 * 6371000 * math.asin(math.sqrt(a)), rel=5e-3)
    assert len(reg.nearest(127, 36, k=500)) == len(reg)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [((200, 36), ValueError, "lon 200"), ((127, -91), ValueError, "lat -91"),
     ((127, float("nan")), ValueError, "lat nan"), (("127", 36), TypeError, "lon '127'"),
     ((127, 36, 0), ValueError, "k 0"), ((127, 36, 1.5), ValueError, "k 1.5")],
)
def test_nearest_bad_inputs(reg, args, error, match):
    with pytest.raises(error, match=match):
        reg.nearest(*args)


# --- as_of ------------------------------------------------------------------------------


def test_as_of_2016(reg):
    old = reg.as_of("2016-01-01")
    cheonan = old.get(232)
    assert (cheonan.lon, cheonan.lat) == (127.1213, 36.7796)  # the site before April 2016
    assert 10 < km(cheonan.lon, cheonan.lat, reg.get(232).lon, reg.get(232).lat) < 20
    assert old.get(177).name_ko == "홍성(예)" and old.lookup("홍성(예)").station_id == 177
    assert old.lookup("홍성").station_id == 177
    assert old.get(175).active  # observing then, closed in 2019
    for sid in (239, 181, 296, 116, 164, 176):  # not yet opened / already closed
        assert sid not in old
    assert old.nearest(cheonan.lon, cheonan.lat)[0][1] == 0


def test_as_of_boundaries_and_reused_names(reg):
    assert reg.as_of("2017-10-30").get(177).name_ko == "홍성(예)"
    assert reg.as_of("2017-10-31").get(177).name_ko == "홍성"  # half-open periods
    assert 177 not in reg.as_of("2015-11-02")
    assert reg.as_of("2009-01-01").lookup("고창").station_id == 251  # before 172 opened
    assert reg.as_of("2000-01-01").lookup("순천").station_id == 256
    assert reg.as_of(dt.date(2016, 1, 1)).get(232).lat == 36.7796
    assert reg.as_of(dt.datetime(2016, 1, 1, 12)).get(232).lat == 36.7796
    assert reg.as_of(np.datetime64("2016-01-01T12:00")).get(232).lat == 36.7796
    assert reg.as_of("2016-01-01T12:00:00").get(232).lat == 36.7796


def test_as_of_today_is_the_active_set(reg):
    today = reg.as_of(dt.date.today())
    # 116 and 175 closed as ASOS stations; their numbers are AWS sites today
    assert {s.station_id for s in today} == {s.station_id for s in reg if s.active} | {116, 175}


@pytest.mark.parametrize("bad", ["2016-13-01", "yesterday", "", None, 2016])
def test_as_of_bad_dates(reg, bad):
    with pytest.raises(ValueError, match="is not a date"):
        reg.as_of(bad)


# --- loading --------------------------------------------------------------------------


def test_load_returns_fresh_immutable_registries():
    a, b = load_stations(), load_stations()
    assert a is not b and list(a) == list(b)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.get(108).name_ko = "x"
    assert isinstance(a.get(108).aliases, tuple)


@pytest.mark.parametrize("bad", ["ASOS2", "", None, 3])
def test_load_bad_network(bad):
    with pytest.raises(ValueError, match="is not one of 'asos', 'aws', 'all'"):
        load_stations(bad)


def test_load_bad_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_stations(path=tmp_path / "missing.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="cannot read station file"):
        load_stations(path=bad)
    bad.write_text('{"type":"FeatureCollection","features":[{"type":"Feature"}]}',
                   encoding="utf-8")
    with pytest.raises(DataError, match="malformed station feature"):
        load_stations(path=bad)


def test_load_custom_file(tmp_path):
    path = tmp_path / "mine.geojson"
    write_stations(load_stations("asos").select(active=False), path)
    mine = load_stations("all", path=path)
    assert len(mine) == 8 and len(load_stations(path=path)) == 8 and not any(s.active for s in mine)
    assert mine.lookup("관악산").station_id == 116
    assert mine.get(116).aliases == ("Gwanaksan",)  # the ";"-joined column read back
    assert mine.lookup("Gwanaksan").station_id == 116


def test_select(reg_all):
    assert len(reg_all.select(network="asos", active=True)) == 97
    assert {s.network for s in reg_all.select(network="aws")} == {"AWS"}
    with pytest.raises(ValueError, match="network 'x'"):
        reg_all.select(network="x")


# --- GeoDataFrame and export ---------------------------------------------------------------


def test_to_geodataframe(reg):
    gdf = reg.to_geodataframe()
    assert list(gdf.columns) == ["station_id", "name_ko", "name_en", "elevation_m", "network",
                                 "active", "start_date", "end_date", "address", "province",
                                 "aliases", "geometry"]
    assert gdf.crs.to_epsg() == 4326 and str(gdf.station_id.dtype) == "int64"
    row = gdf.set_index("station_id").loc[177]
    assert row.aliases.split(";")[0] == "홍성(예)"
    utm = reg.to_geodataframe(crs=5179)
    x, y = Transformer.from_crs(4326, 5179, always_xy=True).transform(126.9658, 37.5714)
    seoul = utm.set_index("station_id").geometry.loc[108]
    assert (seoul.x, seoul.y) == pytest.approx((x, y), abs=1e-6)
    with pytest.raises(ValueError, match="not a CRS"):
        reg.to_geodataframe(crs="EPSG:nope")


FORMATS = ["geojson", "gpkg", "fgb", "shp", "csv"]


def _read_back(path: Path, fmt: str):
    if fmt == "csv":
        return pyogrio.read_dataframe(path, X_POSSIBLE_NAMES="lon,x", Y_POSSIBLE_NAMES="lat,y")
    return pyogrio.read_dataframe(path)


@pytest.mark.parametrize(
    ("fmt", "crs"), [(f, 4326) for f in FORMATS] + [(f, 5186) for f in FORMATS[1:]]
)
def test_export_round_trips(reg, tmp_path, fmt, crs):
    active = reg.select(active=True)
    path = tmp_path / f"stations.{fmt}"
    assert write_stations(active, path, crs=crs) == path
    info = pyogrio.read_info(path)
    assert info["features"] == 97
    back = _read_back(path, fmt)
    expected = active.to_geodataframe(crs=crs)
    assert back["name_ko"].tolist() == expected["name_ko"].tolist()
    assert back["name_en"].tolist() == expected["name_en"].tolist()
    assert [int(v) for v in back["station_id"]] == expected["station_id"].tolist()
    assert back["address"].tolist() == expected["address"].tolist()
    # coordinates exactly (GeoJSON: 7 decimals, more than the 4 of the source)
    assert back.geometry.x.tolist() == expected.geometry.x.tolist()
    assert back.geometry.y.tolist() == expected.geometry.y.tolist()
    if fmt != "csv":
        assert back.crs.to_epsg() == crs
    elev = "elev_m" if fmt == "shp" else "elevation_m"
    assert [float(v) for v in back[elev]] == expected["elevation_m"].tolist()


def test_shapefile_has_cpg_and_short_field_names(reg, tmp_path):
    path = tmp_path / "s.shp"
    write_stations(reg, path)
    assert (tmp_path / "s.cpg").read_text(encoding="ascii").strip().upper() in ("UTF-8", "UTF8")
    assert {p.suffix for p in tmp_path.iterdir()} == {".shp", ".shx", ".dbf", ".prj", ".cpg"}
    fields = list(pyogrio.read_info(path)["fields"])
    assert "elev_m" in fields and all(len(f) <= 10 for f in fields)
    assert "추풍령" in pyogrio.read_dataframe(path)["name_ko"].tolist()


def test_csv_is_utf8_with_bom_and_lon_lat(reg, tmp_path):
    path = tmp_path / "s.csv"
    write_stations(reg, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw[3:].split(b"\n", 1)[0].decode("utf-8").split(",")
    assert header[0] == "station_id" and header[-3:] == ["lon", "lat", "WKT"]
    write_stations(reg, path, crs=5179)
    assert path.read_bytes()[3:].split(b"\n", 1)[0].decode().split(",")[-3:] == ["x", "y", "WKT"]


def test_geojson_export_is_rfc7946(reg, tmp_path):
    path = tmp_path / "s.json"
    write_stations(reg, path)
    raw = path.read_bytes()
    assert "추풍령".encode() in raw and b"\\u" not in raw
    data = json.loads(raw)
    assert "crs" not in data and data["features"][0]["geometry"]["coordinates"] == [128.5647,
                                                                                     38.2509]


def test_format_option_and_inference(reg, tmp_path):
    path = tmp_path / "stations.dat"
    write_stations(reg, path, format="FGB")
    assert pyogrio.read_info(path)["features"] == 105
    with pytest.raises(OutputError, match=r"cannot tell the format of .*stations.txt"):
        write_stations(reg, tmp_path / "stations.txt")
    with pytest.raises(OutputError, match="format 'kml' is not one of csv, fgb, geojson"):
        write_stations(reg, tmp_path / "x.kml", format="kml")
    with pytest.raises(OutputError, match=r"GeoJSON is written in EPSG:4326 \(RFC 7946\)"):
        write_stations(reg, tmp_path / "x.geojson", crs=5179)
    with pytest.raises(OutputError, match="does not exist"):
        write_stations(reg, tmp_path / "nowhere" / "x.gpkg")
    with pytest.raises(TypeError, match="StationRegistry or a GeoDataFrame"):
        write_stations([1, 2], tmp_path / "x.gpkg")


def test_write_accepts_a_filtered_geodataframe(reg, tmp_path):
    gdf = reg.to_geodataframe()
    gdf = gdf[gdf.province == "제주특별자치도"]
    write_stations(gdf, tmp_path / "jeju.fgb", crs=5179)
    back = pyogrio.read_dataframe(tmp_path / "jeju.fgb")
    assert len(back) == len(gdf) >= 4 and back.crs.to_epsg() == 5179


def test_geojson_export_of_a_geodataframe_with_other_types(reg, tmp_path):
    import pandas as pd

    gdf = reg.to_geodataframe().head(3)
    gdf["when"] = pd.Timestamp("2020-08-01 15:00")
    gdf["count"] = pd.array([1, None, 3], dtype="Int64")
    gdf["temp"] = [20.5, np.nan, 21.0]
    write_stations(gdf, tmp_path / "t.geojson")
    props = [f["properties"] for f in json.loads((tmp_path / "t.geojson").read_bytes())["features"]]
    assert props[0]["when"] == "2020-08-01T15:00:00"
    assert [p["count"] for p in props] == [1, None, 3]
    assert [p["temp"] for p in props] == [20.5, None, 21.0]


@pytest.mark.parametrize(
    ("name", "column", "value", "match"),
    [
        ("old.gpkg", "bad", 1 + 2j, "cannot write .*old.gpkg.* as gpkg"),
        ("old.shp", "a_very_long_field", "x", "Shapefile field names are at most 10"),
        ("old.fgb", "bad", np.timedelta64(1, "h"), "cannot write .*old.fgb.* as fgb"),
    ],
)
def test_failed_write_keeps_the_old_file_and_leaves_no_debris(reg, tmp_path, name, column,
                                                              value, match):
    path = tmp_path / name
    write_stations(reg, path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    gdf = load_stations("aws").to_geodataframe()
    gdf[column] = [value] * len(gdf)
    with pytest.raises(OutputError, match=match):
        write_stations(gdf, path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# --- names ------------------------------------------------------------------------------------


def test_romanize_reproduces_the_kma_english_names():
    rows = read_source("kma_asos_stations.csv")
    assert [romanize(r["name_ko"]) for r in rows] == [r["name_en"] for r in rows]


def test_name_keys():
    assert canonical("Ｇａｎｇｊｉｎ－ｇｕｎ") == "gangjingun"
    assert dict(name_keys("서청주(예)")) == {"서청주(예)": 0, "서청주": 1}
    assert ("강진", 2) in name_keys("강진군")
    assert name_keys("광주") == [("광주", 0)]  # no suffix to strip


_ALL = load_stations("all")
_INDEX = _ALL.name_index()
_FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(_INDEX)),
    spaces=st.lists(st.sampled_from(["", " ", "\u3000", "\t"]), min_size=12, max_size=12),
    fullwidth=st.booleans(),
    case=st.sampled_from([str, str.upper, str.lower]),
)
def test_printing_variants_resolve_to_the_same_station(name, spaces, fullwidth, case):
    variant = "".join(ch + spaces[i % len(spaces)] for i, ch in enumerate(case(name)))
    if fullwidth:
        variant = "".join(_FULLWIDTH.get(ch, ch) for ch in variant)
    assert _ALL.lookup(variant).station_id == _INDEX[name]


def _same(a, b):
    return (a == b) or (isinstance(a, float) and isinstance(b, float)
                        and math.isnan(a) and math.isnan(b))


def test_a_station_on_any_day_of_its_history_has_every_attribute_of_that_period(reg_all):
    """Every period of every station, on its first and its last day: the station as it
    stood then, attribute by attribute, worked out from the period and the station."""
    checked = 0
    for s in reg_all:
        for p in s.history:
            last = (dt.date.fromisoformat(p.end) - dt.timedelta(days=1)).isoformat() \
                if p.end else "2030-01-01"
            for day in filter(None, (p.start, last)):
                then = s.at(day)
                if then is None or then.name_ko != p.name_ko or (then.lon, then.lat) != (
                        p.lon, p.lat):
                    # a later period that also covers the day wins: check that one instead
                    later = [q for q in s.history if q.contains(day)]
                    assert later and later[-1] is not p, (s.station_id, day)
                    continue
                moved = (p.name_ko, p.lon, p.lat) != (s.name_ko, s.lon, s.lat)
                want = {
                    "station_id": s.station_id, "network": s.network, "province": s.province,
                    "start_date": s.start_date, "end_date": s.end_date, "active": True,
                    "name_ko": p.name_ko, "lon": p.lon, "lat": p.lat,
                    "elevation_m": p.elevation_m, "address": p.address or s.address,
                    "name_en": (romanize(p.name_ko) if p.name_ko != s.name_ko else s.name_en)
                    if moved else s.name_en,
                    "aliases": tuple(dict.fromkeys(a for a in (*s.aliases, s.name_ko)
                                                   if a != p.name_ko)) if moved else s.aliases,
                }
                got = {k: getattr(then, k) for k in want}
                bad = {k: (got[k], want[k]) for k in want if not _same(got[k], want[k])}
                assert not bad, (s.station_id, day, bad)
                checked += 1
    assert checked > 1000


def test_a_minimal_station_file_takes_the_documented_defaults(tmp_path):
    """A user's registry with only ids, names and (3-D) points: the place is the first two
    coordinates, no English name, ASOS, active, height unknown, no history."""
    feature = {"type": "Feature", "geometry": {"type": "Point",
                                               "coordinates": [127.25, 36.5, 88.0]},
               "properties": {"station_id": 9001, "name_ko": "시험"}}
    path = tmp_path / "mine.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}),
                    encoding="utf-8")
    (s,) = list(load_stations(path=path))
    assert (s.station_id, s.name_ko, s.name_en, s.lon, s.lat, s.network, s.active,
            s.history) == (9001, "시험", "", 127.25, 36.5, "ASOS", True, ())
    assert math.isnan(s.elevation_m)


@pytest.mark.parametrize("doc", [[], {"type": "FeatureCollection"},
                                 {"type": "FeatureCollection", "features": {}}])
def test_a_station_file_that_is_not_a_feature_collection_is_one_data_error(tmp_path, doc):
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(DataError, match="is not a GeoJSON FeatureCollection"):
        load_stations(path=path)


def test_written_start_and_end_dates_are_dates_with_the_registry_values(reg, tmp_path):
    out = tmp_path / "asos.gpkg"
    write_stations(reg, out)
    info = pyogrio.read_info(out)
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert types["start_date"] == types["end_date"] == "datetime64[D]"
    back = pyogrio.read_dataframe(out)
    for sid, start, end in zip(back["station_id"], back["start_date"], back["end_date"],
                               strict=True):
        s = reg.get(int(sid))
        assert (start.date().isoformat() if start == start else None) == s.start_date
        assert (end.date().isoformat() if end == end else None) == (s.end_date or None)


# --- a station's history worked by hand: nearest period, day boundaries, addresses ----------


def _moved_station():
    from kwxmap.station import SitePeriod, Station

    history = (
        SitePeriod("2001-01-01", "2005-01-01", "옛터", 127.0, 37.0, 10.0, "옛 주소"),
        # a gap from 2005-01-01 to 2006-01-01 (nothing observed)
        SitePeriod("2006-01-01", "2010-01-01", "새터", 127.5, 37.5, 20.0, None),
        SitePeriod("2010-01-01", None, "새터", 127.5, 37.5, 25.0, "새 주소"),
    )
    return Station(station_id=900, name_ko="새터", name_en="Saeteo", lon=127.5, lat=37.5,
                   elevation_m=25.0, network="AWS", active=True, start_date="2001-01-01",
                   end_date=None, address="지금 주소", province=None, aliases=("옛터",),
                   history=history)


@pytest.mark.parametrize(("day", "want"), [
    ("1990-06-01", (127.0, 10.0)),  # before it opened: its first site
    ("2001-01-01", (127.0, 10.0)),  # the first day of a period is in it
    ("2004-12-31", (127.0, 10.0)),
    ("2005-01-01", (127.0, 10.0)),  # the end day is not in the period: a gap, the old site
    ("2005-06-30", (127.0, 10.0)),  # 181 days after the old site's last day, 185 before
    ("2005-07-02", (127.5, 20.0)),  # 183 either way: a tie goes to the later site
    ("2005-07-03", (127.5, 20.0)),
    ("2006-01-01", (127.5, 20.0)),
    ("2009-12-31", (127.5, 20.0)),
    ("2010-01-01", (127.5, 25.0)),
    ("2030-01-01", (127.5, 25.0)),
])
def test_nearest_takes_the_period_closest_in_time(day, want):
    got = _moved_station().nearest(day)
    assert (got.lon, got.elevation_m) == want


def test_at_is_none_in_a_gap_and_each_period_keeps_its_own_address():
    st = _moved_station()
    assert st.at("2005-01-01") is None and st.at("2005-12-31") is None
    assert st.at("2000-12-31") is None
    old = st.at("2003-03-03")
    assert (old.name_ko, old.address, old.elevation_m) == ("옛터", "옛 주소", 10.0)
    assert st.at("2012-01-01").address == "새 주소"  # the period's own address
    assert st.at("2007-01-01").address == "지금 주소"  # a period without one: the station's


def test_nearest_finds_a_site_that_stood_for_one_day():
    from kwxmap.station import SitePeriod, Station

    history = (SitePeriod("2001-01-01", "2001-01-02", "하루", 126.0, 36.0, 5.0, None),
               SitePeriod("2002-01-01", None, "지금", 127.0, 37.0, 50.0, None))
    st = Station(station_id=901, name_ko="지금", name_en="Jigeum", lon=127.0, lat=37.0,
                 elevation_m=50.0, network="AWS", active=True, start_date="2001-01-01",
                 end_date=None, address=None, province=None, history=history)
    near = st.nearest("2001-03-01")  # 59 days after the one day, 306 before the next site
    assert (near.name_ko, near.lon, near.elevation_m) == ("하루", 126.0, 5.0)
