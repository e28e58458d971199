"""Ground elevation for grid cells from a DEM (digital elevation model).

kwxmap ships a DEM of South Korea (``dem_korea_srtm30plus_60s.tif``: int16
metres, EPSG:4326, 480 x 360 pixels of 60 arc-seconds, about 2 km effective,
bounds 124-132 E, 33-39 N; sea is 0 m). It is read with ``tifffile`` (no
GDAL needed) and sampled at cell centres by bilinear interpolation in
lon/lat. At the 97 open ASOS sites it is off by 25.9 m on average (191 m at
worst, 인제), 3.5 times closer than the 5 arc-minute grid kwxmap shipped
before; near each station :func:`kwxmap.interpolate` also corrects it
towards the station's surveyed height. Station elevations always come from
the registry (``elevation_m``). For valleys and ridges at 1 km or finer,
pass a finer DEM GeoTIFF (``dem=path``, read with rasterio: ``pip install
kwxmap[raster]``), or ``dem="copernicus-90"``: the Copernicus GLO-90 DEM (3
arc-seconds, about 90 m) tiles covering the grid, downloaded once from their
public bucket (:data:`COPERNICUS_90_URL`; set ``KWXMAP_DEM_URL`` for a
mirror) into the user cache folder (``$KWXMAP_CACHE_DIR``, else
``$XDG_CACHE_HOME/kwxmap``, else ``~/.cache/kwxmap``) and read from there
afterwards. Sea tiles do not exist in the bucket; their cells are 0 m. Maps
made with it credit :data:`COPERNICUS_ATTRIBUTION`.

Shipped DEM credit: SRTM30_PLUS V11, Becker et al. (2009), Scripps
Institution of Oceanography; land = USGS SRTM30 (public domain); tiles via
jaanga/terrain-srtm30-plus.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
from scipy import ndimage

from ._data import data_path
from ._extras import require
from .errors import DataError, KwxmapWarning

__all__ = [
    "COPERNICUS_90",
    "COPERNICUS_90_URL",
    "COPERNICUS_ATTRIBUTION",
    "DEM",
    "copernicus_tiles",
    "dem_attribution",
    "fetch_copernicus",
    "grid_elevation",
    "read_dem",
    "sample_dem",
]

#: ``dem=`` value for the Copernicus GLO-90 DEM.
COPERNICUS_90 = "copernicus-90"
#: The public bucket of the GLO-90 tiles (Registry of Open Data on AWS).
COPERNICUS_90_URL = "https://copernicus-dem-90m.s3.amazonaws.com"
#: Credit the Copernicus DEM licence asks for, shown on maps made with it.
COPERNICUS_ATTRIBUTION = (
    "Elevation: Copernicus DEM GLO-90 © DLR e.V. 2010-2014 and © Airbus Defence and "
    "Space GmbH 2014-2018, provided under COPERNICUS by the European Union and ESA"
)

_SHIPPED = "dem_korea_srtm30plus_60s.tif"


@dataclasses.dataclass(frozen=True)
class DEM:
    """A north-up lon/lat elevation raster.

    Parameters
    ----------
    values
        ``(ny, nx)`` float metres, row 0 = north; NaN = no data.
    west, north
        Outer corner of cell ``[0, 0]`` in degrees.
    dlon, dlat
        Cell size in degrees (both positive).
    source
        Where it came from (path).
    """

    values: np.ndarray
    west: float
    north: float
    dlon: float
    dlat: float
    source: str = ""

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` outer edges in degrees."""
        ny, nx = self.values.shape
        return (self.west, self.north - ny * self.dlat, self.west + nx * self.dlon, self.north)

    def sample(self, lon: Any, lat: Any) -> np.ndarray:
        """Bilinear elevation (m) at lon/lat; NaN outside the raster's outer edges.

        Within the outer half-cell ring the edge values are extended.

        Examples
        --------
        >>> dem = read_dem()
        >>> float(dem.sample([128.7], [37.7])[0]) > 400  # 대관령 area (coarse: ~586 m)
        True
        >>> bool(np.isnan(dem.sample([140.0], [37.0])[0]))
        True
        """
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        ny, nx = self.values.shape
        w, s, e, n = self.bounds
        inside = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
        out = np.full(lon.shape, np.nan)
        if inside.any():
            # fractional (row, col) of cell centres; beyond the outer centres the
            # edge value holds (bilinear inside, constant in the half cell at the rim)
            row = np.clip((self.north - lat[inside]) / self.dlat - 0.5, 0, ny - 1)
            col = np.clip((lon[inside] - self.west) / self.dlon - 0.5, 0, nx - 1)
            out[inside] = ndimage.map_coordinates(
                np.asarray(self.values, dtype=np.float64), [row, col], order=1, mode="nearest"
            )
        return out


def _read_geotiff_tifffile(path: str) -> DEM:
    """Read a single-band lon/lat GeoTIFF with tifffile (tiepoint + pixel scale)."""
    try:
        import tifffile
    except ImportError as exc:  # pragma: no cover - tifffile is a core dependency
        raise DataError("reading the bundled DEM needs tifffile: `pip install tifffile`") from exc
    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            tags = {t.name: t.value for t in page.tags.values()}
            raw = page.asarray()
    except Exception as exc:  # tifffile raises many types for corrupt files
        raise DataError(f"cannot read DEM {path!r}: {exc}") from exc
    scale = tags.get("ModelPixelScaleTag")
    tie = tags.get("ModelTiepointTag")
    if scale is None or tie is None or raw.ndim != 2:
        raise DataError(f"DEM {path!r} is not a single-band georeferenced GeoTIFF")
    i, j, _, x, y, _ = tie[:6]
    dlon, dlat = float(scale[0]), float(scale[1])
    values = raw.astype(float)
    nodata = tags.get("GDAL_NODATA")
    if nodata is not None:
        try:
            values[values == float(str(nodata).strip("\x00 "))] = np.nan
        except ValueError:
            pass
    return DEM(
        values=values,
        west=float(x) - i * dlon,
        north=float(y) + j * dlat,
        dlon=dlon,
        dlat=dlat,
        source=str(path),
    )


@lru_cache(maxsize=1)
def _shipped_dem() -> DEM:
    dem = _read_geotiff_tifffile(str(data_path(_SHIPPED)))
    # Temperature reduction treats everything below sea level as 0 m.
    values = np.clip(dem.values, 0.0, None)
    values.setflags(write=False)
    return dataclasses.replace(dem, values=values)


def read_dem(path: str | os.PathLike[str] | None = None) -> DEM:
    """Read the shipped DEM (default) or a lon/lat GeoTIFF with tifffile.

    Parameters
    ----------
    path
        ``None`` for the shipped 60″ DEM (cached). Other files must be
        single-band GeoTIFFs in EPSG:4326; for projected DEMs use
        :func:`grid_elevation` with ``dem=path`` (rasterio).

    Returns
    -------
    DEM

    Examples
    --------
    >>> dem = read_dem()
    >>> dem.values.shape, dem.bounds
    ((360, 480), (124.0, 33.0, 132.0, 39.0))
    """
    if path is None:
        return _shipped_dem()
    if not os.path.isfile(path):
        raise DataError(f"DEM file {str(path)!r} does not exist")
    return _read_geotiff_tifffile(str(path))


def sample_dem(
    xy: Any, *, crs: Any = 5179, dem: DEM | str | os.PathLike[str] | None = None
) -> np.ndarray:
    """Elevation (m) at projected points from a lon/lat DEM (shipped by default).

    Parameters
    ----------
    xy
        ``(M, 2)`` coordinates in metres in ``crs``.
    crs
        CRS of ``xy``.
    dem
        A :class:`DEM`, a lon/lat GeoTIFF path, or ``None`` for the shipped DEM.

    Returns
    -------
    numpy.ndarray
        ``(M,)`` metres; NaN where the DEM has no data.

    Examples
    --------
    >>> tr = pyproj.Transformer.from_crs(4326, 5179, always_xy=True)
    >>> xy = np.array([tr.transform(126.97, 37.57)])  # 서울
    >>> float(sample_dem(xy)[0]) < 200
    True
    """
    model = dem if isinstance(dem, DEM) else read_dem(dem)
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    tr = pyproj.Transformer.from_crs(pyproj.CRS.from_user_input(crs), 4326, always_xy=True)
    lon, lat = tr.transform(pts[:, 0], pts[:, 1])
    return model.sample(lon, lat)


def _check_coverage(z: np.ndarray, source: str) -> None:
    missing = np.isnan(z)
    if missing.all():
        raise DataError(
            f"DEM {source!r} does not cover the region at all; pass a DEM that covers it "
            f"(dem=path) or use elevation=None"
        )
    frac = missing.mean()
    if frac > 0.01:
        raise DataError(
            f"DEM {source!r} does not cover {frac:.0%} of the region's cells; pass a DEM "
            f"that covers the whole region (dem=path) or use elevation=None"
        )


def grid_elevation(grid: Any, *, dem: DEM | str | os.PathLike[str] | None = None) -> np.ndarray:
    """Ground elevation (m) of every cell of a :class:`~kwxmap.grid.Grid` inside its mask.

    Parameters
    ----------
    grid
        The target grid.
    dem
        ``None``: the shipped coarse DEM (bilinear in lon/lat). A path: a
        GeoTIFF in any CRS, reprojected to the grid with rasterio (bilinear;
        ``pip install kwxmap[raster]``). ``"copernicus-90"``: the GLO-90 tiles
        covering the grid, downloaded once into the cache
        (:func:`fetch_copernicus`). A :class:`DEM`: sampled bilinearly.

    Returns
    -------
    numpy.ndarray
        ``(ny, nx)`` metres, NaN outside the mask. Cells the user DEM marks as
        no data (up to 1% of the region, typically sea along the coast) are
        set to 0 m with a :class:`~kwxmap.KwxmapWarning`.

    Raises
    ------
    DataError
        The DEM misses more than 1% of the region's cells, the file is
        unreadable, or rasterio is needed but not installed.

    Examples
    --------
    >>> from kwxmap.grid import make_grid
    >>> z = grid_elevation(make_grid("강원", resolution=20_000))
    >>> bool(np.nanmax(z) > 800), bool(np.nanmin(z) >= 0)
    (True, True)
    """
    out = np.full(grid.shape, np.nan)
    if not grid.mask.any():
        return out
    if isinstance(dem, str) and dem == COPERNICUS_90:
        lon, lat = grid.lonlat()
        bounds = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
        tiles = fetch_copernicus(bounds)
        z = _reproject_with_rasterio(grid, [str(t) for t in tiles if t is not None])
        z = z[grid.mask]
        if any(t is None for t in tiles):  # sea tiles are absent from the bucket: 0 m
            z = np.where(np.isnan(z), 0.0, z)
        source = COPERNICUS_90
    elif dem is None or isinstance(dem, DEM):
        model = read_dem() if dem is None else dem
        z = sample_dem(grid.cell_xy(), crs=grid.crs, dem=model)
        source = model.source or "DEM"
    else:
        z = _reproject_with_rasterio(grid, [str(dem)])[grid.mask]
        source = str(dem)
    _check_coverage(z, source)
    if np.isnan(z).any():
        warnings.warn(
            f"DEM {source!r} has no data at {int(np.isnan(z).sum())} cell(s) inside the region; "
            f"set to 0 m (sea level)",
            KwxmapWarning,
            stacklevel=2,
        )
        z = np.where(np.isnan(z), 0.0, z)
    out[grid.mask] = z
    return out


def _reproject_with_rasterio(grid: Any, paths: list[str]) -> np.ndarray:
    """Reproject DEM files (tiles of one mosaic) onto the grid (bilinear); rows south to north."""
    rasterio = require("rasterio", "rasterio.warp", extra="raster",
                       what="reading a DEM file (dem=, --dem; omit it for the shipped DEM)")
    from rasterio.warp import Resampling, reproject
    ny, nx = grid.shape
    r = float(grid.resolution)
    top = float(grid.y[-1]) + r / 2
    dst_transform = rasterio.Affine(r, 0.0, float(grid.x[0]) - r / 2, 0.0, -r, top)
    dst = np.full((ny, nx), np.nan, dtype="float64")
    for path in paths:
        if not os.path.isfile(path):
            raise DataError(f"DEM file {path!r} does not exist")
        try:
            with rasterio.open(path) as src:
                if src.crs is None:
                    raise DataError(f"DEM {path!r} has no CRS; georeference it first")
                reproject(
                    source=rasterio.band(src, 1),
                    destination=dst,
                    src_transform=src.transform,
                    src_crs=src.crs,
                    src_nodata=src.nodata,
                    dst_transform=dst_transform,
                    dst_crs=grid.crs.to_wkt(),
                    dst_nodata=np.nan,
                    init_dest_nodata=False,  # keep what earlier tiles filled
                    resampling=Resampling.bilinear,
                )
        except rasterio.errors.RasterioError as exc:
            raise DataError(f"cannot read DEM {path!r}: {exc}") from exc
    return dst[::-1]


# --- Copernicus GLO-90 -------------------------------------------------------------


def copernicus_tiles(bounds: tuple[float, float, float, float]) -> list[str]:
    """Names of the 1° x 1° GLO-90 tiles covering lon/lat ``(W, S, E, N)``.

    Examples
    --------
    >>> copernicus_tiles((126.8, 37.4, 127.2, 37.7))
    ['Copernicus_DSM_COG_30_N37_00_E126_00_DEM', 'Copernicus_DSM_COG_30_N37_00_E127_00_DEM']
    """
    west, south, east, north = bounds
    names = []
    for lat in range(math.floor(south), math.floor(north) + 1):
        for lon in range(math.floor(west), math.floor(east) + 1):
            ns = f"{'N' if lat >= 0 else 'S'}{abs(lat):02d}_00"
            ew = f"{'E' if lon >= 0 else 'W'}{abs(lon):03d}_00"
            names.append(f"Copernicus_DSM_COG_30_{ns}_{ew}_DEM")
    return names


def _cache_dir() -> Path:
    root = os.environ.get("KWXMAP_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "kwxmap"


def fetch_copernicus(
    bounds: tuple[float, float, float, float], *, timeout: float = 60.0
) -> list[Path | None]:
    """Download (once) the GLO-90 tiles covering lon/lat ``bounds``; return their paths.

    Tiles already in the cache folder are not downloaded again. A tile the
    bucket does not have (sea) is None in the list and remembered as such.

    Parameters
    ----------
    bounds
        ``(W, S, E, N)`` in degrees.
    timeout
        Seconds to wait for the server.

    Raises
    ------
    DataError
        When the server cannot be reached or a download fails (the message
        says to retry, or to use the shipped DEM by leaving out ``dem=``).
    """
    base = os.environ.get("KWXMAP_DEM_URL", COPERNICUS_90_URL).rstrip("/")
    folder = _cache_dir() / COPERNICUS_90
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create the DEM cache folder {str(folder)!r}: {exc.strerror or exc}; "
            "set KWXMAP_CACHE_DIR to a writable folder"
        ) from exc
    paths: list[Path | None] = []
    for name in copernicus_tiles(bounds):
        tile, sea = folder / f"{name}.tif", folder / f"{name}.sea"
        if not tile.exists() and not sea.exists():
            _download(f"{base}/{name}/{name}.tif", tile, sea, timeout)
        paths.append(tile if tile.exists() else None)
    return paths


def _download(url: str, tile: Path, sea: Path, timeout: float) -> None:
    import urllib.error
    import urllib.request

    from ._atomic import atomic_path

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            data = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code in (403, 404):  # the bucket has no tiles over the sea
            sea.touch()
            return
        raise DataError(
            f"cannot download the Copernicus DEM tile {url!r}: HTTP {exc.code}; retry later, "
            "or leave out dem= to use the shipped coarse DEM"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(
            f"cannot download the Copernicus DEM tile {url!r}: {reason}; check the network, "
            "or leave out dem= to use the shipped coarse DEM"
        ) from exc
    with atomic_path(tile) as tmp:
        tmp.write_bytes(data)


def dem_attribution(dem: Any) -> str | None:
    """Return the credit a map must show for ``dem`` (None: shipped DEM, user files).

    Examples
    --------
    >>> dem_attribution("copernicus-90").startswith("Elevation: Copernicus DEM GLO-90")
    True
    >>> dem_attribution(None) is None
    True
    """
    return COPERNICUS_ATTRIBUTION if dem == COPERNICUS_90 else None
