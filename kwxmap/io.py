"""Every file kwxmap writes: vector layers, rasters, HTML, and sets of them.

One writer per format, each atomic (a temporary beside the target renamed
into place, so a failure never leaves a partial file or clobbers the old
one) and each refusing targets that are not regular files (a device such as
``/dev/full``, a FIFO, a socket). A symlink is written through: the file it
points to is replaced, the link stays.

========================  =======================================================
vector                    :func:`write_vector` (GeoJSON, GeoPackage, FlatGeobuf,
                          Shapefile, CSV), :func:`write_geojson`
raster                    :func:`write_geotiff` (Cloud-Optimized GeoTIFF),
                          :func:`write_netcdf`, :func:`write_zarr` (CF-1.8)
page                      :func:`write_html`, :func:`write_text`
sets of files             :func:`write_set`, :class:`Staging`
========================  =======================================================

A set (an HTML map and its layers, a batch of maps with their index and
grids) is written into a temporary folder beside the destination and swapped
in with one rename, so readers see the old set or the new set, never a mix.
Every output folder follows one rule: it is created when its parent exists;
otherwise the error names the missing parent.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from ._atomic import (
    atomic_path,
    atomic_paths,
    check_writable,
    exchange,
    keep_mode,
    output_folder,
    temp_sibling,
)
from ._extras import require
from .errors import InputError, KwxmapError, OutputError
from .kmatime import TIME_ENCODING, cf_time, to_kst

if TYPE_CHECKING:  # pragma: no cover - typing only
    import folium
    import geopandas as gpd

    from .grid import Grid

__all__ = [
    "MANIFEST",
    "VECTOR_FORMATS",
    "Staging",
    "cf_dataset",
    "check_writable",
    "formula_safe",
    "output_folder",
    "write_geojson",
    "write_geotiff",
    "write_html",
    "write_netcdf",
    "write_set",
    "write_text",
    "write_vector",
    "write_zarr",
]

#: Vector formats of :func:`write_vector`, by file extension.
VECTOR_FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".fgb": "fgb",
    ".shp": "shp",
    ".csv": "csv",
}
#: The file in a set folder that lists the files of the set (so the next set
#: replaces exactly those and keeps anything else in the folder).
MANIFEST = ".kwxmap_set.json"

_REFERENCES = "Korea Meteorological Administration (KMA) observations, https://data.kma.go.kr"

Writer = Callable[[Path], Any]


# --- sets of files -----------------------------------------------------------------


class _Folder:
    """A set folder being staged: files go to a temporary sibling of ``dest``."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.tmp = temp_sibling(dest)
        self.names: list[str] = []

    def write(self, name: str, writer: Writer) -> Path:
        """Write ``name`` into the set now (with ``writer(path)``); return its final path."""
        if Path(name).name != name or name in ("", ".", "..", MANIFEST):
            raise OutputError(f"set member {name!r} must be a plain file name")
        _run(writer, self.tmp / name, self.dest / name)
        if name not in self.names:
            self.names.append(name)
        return self.dest / name

    def _old_members(self) -> set[str]:
        try:
            return set(json.loads((self.dest / MANIFEST).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return set()

    def _check_one_filesystem(self) -> None:
        """Refuse a folder holding a mount point: swapping it would copy and then delete it."""
        device = os.stat(self.dest).st_dev
        for root, dirs, _ in os.walk(self.dest):  # does not follow symlinks
            for name in dirs:
                path = os.path.join(root, name)
                if os.lstat(path).st_dev != device:
                    raise OutputError(
                        f"output folder {str(self.dest)!r} holds a mount point {path!r}; "
                        "kwxmap replaces the whole folder to write a set: write it into a "
                        "folder without mount points"
                    )

    def _carry_over(self) -> None:
        """Hard-link what the folder holds besides the old set into the new set."""
        if not self.dest.is_dir():
            return
        self._check_one_filesystem()
        skip = self._old_members() | set(self.names) | {MANIFEST}
        for entry in os.scandir(self.dest):
            if entry.name in skip:
                continue
            src, dst = Path(entry.path), self.tmp / entry.name
            if entry.is_symlink():
                os.symlink(os.readlink(src), dst)
            elif entry.is_dir():
                shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)
            else:
                _link_or_copy(src, dst)

    def commit(self) -> None:
        (self.tmp / MANIFEST).write_text(json.dumps(self.names), encoding="utf-8")
        self._carry_over()
        for name in self.names:  # a replaced member keeps who may read it
            keep_mode(self.tmp / name, self.dest / name)
        keep_mode(self.tmp, self.dest)
        if not self.dest.exists():
            os.rename(self.tmp, self.dest)
            return
        if _holds_cwd(self.dest):
            self._commit_in_place()
            return
        exchange(self.tmp, self.dest)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _commit_in_place(self) -> None:
        """Move the files one by one (the folder is the working directory: cannot swap it)."""
        old = self._old_members()
        for name in self.names:
            keep_mode(self.tmp / name, self.dest / name)
            os.replace(self.tmp / name, self.dest / name)
        for name in old - set(self.names):
            with contextlib.suppress(OSError):
                (self.dest / name).unlink()
        os.replace(self.tmp / MANIFEST, self.dest / MANIFEST)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _holds_cwd(folder: Path) -> bool:
    try:
        cwd = Path.cwd().resolve()
    except OSError:
        return False
    target = folder.resolve()
    return cwd == target or target in cwd.parents


def _link_or_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _run(writer: Writer, tmp: Path, final: Path) -> None:
    try:
        writer(tmp)
    except OutputError as exc:  # name the file the user asked for, not the temporary
        raise OutputError(str(exc).replace(str(tmp), str(final))) from exc
    except KwxmapError:
        raise
    except (OSError, RuntimeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        raise OutputError(f"cannot write {str(final)!r}: {reason}") from exc
    if not tmp.exists():
        raise OutputError(f"writer produced no file for {str(final)!r}")


class Staging:
    """Write several files and folders now; move them into place together at the end.

    Use it as a context manager: on a normal exit every staged folder is
    swapped in (one rename each) and every staged file renamed over its
    target; on an exception every temporary is removed and nothing changes.
    A file staged inside a staged folder becomes part of that folder's set.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> with Staging() as st:
    ...     layers = st.folder(base / "layers")
    ...     _ = layers.write("a.txt", lambda p: p.write_text("1", encoding="utf-8"))
    ...     _ = st.file(base / "map.txt", lambda p: p.write_text("2", encoding="utf-8"))
    >>> sorted(p.name for p in base.rglob("*") if not p.name.startswith("."))
    ['a.txt', 'layers', 'map.txt']
    """

    def __init__(self) -> None:
        self._folders: dict[Path, _Folder] = {}
        self._files: list[tuple[Path, Path, Path]] = []  # (tmp, target, tmpdir)
        self.written: list[Path] = []

    def folder(self, dest: str | os.PathLike[str]) -> _Folder:
        """Stage a set folder (the one output-folder rule applies: see :func:`output_folder`)."""
        path = output_folder(dest, create=False)
        key = path.resolve()
        if key not in self._folders:
            self._folders[key] = _Folder(path)
        return self._folders[key]

    def file(self, path: str | os.PathLike[str], writer: Writer) -> Path:
        """Write one file now into a temporary; it replaces ``path`` at the end."""
        given = Path(path)
        staged = self._folders.get(given.parent.resolve())
        if staged is not None:
            final = staged.write(given.name, writer)
            self.written.append(final)
            return final
        target = check_writable(given)
        tmpdir = temp_sibling(target)
        self._files.append((tmpdir / target.name, target, tmpdir))
        _run(writer, tmpdir / target.name, target)
        self.written.append(target)
        return target

    def commit(self) -> list[Path]:
        """Move everything into place: folders first, then single files."""
        try:
            for staged in self._folders.values():
                staged.commit()
                self.written += [staged.dest / n for n in staged.names]
            for tmp, target, tmpdir in self._files:
                keep_mode(tmp, target)
                os.replace(tmp, target)
                shutil.rmtree(tmpdir, ignore_errors=True)
        except OSError as exc:
            self.discard()
            raise OutputError(f"cannot move the outputs into place: {exc.strerror or exc}") from exc
        self.written = list(dict.fromkeys(self.written))
        return self.written

    def discard(self) -> None:
        """Remove every temporary; nothing is moved into place."""
        for staged in self._folders.values():
            staged.discard()
        for _, _, tmpdir in self._files:
            shutil.rmtree(tmpdir, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def write_set(dest: str | os.PathLike[str], writers: Mapping[str, Writer]) -> list[Path]:
    """Write a set of files into folder ``dest``, all or nothing.

    Every file is written into a temporary folder beside ``dest`` which then
    takes ``dest``'s place in one rename (``renameat2`` exchange on Linux):
    readers see the complete old set or the complete new set. Files of the
    previous set that the new one lacks are gone; anything else in ``dest``
    (files kwxmap did not write) is kept. Temporaries of killed runs are
    removed by the next run. ``dest`` is created when its parent exists.

    Parameters
    ----------
    dest
        The folder.
    writers
        File name → ``writer(path)`` that writes that file at ``path``.

    Returns
    -------
    list of pathlib.Path
        The files of the set, in order.

    Raises
    ------
    OutputError
        When the folder cannot be created or a file cannot be written
        (nothing changes then).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> dest = pathlib.Path(tempfile.mkdtemp()) / "maps"
    >>> _ = write_set(dest, {"a.txt": lambda p: p.write_text("a", encoding="utf-8"),
    ...                      "b.txt": lambda p: p.write_text("b", encoding="utf-8")})
    >>> _ = write_set(dest, {"a.txt": lambda p: p.write_text("A", encoding="utf-8")})
    >>> sorted(p.name for p in dest.iterdir() if p.name != MANIFEST)
    ['a.txt']
    """
    with Staging() as st:
        folder = st.folder(dest)
        for name, writer in writers.items():
            folder.write(name, writer)
    return [Path(dest) / n for n in writers]


# --- text and HTML -----------------------------------------------------------------


def write_text(text: str, path: str | os.PathLike[str]) -> Path:
    """Write UTF-8 text atomically; returns the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = write_text("서울 3.5", pathlib.Path(tempfile.mkdtemp()) / "a.txt")
    >>> out.read_text(encoding="utf-8")
    '서울 3.5'
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_html(m: folium.Map, path: str | os.PathLike[str]) -> Path:
    """Write a Folium map as a standalone UTF-8 HTML file, atomically.

    Parameters
    ----------
    m
        The map, e.g. from :func:`~kwxmap.render_map`.
    path
        Output file; its folder must exist.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    OutputError
        When the folder is missing or not writable, or ``path`` is a device,
        FIFO or folder.

    Examples
    --------
    >>> import tempfile, pathlib, folium
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "map.html"
    >>> write_html(folium.Map(tiles=None), out).read_text(encoding="utf-8")[:15]
    '<!DOCTYPE html>'
    """
    check_writable(path)  # before rendering
    return write_text(m.get_root().render(), path)


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
        if getattr(col.dt, "tz", None) is not None:
            col = col.dt.tz_localize(None)
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


def _geometry_type(geoms: Any) -> tuple[str, bool]:
    import shapely

    present = geoms[~shapely.is_missing(geoms)]
    kinds = {shapely.get_type_id(g) for g in present}
    names = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
             6: "MultiPolygon", 7: "GeometryCollection"}
    found = {names.get(int(k), "Unknown") for k in kinds}
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
    types = [_csvt_type(frame[c]) for c in frame.columns]
    for c, t in zip(list(frame.columns), types, strict=True):
        if t == "Integer(Boolean)":
            frame[c] = frame[c].map(lambda v: None if pd.isna(v) else int(bool(v)))
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


# --- raster ------------------------------------------------------------------------


def _rasterio() -> Any:
    # rasterio.shutil: CreateCopy to COG
    return require("rasterio", "rasterio.shutil", extra="raster", what="GeoTIFF output")


def _north_up(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(values, y)`` with rows north to south (the one place rows are flipped).

    A grid stores rows south to north (``y`` ascending); GeoTIFF, NetCDF for
    GIS and rioxarray expect the first row to be the northernmost.
    """
    y = np.asarray(grid.y, dtype=float)
    values = np.asarray(grid.values, dtype=float)  # (ny, nx) or (nt, ny, nx)
    if y.size > 1 and y[0] < y[-1]:
        return values[..., ::-1, :], y[::-1]
    return values, y


def _as_grid(surface: Any, what: str) -> Grid:
    from .grid import Grid, as_grid

    grid = as_grid(surface)
    if not isinstance(grid, Grid):
        raise InputError(
            f"{what} takes a kwxmap Grid or an xarray DataArray, not {type(surface).__name__}"
        )
    return grid


def _variance(grid: Grid) -> Grid | None:
    var = grid.attrs.get("variance")
    return var if var is not None and hasattr(var, "values") else None


def write_geotiff(grid: Grid, path: str | os.PathLike[str]) -> Path:
    """Write a grid as a Cloud-Optimized GeoTIFF, atomically.

    Float32, north up, tiled 256 x 256 with DEFLATE compression and
    overviews (averaged), NaN as the nodata value, the grid's EPSG code
    (5179 by default), band description and units (``degC``). A kriging
    variance (``grid.attrs["variance"]``) is written as a second band.
    Needs rasterio (``pip install kwxmap[raster]``).

    Parameters
    ----------
    grid
        The grid to write.
    path
        Output ``.tif`` file; its folder must exist.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    ImportError
        When rasterio is not installed.
    OutputError
        When the file cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, rasterio
    >>> from kwxmap.grid import make_grid
    >>> g = make_grid("서울", resolution=5000)
    >>> g = g.copy(values=np.where(g.mask, 20.0, np.nan), name="temperature_c")
    >>> out = write_geotiff(g, pathlib.Path(tempfile.mkdtemp()) / "t.tif")
    >>> with rasterio.open(out) as src:
    ...     src.crs.to_epsg(), src.res, src.shape == g.shape, src.units
    (5179, (5000.0, 5000.0), True, ('degC',))
    """
    rasterio = _rasterio()
    grid = _as_grid(grid, "write_geotiff")
    if getattr(grid, "time", None) is not None:
        raise InputError(
            f"a GeoTIFF holds one time and this grid has {grid.time.size}; write one with "
            "grid.at(i), or the series with write_netcdf / write_zarr"
        )
    values, y = _north_up(grid)
    bands = [(values, str(grid.name), "degC" if str(grid.name).endswith("_c") else "")]
    var = _variance(grid)
    if var is not None:
        bands.append((_north_up(var)[0], "kriging variance", "degC2"))
    res = float(grid.resolution)
    x0 = float(np.asarray(grid.x)[0]) - res / 2
    transform = rasterio.Affine(res, 0.0, x0, 0.0, -res, float(y[0]) + res / 2)
    epsg = grid.crs.to_epsg()
    crs = rasterio.crs.CRS.from_epsg(epsg) if epsg else rasterio.crs.CRS.from_wkt(
        grid.crs.to_wkt()
    )
    check_writable(path)
    with atomic_path(path) as tmp:
        plain = tmp.with_name(tmp.stem + ".plain.tif")
        try:
            with rasterio.open(
                plain, "w", driver="GTiff", width=values.shape[1], height=values.shape[0],
                count=len(bands), dtype="float32", crs=crs, transform=transform,
                nodata=float("nan"),
            ) as dst:
                for i, (data, description, units) in enumerate(bands, start=1):
                    dst.write(np.asarray(data, dtype="float32"), i)
                    dst.set_band_description(i, description)
                    if units:
                        dst.set_band_unit(i, units)
                dst.update_tags(
                    AREA_OR_POINT="Area",
                    TIFFTAG_IMAGEDESCRIPTION=_title(grid),
                    TIFFTAG_SOFTWARE=f"kwxmap {_version()}",
                )
                if str(grid.name).endswith("_c"):
                    dst.update_tags(1, standard_name="air_temperature", units="degC")
            rasterio.shutil.copy(
                plain, tmp, driver="COG", COMPRESS="DEFLATE", PREDICTOR="YES",
                BLOCKSIZE=256, OVERVIEWS="AUTO", OVERVIEW_RESAMPLING="AVERAGE",
                RESAMPLING="AVERAGE",
            )
        except rasterio.errors.RasterioError as exc:
            raise OutputError(f"cannot write GeoTIFF {str(path)!r}: {exc}") from exc
        finally:
            plain.unlink(missing_ok=True)
    return Path(path)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kwxmap")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def _title(grid: Any) -> str:
    method = grid.attrs.get("method") if hasattr(grid, "attrs") else None
    what = "Air temperature" if str(getattr(grid, "name", "")).endswith("_c") else "Surface"
    return f"{what} interpolated from KMA stations" + (f" ({method})" if method else "")


def _xarray() -> Any:
    return require("xarray", extra="xarray", what="NetCDF or Zarr output")


def cf_dataset(surface: Any, *, time: Any = None, title: str | None = None) -> Any:
    """Return a CF-1.8 ``xarray.Dataset`` of a grid (one time or a series).

    North up (``y`` descending) with a ``spatial_ref`` grid-mapping
    coordinate from :meth:`pyproj.CRS.to_cf` (rioxarray finds it), 2-D
    ``lon``/``lat`` auxiliary coordinates, ``air_temperature`` in ``degC``
    as float32, the kriging variance when the grid carries one, per-time
    station counts and lapse rates of a series, and
    title/history/source/references attributes. Times (naive, Korea
    Standard Time as KMA reports them) are stored in UTC.

    Parameters
    ----------
    surface
        A :class:`~kwxmap.grid.Grid` (one time or a series) or an xarray
        DataArray grid.
    time
        The observation time of a one-time grid (adds a length-1 ``time``);
        default ``grid.attrs["time"]`` when set.
    title
        The title attribute (default: says what and how).

    Examples
    --------
    >>> import numpy as np
    >>> from kwxmap.grid import make_grid
    >>> g = make_grid("서울", resolution=5000)
    >>> ds = cf_dataset(g.copy(values=np.where(g.mask, 20.0, np.nan), name="temperature_c"))
    >>> ds["temperature_c"].attrs["standard_name"], ds.spatial_ref.attrs["grid_mapping_name"]
    ('air_temperature', 'transverse_mercator')
    >>> bool(ds.y[0] > ds.y[-1])
    True
    """
    import pyproj

    xr = _xarray()
    grid = _as_grid(surface, "cf_dataset")
    series = getattr(grid, "time", None) is not None
    cube, y = _north_up(grid)
    x = np.asarray(grid.x, dtype=float)
    name = str(grid.name)
    var = _variance(grid)
    variance = None if var is None else _north_up(var)[0]
    if series:
        times = np.asarray(grid.time)
    else:
        when = time if time is not None else grid.attrs.get("time")
        times = None if when is None else np.asarray([to_kst(when).to_datetime64()])
        if times is not None:
            cube = cube[None]
            variance = None if variance is None else variance[None]
    dims: tuple[str, ...] = ("y", "x") if times is None else ("time", "y", "x")
    if variance is not None and variance.shape != cube.shape:  # one variance for every time
        variance = np.broadcast_to(variance, cube.shape)
    temperature = name.endswith("_c")
    long_name = "air temperature" if temperature else name
    data_attrs: dict[str, Any] = {"long_name": long_name, "grid_mapping": "spatial_ref"}
    if temperature:
        data_attrs.update(standard_name="air_temperature", units="degC")
    data_vars: dict[str, Any] = {name: (dims, cube.astype("float32"), data_attrs)}
    if variance is not None:
        data_vars[name + "_variance"] = (dims, variance.astype("float32"), {
            "long_name": "kriging variance of " + long_name,
            "units": "K2" if temperature else "1", "grid_mapping": "spatial_ref"})
    n = None if times is None else times.size
    per_time = {"n_stations": ("stations used", "1"),
                "lapse_rate_k_per_km": ("lapse rate used (positive: colder aloft)", "K km-1")}
    for key, (label, units) in per_time.items():
        value = grid.attrs.get(key)
        if n is None or value is None or np.ndim(value) > 1:
            continue
        try:
            vals = np.broadcast_to(np.asarray(value, dtype=float), (n,))
        except (TypeError, ValueError):
            continue
        kind = "int32" if key == "n_stations" else "float32"
        data_vars[key] = (("time",), vals.astype(kind), {"long_name": label, "units": units})
    crs = pyproj.CRS.from_user_input(grid.crs)
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(
        *np.meshgrid(x, y)
    )
    coords: dict[str, Any] = {
        "x": ("x", x, {"standard_name": "projection_x_coordinate", "long_name": "easting",
                       "units": "m", "axis": "X"}),
        "y": ("y", y, {"standard_name": "projection_y_coordinate", "long_name": "northing",
                       "units": "m", "axis": "Y"}),
        "lon": (("y", "x"), lon, {"standard_name": "longitude", "long_name": "longitude",
                                  "units": "degrees_east"}),
        "lat": (("y", "x"), lat, {"standard_name": "latitude", "long_name": "latitude",
                                  "units": "degrees_north"}),
        "spatial_ref": ((), np.int32(0), _grid_mapping(crs)),
    }
    if times is not None:
        time_coords, bounds = cf_time(times)
        coords.update(time_coords)
        data_vars.update(bounds)
    method = grid.attrs.get("method")
    kept = {k: v for k, v in grid.attrs.items()
            if isinstance(v, str | int | float) and not isinstance(v, bool)
            and k not in ("time", "Conventions", "crs", "crs_wkt", "source", "title") + tuple(
                per_time)}
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs = {
        **kept,
        "Conventions": "CF-1.8",
        "title": title or _title(grid),
        "institution": "made with kwxmap from KMA station observations",
        "source": f"kwxmap {_version()}: {method or 'interpolation'} of surface station "
                  "air temperatures",
        "history": f"{now} written by kwxmap {_version()}",
        "references": _REFERENCES,
    }
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    # spatial_ref is the grid mapping (named by grid_mapping), not an auxiliary
    # coordinate: list only lat/lon (CF checkers then ask it for no units)
    for key in ds.data_vars:
        ds[key].encoding["coordinates"] = "lat lon" if "x" in ds[key].dims else None
    return ds


def _grid_mapping(crs: Any) -> dict[str, Any]:
    cf = crs.to_cf()
    cf["crs_wkt"] = crs.to_wkt()
    cf["spatial_ref"] = cf["crs_wkt"]  # GDAL's name for the WKT
    epsg = crs.to_epsg()
    if epsg:
        cf["epsg_code"] = f"EPSG:{epsg}"
    return cf


def cf_encoding(ds: Any, *, zarr: bool = False) -> dict[str, dict[str, Any]]:
    """Return how kwxmap stores a CF dataset: float32 fields, zlib (NetCDF), CF times.

    Coordinates carry no ``_FillValue``; ``time`` and ``time_bnds`` are
    :data:`kwxmap.kmatime.TIME_ENCODING`.
    """
    enc: dict[str, dict[str, Any]] = {}
    for name, var in ds.variables.items():
        if name in ds.coords and name != "spatial_ref":
            enc[name] = {"_FillValue": None}
            if var.ndim == 2 and not zarr:
                enc[name].update(zlib=True, complevel=4)
            if name == "time":
                enc[name].update(TIME_ENCODING)
        elif name == "time_bnds":
            enc[name] = {"_FillValue": None, **TIME_ENCODING}
        elif var.dtype.kind == "f" and name in ds.data_vars:
            enc[name] = {"_FillValue": np.float32(np.nan), "dtype": "float32"}
            if not zarr:
                enc[name].update(zlib=True, complevel=4)
    return enc


def write_netcdf(
    surface: Any, path: str | os.PathLike[str], *, time: Any = None
) -> Path:
    """Write a grid or a series of grids as CF-1.8 NetCDF-4, atomically.

    See :func:`cf_dataset` for the layout; values are float32 with zlib
    compression, coordinates carry no ``_FillValue``, time is encoded as
    ``minutes since 1970-01-01 00:00:00`` (UTC). Needs ``kwxmap[xarray]``.

    Parameters
    ----------
    surface
        A :class:`~kwxmap.grid.Grid` (one time or a series, e.g. from
        :func:`~kwxmap.interpolate_many`) or an xarray DataArray grid.
    path
        Output ``.nc`` file.
    time
        Observation time of a single grid.

    Returns
    -------
    pathlib.Path
        The written path.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, xarray as xr
    >>> from kwxmap.grid import make_grid
    >>> g = make_grid("서울", resolution=5000)
    >>> g = g.copy(values=np.where(g.mask, 20.0, np.nan), name="temperature_c")
    >>> out = write_netcdf(g, pathlib.Path(tempfile.mkdtemp()) / "t.nc")
    >>> with xr.open_dataset(out) as ds:
    ...     str(ds["temperature_c"].dtype), ds["temperature_c"].attrs["units"]
    ('float32', 'degC')
    """
    require("h5netcdf", extra="xarray", what="NetCDF output")
    ds = cf_dataset(surface, time=time)
    check_writable(path)
    with atomic_path(path) as tmp:
        try:
            ds.to_netcdf(tmp, engine="h5netcdf", encoding=cf_encoding(ds))
        except (OSError, RuntimeError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
            raise OutputError(f"cannot write NetCDF {str(path)!r}: {reason}") from exc
    return Path(path)


def write_zarr(surface: Any, path: str | os.PathLike[str], *, time: Any = None) -> Path:
    """Write a grid or a series of grids as a CF-1.8 Zarr store (a folder), atomically.

    The same dataset as :func:`write_netcdf` (zarr's default compression).
    The store is written beside ``path`` and swapped in with one rename.
    Needs ``kwxmap[zarr]``.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, xarray as xr
    >>> from kwxmap.grid import make_grid
    >>> g = make_grid("서울", resolution=5000)
    >>> g = g.copy(values=np.where(g.mask, 20.0, np.nan), name="temperature_c")
    >>> out = write_zarr(g, pathlib.Path(tempfile.mkdtemp()) / "t.zarr")
    >>> float(xr.open_zarr(out)["temperature_c"].max())
    20.0
    """
    require("zarr", extra="zarr", what="Zarr output")
    ds = cf_dataset(surface, time=time)
    for name in ds.data_vars:  # where GDAL's Zarr driver (and so QGIS) looks for the CRS
        if "x" in ds[name].dims:
            ds[name].attrs["_CRS"] = {"wkt": ds["spatial_ref"].attrs["crs_wkt"]}
    dest = _through_links_folder(path)
    if dest.exists() and not dest.is_dir():
        raise OutputError(f"Zarr store {str(path)!r} is a file; give a folder name (.zarr)")
    output_folder(dest, create=False)
    tmp = temp_sibling(dest)
    try:
        store = tmp / "store.zarr"
        ds.to_zarr(store, mode="w", encoding=cf_encoding(ds, zarr=True), **_zarr_format())
        if dest.exists():
            exchange(store, dest)
        else:
            os.rename(store, dest)
    except ImportError:
        raise
    except (OSError, RuntimeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        raise OutputError(f"cannot write Zarr {str(path)!r}: {reason}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Path(path)


def _zarr_format() -> dict[str, Any]:
    """Zarr format 2 with consolidated metadata: what GDAL, xarray and zarr 2 and 3 all read."""
    import zarr

    major = int(zarr.__version__.split(".")[0])
    return {"zarr_format": 2, "consolidated": True} if major >= 3 else {"consolidated": True}


def _through_links_folder(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return Path(os.path.realpath(p)) if p.is_symlink() else p

