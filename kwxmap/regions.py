"""Regions: the many ways of naming where a map is, turned into one geometry.

:func:`resolve_region` accepts the country, a province by any of its names or
its KOSTAT code, a lon/lat bounding box, a shapely geometry or a GeoDataFrame;
:func:`load_provinces` reads the bundled province polygons; :func:`is_country`
says whether a name means the whole country.

Province polygons: KOSTAT SGIS 2018 boundaries (simplified), licensed KOGL
Type 1 (공공누리 제1유형, attribution required).
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from ._data import data_path
from .errors import DataError, RegionError

__all__ = ["is_country", "load_provinces", "resolve_region"]

_ALLOWED_EPSG = (5179, 5186)

# name_ko (as in the bundled file) -> (short Korean, English short, extra aliases)
_PROVINCE_NAMES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "서울특별시": ("서울", "Seoul", ("서울시",)),
    "부산광역시": ("부산", "Busan", ("부산시", "Pusan")),
    "대구광역시": ("대구", "Daegu", ("대구시", "Taegu")),
    "인천광역시": ("인천", "Incheon", ("인천시",)),
    "광주광역시": ("광주", "Gwangju", ("광주시", "Kwangju")),
    "대전광역시": ("대전", "Daejeon", ("대전시",)),
    "울산광역시": ("울산", "Ulsan", ("울산시",)),
    "세종특별자치시": ("세종", "Sejong", ("세종시", "Sejongsi")),
    "경기도": ("경기", "Gyeonggi", ("Gyeonggi-do",)),
    "강원도": ("강원", "Gangwon", ("강원특별자치도", "Gangwon-do")),
    "충청북도": ("충북", "Chungbuk", ("Chungbuk-do", "Chungcheongbuk-do", "North Chungcheong")),
    "충청남도": ("충남", "Chungnam", ("Chungnam-do", "Chungcheongnam-do", "South Chungcheong")),
    "전라북도": (
        "전북",
        "Jeonbuk",
        ("Jeonbuk-do", "전북특별자치도", "Jeollabuk-do", "North Jeolla"),
    ),
    "전라남도": ("전남", "Jeonnam", ("Jeonnam-do", "Jeollanam-do", "South Jeolla")),
    "경상북도": ("경북", "Gyeongbuk", ("Gyeongbuk-do", "Gyeongsangbuk-do", "North Gyeongsang")),
    "경상남도": ("경남", "Gyeongnam", ("Gyeongnam-do", "Gyeongsangnam-do", "South Gyeongsang")),
    "제주특별자치도": ("제주", "Jeju", ("제주도", "Jeju-do", "Cheju")),
}

_COUNTRY_NAMES = (
    "south-korea",
    "southkorea",
    "korea",
    "kr",
    "kor",
    "전국",
    "대한민국",
    "남한",
    "한국",
)


def is_country(region: Any) -> bool:
    """Return whether ``region`` names the whole country (``"south-korea"``, ``"전국"`` ...).

    Examples
    --------
    >>> is_country("전국"), is_country("South Korea"), is_country("충북"), is_country((1, 2, 3, 4))
    (True, True, False, False)
    """
    return isinstance(region, str) and _norm(region) in {_norm(c) for c in _COUNTRY_NAMES}


def _norm(name: str) -> str:
    """Normalise a region name for matching (NFC, case, spaces, dashes)."""
    text = unicodedata.normalize("NFC", name).strip().casefold()
    return "".join(ch for ch in text if ch not in " -_.")


@lru_cache(maxsize=1)
def _province_records() -> tuple[tuple[str, str, str, str, BaseGeometry], ...]:
    """Read the bundled provinces once: (name_ko, name_en, short, code, geometry lon/lat)."""
    import pyogrio

    path = data_path("provinces.geojson")
    try:
        table = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises several unrelated types
        raise DataError(f"cannot read bundled province file {str(path)!r}: {exc}") from exc
    records = []
    for name_ko, code, geom in zip(table["name"], table["code"], table.geometry, strict=True):
        short, name_en, _ = _PROVINCE_NAMES.get(name_ko, (name_ko, name_ko, ()))
        geom = shapely.make_valid(geom)
        shapely.prepare(geom)
        records.append((str(name_ko), name_en, short, str(code), geom))
    return tuple(records)


@lru_cache(maxsize=1)
def _name_table() -> dict[str, str]:
    """Map every accepted normalised province name to its ``name_ko``."""
    table: dict[str, str] = {}
    for name_ko, name_en, short, code, _ in _province_records():
        extras = _PROVINCE_NAMES.get(name_ko, (short, name_en, ()))[2]
        for alias in (name_ko, name_en, short, code, *extras):
            table[_norm(alias)] = name_ko
    return table


def load_provinces() -> Any:
    """Return the 17 provinces (시도) of South Korea as a GeoDataFrame.

    The polygons are the bundled KOSTAT 2018 boundaries (simplified; KOGL
    Type 1, attribution required). The file is read once per process.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, columns ``name_ko``, ``name_en``, ``short``, ``code``,
        ``geometry``; a fresh copy on every call.

    Examples
    --------
    >>> prov = load_provinces()
    >>> len(prov), prov.crs.to_epsg()
    (17, 4326)
    >>> prov.set_index("short").loc["충북", "name_en"]
    'Chungbuk'
    """
    import geopandas as gpd

    rows = _province_records()
    return gpd.GeoDataFrame(
        {
            "name_ko": [r[0] for r in rows],
            "name_en": [r[1] for r in rows],
            "short": [r[2] for r in rows],
            "code": [r[3] for r in rows],
        },
        geometry=[r[4] for r in rows],
        crs="EPSG:4326",
    )


def _check_crs(crs: Any) -> pyproj.CRS:
    try:
        out = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise RegionError(
            f"unknown grid crs {crs!r}; use 5179 (Korea 2000 unified, default) or 5186"
        ) from exc
    if out.to_epsg() not in _ALLOWED_EPSG:
        raise RegionError(
            f"grid crs {crs!r} is not supported; grids are computed in metres in "
            f"EPSG:5179 (default) or EPSG:5186"
        )
    return out


@lru_cache(maxsize=8)
def _transformer(src: str, dst: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def _project_lonlat(geom: BaseGeometry, crs: pyproj.CRS) -> BaseGeometry:
    """Project a lon/lat geometry to ``crs`` (densified so long edges bend correctly)."""
    tr = _transformer("EPSG:4326", crs.to_wkt())
    geom = shapely.segmentize(geom, 0.05)  # degrees; bbox edges become curves in metres
    out = shapely.transform(geom, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    return shapely.make_valid(out)


@lru_cache(maxsize=64)
def _named_region(key: str, epsg: int) -> BaseGeometry:
    crs = pyproj.CRS.from_epsg(epsg)
    records = _province_records()
    if key == "south-korea":
        # the provinces share their borders (a polygon coverage): the coverage
        # union is ~10x faster than a general union; fall back if it is not valid
        parts = [r[4] for r in records]
        geom = shapely.coverage_union_all(parts)
        if not shapely.is_valid(geom):
            geom = shapely.union_all(parts)
    else:
        geom = next(r[4] for r in records if r[0] == key)
    out = _project_lonlat(geom, crs)
    shapely.prepare(out)
    return out


def _suggest(name: str, n: int = 5) -> list[str]:
    table = _name_table()
    hits = difflib.get_close_matches(_norm(name), list(table), n=n * 3, cutoff=0.4)
    out: list[str] = []
    for hit in hits:
        name_ko = table[hit]
        short = _PROVINCE_NAMES.get(name_ko, (name_ko, name_ko, ()))[0]
        label = f"{short} ({_PROVINCE_NAMES.get(name_ko, (short, name_ko, ()))[1]})"
        if label not in out:
            out.append(label)
    return out[:n]


def _check_lonlat_bounds(bounds: Sequence[float], what: str) -> None:
    w, s, e, n = bounds
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise RegionError(
            f"{what} bounds {tuple(bounds)!r} are not longitude/latitude degrees; pass a "
            f"GeoDataFrame/GeoSeries with its CRS set for projected geometries"
        )


def resolve_region(region: Any = "south-korea", *, crs: Any = 5179) -> BaseGeometry:
    """Turn a region specification into a (prepared) shapely geometry in the grid CRS.

    Parameters
    ----------
    region
        One of

        - ``"south-korea"`` (also ``"korea"``, ``"전국"``, ``"대한민국"``): all land
          of the 17 provinces, islands included;
        - a province by Korean name (``"충청북도"``), short name (``"충북"``),
          English name (``"Chungbuk"``, ``"Chungcheongbuk-do"``) or KOSTAT code
          (``"33"``); matching ignores case, spaces and dashes;
        - a ``(west, south, east, north)`` lon/lat bounding box (the rectangle
          itself, sea included);
        - a shapely geometry in lon/lat (EPSG:4326);
        - a GeoDataFrame or GeoSeries with a CRS (its geometries are unioned).
    crs
        The grid CRS: EPSG 5179 (default) or 5186.

    Returns
    -------
    shapely.Geometry
        Polygon or MultiPolygon in ``crs`` metres.

    Raises
    ------
    RegionError
        Unknown name (with suggestions), empty or non-areal geometry, bad bbox,
        unsupported CRS.

    Examples
    --------
    >>> geom = resolve_region("충북")
    >>> round(geom.area / 1e6, -2)  # km², 충청북도 is about 7,400 km²
    7400.0
    >>> resolve_region("Chungbuk").equals(geom)
    True
    >>> resolve_region("Chungbok")
    Traceback (most recent call last):
    ...
    kwxmap.errors.RegionError: unknown region 'Chungbok'; did you mean 충북 (Chungbuk), ...
    """
    grid_crs = _check_crs(crs)
    epsg = int(grid_crs.to_epsg())
    if isinstance(region, str):
        key = _norm(region)
        if key in {_norm(c) for c in _COUNTRY_NAMES}:
            return _named_region("south-korea", epsg)
        table = _name_table()
        if key in table:
            return _named_region(table[key], epsg)
        hints = _suggest(region)
        tail = f"did you mean {', '.join(hints)}?" if hints else ""
        raise RegionError(
            f"unknown region {region!r}; {tail} Use 'south-korea', a province name "
            f"(e.g. '충북', 'Chungbuk'), a (west, south, east, north) lon/lat bbox or a geometry"
        )
    if isinstance(region, BaseGeometry):
        if region.is_empty:
            raise RegionError("region geometry is empty")
        _check_lonlat_bounds(region.bounds, "region geometry")
        geom = _project_lonlat(region, grid_crs)
    elif hasattr(region, "geometry") and hasattr(region, "crs"):
        if region.crs is None:
            raise RegionError(
                "region GeoDataFrame/GeoSeries has no CRS; set it with .set_crs(4326) first"
            )
        series = region.geometry if hasattr(region, "columns") else region
        if len(series) == 0:
            raise RegionError("region GeoDataFrame/GeoSeries is empty")
        bounds = series.total_bounds
        if pyproj.CRS.from_user_input(region.crs).is_geographic and np.isfinite(bounds).all():
            _check_lonlat_bounds(bounds.tolist(), "region GeoDataFrame/GeoSeries")
        # each part made valid first: a self-intersecting polygon breaks the union
        parts = shapely.make_valid(series.to_crs(grid_crs).to_numpy())
        geom = shapely.make_valid(shapely.union_all(parts))
    elif isinstance(region, Sequence | np.ndarray) and len(region) == 4:
        try:
            w, s, e, n = (float(v) for v in region)
        except (TypeError, ValueError) as exc:
            raise RegionError(f"region bbox {region!r} must be four numbers") from exc
        _check_lonlat_bounds((w, s, e, n), "region bbox")
        if not (w < e and s < n):
            raise RegionError(
                f"region bbox {tuple(region)!r} must be (west, south, east, north) "
                f"with west < east and south < north"
            )
        geom = _project_lonlat(shapely.box(w, s, e, n), grid_crs)
    else:
        raise RegionError(
            f"cannot use {region!r} as a region; use 'south-korea', a province name, a "
            f"(west, south, east, north) lon/lat bbox, a shapely geometry or a GeoDataFrame"
        )
    if geom.is_empty or geom.area <= 0:
        raise RegionError(f"region {region!r} has no area (points or lines cannot be gridded)")
    shapely.prepare(geom)
    return geom
