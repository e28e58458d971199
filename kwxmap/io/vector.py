"""Vector layers: GeoJSON, GeoPackage, FlatGeobuf, Shapefile and CSV."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from .._atomic import (
    atomic_paths,
    check_writable,
)
from ..errors import InputError, KwxmapError, OutputError
from ..kmatime import KST
from .page import write_text

if TYPE_CHECKING:  # pragma: no cover - typing only
    import geopandas as gpd


#: Vector formats of :func:`write_vector`, by file extension.
VECTOR_FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".fgb": "fgb",
    ".shp": "shp",
    ".csv": "csv",
}


# --- vector ------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, pd.Timestamp | _dt.datetime | _dt.date):
        return None if pd.isna(value) else value.isoformat()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _rounded_geometry_texts(geoms: Any, precision: int) -> list[str | None]:
    """GeoJSON geometry texts, snapped to ``precision`` decimals, right-hand rule."""
    geoms = np.asarray(geoms, dtype=object)
    fixed = geoms.copy()
    present = ~shapely.is_missing(geoms)
    if present.any():
        snapped = shapely.set_precision(geoms[present], 10.0 ** (-precision))
        oriented = shapely.orient_polygons(snapped, exterior_cw=False)
        fixed[present] = oriented
    empty = shapely.is_empty(fixed) | shapely.is_missing(fixed)
    texts = shapely.to_geojson(fixed)
    # GEOS prints a few snapped values in full (35.092529999999996): shorten those
    # (every coordinate follows '[' or ','; anchoring on that makes the scan 2x faster)
    long_number = re.compile(r"(?<=[\[,])-?\d+\.\d{" + str(precision + 1) + ",}")

    def shorten(match: re.Match[str]) -> str:
        return repr(round(float(match.group()), precision))

    return [
        None if e or t is None else long_number.sub(shorten, str(t))
        for e, t in zip(empty, texts, strict=True)
    ]


def write_geojson(
    gdf: gpd.GeoDataFrame, path: str | os.PathLike[str], *, precision: int = 5
) -> Path:
    """Write a GeoDataFrame as RFC 7946 GeoJSON, atomically.

    Coordinates are lon/lat (the frame is reprojected to EPSG:4326 if
    needed), snapped to ``precision`` decimals with
    :func:`shapely.set_precision` (so the geometries stay valid after
    rounding: 5 decimals ≈ 1 m), polygons follow the right-hand rule
    (exterior rings counter-clockwise, holes clockwise); the file is UTF-8
    with Korean as characters and has no ``crs`` member. NaN and missing
    values become ``null``; dates and timestamps ISO 8601 strings.

    Parameters
    ----------
    gdf
        Any GeoDataFrame with a CRS (bands, lines, stations...).
    path
        Output file; its folder must exist.
    precision
        Decimal places of the coordinates (0..15).

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    InputError
        When the frame has no CRS or ``precision`` is out of range (a
        :class:`ValueError`).
    OutputError
        When the file cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib, json, geopandas as gpd, shapely
    >>> gdf = gpd.GeoDataFrame({"name_ko": ["서울"]},
    ...     geometry=[shapely.Point(126.9780012, 37.5665034)], crs=4326)
    >>> out = write_geojson(gdf, pathlib.Path(tempfile.mkdtemp()) / "s.geojson")
    >>> doc = json.loads(out.read_text(encoding="utf-8"))
    >>> doc["features"][0]["geometry"]["coordinates"], "crs" in doc
    ([126.978, 37.5665], False)
    >>> "서울" in out.read_text(encoding="utf-8")
    True
    """
    if isinstance(precision, bool) or not isinstance(precision, int | np.integer) or not (
        0 <= precision <= 15
    ):
        raise InputError(f"precision={precision!r} must be an integer number of decimals 0..15")
    if gdf.crs is None:
        raise InputError(
            "the GeoDataFrame has no CRS; set it with .set_crs(4326) (lon/lat) or the "
            "CRS the coordinates are in"
        )
    check_writable(path)
    if gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    geometries = _rounded_geometry_texts(gdf.geometry.values, precision)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    # geometry texts come straight from GEOS; only the properties go through json
    features = [
        '{"type":"Feature","properties":'
        + json.dumps(
            {str(c): _json_value(gdf[c].iloc[i]) for c in columns},
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
        )
        + ',"geometry":'
        + ("null" if geometry is None else geometry)
        + "}"
        for i, geometry in enumerate(geometries)
    ]
    text = '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"
    return write_text(text, path)


def vector_format(path: str | os.PathLike[str], format: str | None = None) -> str:
    """Return the vector format of ``path`` (or check ``format``).

    Examples
    --------
    >>> vector_format("a.GPKG"), vector_format("a.dat", "FGB")
    ('gpkg', 'fgb')
    """
    valid = sorted(set(VECTOR_FORMATS.values()))
    if format is not None:
        if not isinstance(format, str) or format.lower() not in valid:
            raise OutputError(f"format {format!r} is not one of {', '.join(valid)}")
        return format.lower()
    suffix = Path(path).suffix.lower()
    if suffix not in VECTOR_FORMATS:
        raise OutputError(
            f"cannot tell the format of {str(path)!r} from its extension; use one of "
            f"{', '.join(sorted(VECTOR_FORMATS))} or pass format=..."
        )
    return VECTOR_FORMATS[suffix]


def write_vector(
    gdf: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    layer: str | None = None,
) -> Path:
    """Write a GeoDataFrame as GeoJSON, GeoPackage, FlatGeobuf, Shapefile or CSV, atomically.

    The files are made for the GIS stacks users have (GDAL 3.6, QGIS 3.22):

    - GeoPackage 1.2 (GDAL 3.6 warns on 1.4); FlatGeobuf without a spatial
      index (it would reorder the features);
    - Shapefile with a ``.cpg`` declaring UTF-8 and a ``.prj`` in the WKT
      GDAL matches to an EPSG code; field names at most 10 characters;
      booleans as integers 1/0 (GDAL 3.6 reads DBF logicals as "T"/"F" text);
    - real field types: :class:`datetime.date` values become Date fields
      (DateTime in FlatGeobuf, which has no Date), timestamps DateTime
      (ISO 8601 text in a Shapefile, which has no times), booleans Boolean;
    - CSV: UTF-8 with a byte-order mark (Excel reads Korean; GDAL skips the
      mark), the attributes, ``lon``/``lat`` (``x``/``y`` when projected) for
      points, then a ``WKT`` geometry column, with a ``.csvt`` (column types)
      and a ``.prj`` so ``ogrinfo`` sees typed fields, geometries and the CRS.
    - GeoJSON: RFC 7946 (see :func:`write_geojson`), 7 decimals.

    Parameters
    ----------
    gdf
        The frame, with a CRS.
    path
        Output file (sidecars beside it for Shapefile and CSV).
    format
        One of :data:`VECTOR_FORMATS`' values; from the extension when None.
    layer
        Layer name (GeoPackage, FlatGeobuf); the file stem when None.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputError
        Unknown format, a value a format cannot hold, or the file cannot be
        written (the previous file, if any, is left untouched).

    Examples
    --------
    >>> import tempfile, pathlib, pyogrio, geopandas as gpd
    >>> gdf = gpd.GeoDataFrame({"name_ko": ["서울"], "active": [True]},
    ...     geometry=gpd.points_from_xy([126.97], [37.57]), crs=4326)
    >>> out = write_vector(gdf, pathlib.Path(tempfile.mkdtemp()) / "s.gpkg")
    >>> pyogrio.read_info(out)["fields"].tolist()
    ['name_ko', 'active']
    """
    fmt = vector_format(path, format)
    out = Path(path)
    if fmt == "geojson":
        return write_geojson(gdf, out, precision=7)
    if gdf.crs is None:
        raise InputError("the GeoDataFrame has no CRS; set it with .set_crs(...) first")
    sidecars = {"shp": (".dbf", ".shx", ".prj", ".cpg"), "csv": (".csvt", ".prj")}.get(fmt, ())
    with atomic_paths(out, sidecars=sidecars) as tmp:
        try:
            if fmt == "csv":
                _write_csv(gdf, tmp)
            else:
                _write_ogr(gdf, tmp, fmt, layer or out.stem)
        except KwxmapError:
            raise
        except Exception as exc:  # GDAL and pandas errors: report them as output errors
            raise OutputError(f"cannot write {str(out)!r} as {fmt}: {exc}") from exc
    return out


_OGR_DRIVERS = {"gpkg": "GPKG", "fgb": "FlatGeobuf", "shp": "ESRI Shapefile"}


def _naive_kst(col: pd.Series) -> pd.Series:
    """Zoned times as KST wall time, as kwxmap writes every time (naive times are KST)."""
    if getattr(col.dt, "tz", None) is None:
        return col
    return col.dt.tz_convert(KST).dt.tz_localize(None)


def _is_dates(values: pd.Series) -> bool:
    present = values.dropna()
    return len(present) > 0 and all(
        isinstance(v, _dt.date) and not isinstance(v, _dt.datetime) for v in present
    )


def _field(col: pd.Series, fmt: str) -> tuple[np.ndarray, np.ndarray | None]:
    """One column as an OGR-ready array and its null mask."""
    missing = col.isna().to_numpy()
    mask = missing if missing.any() else None
    if pd.api.types.is_bool_dtype(col.dtype):
        values = col.fillna(False).to_numpy(dtype=bool)
        return (values.astype("int32") if fmt == "shp" else values), mask
    if pd.api.types.is_integer_dtype(col.dtype):
        return col.fillna(0).to_numpy(dtype="int64"), mask
    if pd.api.types.is_float_dtype(col.dtype):
        return col.to_numpy(dtype="float64"), None
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        col = _naive_kst(col)
        if fmt == "shp":  # DBF has dates but no times: ISO 8601 text
            text = [None if m else v.isoformat() for v, m in zip(col, missing, strict=True)]
            return np.array(text, dtype=object), None
        return col.to_numpy(dtype="datetime64[ms]"), None
    if _is_dates(col):
        return np.array([None if pd.isna(v) else v for v in col], dtype="datetime64[D]"), None
    kinds = {type(v) for v in col.dropna()}
    if kinds - {str}:
        bad = sorted(k.__name__ for k in kinds - {str})
        raise ValueError(
            f"column {col.name!r} holds {', '.join(bad)} values, which {fmt} cannot store; "
            "convert them to text or numbers first"
        )
    return np.array([None if m else str(v) for v, m in zip(col, missing, strict=True)],
                    dtype=object), None


#: The geometry types a layer can have (a LinearRing has none of its own).
_OGR_TYPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
              "GeometryCollection")


def _geometry_type(geoms: Any) -> tuple[str, bool]:
    import shapely

    present = geoms[~shapely.is_missing(geoms)]
    found = {g.geom_type if g.geom_type in _OGR_TYPES else "Unknown" for g in present}
    if len(found) == 1:
        return found.pop(), False
    for single in ("Point", "LineString", "Polygon"):
        if found == {single, "Multi" + single}:
            return "Multi" + single, True
    return "Unknown", False


def _write_ogr(gdf: gpd.GeoDataFrame, tmp: Path, fmt: str, layer: str) -> None:
    import shapely
    from pyogrio.raw import write

    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    if fmt == "shp":
        too_long = [c for c in columns if len(str(c)) > 10]
        if too_long:
            raise OutputError(
                f"Shapefile field names are at most 10 characters: rename {too_long!r}"
            )
    fields = [_field(gdf[c], fmt) for c in columns]
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    geometry_type, promote = _geometry_type(geoms)
    options: dict[str, Any] = {}
    if fmt == "gpkg":
        options["dataset_options"] = {"VERSION": "1.2"}
    if fmt == "fgb":
        options["layer_options"] = {"SPATIAL_INDEX": "NO"}
    if fmt == "shp":
        options["encoding"] = "UTF-8"
    else:
        options["layer"] = layer
    write(
        str(tmp),
        geometry=np.asarray(shapely.to_wkb(geoms), dtype=object),
        field_data=[f[0] for f in fields],
        fields=[str(c) for c in columns],
        field_mask=[f[1] for f in fields],
        driver=_OGR_DRIVERS[fmt],
        geometry_type=geometry_type,
        promote_to_multi=promote,
        crs=gdf.crs.to_wkt(),
        **options,
    )
    if fmt == "shp":
        _write_prj(gdf.crs, tmp.with_suffix(".prj"))


def _write_prj(crs: Any, path: Path) -> None:
    """Write the WKT1 that GDAL 3.6 matches to an EPSG code (not the ESRI dialect)."""
    path.write_text(crs.to_wkt("WKT1_GDAL"), encoding="ascii")


def _csvt_type(col: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(col.dtype):
        return "Integer(Boolean)"
    if pd.api.types.is_integer_dtype(col.dtype):
        return "Integer64"
    if pd.api.types.is_float_dtype(col.dtype):
        return "Real"
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return "DateTime"
    if _is_dates(col):
        return "Date"
    return "String"


#: First characters that make a spreadsheet read a cell as a formula (and tab / CR,
#: which some spreadsheets strip before looking).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with text cells that a spreadsheet would run as formulas made text.

    A string cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets a leading apostrophe, which spreadsheets read as "this is
    text"; numbers, dates and other cells are unchanged. Every CSV kwxmap
    writes goes through this, so a station name or condition from a file or a
    page cannot become a formula in the user's spreadsheet.

    Examples
    --------
    >>> frame = pd.DataFrame({"name": ["=1+1", "서울", "-x"], "t": [-1.5, 2.0, 3.0]})
    >>> formula_safe(frame).to_dict("list")
    {'name': ["'=1+1", '서울', "'-x"], 't': [-1.5, 2.0, 3.0]}
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
            continue
        risky = values.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
        if risky.any():
            out[column] = values.astype(object).where(~risky, "'" + values.astype(str))
    return out


def _write_csv(gdf: gpd.GeoDataFrame, tmp: Path) -> None:
    import shapely

    frame = formula_safe(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)))
    for c in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[c].dtype):
            frame[c] = _naive_kst(frame[c])
    types = [_csvt_type(frame[c]) for c in frame.columns]
    for c, t in zip(list(frame.columns), types, strict=True):
        if t == "Integer(Boolean)":  # 1, 0 or empty (not 1.0/0.0, which GDAL misreads)
            frame[c] = pd.array([None if pd.isna(v) else int(bool(v)) for v in frame[c]],
                                dtype="Int64")
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if shapely.get_type_id(geoms[~shapely.is_missing(geoms)]).tolist() == [0] * int(
        (~shapely.is_missing(geoms)).sum()
    ) and len(geoms):
        xname, yname = ("lon", "lat") if gdf.crs.is_geographic else ("x", "y")
        frame[xname] = gdf.geometry.x.to_numpy()
        frame[yname] = gdf.geometry.y.to_numpy()
        types += ["Real", "Real"]
    frame["WKT"] = shapely.to_wkt(geoms, rounding_precision=-1)
    types.append("WKT")
    with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        frame.to_csv(f, index=False, lineterminator="\n")
    tmp.with_suffix(".csvt").write_text(",".join(types) + "\n", encoding="ascii")
    _write_prj(gdf.crs, tmp.with_suffix(".prj"))
