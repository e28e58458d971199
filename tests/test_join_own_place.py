"""join_readings with readings that carry their own place (lon/lat, x/y + CRS, GeoDataFrame)."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Transformer

from kwxmap import JoinError, join_readings, load_stations, parse_readings

FIXTURES = Path(__file__).parent / "fixtures"
OWN = FIXTURES / "table_own_place.csv"
REGISTRY = load_stations()


def test_own_places_win_unknown_stations_are_kept_and_moves_reported():
    gdf = join_readings(parse_readings(OWN), REGISTRY)
    report = gdf.attrs["join_report"]
    assert gdf["station_id"].tolist() == [108, 9001, 112]
    # each reading sits where the file says (not at the registry site)
    assert [(round(p.x, 4), round(p.y, 4)) for p in gdf.geometry] == [
        (126.9658, 37.5714), (127.04, 37.6), (126.68, 37.52),
    ]
    assert report.own_place == 3
    assert report.unknown_placed == [("학교기상대 (9001)", 3)]
    assert report.unknown == []
    # 112 (인천) is given ~5 km from its registry site; 108 sits on it
    st = REGISTRY.get(112)
    assert [(sid, line) for sid, line, _ in report.moved] == [(112, 4)]
    assert report.moved[0][2] > 1.0
    assert abs(report.moved[0][2] - _km(st.lon, st.lat, 126.68, 37.52)) < 0.01
    assert "1 station over 1 km from the registry site" in report.summary()
    # the unknown station keeps its printed name; elevation from the file, else the registry
    # only when the places agree (112 moved: NaN)
    row = gdf.set_index("station_id")
    assert row.loc[9001, "name_ko"] == "학교기상대"
    assert row.loc[9001, "elevation_m"] == 120.0
    assert row.loc[108, "elevation_m"] == 85.8
    assert math.isnan(row.loc[112, "elevation_m"])


def _km(lon1, lat1, lon2, lat2):
    from pyproj import Geod

    return Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2] / 1000


def test_without_a_place_an_unknown_station_is_still_unknown():
    df = pd.DataFrame({"station_id": [108, 9001], "temperature_c": [1.0, 2.0]})
    with pytest.raises(Exception, match="unknown station '9001'"):
        join_readings(df, REGISTRY)


def test_x_y_with_a_crs_read_as_places():
    to_5179 = Transformer.from_crs(4326, 5179, always_xy=True)
    x, y = to_5179.transform(127.04, 37.60)
    text = f"station_id,temperature_c,x,y\n9001,-5.5,{x:.2f},{y:.2f}\n"
    readings = parse_readings(text, crs="EPSG:5179")
    assert readings[["lon", "lat"]].round(5).values.tolist() == [[127.04, 37.6]]
    gdf = join_readings(readings, REGISTRY)
    assert (round(gdf.geometry[0].x, 5), round(gdf.geometry[0].y, 5)) == (127.04, 37.6)
    with pytest.raises(Exception, match="x/y columns but no CRS; pass crs="):
        parse_readings(text)


def test_a_geodataframe_is_read_by_its_point_geometry():
    pts = gpd.GeoDataFrame(
        {"station_id": [9001], "temperature_c": [-5.5]},
        geometry=gpd.points_from_xy([127.04], [37.60]),
        crs=4326,
    ).to_crs(5179)
    for readings in (pts, parse_readings(pts)):
        gdf = join_readings(readings, REGISTRY)
        assert gdf["station_id"].tolist() == [9001]
        assert (round(gdf.geometry[0].x, 5), round(gdf.geometry[0].y, 5)) == (127.04, 37.6)


def test_a_placed_reading_without_an_id_keeps_a_nullable_id():
    df = pd.DataFrame(
        {"station_name": ["옥상관측"], "temperature_c": [3.0], "lon": [127.0], "lat": [37.5]}
    )
    gdf = join_readings(df, REGISTRY)
    assert str(gdf["station_id"].dtype) == "Int64" and gdf["station_id"].isna().all()
    assert gdf.attrs["join_report"].unknown_placed == [("옥상관측", 1)]


def test_missing_values_are_counted_by_reason():
    text = (FIXTURES / "aws2_min_disp0.txt").read_text(encoding="utf-8")
    readings = parse_readings(text.replace("-3.4", "-99.0"))
    gdf = join_readings(readings, load_stations("all"), on_unknown="ignore")
    report = gdf.attrs["join_report"]
    assert report.missing_reasons == {"kma_code": 2}
    assert "2 missing values (2 kma_code)" in report.summary()
    assert gdf["temperature_c"].isna().sum() == 2  # kept as NaN, never -99


def test_a_time_outside_the_date_range_is_a_join_error():
    df = pd.DataFrame({"station_id": [108], "temperature_c": [1.0], "time": ["-1"]})
    with pytest.raises(JoinError, match="is not a (usable )?date"):
        join_readings(df, REGISTRY)
