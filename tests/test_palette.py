"""The temperature palette and the CIEDE2000 difference that checks it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kwxmap.errors import InputError
from kwxmap.palette import (
    FIXED_RANGE,
    MIN_DELTA_E,
    RAMP,
    band_colors,
    delta_e2000,
    hex_to_lab,
    ramp_colors,
    ramp_length,
)

REPO = Path(__file__).resolve().parent.parent
DAILY = REPO / "examples" / "data" / "kma_asos_daily_2020.csv"

#: Sharma, Wu & Dalal (2005), Table 1: (L1, a1, b1, L2, a2, b2, ΔE00).
SHARMA_PAIRS = [
    (50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425),
    (50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615),
    (50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412),
    (50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669),
    (50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461),
    (50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065),
    (50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492),
    (50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977),
    (50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030),
    (50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000),
    (60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644),
    (63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630),
    (61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731),
    (35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645),
    (22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373),
    (36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146),
    (90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441),
    (90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381),
    (6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377),
    (2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082),
]


def test_delta_e2000_matches_sharma_test_pairs():
    table = np.array(SHARMA_PAIRS)
    got = delta_e2000(table[:, :3], table[:, 3:6])
    np.testing.assert_allclose(got, table[:, 6], atol=5e-5)
    # symmetric, as the paper notes for its (corrected) mean-hue rule
    np.testing.assert_allclose(delta_e2000(table[:, 3:6], table[:, :3]), got, atol=1e-9)


def test_lab_conversion_known_answers():
    # sRGB primaries under D65 (Bruce Lindbloom's calculator values)
    lab = hex_to_lab(["#ff0000", "#00ff00", "#0000ff", "#808080"])
    np.testing.assert_allclose(
        lab,
        [[53.24, 80.09, 67.20], [87.73, -86.18, 83.18], [32.30, 79.19, -107.86],
         [53.59, 0.0, 0.0]],
        atol=0.02,
    )
    with pytest.raises(InputError, match="'#rrggbb'"):
        hex_to_lab(["red"])


def test_dark_colours_take_the_linear_branch_of_cielab():
    """Below the CIE's ε (Y < 0.008856) L* is κ·Y: #010101 has Y = (1/255)/12.92."""
    y = (1 / 255) / 12.92
    np.testing.assert_allclose(hex_to_lab(["#010101", "#000000"]),
                               [[24389 / 27 * y, 0.0, 0.0], [0.0, 0.0, 0.0]], atol=1e-6)
    # a dark blue: every channel of XYZ below ε, L*, a*, b* from the linear branch too
    lin = np.array([0.0, 0.0, (8 / 255) / 12.92])
    xyz = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                    [0.0193339, 0.1191920, 0.9503041]]) @ lin / [0.95047, 1.0, 1.08883]
    f = (24389 / 27 * xyz + 16) / 116
    want = [116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])]
    np.testing.assert_allclose(hex_to_lab("#000008"), want, atol=1e-9)


def test_ramp_length_is_the_ramps_colour_difference_summed_along_it():
    """A second computation of the ramp's CIEDE2000 length (finer steps: 8192)."""
    anchors = hex_to_lab(list(RAMP))
    s = np.linspace(0, len(RAMP) - 1, 8192)
    i = np.minimum(s.astype(int), len(RAMP) - 2)
    w = (s - i)[:, None]
    lab = anchors[i] * (1 - w) + anchors[i + 1] * w
    assert ramp_length() == pytest.approx(delta_e2000(lab[1:], lab[:-1]).sum(), rel=2e-4)
    # a position is a fraction of that length, from the first colour on: 2 and 4 units in
    near = hex_to_lab(ramp_colors([2 / ramp_length(), 4 / ramp_length()]))
    np.testing.assert_allclose(delta_e2000(near, hex_to_lab(RAMP[0])), [2.0, 4.0], atol=0.5)


def _neighbour_delta_e(colors):
    lab = hex_to_lab(colors)
    return delta_e2000(lab[1:], lab[:-1])


@pytest.mark.parametrize("n", [2, 5, 10, 18, 25])
def test_adaptive_bands_meet_the_threshold_up_to_25_bands(n):
    lowers = np.arange(n, dtype=float)
    colors = band_colors(lowers, lowers + 1, "adaptive")
    assert len(set(colors)) == n
    assert _neighbour_delta_e(colors).min() >= MIN_DELTA_E
    # the whole ramp is used, whatever the range
    assert colors[0] == ramp_colors([0])[0] and colors[-1] == ramp_colors([1])[0]


def test_ramp_is_perceptually_ordered():
    """Equal steps along the ramp are equal colour differences (within 15 %)."""
    steps = _neighbour_delta_e(ramp_colors(np.linspace(0, 1, 41)))
    assert steps.max() / steps.min() < 1.15
    # and it never turns back: each colour is further from the first than the previous one
    lab = hex_to_lab(ramp_colors(np.linspace(0, 1, 41)))
    from_start = delta_e2000(lab, lab[0])
    assert np.all(np.diff(from_start[:12]) > 0)


def test_fixed_palette_is_the_same_colour_for_the_same_temperature():
    a = band_colors([10, 11, 12], [11, 12, 13], "fixed")
    b = band_colors([11, 30], [12, 31], "fixed")
    assert a[1] == b[0]
    lo, hi = FIXED_RANGE
    assert band_colors([lo - 10], [lo - 8], "fixed") == ramp_colors([0])
    assert band_colors([hi + 1], [hi + 2], "fixed") == ramp_colors([1])
    # 5 °C bands on the fixed scale still differ visibly
    lowers = np.arange(-20, 35, 5.0)
    assert _neighbour_delta_e(band_colors(lowers, lowers + 5, "fixed")).min() >= MIN_DELTA_E


def test_unknown_palette_lists_the_valid_ones():
    with pytest.raises(InputError, match=r"'rainbow'.*\['fixed', 'adaptive'\]"):
        band_colors([0], [1], "rainbow")


@pytest.mark.parametrize(
    ("day", "column"), [("2020-08-14", "temp_c"), ("2020-12-21", "tmin_c")]
)
def test_summer_and_winter_fields_meet_the_threshold(day, column):
    """ASOS daily means of a summer day and minima of a winter day, through the pipeline.

    2020-12-21 is the coldest day in the example file (2020-12-17 is not in it):
    minima from -15.3 to 7.0 °C, 23 bands at 1 °C.
    """
    import geopandas as gpd

    import kwxmap

    daily = pd.read_csv(DAILY)
    rows = daily[daily["time"].astype(str).str.startswith(day)].dropna(subset=[column])
    registry = kwxmap.load_stations().to_geodataframe()
    readings = rows.rename(columns={"stn_id": "station_id", column: "temperature_c"})
    gdf = registry.merge(readings[["station_id", "temperature_c"]], on="station_id")
    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=registry.crs)
    grid = kwxmap.interpolate(gdf, resolution=10_000.0)
    bands = kwxmap.contour_bands(grid)
    assert len(bands) >= 5
    order = np.argsort(bands["lower"].to_numpy())
    colors = np.array(band_colors(bands["lower"], bands["upper"], "adaptive"))[order]
    delta = _neighbour_delta_e(list(colors))
    labels = bands["label"].iloc[order][1:]
    assert delta.min() >= MIN_DELTA_E, dict(zip(labels, delta.round(1), strict=True))
