"""Build ``data/coast_distance_korea_30s.tif``: distance from each land cell to the sea, km.

Input: the 30 arc-second GLOBE land/sea mask of the South Korea box
(``korea_landmask_globe_30s.tif``: 1 = land, 0 = sea; NOAA NGDC GLOBE v1.0,
public domain, via the MIT-licensed ``global-land-mask`` package).
Output: the same grid (EPSG:4326, 960 x 720 cells, 124-132 E, 33-39 N), uint8
kilometres from the cell centre to the nearest sea-cell centre (Euclidean
distance with the cell's east-west size taken at 36 N), 0 on sea cells,
clipped at 254 km.

Usage::

    python scripts/make_coast_distance.py ../shared/reference/dem/korea_landmask_globe_30s.tif \
        data/coast_distance_korea_30s.tif
"""

from __future__ import annotations

import math
import sys

import numpy as np
import rasterio
from scipy import ndimage

KM_PER_DEG = 111.195  # mean Earth radius 6371.0 km


def main(src: str, dst: str) -> None:
    with rasterio.open(src) as ds:
        land = ds.read(1)
        profile = ds.profile
        res = ds.res
    dy = res[1] * KM_PER_DEG
    dx = res[0] * KM_PER_DEG * math.cos(math.radians(36.0))
    dist = ndimage.distance_transform_edt(land == 1, sampling=(dy, dx))
    out = np.clip(np.rint(dist), 0, 254).astype("uint8")
    profile.update(dtype="uint8", nodata=255, compress="deflate", predictor=2)
    with rasterio.open(dst, "w", **profile) as ds:
        ds.write(out, 1)
        ds.update_tags(
            values="km from the cell centre to the nearest sea cell (0 = sea)",
            source="NOAA NGDC GLOBE v1.0 land mask (public domain) via global-land-mask (MIT)",
        )
    print(out.shape, int(out.max()), "km max")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
