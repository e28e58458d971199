"""Joins keep what they can: each case with the values it must give.

Sites and heights come from the registry's own history (the KMA station
metadata), so every expected number is read from the station's periods, not
typed in twice.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import kwxmap
from kwxmap import join_readings, load_stations, parse_readings
from kwxmap.errors import KwxmapWarning
from kwxmap.pipeline import load_joined


@pytest.fixture(scope="module")
def reg():
    return load_stations()


def test_mean_of_duplicates_ignores_a_missing_value():
    joined = load_joined("station_name,temperature_c\n서울,24.0\n서울,-\n부산,3.0\n",
                         on_duplicate="mean")
    assert joined.set_index("station_id")["temperature_c"].to_dict() == {108: 24.0, 159: 3.0}
    report = joined.attrs["join_report"]
    assert (report.n_readings, report.n_placed) == (3, 2)
    assert report.summary() == ("only 2 of 3 readings placed (33 % not); not placed: "
                                "1 missing value (1 blank); 1 duplicated station merged (mean)")


def test_mean_of_two_values_is_their_mean_and_counts_the_merged_one():
    joined = load_joined("station_name,temperature_c\n서울,24.0\n서울,25.0\n",
                         on_duplicate="mean")
    assert joined["temperature_c"].tolist() == [24.5]
    assert joined.attrs["join_report"].not_placed == {"duplicate": 1}


@pytest.mark.parametrize("how", ["as_of", "time"])
def test_a_moved_station_takes_position_and_height_of_that_day(reg, how):
    # 백령도 (102): 146 m at 37.9661 N until 2018-05-01, 36 m at its new site since.
    old = next(p for p in reg.get(102).history if p.start <= "2010-01-01" < (p.end or "9"))
    assert old.elevation_m != reg.get(102).elevation_m
    if how == "as_of":
        joined = load_joined("station_id,temperature_c\n102,1.0\n", as_of="2010-01-01")
    else:
        joined = load_joined("time,station_id,temperature_c\n2010-01-01 09:00,102,1.0\n")
    row = joined.iloc[0]
    assert (row.geometry.x, row.geometry.y, row["elevation_m"]) == (old.lon, old.lat,
                                                                   old.elevation_m)


def test_every_site_period_gives_its_own_height_as_of_its_first_day(reg):
    checked = 0
    for station in reg:
        for period in station.history:
            if period.start is None or np.isnan(period.elevation_m):
                continue
            then = reg.as_of(period.start).get(station.station_id)
            assert (then.lon, then.lat, then.elevation_m) == (
                period.lon, period.lat, period.elevation_m), (station.station_id, period)
            checked += 1
    assert checked > 800


def test_a_day_outside_the_history_uses_the_nearest_period_and_says_so(reg):
    first = reg.get(102).history[0]  # 2000-11-01 .. 2018-05-01, 146 m
    joined = load_joined("time,station_id,temperature_c\n1990-01-01,102,1.0\n"
                         "1990-01-01,108,2.0\n")
    row = joined.set_index("station_id").loc[102]
    assert (row.geometry.y, row["elevation_m"]) == (first.lat, first.elevation_m)
    report = joined.attrs["join_report"]
    assert report.outside_history == [(102, 2, "1990-01-01")]
    assert report.summary() == (
        "2 of 2 readings placed; 1 reading dated outside their station's recorded history, "
        "placed at the nearest period's site")


def test_known_ids_without_places_take_the_registry_site_and_height(reg):
    joined = load_joined("station_id,temperature_c\n400,1.0\n410,2.0\n")
    for _, row in joined.iterrows():
        st = reg.get(int(row["station_id"]))
        assert (row.geometry.x, row.geometry.y, row["elevation_m"]) == (st.lon, st.lat,
                                                                       st.elevation_m)


def _aws_table(reg) -> pd.DataFrame:
    """Twenty open AWS stations around Seoul at their registry place, no heights."""
    aws = [s for s in reg.select(network="aws", active=True)
           if 37.3 < s.lat < 37.8 and 126.7 < s.lon < 127.3 and not np.isnan(s.elevation_m)]
    aws = aws[:20]
    rng = np.random.default_rng(5)
    temps = [round(20.0 - 0.0065 * s.elevation_m + rng.normal(0, 0.3), 1) for s in aws]
    return pd.DataFrame({"station_id": [s.station_id for s in aws],
                         "lon": [s.lon for s in aws], "lat": [s.lat for s in aws],
                         "temperature_c": temps})


def test_cv_of_known_aws_ids_with_lon_lat_but_no_heights_uses_registry_heights(reg, tmp_path):
    table = _aws_table(reg)
    path = tmp_path / "aws.csv"
    table.to_csv(path, index=False)
    proc = subprocess.run(
        [sys.executable, "-m", "kwxmap", "cv", str(path), "--method", "idw",
         "--elevation", "lapse", "--format", "json"],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    # the library on the same stations with the registry's heights written in
    heights = [reg.get(i).elevation_m for i in table["station_id"]]
    gdf = kwxmap.join_readings(table.assign(elevation_m=heights))
    want = kwxmap.cross_validate(gdf, "idw", elevation="lapse")
    assert json.loads(proc.stdout)["rmse"] == pytest.approx(want.rmse, abs=1e-9)
    assert "20 of 20 readings placed" in proc.stderr


def test_a_reading_at_a_former_site_takes_that_sites_height():
    # 대관령 (100) stood at 128.7587 E 37.6869 N, 842.52 m until 2006; now 772.43 m, 3.7 km off
    heights = [
        join_readings(parse_readings(f"station_id,lon,lat,temperature_c\n100,{place},-5.0\n")
                      )["elevation_m"].iloc[0]
        for place in ("128.7587,37.6869", "128.7183,37.6771", "128.90,37.80")]
    assert heights[:2] == [842.52, 772.43]
    assert math.isnan(heights[2])  # far from every site it had: no height claimed


def test_implausible_readings_warn_twenty_times_at_the_callers_line():
    rows = "".join(f"{sid},99.{k}\n" for k, sid in enumerate(
        [90, 100, 101, 105, 108, 112, 114, 119, 127, 129, 130, 131, 133, 135, 136, 137, 138,
         140, 143, 146, 152, 155]))  # 22 readings of 99 °C
    with pytest.warns(KwxmapWarning) as caught:
        joined = join_readings(parse_readings("station_id,temperature_c\n" + rows),
                               on_implausible="nan")
    said = [w for w in caught if "implausible temperature" in str(w.message)]
    assert len(said) == 20 and all(w.filename == __file__ for w in said)
    assert joined["temperature_c"].isna().all()
