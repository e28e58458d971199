"""Bands and isolines as the web page holds them: simplified, in integer degrees, delta-encoded.

The page's JavaScript decodes them (``kwxmap/_assets/kwxmap.js``); the
encoding keeps a national map's layers small without moving a vertex more
than the precision below.

Examples
--------
>>> encode_ring(np.array([[127.0, 37.0], [127.0001, 37.0002], [127.0001, 37.0002]]))
[1270000, 370000, 1, 2]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

__all__ = ["PRECISION", "SIMPLIFY_DEG", "encode_lines", "encode_polygons", "encode_ring",
           "simplified"]

#: Band and isoline simplification in the page, degrees (≈ 300 m: a quarter of
#: a pixel on the national view at zoom 7, about two pixels at zoom 10; keeps a
#: 17-frame national animation with isolines under 3 MB).
SIMPLIFY_DEG = 0.003


#: Coordinates in the page: 1/10 000 degree (≈ 11 m), delta-encoded per ring.
PRECISION = 10_000


def encode_ring(coords: np.ndarray) -> list[int]:
    """Lon/lat → integers in 1/PRECISION degree, first pair absolute, then deltas."""
    q = np.round(np.asarray(coords, dtype=float)[:, :2] * PRECISION).astype(np.int64)
    d = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    keep = np.ones(len(d), dtype=bool)
    keep[1:] = np.any(d[1:] != 0, axis=1)
    return d[keep].ravel().tolist()


def encode_polygons(geom: Any) -> list[list[list[int]]]:
    """Encode a (multi)polygon's rings, leaving out those without an area.

    A ring with fewer than three distinct vertices after rounding to the
    page's precision is dropped, and a polygon whose outer ring is dropped.
    """
    out = []
    for part in shapely.get_parts(geom):
        if part.is_empty or part.geom_type != "Polygon":
            continue
        rings = [encode_ring(np.asarray(part.exterior.coords))]
        rings += [encode_ring(np.asarray(r.coords)) for r in part.interiors]
        if len(rings[0]) < 8:  # three vertices and the closing one, two numbers each
            continue
        out.append([r for r in rings if len(r) >= 8])
    return out


def encode_lines(geom: Any) -> list[list[int]]:
    """Encode a (multi)line's parts."""
    return [
        encode_ring(np.asarray(part.coords))
        for part in shapely.get_parts(geom)
        if not part.is_empty and part.geom_type == "LineString"
    ]


def simplified(geoms: Any, polygons: bool) -> np.ndarray:
    """Snap to the page's precision and simplify (bands as a coverage: neighbours still meet)."""
    arr = np.asarray(geoms, dtype=object)
    if not len(arr):
        return arr
    # snap to the page's 1/PRECISION degree first: inputs equal to ~1e-9 give the same page
    arr = shapely.set_precision(arr, 1.0 / PRECISION)
    if polygons:
        try:  # simplifies shared edges once, so neighbouring bands still meet
            return shapely.coverage_simplify(arr, SIMPLIFY_DEG)
        except shapely.errors.GEOSException:
            return shapely.simplify(arr, SIMPLIFY_DEG, preserve_topology=True)
    return shapely.simplify(arr, SIMPLIFY_DEG, preserve_topology=False)
