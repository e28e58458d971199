"""KMA station lists (stn_inf, META_관측지점정보) and merging them into the local registry."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kwxmap import KwxmapError, load_stations
from kwxmap.errors import InputError, ParseError
from kwxmap.readers.station_lists import (
    COLUMNS,
    read_portal_meta,
    read_stn_inf,
    sniff_portal_meta,
    sniff_stn_inf,
)
from kwxmap.station_update import local_registry_path, update_stations, user_cache_dir

FIXTURES = Path(__file__).resolve().parent / "fixtures"
AWS_LIST = FIXTURES / "stn_inf_aws_utf8.txt"
SFC_LIST = FIXTURES / "stn_inf_sfc_euckr.txt"
META = FIXTURES / "portal_meta_cp949.csv"
RAW = Path(__file__).resolve().parents[2] / "shared" / "reference" / "obs" / "raw"
STN_INF_TABLE = RAW.parent.parent / "kma_stn_inf_stations_2024_2026.csv"


# --- readers ---------------------------------------------------------------------------


def test_stn_inf_aws_list_with_addresses_reads_every_row():
    table = read_stn_inf(AWS_LIST.read_bytes())
    assert list(table.columns) == list(COLUMNS)
    assert table["station_id"].tolist() == [108, 400, 401, 402, 997]
    row = table.iloc[4]
    assert (row["name_ko"], row["lon"], row["lat"], row["elevation_m"]) == (
        "가온", 127.5, 36.5, 250.0)
    assert set(table["network"]) == {"AWS"} and table["start"].isna().all()


def test_stn_inf_sfc_list_in_euc_kr_is_asos():
    data = SFC_LIST.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the fixture really is EUC-KR
    table = read_stn_inf(data)
    assert table[["station_id", "name_ko", "network"]].values.tolist() == [
        [108, "서울", "ASOS"], [119, "수원", "ASOS"]]
    assert table["elevation_m"].tolist() == [85.67, 39.81]


def test_stn_inf_resaved_with_a_csv_header():
    text = ("STN,LON,LAT,STN_SP,HT,HT_PA,HT_TA,HT_WD,HT_RN,STN,STN_KO,STN_EN\n"
            " 108 126.96580000 37.57140000 21100 85.67 86.67 1.50 10.00 1.00 108 서울 Seoul\n")
    assert sniff_stn_inf(text)
    assert read_stn_inf(text)[["station_id", "name_ko", "network"]].values.tolist() == [
        [108, "서울", "ASOS"]]


def test_portal_meta_reads_periods_and_skips_positionless_rows():
    data = META.read_bytes()
    assert sniff_portal_meta(data.decode("cp949")) and not sniff_stn_inf(data.decode("cp949"))
    table = read_portal_meta(data)
    assert table[["station_id", "start", "end"]].values.tolist() == [
        [403, "2001-04-01", "2018-06-30"], [403, "2018-06-30", None], [998, "2023-05-02", None]]
    assert table["network"].isna().all()  # the AWS export does not say


@pytest.mark.parametrize(
    ("reader", "text", "match"),
    [
        (read_stn_inf, "<html><body>인증키가 유효하지 않습니다</body></html>",
         r"no '# STN LON LAT \.\.\.' header line"),
        (read_stn_inf, "# STN LON LAT STN_SP HT HT_WD LAU STN STN_KO\n#  ID a b c m m ID AD -\n",
         "header but no stations"),
        (read_stn_inf, "# STN LON LAT STN_SP HT HT_WD LAU STN STN_KO\n#  ID a b c m m ID AD -\n"
         " 90 128.5 38.2\n", r"line 3: 3 fields, expected 9"),
        (read_stn_inf, "# STN LON LAT STN_SP HT HT_WD LAU STN STN_KO\n#  ID a b c m m ID AD -\n"
         " 90 128.5 north 1 17 10 1 105 속초\n", "line 3: station number, LON, LAT or HT"),
        (read_portal_meta, "지점,지점명,위도\n90,속초,38.2\n", "not a META_관측지점정보 export"),
        (read_portal_meta, "지점,시작일,종료일,지점명,지점주소,관리관서,위도,경도,노장해발고도(m)\n"
         "90,1968-01-01,,속초,,,38.25", "line 2: 7 fields, expected 9; the file is truncated"),
        (read_portal_meta, "지점,시작일,종료일,지점명,지점주소,관리관서,위도,경도,노장해발고도(m)\n"
         "90,68/01/01,,속초,,,38.25,128.56,17", r"line 2: start '68/01/01' is not YYYY-MM-DD"),
    ],
)
def test_bad_station_lists_are_one_clear_parse_error(reader, text, match):
    with pytest.raises(ParseError, match=match):
        reader(text)


@pytest.mark.skipif(not STN_INF_TABLE.exists(), reason=f"{STN_INF_TABLE} (../shared) is absent")
@pytest.mark.parametrize("name", [
    "jun-atmos-Delta_ASOS_Point.csv", "jun-atmos-Delta_AWS_Point.csv",
    "chaseungjoon-KoreaWeatherAPI_Map_Data_grid_AWS.csv",
    "ryuken73-weather_server_stn_inf_aws_20260811.txt",
])
def test_real_stn_inf_files_read_to_the_tidy_table(name):
    table = read_stn_inf((RAW / name).read_bytes())
    tidy = pd.read_csv(STN_INF_TABLE)
    tidy = tidy[tidy["source_file"] == name]
    assert len(table) == len(tidy) > 90
    merged = table.merge(tidy, left_on="station_id", right_on="stn_id", validate="1:1")
    assert len(merged) == len(table)
    assert (merged["name_ko_x"] == merged["name_ko_y"]).all()
    assert (merged["lon_x"] == merged["lon_y"]).all() and (merged["lat_x"] == merged["lat_y"]).all()
    assert (merged["elevation_m"] == merged["elev_m"]).all()


@pytest.mark.skipif(not RAW.exists(), reason=f"{RAW} (../shared) is absent")
def test_real_meta_export_reads():
    table = read_portal_meta((RAW / "ssujii-heatwave_data_META_관측지점정보.csv").read_bytes())
    assert len(table) > 7000 and table["station_id"].nunique() > 1000
    seoul = table[table["station_id"] == 108]
    assert seoul["lat"].round(4).eq(37.5714).all() and seoul["end"].isna().sum() == 1


# --- the local registry ----------------------------------------------------------------


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("KWXMAP_CACHE_DIR", str(tmp_path / "k"))
    assert user_cache_dir() == tmp_path / "k"
    monkeypatch.delenv("KWXMAP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache_dir() == tmp_path / "xdg" / "kwxmap"


@pytest.fixture
def cache(monkeypatch, tmp_path) -> Path:
    monkeypatch.setenv("KWXMAP_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_stn_inf_update_moves_renames_and_adds(cache, caplog):
    before = load_stations("all")
    assert 997 not in before
    result = update_stations(AWS_LIST, date="2026-11-20")
    assert result.path == local_registry_path() == cache / "stations.geojson"
    assert (result.added, result.moved, result.renamed, result.unchanged) == (
        (997,), (400,), (402,), (401,))
    with caplog.at_level(logging.INFO, logger="kwxmap"):
        after = load_stations("all")
    assert "local registry" in caplog.text and str(result.path) in caplog.text
    assert len(after) == len(before) + 1
    # 강남 400 moved ~2.5 km: the new site from the list's day, the old one before
    gangnam = after.get(400)
    assert (gangnam.lon, gangnam.lat, gangnam.elevation_m) == (127.105, 37.51, 21.4)
    assert after.as_of("2026-11-19").get(400).lon == before.get(400).lon
    assert after.as_of("2026-11-20").get(400).lon == 127.105
    # 강동 402 renamed on the same site
    assert after.get(402).name_ko == "강동둔촌"
    assert after.as_of("2025-01-01").get(402).name_ko == "강동"
    # a new station, found by id and by name in the AWS registry
    assert load_stations("aws").lookup("가온").station_id == 997
    # an AWS list leaves ASOS sites alone (108 is listed 0.9 km off)
    assert (after.get(108).lon, after.get(108).history) == (126.9658, before.get(108).history)
    # ASOS names and the bundled file are untouched
    assert after.lookup("홍성(예)").station_id == 177
    assert load_stations("all", path=before_path()).get(400).lon == before.get(400).lon


def before_path() -> Path:
    from kwxmap._data import data_path

    return data_path("stations.geojson")


def test_meta_update_replaces_history_and_adds(cache):
    update_stations(META)
    reg = load_stations("all")
    songpa = reg.get(403)
    assert [(p.start, p.end) for p in songpa.history] == [
        ("2001-04-01", "2018-06-30"), ("2018-06-30", None)]
    assert (songpa.lon, songpa.lat, songpa.address) == (127.115, 37.52, None)
    assert reg.as_of("2010-01-01").get(403).lon == 127.09
    new = reg.get(998)
    assert (new.name_ko, new.network, new.start_date, new.active) == ("새봄", "AWS",
                                                                       "2023-05-02", True)
    assert 998 not in reg.as_of("2023-05-01")


def test_updates_accumulate_and_are_recorded(cache):
    update_stations(AWS_LIST, date="2026-11-20")
    update_stations(SFC_LIST, date="2026-11-21")
    update_stations(META)
    data = json.loads(local_registry_path().read_text(encoding="utf-8"))
    assert [u["file"] for u in data["kwxmap_updates"]] == [
        AWS_LIST.name, SFC_LIST.name, META.name]
    reg = load_stations("all")
    assert {997, 998} <= set(reg.ids) and reg.get(402).name_ko == "강동둔촌"
    # the same list again changes nothing
    again = update_stations(AWS_LIST, date="2026-11-20")
    assert again.added == again.moved == again.renamed == ()


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        (b"<html><head><title>Error</title></head><body>500</body></html>", ParseError,
         "not a KMA station list"),
        (b"", ParseError, "not a KMA station list"),
        ("지점,시작일,종료일,지점명,지점주소,관리관서,위도,경도,노장해발고도(m)\n90,1968-01-01,,속초"
         .encode("cp949"), ParseError, "line 2: 4 fields"),
    ],
)
def test_bad_files_change_nothing(cache, tmp_path, content, error, match):
    bad = tmp_path / "list.txt"
    bad.write_bytes(content)
    with pytest.raises(error, match=match) as info:
        update_stations(bad)
    assert isinstance(info.value, KwxmapError) and str(bad) in str(info.value)
    assert not local_registry_path().exists()


def test_missing_file_and_bad_date(cache, tmp_path):
    with pytest.raises(InputError, match="cannot read station list"):
        update_stations(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="is not a date"):
        update_stations(AWS_LIST, date="yesterday")
    assert not local_registry_path().exists()


def test_stn_inf_resaved_takes_the_first_stn_column_as_the_id():
    text = ("STN,LON,LAT,STN_SP,HT,HT_PA,HT_TA,HT_WD,HT_RN,STN,STN_KO,STN_EN\n"
            " 108 126.96580000 37.57140000 21100 85.67 86.67 1.50 10.00 1.00 999 서울 Seoul\n")
    assert read_stn_inf(text)["station_id"].tolist() == [108]


@pytest.mark.parametrize(("row", "match"), [
    (" 90 128.5 38.2 1 17 10 1 105", r"line 3: 8 fields, expected 9"),
    (" 90 128.5 95.0 1 17 10 1 105 속초", r"line 3: position 128\.5, 95\.0 is not lon/lat"),
    (" 90 190.0 38.2 1 17 10 1 105 속초", r"line 3: position 190\.0, 38\.2 is not lon/lat"),
])
def test_stn_inf_rows_without_a_name_or_a_place_are_parse_errors(row, match):
    text = "# STN LON LAT STN_SP HT HT_WD LAU STN STN_KO\n#  ID a b c m m ID AD -\n" + row + "\n"
    with pytest.raises(ParseError, match=match):
        read_stn_inf(text)


def _stn_inf(*rows: str) -> str:
    head = ("#START7777\n"
            "# STN           LON           LAT STN_SP          HT     HT_WD  LAU STN STN_KO"
            "  STN_EN\n"
            "#  ID         degee        degree --------         m         m   ID  AD ------"
            "  ------\n")
    return head + "".join(f"  {r}\n" for r in rows) + "#7777END\n"


def test_a_station_list_by_value_heights_positions_and_refusals():
    from kwxmap.readers.station_lists import read_stn_inf

    rows = read_stn_inf(_stn_inf(
        "901  127.10000000   37.20000000 01111000     42.00     10.00 4109 119 가상  ----",
        "902  180.00000000  -90.00000000 01111000    -99.00     10.00 4109 119 끝점  ----",
        "903  127.20000000   37.30000000 01111000    -98.50     10.00 4109 119 낮은곳  ----",
    )).to_dict("records")
    assert [(r["station_id"], r["lon"], r["lat"]) for r in rows] == [
        (901, 127.1, 37.2), (902, 180.0, -90.0), (903, 127.2, 37.3)]  # the bounds are lon/lat
    assert rows[0]["elevation_m"] == 42.0 and rows[2]["elevation_m"] == -98.5
    assert np.isnan(rows[1]["elevation_m"])  # -99: KMA's missing height
    with pytest.raises(ParseError, match=r"line 4: position 180\.5, 37\.2 is not lon/lat"):
        read_stn_inf(_stn_inf(
            "904  180.50000000   37.20000000 01111000     42.00     10.00 4109 119 밖  ----"))
    long_line = "905  " + "가" * 70  # two fields: the message quotes its first 60 characters
    with pytest.raises(ParseError) as err:
        read_stn_inf(_stn_inf(long_line))
    assert f"in {long_line.strip()[:60]!r};" in str(err.value)
