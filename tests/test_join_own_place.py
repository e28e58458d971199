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


def test_half_a_place_is_no_place_the_registry_site_is_used():
    """A reading with a longitude but no latitude does not carry its own place."""
    st = REGISTRY.get(108)
    for lon, lat in ((127.5, math.nan), (math.nan, 37.0)):
        df = pd.DataFrame(
            {"station_id": [108], "temperature_c": [1.0], "lon": [lon], "lat": [lat]}
        )
        gdf = join_readings(df, REGISTRY)
        assert gdf.attrs["join_report"].own_place == 0
        assert (gdf.geometry[0].x, gdf.geometry[0].y) == (st.lon, st.lat)


def test_unknown_placed_readings_are_reported_by_their_own_id_or_minus_one():
    """A placed reading unknown to the registry: missing/implausible values name its id."""
    df = pd.DataFrame({
        "station_id": [9001, None, 108],
        "station_name": ["", "옥상관측", ""],
        "temperature_c": [math.nan, 80.0, 1.0],
        "lon": [127.04, 127.0, math.nan],
        "lat": [37.6, 37.5, math.nan],
    })
    with pytest.warns(Warning, match="implausible temperature 80 °C kept"):
        gdf = join_readings(df, REGISTRY, on_implausible="keep")
    report = gdf.attrs["join_report"]
    assert report.missing_values == [(9001, 1)]
    assert report.implausible == [(-1, 2, 80.0)]


def test_a_long_station_id_is_shown_whole_up_to_30_characters():
    thirty = "1" * 30
    with pytest.raises(JoinError) as err:
        join_readings(pd.DataFrame({"station_id": [thirty], "temperature_c": [1.0]}), REGISTRY)
    assert f"station_id '{thirty}' is not" in str(err.value)
    with pytest.raises(JoinError) as err:
        join_readings(pd.DataFrame({"station_id": [thirty + "1"], "temperature_c": [1.0]}),
                      REGISTRY)
    assert f"station_id '{'1' * 29}…' is not" in str(err.value)


def test_twenty_unknown_stations_warn_one_by_one_then_a_count():
    """At most 20 'left out' warnings, then one line counting the rest."""
    for n, expected in ((20, None), (23, "left out 3 more unknown stations")):
        df = pd.DataFrame({"station_name": ["서울"] + [f"없는곳{k}" for k in range(n)],
                           "temperature_c": [1.0] * (n + 1)})
        with pytest.warns(Warning) as caught:
            join_readings(df, REGISTRY, on_unknown="warn")
        texts = [str(w.message) for w in caught]
        one_by_one = [t for t in texts if t.startswith("left out unknown") or "없는곳" in t]
        assert len(one_by_one) == 20
        assert [t for t in texts if "more unknown" in t] == ([expected] if expected else [])


def test_a_duplicated_placed_reading_is_named_by_its_id_even_zero():
    df = pd.DataFrame({"station_id": [0, 0], "station_name": ["옥상", "옥상"],
                       "temperature_c": [1.0, 2.0], "lon": [127.0] * 2, "lat": [37.5] * 2})
    # a DataFrame's lines are its row numbers, from 1
    with pytest.raises(JoinError, match=r"^station 0 \(옥상\) is read 2 times: line 1 "
                       r"\('옥상' 1 °C\) and line 2 \('옥상' 2 °C\)"):
        join_readings(df, REGISTRY)
