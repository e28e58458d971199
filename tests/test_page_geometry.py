"""The page's geometry encoding by hand: integers, deltas, dropped parts and the tolerance."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from kwxmap import page_geometry
from kwxmap.page_geometry import (
    PRECISION,
    SIMPLIFY_DEG,
    encode_lines,
    encode_polygons,
    encode_ring,
    simplified,
)


def _decode(ring: list[int]) -> np.ndarray:
    return np.cumsum(np.asarray(ring, dtype=float).reshape(-1, 2), axis=0) / PRECISION


def test_a_ring_is_its_first_point_then_deltas_in_ten_thousandths_of_a_degree():
    coords = np.array([[127.0, 37.0, 55.0], [127.00014, 36.99996, 60.0],  # z is not encoded
                       [127.00014, 36.99996, 61.0], [127.5, 37.25, 0.0]])
    assert encode_ring(coords) == [1270000, 370000, 1, 0, 4999, 2500]
    np.testing.assert_allclose(_decode(encode_ring(coords)),
                               [[127.0, 37.0], [127.0001, 37.0], [127.5, 37.25]])


def test_only_polygons_with_an_area_are_encoded():
    square = shapely.box(127.0, 37.0, 127.01, 37.01)
    hole = shapely.box(127.004, 37.004, 127.006, 37.006)
    flat_hole = shapely.Polygon([(127.002, 37.002), (127.008, 37.002), (127.00201, 37.00201)])
    collapsed = shapely.Polygon([(128.0, 36.0), (128.00001, 36.00001), (128.0, 36.00002)])
    mixed = shapely.GeometryCollection([
        shapely.Polygon(square.exterior, [hole.exterior, flat_hole.exterior]),
        shapely.LineString([(126.0, 35.0), (126.1, 35.1)]),
        shapely.Point(126.5, 35.5),
        shapely.Polygon(),
        collapsed,  # under 1/10 000 degree wide: one point on the page
    ])
    (rings,) = encode_polygons(mixed)
    assert len(rings) == 2  # the outline and the hole with an area; the flat hole is gone
    np.testing.assert_allclose(_decode(rings[0]), np.asarray(square.exterior.coords))
    np.testing.assert_allclose(_decode(rings[1]), np.asarray(hole.exterior.coords))
    triangle = shapely.Polygon([(127.0, 37.0), (127.0002, 37.0), (127.0, 37.0002)])
    assert len(encode_polygons(triangle)[0][0]) == 8  # the least ring kept: 3 vertices + close
    assert encode_polygons(shapely.MultiPolygon([collapsed])) == []


def test_only_lines_are_encoded_from_a_mixed_collection():
    line = shapely.LineString([(126.0, 35.0), (126.1, 35.1), (126.3, 35.0)])
    mixed = shapely.GeometryCollection([line, shapely.Point(1, 1), shapely.LineString(),
                                        shapely.box(0, 0, 1, 1)])
    (encoded,) = encode_lines(mixed)
    np.testing.assert_allclose(_decode(encoded), np.asarray(line.coords))


def test_simplifying_keeps_bends_over_the_tolerance_and_the_page_precision():
    bent = shapely.LineString([(127.0, 37.0), (127.1, 37.004), (127.2, 37.0)])  # 0.004°
    gentle = shapely.LineString([(127.0, 37.0), (127.1, 37.002), (127.2, 37.0)])  # 0.002°
    assert SIMPLIFY_DEG == pytest.approx(0.003)
    out = simplified([bent, gentle], polygons=False)
    assert len(out[0].coords) == 3 and len(out[1].coords) == 2
    # vertices land on 1/10 000 degree, not coarser: 127.0001 stays
    square = shapely.Polygon([(127.0001, 37.0001), (127.2001, 37.0001), (127.2001, 37.2001),
                              (127.0001, 37.2001)])
    (kept,) = simplified([square], polygons=True)
    np.testing.assert_allclose(sorted(set(shapely.get_coordinates(kept)[:, 0])),
                               [127.0001, 127.2001], atol=1e-12)
    assert len(simplified([], polygons=True)) == 0


def test_bands_that_cannot_be_simplified_as_a_coverage_are_simplified_one_by_one(monkeypatch):
    def refuses(*args, **kwargs):
        raise shapely.errors.GEOSException("not a valid coverage")

    bands = [shapely.Polygon([(127.0, 37.0), (127.1, 37.001), (127.2, 37.0), (127.2, 37.2),
                              (127.0, 37.2)])]
    monkeypatch.setattr(page_geometry.shapely, "coverage_simplify", refuses)
    (one,) = simplified(bands, polygons=True)
    want = shapely.simplify(shapely.set_precision(bands[0], 1e-4), SIMPLIFY_DEG,
                            preserve_topology=True)
    assert one.equals_exact(want, 1e-12)
    assert len(one.exterior.coords) == 5  # the 0.001° bend is gone
