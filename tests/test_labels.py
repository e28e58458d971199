"""Text on the map, checked by value: legend ticks, level and time wording, isotherm labels.

Each rule is checked against a second computation written here from the
rule's statement (the legend's pixel layout, exact decimals, the geometry of
a line in metres), not against the module's own output.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from kwxmap.errors import InputError
from kwxmap.labels import (
    LEGEND_PX,
    TICK_CHAR_PX,
    TICK_GAP_PX,
    format_level,
    format_time,
    isotherm_label_points,
    legend_ticks,
    map_heading,
)

# --------------------------------------------------------------------------- legend ticks


def _places(edges) -> int:
    """Fewest decimals (at most 2) that write every edge exactly, in exact decimals."""
    need = max(-Decimal(repr(float(e))).normalize().as_tuple().exponent for e in edges)
    return int(min(max(need, 0), 2))


def _box(i: int, text: str, n: int) -> tuple[float, float]:
    """A tick label's pixels on the narrowest legend: ends aligned in, the rest centred."""
    width = TICK_CHAR_PX * len(text)
    if i == 0:
        return 0.0, width
    if i == n - 1:
        return LEGEND_PX - width, LEGEND_PX
    centre = LEGEND_PX * i / (n - 1)
    return centre - width / 2, centre + width / 2


def _round_candidates(edges, most: int) -> list[int]:
    """Edges at round multiples of the step: 1, 2, 5, 10... steps, the first that fits."""
    steps = np.diff(edges)
    for k in (1, 2, 5, 10, 20, 50, 100):
        if np.allclose(steps, steps[0]):
            unit = Decimal(repr(float(steps[0]))) * k
            idx = [i for i, e in enumerate(edges) if Decimal(repr(float(e))) % unit == 0]
        else:
            idx = list(range(0, len(edges), k))
        if len(idx) + 2 <= most:
            return idx
    return idx


EDGE_SETS = [
    list(range(0, 31)),
    list(range(-15, 8)),
    [20, 21, 22, 23],
    [23.5 + 0.5 * i for i in range(12)],
    [-12.5 + 2.5 * i for i in range(11)],
    [-30 + 5 * i for i in range(15)],
    [0, 2.5, 5],
    [-0.75 + 0.25 * i for i in range(40)],
    [1, 2, 4, 8, 16],  # not uniform: every k-th edge
    [-100 + 2 * i for i in range(101)],
    [10.25, 10.5],
    list(range(0, 2001)),  # 2001 edges: every 100th is a candidate
    list(range(0, 251)),  # every 50th
    list(range(0, 22)),  # every 5th, but 20 would touch the last label
    [0.5, 1.5, 2.5, 3.5],  # no edge on a round multiple of the step: the ends alone
]


@pytest.mark.parametrize("edges", EDGE_SETS, ids=lambda e: f"{e[0]}..{e[-1]}/{len(e)}")
def test_legend_ticks_are_the_round_edges_that_fit_the_narrowest_legend(edges):
    ticks = legend_ticks(edges)
    n, places = len(edges), _places(edges)
    idx = [i for i, _ in ticks]
    assert idx[0] == 0 and idx[-1] == n - 1 and idx == sorted(set(idx))
    for i, text in ticks:  # one format: the fewest decimals that write every edge
        assert text == f"{edges[i]:.{places}f}", (i, text)
        assert Decimal(text) == Decimal(repr(float(edges[i]))).quantize(Decimal(1).scaleb(-places))
    boxes = [_box(i, t, n) for i, t in ticks]
    for (_, right), (left, _) in zip(boxes, boxes[1:], strict=False):  # no two labels touch
        assert left - right >= TICK_GAP_PX - 1e-9, ticks
    # greedy from the left: an inner round edge is left out only when it would touch
    candidates = set(_round_candidates(edges, 8)) - {0, n - 1}
    last_left = _box(n - 1, ticks[-1][1], n)[0]
    for i in sorted(candidates - set(idx)):
        left, right = _box(i, f"{edges[i]:.{places}f}", n)
        before = max(j for j in idx if j < i)
        prev_right = _box(before, dict(ticks)[before], n)[1]
        assert left < prev_right + TICK_GAP_PX or right + TICK_GAP_PX > last_left, (i, ticks)
    assert set(idx) - {0, n - 1} <= candidates


def test_legend_ticks_worked_by_hand():
    # 31 edges a degree apart: every 10th fits 8 labels (every 5th makes 7 + 2 ends)
    assert legend_ticks(range(31)) == [(0, "0"), (10, "10"), (20, "20"), (30, "30")]
    # a wide first label pushes its neighbour out: "-10.0" is 35 px, 9.11 px to the next edge
    assert [t for _, t in legend_ticks([-10 + 0.5 * i for i in range(36)])] == [
        "-10.0", "-5.0", "0.0", "5.0", "7.5"]
    assert legend_ticks([5]) == [(0, "5")]
    assert legend_ticks([]) == []


# --------------------------------------------------------------------------- level text


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [(24.0, None, "24"), (-2.5, None, "-2.5"), (3, 1, "3.0"), (0.125, None, "0.12"),
     (-0.2, 0, "0"), (-0.0, None, "0"), (0.0, 1, "0.0"), (-7.25, None, "-7.25"),
     (10, 0, "10"), (-10, 0, "-10"), (1e-12, None, "0")],
)
def test_format_level(value, decimals, text):
    assert format_level(value, decimals) == text


# --------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("time", "lang", "text"),
    [
        ("2020-08-14 00:00", "ko", "2020년 8월 14일"),
        ("2020-08-14 15:05", "ko", "2020년 8월 14일 15:05"),
        ("2016-10-27 16:37", "en", "27 Oct 2016 16:37"),
        ("2016-10-27 16:37 KST", "ko", "2016년 10월 27일 16:37 KST"),
        ("2021-01-03 00:00:30", "en", "3 Jan 2021 00:00"),  # not midnight: 30 s past
        (pd.Timestamp("2020-12-31 23:00", tz="Asia/Seoul"), "en", "31 Dec 2020 23:00 KST"),
        (pd.Timestamp("2020-02-29"), "ko", "2020년 2월 29일"),
        (datetime.date(2020, 5, 1), "en", "1 May 2020"),
        ("2020-08-14T15:00+09:00", "ko", "2020년 8월 14일 15:00 KST"),
        ("2020-08-14T06:00Z", "en", "14 Aug 2020 06:00 UTC"),
        ("2020-08-14T06:00+00:00 KST", "en", "14 Aug 2020 06:00 UTC"),  # the offset rules
        ("오후 4시", "ko", "오후 4시"),
        ("2020-13-01 10:00", "ko", "2020-13-01 10:00"),
        (pd.NaT, "ko", "NaT"),
        (None, "ko", "None"),
    ],
)
def test_format_time(time, lang, text):
    assert format_time(time, lang) == text


def test_map_heading_counts_and_words():
    assert map_heading(variable="tmax", time="2020-08-01", placed=3, total=5) == (
        "일최고기온", "2020년 8월 1일 · 5개 중 3개 지점 · 기상청")
    assert map_heading(time="2020-08-01 06:00", lang="en", title="Mine")[0] == "Mine"
    assert map_heading(daily=True, lang="en")[0] == "Daily mean temperature"
    assert map_heading(placed=3, lang="en")[1] == "KMA"  # a count needs both numbers
    assert map_heading(total=3, lang="en")[1] == "KMA"
    # an instant given in UTC is told in KST, the zone the heading names
    assert map_heading(time="2020-08-14T06:00Z")[1] == "2020년 8월 14일 15:00 KST · 기상청"
    assert map_heading(time=pd.Timestamp("2020-08-14 23:30", tz="UTC"), lang="en")[1] == (
        "15 Aug 2020 08:30 KST · KMA")
    assert map_heading(time="2020-08-14T15:00+09:00", variable="tmin", lang="en")[1] == (
        "14 Aug 2020 · KMA")


# --------------------------------------------------------------------------- isotherm labels


def _line(points_5179, level=20.0):
    line = shapely.LineString(points_5179)
    return gpd.GeoDataFrame({"level": [level]}, geometry=[line], crs=5179)


def _metric(table):
    return gpd.GeoSeries(gpd.points_from_xy(table["lon"], table["lat"]), crs=4326).to_crs(5179)


def test_labels_sit_on_the_line_evenly_spaced_and_turned_along_it():
    x0, y0 = 950_000.0, 1_900_000.0
    for dx, dy, angle in [(1, 0, 0.0), (1, 1, -45.0), (1, -1, 45.0), (0, 1, 90.0), (-1, 0, 0.0)]:
        length = 200_000.0
        end = (x0 + dx * length / np.hypot(dx, dy), y0 + dy * length / np.hypot(dx, dy))
        lines = _line([(x0, y0), end])
        pts = isotherm_label_points(lines, spacing_m=50_000)
        at = _metric(pts)
        # floor(200 km / 50 km) = 4 labels at (k + 1/2) * 50 km along the line
        assert len(pts) == 4, (dx, dy)
        along = np.sort([lines.geometry[0].project(p) for p in at])
        np.testing.assert_allclose(along, [25_000, 75_000, 125_000, 175_000], atol=2.0)
        assert at.distance(lines.geometry[0]).max() < 2.0  # 5-decimal lon/lat: ~1 m
        # CSS degrees clockwise within (-90, 90]: text never upside down, north-south is 90
        assert np.allclose(pts["angle"], angle, atol=0.2), (dx, dy, pts["angle"])
        assert pts["text"].tolist() == ["20"] * 4 and (pts["tier"] == 0).all()


def test_labels_keep_away_from_stations_and_from_each_other():
    x0, y0 = 950_000.0, 1_900_000.0
    step = 40_000.0
    lines = pd.concat([
        _line([(x0, y0), (x0 + 160_000, y0)], 20.0),  # 4 labels: 20, 60, 100, 140 km
        _line([(x0, y0 + 0.3 * step), (x0 + 120_000, y0 + 0.3 * step)], 21.0),  # too close
        _line([(x0, y0 + 0.5 * step), (x0 + 120_000, y0 + 0.5 * step)], 21.5),  # clear (>0.45)
        _line([(x0, y0 + 2 * step), (x0 + 0.25 * step, y0 + 2 * step)], 22.0),  # < 0.3 step
    ])
    station = gpd.GeoDataFrame(  # on the 60 km label, and one just outside 0.12 step
        geometry=gpd.points_from_xy([x0 + 60_000, x0 + 100_000 + 0.13 * step], [y0, y0]),
        crs=5179).to_crs(4326)
    pts = isotherm_label_points(lines, station, spacing_m=step)
    at = _metric(pts)
    got = sorted(zip(pts["level"], np.round(at.x - x0, -2), strict=True))
    # line 20 loses its 60 km label to the station (within 0.12 x 40 km); line 21 is 12 km
    # above it (< 0.45 x 40 km) and keeps only the label where line 20 has none; line 21.5
    # is 20 km above line 20 (clear) but its 60 km label is 8 km from line 21's
    assert got == [(20.0, 20_000), (20.0, 100_000), (20.0, 140_000),
                   (21.0, 60_000), (21.5, 20_000), (21.5, 100_000)]
    assert pts["text"].tolist()[:1] == ["20.0"]  # one format for 20 and 21.5
    assert pts["level"].tolist()[:3] == [20.0] * 3  # longest line first


def test_a_label_exactly_at_the_keep_away_distance_stays():
    x0, y0 = 950_000.0, 1_900_000.0
    lines = _line([(x0, y0), (x0 + 160_000, y0)])  # labels at 20, 60, 100, 140 km
    near = 0.12 * 40_000  # 4.8 km from a station: kept; any closer: dropped
    stations = gpd.GeoDataFrame(geometry=gpd.points_from_xy(
        [x0 + 20_000 + near, x0 + 100_000 + near - 1.0], [y0, y0]), crs=5179)
    pts = isotherm_label_points(lines, stations, spacing_m=40_000)
    assert sorted(np.round(_metric(pts).x - x0, -2)) == [20_000, 60_000, 140_000]
    stations = stations.set_crs(None, allow_override=True)  # no CRS: nothing to avoid
    assert len(isotherm_label_points(lines, stations, spacing_m=40_000)) == 4


def test_zoom_tiers_add_labels_between_the_kept_ones():
    lines = _line([(950_000.0, 1_900_000.0), (1_110_000.0, 1_900_000.0)])  # 160 km
    pts = isotherm_label_points(lines, spacing_m=80_000, tiers=3)
    along = {t: sorted(np.round(_metric(g).x.to_numpy() - 950_000, -2))
             for t, g in pts.groupby("tier")}
    assert along[0] == [40_000, 120_000]
    # tier 1 (40 km): 20/60/100/140 km, each 20 km from a kept label (> 0.45 x 40 km)
    assert along[1] == [20_000, 60_000, 100_000, 140_000]
    # tier 2 (20 km): the odd multiples of 10 km, 10 km from the kept ones (> 0.45 x 20 km)
    assert along[2] == [10_000, 30_000, 50_000, 70_000, 90_000, 110_000, 130_000, 150_000]
    assert pts["tier"].tolist() == sorted(pts["tier"])


def test_label_arguments_are_checked():
    lines = _line([(950_000.0, 1_900_000.0), (1_000_000.0, 1_900_000.0)])
    with pytest.raises(InputError, match="must be a positive distance"):
        isotherm_label_points(lines, spacing_m=-5)
    for tiers in (0, 9, 1.5):
        with pytest.raises(InputError, match="whole number from 1 to 8"):
            isotherm_label_points(lines, tiers=tiers)
    with pytest.raises(InputError, match="no CRS"):
        isotherm_label_points(lines.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match="'level' column"):
        isotherm_label_points(lines.drop(columns="level"))
    assert isotherm_label_points(lines.iloc[:0]).empty
    with_gaps = gpd.GeoDataFrame({"level": [20.0, 21.0, 22.0]},
                                 geometry=[None, shapely.LineString(), lines.geometry[0]],
                                 crs=5179)  # a missing and an empty isoline are passed over
    assert isotherm_label_points(with_gaps)["level"].tolist() == [22.0] * 8
    assert isotherm_label_points(lines, tiers=8)["tier"].max() == 7  # 8 tiers: 0..7
    assert set(isotherm_label_points(lines, tiers=1)["tier"]) == {0}
    # a line of exactly 0.3 spacings is labelled once, at its middle; shorter is not
    for length, count in ((12_000.0, 1), (11_999.0, 0)):
        short = _line([(950_000.0, 1_900_000.0), (950_000.0 + length, 1_900_000.0)])
        pts = isotherm_label_points(short, spacing_m=40_000)
        assert len(pts) == count, length
        if count:
            assert abs(_metric(pts).x[0] - 950_000.0 - length / 2) < 2.0
    # default spacing: an eighth of the lines' extent, so a 50 km line gets 8 labels
    assert len(isotherm_label_points(lines)) == 8
