"""Isotherm bands and lines: levels, exact clipping, tiling, holes, the seed map."""

from __future__ import annotations

import itertools
from decimal import Decimal

import numpy as np
import pytest
import shapely

from kwxmap.contours import contour_bands, contour_lines, resolve_levels
from kwxmap.errors import InputError, KwxmapWarning
from kwxmap.grid import make_grid


@pytest.fixture(scope="module")
def jeju():
    return make_grid("제주", resolution=1000.0)


def _field(grid, values):
    return grid.copy(values=np.where(grid.mask, values, np.nan))


def _xy(grid):
    return np.meshgrid(grid.x, grid.y)


def _projected(gdf, grid):
    return gdf.to_crs(grid.crs)


def _without_specks(geom, area=1.0):
    """Drop parts and holes under ``area`` m² (float noise of the lon/lat round trip)."""
    polys = []
    for part in shapely.get_parts(geom):
        if part.area < area:
            continue
        holes = [r for r in part.interiors if shapely.Polygon(r).area >= area]
        polys.append(shapely.Polygon(part.exterior, holes))
    return shapely.MultiPolygon(polys)


# ----------------------------------------------------------------------------- levels


@pytest.mark.parametrize(
    ("vmin", "vmax", "step"),
    [(18.1, 28.3, 1.0), (-3.2, 19.9, 1.0), (-12.0, 25.0, 2.0), (-30.0, 40.0, 5.0), (5.0, 5.0, 1.0)],
)
def test_nice_levels_cover_range_with_round_steps(vmin, vmax, step):
    levels = resolve_levels(None, vmin, vmax)
    assert np.allclose(np.diff(levels), step)
    assert levels[0] < vmin <= levels[1]  # (lower, upper] bands: the minimum is inside
    assert levels[-2] < vmax <= levels[-1]
    assert np.allclose(levels % step, 0) or np.allclose(levels % step, step)
    assert 1 <= len(levels) - 1 <= 25


def test_level_forms_agree():
    assert resolve_levels("-20:40:2", 0, 1).tolist() == list(range(-20, 41, 2))
    assert resolve_levels([1.5, 2, 3], 0, 1).tolist() == [1.5, 2.0, 3.0]
    assert resolve_levels("nice", 1.2, 3.4).tolist() == resolve_levels(None, 1.2, 3.4).tolist()
    assert resolve_levels(np.array([0.0, 10.0]), 0, 1).tolist() == [0.0, 10.0]


@pytest.mark.parametrize(
    "spec",
    ["-1.5:1.5:0.5", "-0.3:0.9:0.3", "0:1:0.1", "-12.5:-2.5:2.5", "-3:2:2", "-7.25:-7:0.05",
     "+0.5:3.7:0.8", "0:0.3:0.1", "-0.7:0.7:0.1"],  # 0.3 / 0.1 is 2.9999999999999996
)
def test_range_levels_with_fractional_and_negative_steps_are_exact_decimals(spec):
    # a second computation in exact decimals: start + k * step for every k with value <= stop
    start, stop, step = (Decimal(part) for part in spec.split(":"))
    expect = []
    while start + len(expect) * step <= stop:
        expect.append(start + len(expect) * step)
    got = resolve_levels(spec, 0.0, 1.0)
    assert len(got) == len(expect), spec
    np.testing.assert_allclose(got, [float(d) for d in expect], rtol=0, atol=1e-12)
    assert got[0] == float(start)  # the start itself, not start rounded


def test_a_band_edge_at_a_fractional_level_puts_values_on_the_right_side(jeju):
    # a field rising 0.1 °C per km across Jeju, bands 0.5 °C wide from a negative start
    xx, yy = _xy(jeju)
    grid = _field(jeju, -2.0 + (xx - xx.min()) / 10_000)
    bands = _projected(contour_bands(grid, levels="-2.5:6.5:0.5"), grid)
    edges = resolve_levels("-2.5:6.5:0.5", 0, 1).tolist()
    pairs = list(zip(bands["lower"], bands["upper"], strict=True))
    assert all(edges.index(hi) == edges.index(lo) + 1 for lo, hi in pairs)
    values = grid.values[jeju.mask]
    pts = shapely.points(xx[jeju.mask], yy[jeju.mask])
    seen = 0
    for lo, hi, geom in zip(bands["lower"], bands["upper"], bands.geometry, strict=True):
        core = shapely.buffer(geom, -0.6 * jeju.resolution)  # away from the drawn edge
        hit = shapely.contains(core, pts)
        seen += hit.sum()
        assert (values[hit] > lo - 1e-9).all() and (values[hit] <= hi + 1e-9).all(), (lo, hi)
    assert seen > 0.5 * len(values)


@pytest.mark.parametrize(
    ("levels", "match"),
    [
        ("every 2", "not understood"),
        ("40:-20:2", "start < stop"),
        ("0:10:0", "positive step"),
        ([1.0], "fewer than two"),
        ("0:1000000:0.001", "more than 10,000"),  # was a 1e9-edge array, then a hang
        ([1, 3, 2], "strictly increasing"),
        ([1, 1, 2], "strictly increasing"),
        ([0, np.nan], "NaN or infinity"),
        (["a", "b"], "must be numbers"),
    ],
)
def test_bad_levels_are_rejected(levels, match):
    # InputError (a ValueError): the CLI prints it as one line instead of a traceback
    with pytest.raises(InputError, match=match):
        resolve_levels(levels, 0.0, 10.0)


def test_a_single_isoline_level(jeju):
    # the freezing line alone: one level is enough for lines (bands need two edges)
    xx, _ = _xy(jeju)
    grid = _field(jeju, -3 + (xx - xx.min()) / 10000)
    lines = contour_lines(grid, [0])
    assert lines["level"].tolist() == [0.0] and lines["label"].tolist() == ["0 °C"]
    assert contour_lines(grid, 0)["level"].tolist() == [0.0]
    with pytest.raises(InputError, match="need at least one"):
        contour_lines(grid, [])
    with pytest.raises(InputError, match="fewer than two edges"):
        contour_bands(grid, [0])


def test_bad_grids_are_rejected(jeju):
    with pytest.raises(InputError, match="no finite values"):
        contour_bands(jeju)
    with pytest.raises(TypeError, match="expected a kwxmap Grid"):
        contour_bands(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="tolerance"):
        contour_bands(_field(jeju, 1.0), [0, 2], simplify=-5)


# ----------------------------------------------------------------------------- known answers


def test_linear_field_gives_exact_strips(jeju):
    """v = 10 + x/10 km: band (L, U] is the region between two meridian lines."""
    xx, _ = _xy(jeju)
    x0 = jeju.x[0]
    grid = _field(jeju, 10 + (xx - x0) / 10_000)
    bands = contour_bands(grid, "10:20:1")
    proj = _projected(bands, jeju)
    miny, maxy = jeju.region.bounds[1] - 10, jeju.region.bounds[3] + 10
    inland = jeju.region.buffer(-1.5 * jeju.resolution)
    coast = jeju.region.boundary.buffer(1.5 * jeju.resolution)
    assert len(bands) >= 6
    for lower, upper, geom in zip(proj["lower"], proj["upper"], proj.geometry, strict=True):
        strip = shapely.box(x0 + (lower - 10) * 10_000, miny, x0 + (upper - 10) * 10_000, maxy)
        expected = shapely.intersection(jeju.region, strip)
        diff = geom.symmetric_difference(expected)
        # Inland the band is exact (up to the lon/lat round trip); next to the coast the
        # field is extended by the nearest cell, so edges may move within ~a cell there.
        assert diff.intersection(inland).area < 1.0
        assert diff.difference(coast).area < 1.0


def test_constant_field_is_one_band_over_the_region(jeju):
    bands = contour_bands(_field(jeju, 21.0))
    assert bands[["lower", "upper"]].values.tolist() == [[20.0, 21.0]]
    geom = _projected(bands, jeju).geometry.iloc[0]
    assert geom.symmetric_difference(jeju.region).area < 1e-6 * jeju.region.area


def test_warm_spot_leaves_a_hole_in_the_surrounding_band(jeju):
    xx, yy = _xy(jeju)
    cx, cy = shapely.centroid(jeju.region).coords[0]
    r2 = (xx - cx) ** 2 + (yy - cy) ** 2
    grid = _field(jeju, 10 + 8 * np.exp(-r2 / (2 * 8000.0**2)))
    bands = contour_bands(grid, [9, 12, 15, 19])
    proj = _projected(bands, jeju).set_index("lower")
    outer, inner = proj.geometry.loc[9.0], proj.geometry.loc[15.0]
    holes = [shapely.Polygon(r) for p in outer.geoms for r in p.interiors]
    assert holes, "the 9–12 band must keep a hole around the warm spot"
    assert inner.within(shapely.union_all(holes).buffer(1.0))
    # The hole is exactly filled by the warmer bands.
    warmer = shapely.union_all([proj.geometry.loc[12.0], inner])
    assert shapely.union_all(holes).symmetric_difference(warmer).area < 1.0


def test_values_outside_the_levels_are_left_out(jeju):
    xx, _ = _xy(jeju)
    grid = _field(jeju, 10 + (xx - jeju.x[0]) / 10_000)  # about 10..17.4
    bands = contour_bands(grid, [12, 14])
    assert bands["label"].tolist() == ["12–14 °C"]
    total = _projected(bands, jeju).area.sum()
    assert 0 < total < 0.5 * jeju.region.area
    # levels that miss the data altogether: an empty frame, and a warning saying why
    with pytest.warns(KwxmapWarning, match=r"levels 100\.\.200 °C miss the data range 10\.\."):
        assert contour_bands(grid, [100, 200]).empty


# ----------------------------------------------------------------------------- the seed map


@pytest.fixture(scope="module")
def seed_bands(seed_grid):
    return contour_bands(seed_grid)


def test_seed_bands_columns_and_levels(seed_bands, seed_grid):
    assert list(seed_bands.columns) == ["lower", "upper", "label", "geometry"]
    assert seed_bands.crs.to_epsg() == 4326
    assert set(seed_bands.geom_type) == {"MultiPolygon"}
    assert (seed_bands["upper"] - seed_bands["lower"] == 1.0).all()
    assert seed_bands["lower"].is_monotonic_increasing
    lo, hi = np.nanmin(seed_grid.values), np.nanmax(seed_grid.values)
    assert seed_bands["lower"].min() < lo and seed_bands["upper"].max() >= hi
    row = seed_bands.iloc[0]
    assert row["label"] == f"{row['lower']:g}–{row['upper']:g} °C"


def test_seed_bands_are_valid_and_do_not_overlap(seed_bands, seed_grid):
    assert shapely.is_valid(seed_bands.geometry.values).all()
    proj = _projected(seed_bands, seed_grid).geometry.values
    for a, b in itertools.combinations(range(len(proj)), 2):
        assert shapely.intersection(proj[a], proj[b]).area < 1.0, (a, b)


def test_seed_bands_tile_the_land_and_follow_the_coast(seed_bands, seed_grid):
    region = seed_grid.region
    # Snapping to 1 cm closes the float cracks of the lon/lat round trip.
    union = shapely.union_all(_projected(seed_bands, seed_grid).geometry.values, grid_size=0.01)
    # Same area as the land within a few square metres ...
    assert union.symmetric_difference(region).area < 1e-6 * region.area
    # ... nothing over the sea beyond 1 km ...
    assert union.difference(region.buffer(1000.0)).area == 0
    # ... and the coast is the boundary's, not the grid's staircase: every vertex of
    # one outline lies on the other (to the 1 cm snapping).
    union, land = _without_specks(union), _without_specks(shapely.set_precision(region, 0.01))
    for a, b in ((union, land), (land, union)):
        pts = shapely.points(shapely.get_coordinates(a.boundary))
        assert shapely.distance(pts, b.boundary).max() < 0.05
    # Islands smaller than a cell are covered too (Ulleungdo, Dokdo).
    assert len(shapely.get_parts(union)) == len(shapely.get_parts(land))


def test_seed_lines_lie_on_the_band_edges(seed_bands, seed_grid):
    lines = contour_lines(seed_grid)
    assert lines.crs.to_epsg() == 4326
    assert set(lines.geom_type) == {"MultiLineString"}
    edges = set(seed_bands["lower"]) | set(seed_bands["upper"])
    assert set(lines["level"]) <= edges
    assert lines.attrs["levels"] == seed_bands.attrs["levels"]
    proj_bands = _projected(seed_bands, seed_grid)
    proj_lines = _projected(lines, seed_grid)
    for level, line in zip(proj_lines["level"], proj_lines.geometry, strict=True):
        below = proj_bands.geometry[proj_bands["upper"] == level]
        above = proj_bands.geometry[proj_bands["lower"] == level]
        assert len(below) and len(above), level
        pts = shapely.points(shapely.get_coordinates(line))
        assert shapely.distance(pts, below.iloc[0].boundary).max() < 0.5
        assert shapely.distance(pts, above.iloc[0].boundary).max() < 0.5
        assert line.within(seed_grid.region.buffer(1.0))


def test_simplify_keeps_the_tiling_and_the_coast(seed_bands, seed_grid):
    simple = contour_bands(seed_grid, simplify=True)
    edges = ["lower", "upper"]
    assert simple[edges].values.tolist() == seed_bands[edges].values.tolist()
    n_full = shapely.get_num_coordinates(seed_bands.geometry.values).sum()
    n_simple = shapely.get_num_coordinates(simple.geometry.values).sum()
    assert n_simple < n_full  # the coast (most vertices) is kept exactly
    assert shapely.is_valid(simple.geometry.values).all()
    proj = _projected(simple, seed_grid).geometry.values
    assert shapely.area(proj).sum() - shapely.union_all(proj).area < 1e-6 * seed_grid.region.area
    union = shapely.union_all(proj)
    assert union.symmetric_difference(seed_grid.region).area < 1e-6 * seed_grid.region.area
    # Each band moved by at most the tolerance (half a cell).
    full = _projected(seed_bands, seed_grid).geometry.values
    for a, b in zip(full, proj, strict=True):
        assert shapely.hausdorff_distance(a, b) <= 0.5 * seed_grid.resolution + 1.0


@pytest.mark.parametrize(("vmin", "vmax"), [(0.0, np.inf), (-np.inf, 3.0), (np.nan, 3.0)])
def test_nice_levels_need_a_finite_range(vmin, vmax):
    with pytest.raises(InputError, match="cannot choose levels for the data range"):
        resolve_levels(None, vmin, vmax)


def test_a_grid_of_two_rows_can_be_contoured():
    g = make_grid("서울", resolution=5000.0)
    two = g.copy(x=g.x[:3], y=g.y[:2], values=np.array([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]),
                 mask=np.ones((2, 3), dtype=bool))
    bands = contour_bands(two, [0, 2.5, 5])
    assert bands[["lower", "upper"]].values.tolist() == [[0.0, 2.5], [2.5, 5.0]]
    with pytest.raises(InputError, match="too small to contour"):
        contour_bands(two.copy(y=g.y[:1], values=np.array([[1.0, 2.0, 3.0]]),
                               mask=np.ones((1, 3), dtype=bool)), [0, 2.5, 5])


def test_a_simplify_tolerance_below_one_metre_is_accepted(jeju):
    xx, yy = _xy(jeju)
    grid = _field(jeju, 10 + np.hypot(xx - xx.mean(), yy - yy.mean()) / 7000)
    full = contour_bands(grid)
    fine = contour_bands(grid, simplify=0.5)
    assert fine[["lower", "upper"]].values.tolist() == full[["lower", "upper"]].values.tolist()
    a, b = _projected(full, jeju).geometry.values, _projected(fine, jeju).geometry.values
    assert max(shapely.hausdorff_distance(p, q) for p, q in zip(a, b, strict=True)) <= 1.5


def test_the_no_band_warning_points_at_the_caller(jeju):
    with pytest.warns(KwxmapWarning, match=r"no isotherm band: the levels 100\.\.101 °C miss "
                      r"the data range 1\.5\.\.1\.5 °C") as caught:
        contour_bands(_field(jeju, 1.5), [100, 101])
    assert caught[0].filename == __file__


def test_range_levels_stop_at_10000_edges_and_count_them():
    assert len(resolve_levels("0:9999:1", 0, 1)) == 10_000  # the limit itself is fine
    with pytest.raises(InputError, match=r"'0:10000:1' give 10,001 edges, more than 10,000"):
        resolve_levels("0:10000:1", 0, 1)


def test_zero_area_polygon_parts_are_not_band_parts():
    from kwxmap.contours import _polygonal

    sliver = shapely.Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])  # collinear: area 0
    square = shapely.box(0, 0, 1, 1)
    assert _polygonal(shapely.GeometryCollection([sliver, square])).equals(
        shapely.MultiPolygon([square]))
    assert _polygonal(sliver).is_empty


def test_simplify_true_means_half_the_grid_resolution(jeju):
    """The docstring's promise: ``simplify=True`` is the tolerance resolution / 2."""
    xx, yy = _xy(jeju)
    grid = _field(jeju, 10 + np.hypot(xx - xx.mean(), yy - yy.mean()) / 7000)
    half = contour_bands(grid, simplify=0.5 * jeju.resolution)
    auto = contour_bands(grid, simplify=True)
    assert shapely.equals(auto.geometry.values, half.geometry.values).all()
    one_metre = contour_bands(grid, simplify=1.0)
    assert not shapely.equals(auto.geometry.values, one_metre.geometry.values).all()


def test_explicit_string_levels_on_the_seed(seed_grid):
    bands = contour_bands(seed_grid, "16:32:4")
    assert set(bands["upper"] - bands["lower"]) == {4.0}
    assert bands.attrs["levels"] == [16.0, 20.0, 24.0, 28.0, 32.0]
    lines = contour_lines(seed_grid, "16:32:4")
    assert set(lines["level"]) <= {20.0, 24.0, 28.0}


def test_missing_cells_inside_the_region_stay_uncovered(jeju):
    """Cells with no estimate (NaN inside the region) are not painted by any band."""
    values = np.where(jeju.mask, 21.0, np.nan)
    rows, cols = np.nonzero(jeju.mask)
    r0, c0 = int(np.median(rows)), int(np.median(cols))
    values[r0 - 2 : r0 + 3, c0 - 2 : c0 + 3] = np.nan  # a 5 x 5 km gap
    assert jeju.mask[r0 - 2 : r0 + 3, c0 - 2 : c0 + 3].all()
    bands = contour_bands(jeju.copy(values=values))
    covered = shapely.union_all(_projected(bands, jeju).geometry.values)
    gap = jeju.region.area - covered.area
    assert 25e6 <= gap <= 49e6  # the gap, grown by at most one cell
    xx, yy = _xy(jeju)
    centres = shapely.points(
        xx[r0 - 2 : r0 + 3, c0 - 2 : c0 + 3], yy[r0 - 2 : r0 + 3, c0 - 2 : c0 + 3]
    )
    assert not shapely.intersects(covered, centres).any()


def test_a_band_label_spaces_its_dash_only_below_zero():
    from kwxmap.contours import band_label

    assert band_label(0.0, 1.0) == "0–1 °C"
    assert band_label(-1.0, 0.0) == "\u22121 – 0 °C"
    assert band_label(-0.5, 0.5) == "\u22120.5 – 0.5 °C"


def test_parts_are_flattened_from_nested_collections_and_sorted_by_kind():
    from kwxmap.contours import _lines, _polygonal

    square, other = shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)
    line = shapely.LineString([(0, 0), (5, 5)])
    point_line = shapely.LineString([(1, 1), (1, 1)])  # no length
    nested = shapely.GeometryCollection([
        shapely.MultiPolygon([square, other]),
        shapely.GeometryCollection([line, point_line, shapely.Point(9, 9)]),
        shapely.Polygon(),
    ])
    polys = _polygonal(nested)
    assert polys.geom_type == "MultiPolygon" and polys.equals(shapely.MultiPolygon([square, other]))
    lines = _lines(nested)
    assert lines.geom_type == "MultiLineString" and list(lines.geoms) == [line]


def test_filled_rings_keep_triangles_and_drop_what_has_no_area():
    from kwxmap.contours import _polygons_from_filled

    triangle = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 3.0], [0.0, 0.0]])
    flat = np.array([[10.0, 0.0], [12.0, 0.0], [14.0, 0.0], [10.0, 0.0]])  # collinear
    tiny = np.array([[20.0, 0.0], [21.0, 0.0], [20.0, 0.0]])  # three points: not a ring
    points = np.vstack([triangle, flat, tiny])
    offsets = np.array([0, 4, 8, 11])  # three rings
    outer = np.array([0, 1, 2, 3])  # each its own polygon's outline
    got = _polygons_from_filled(points, offsets, outer)
    assert got.geom_type == "MultiPolygon" and len(got.geoms) == 1
    assert got.geoms[0].equals(shapely.Polygon(triangle)) and got.area == 6.0
