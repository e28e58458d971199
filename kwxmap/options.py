"""Option groups shared by the API and the command line, validated once.

Three small frozen dataclasses hold what :func:`~kwxmap.snapshot`,
:func:`~kwxmap.render_batch`, :func:`~kwxmap.pipeline.load_joined` and the
CLI would otherwise each re-declare:

- :class:`ReadOptions`: how to read and join the readings (encoding,
  lenient modes, registry date);
- :class:`SurfaceOptions`: how to make the surface (method, elevation,
  resolution, region, CRS, DEM);
- :class:`MapOptions`: how the map looks (isotherm levels, title, tiles).

Each validates its values in ``__post_init__`` and raises
:class:`~kwxmap.errors.InputError` naming the valid ones; the valid values
are module-level tuples (``ON_UNKNOWN`` ...) that the CLI uses as
``choices=``. The documented defaults live here, once:
:data:`DEFAULT_METHOD` and :data:`DEFAULT_ELEVATION`.
"""

from __future__ import annotations

import codecs
import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InputError
from .kmatime import to_kst
from .labels import LABELS, LANGS
from .palette import DEFAULT_PALETTE, PALETTES

__all__ = [
    "CRS_CHOICES",
    "DEFAULT_ELEVATION",
    "DEFAULT_METHOD",
    "ELEVATIONS",
    "ON_DUPLICATE",
    "ON_IMPLAUSIBLE",
    "ON_INVALID",
    "ON_UNKNOWN",
    "TILES",
    "MapOptions",
    "ReadOptions",
    "SurfaceOptions",
    "check_encoding",
    "METHOD_NAMES",
    "method_choices",
    "split_options",
]

#: Interpolation method used when none is given, by every command and the API alike
#: (``map``, ``cv``, ``point``, ``batch``, ``batch --zarr``): kriging with
#: :data:`DEFAULT_ELEVATION` ``"predictors"`` (elevation, coast proximity and terrain
#: position as external drift; elevation alone under 60 stations). Chosen out of
#: sample (``benchmarks/bench_skill.py``, README "Measured"): scored with the
#: variogram refitted without each station, it ties ``"auto"`` scored the same way
#: (choosing the method again without each station) over every kind of KMA field,
#: so the simpler fixed model is the default: one surface whatever the command, no
#: flip between neighbouring fields, less time (README, "Defaults"). ``"auto"``
#: stays an option.
DEFAULT_METHOD = "kriging"
#: Elevation handling used when none is given: ``"auto"``, the best the method can use
#: (:func:`kwxmap.interpolate.elevation.resolve_elevation`): ``"predictors"`` with
#: the methods that take drift columns (kriging, spline, ``auto``), a 6.5 K/km lapse
#: rate with idw, barnes, cressman and nearest.
DEFAULT_ELEVATION = "auto"

#: ``on_unknown``: a station name the registry does not know.
ON_UNKNOWN = ("raise", "warn", "ignore")
NETWORKS = ("all", "asos", "aws")
#: ``on_invalid``: a malformed input line.
ON_INVALID = ("raise", "warn", "ignore")
#: ``on_implausible``: a value outside -50..50 °C.
ON_IMPLAUSIBLE = ("raise", "nan", "keep")
#: ``on_duplicate``: a station read twice.
ON_DUPLICATE = ("raise", "first", "last", "mean")
#: ``elevation``: ``"none"`` (or None) for no correction.
ELEVATIONS = ("auto", "lapse", "fit", "drift", "predictors", "none")
#: Grid CRS, as EPSG codes.
CRS_CHOICES = (5179, 5186)
#: Base maps: OpenStreetMap tiles or none (no network needed to view).
TILES = ("osm", "none")


def _choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise InputError(f"{name}={value!r} is not valid; use one of {listed}")


def check_encoding(encoding: str | None) -> str | None:
    """Return ``encoding`` if Python can decode text with it, else raise InputError.

    Examples
    --------
    >>> check_encoding("cp949")
    'cp949'
    >>> check_encoding("rot13")
    Traceback (most recent call last):
    ...
    kwxmap.errors.InputError: encoding 'rot13' is not a text encoding; use e.g. 'utf-8' or 'cp949'
    """
    if encoding is None:
        return None
    try:
        info = codecs.lookup(encoding)
    except (LookupError, TypeError, ValueError):
        raise InputError(
            f"unknown encoding {encoding!r}; use e.g. 'utf-8', 'cp949' or 'euc-kr'"
        ) from None
    if not getattr(info, "_is_text_encoding", True):  # rot13, base64, zlib ...
        raise InputError(
            f"encoding {encoding!r} is not a text encoding; use e.g. 'utf-8' or 'cp949'"
        )
    try:
        b"abc".decode(info.name)
    except UnicodeError:  # 'undefined' decodes nothing
        raise InputError(
            f"encoding {encoding!r} cannot decode text; use e.g. 'utf-8' or 'cp949'"
        ) from None
    return encoding


#: The interpolation methods (:data:`kwxmap.interpolate.METHODS` registers one class
#: per name; a test checks the two agree). Named here, below both their users, so the
#: options need not import the methods.
METHOD_NAMES: tuple[str, ...] = ("barnes", "cressman", "idw", "kriging", "nearest", "spline")


def method_choices() -> tuple[str, ...]:
    """Return the interpolation methods and ``"auto"``.

    Examples
    --------
    >>> "spline" in method_choices() and method_choices()[-1] == "auto"
    True
    """
    return (*METHOD_NAMES, "auto")


@dataclasses.dataclass(frozen=True)
class ReadOptions:
    """How readings are read and joined to the station registry.

    Parameters
    ----------
    encoding
        Input encoding override (default: declared, then UTF-8, then CP949).
    on_unknown, on_invalid, on_implausible, on_duplicate
        Lenient modes for unknown station names, malformed lines, values
        outside -50..50 °C and a station read twice; see :data:`ON_UNKNOWN` ...
    as_of
        Use the registry as it stood on this date (``YYYY-MM-DD``).
    input_format
        Force one reader (:data:`kwxmap.readers.INPUT_FORMATS`); None
        recognises the format by content.
    variable
        ``tavg``, ``tmin`` or ``tmax`` of a daily input
        (:data:`kwxmap.readers.VARIABLES`).
    network
        The stations names and ids resolve to: ``"all"`` (default: ASOS and
        AWS), ``"asos"`` or ``"aws"``; used when no registry is given.
    time
        One time to keep from readings of several (KST, or with ``Z`` or an
        offset); None keeps them all.

    Examples
    --------
    >>> ReadOptions(on_unknown="warn").on_unknown
    'warn'
    >>> ReadOptions(on_duplicate="keep")
    Traceback (most recent call last):
    ...
    kwxmap.errors.InputError: on_duplicate='keep' is not valid; use one of 'raise', 'first', ...
    """

    encoding: str | None = None
    on_unknown: str = "raise"
    on_invalid: str = "raise"
    on_implausible: str = "raise"
    on_duplicate: str = "raise"
    as_of: str | None = None
    input_format: str | None = None
    variable: str = "tavg"
    network: str = "all"
    time: str | None = None

    def __post_init__(self) -> None:
        from .readers import INPUT_FORMATS, VARIABLES

        check_encoding(self.encoding)
        if self.input_format is not None:
            _choice("input_format", self.input_format, INPUT_FORMATS)
        _choice("variable", self.variable, VARIABLES)
        _choice("network", self.network, NETWORKS)
        if self.time is not None:
            to_kst(self.time)
        _choice("on_unknown", self.on_unknown, ON_UNKNOWN)
        _choice("on_invalid", self.on_invalid, ON_INVALID)
        _choice("on_implausible", self.on_implausible, ON_IMPLAUSIBLE)
        _choice("on_duplicate", self.on_duplicate, ON_DUPLICATE)


@dataclasses.dataclass(frozen=True)
class SurfaceOptions:
    """How the surface is interpolated.

    Parameters
    ----------
    method
        A registered method or ``"auto"`` (default :data:`DEFAULT_METHOD`).
    elevation
        ``"auto"`` (default :data:`DEFAULT_ELEVATION`), ``"lapse"``,
        ``"fit"``, ``"drift"``, ``"predictors"`` or ``"none"``/None; stored as
        None for no correction.
    resolution
        Cell size in metres.
    region
        Anything :func:`~kwxmap.resolve_region` accepts.
    crs
        Grid CRS, EPSG 5179 or 5186.
    dem
        A finer DEM GeoTIFF, or None for the shipped one.
    max_memory
        The most memory the run may use (its peak resident memory, what it
        already holds included), bytes or text (``"4GB"``); None: half the
        RAM. A batch runs in chunks to stay inside it.

    Examples
    --------
    >>> s = SurfaceOptions(elevation="none")
    >>> s.method, s.elevation, s.resolution
    ('kriging', None, 1000.0)
    >>> SurfaceOptions(resolution=-5)
    Traceback (most recent call last):
    ...
    kwxmap.errors.InputError: resolution=-5 is not a positive number of metres; use e.g. 1000
    """

    method: str = DEFAULT_METHOD
    elevation: str | None = DEFAULT_ELEVATION
    resolution: float = 1000.0
    region: Any = "south-korea"
    crs: int = 5179
    dem: str | os.PathLike[str] | None = None
    max_memory: int | str | None = None

    def __post_init__(self) -> None:
        _choice("method", self.method, method_choices())
        _choice("elevation", "none" if self.elevation is None else self.elevation, ELEVATIONS)
        if self.elevation == "none":
            object.__setattr__(self, "elevation", None)
        try:
            res = float(self.resolution)
        except (TypeError, ValueError):
            res = math.nan
        if not math.isfinite(res) or res <= 0:
            raise InputError(
                f"resolution={self.resolution!r} is not a positive number of metres; use e.g. 1000"
            )
        object.__setattr__(self, "resolution", res)
        crs = str(self.crs).upper().removeprefix("EPSG:")
        _choice("crs", int(crs) if crs.isdecimal() else self.crs, CRS_CHOICES)
        object.__setattr__(self, "crs", int(crs))
        if self.max_memory is not None:
            from .interpolate.memory import parse_size

            try:
                object.__setattr__(self, "max_memory", parse_size(self.max_memory))
            except ValueError as exc:
                raise InputError(str(exc)) from None
        if self.dem is not None and self.elevation is None:
            raise InputError(
                f"dem={str(self.dem)!r} is only used with an elevation correction; "
                f"set elevation='lapse', 'fit' or 'drift', or drop the DEM"
            )

    def interpolate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`~kwxmap.interpolate` / ``interpolate_many``."""
        return dataclasses.asdict(self)


#: What a map does with stations beyond its region (more than 2 km outside it).
OUTSIDE: tuple[str, ...] = ("dim", "hide", "show")


@dataclasses.dataclass(frozen=True)
class MapOptions:
    """How a map looks.

    Parameters
    ----------
    levels
        Isotherm levels: a list of °C, ``"start:stop:step"``, or None for nice
        steps over the data.
    title
        Map title (escaped).
    tiles
        ``"osm"`` (also ``"OpenStreetMap"``) or ``"none"``/None.
    palette, lang, labels
        Band colours (``"adaptive"``/``"fixed"``), interface language
        (``"ko"``/``"en"``) and station labels (``"none"``/``"values"``); see
        :func:`~kwxmap.render_map`.
    outside
        Stations beyond a regional map's region (they still inform the surface
        near its edge): ``"dim"`` (drawn faint, default), ``"hide"`` or
        ``"show"`` like the others; see :data:`OUTSIDE`.

    Examples
    --------
    >>> MapOptions(levels="0:30:2", tiles="none").tiles is None
    True
    """

    levels: str | Sequence[float] | None = None
    title: str | None = None
    tiles: str | None = "osm"
    palette: str = DEFAULT_PALETTE
    lang: str = "ko"
    labels: str = "none"
    outside: str = "dim"

    def __post_init__(self) -> None:
        _choice("outside", self.outside, OUTSIDE)
        _choice("palette", self.palette, PALETTES)
        _choice("lang", self.lang, LANGS)
        _choice("labels", self.labels, LABELS)
        tiles = self.tiles
        if tiles == "OpenStreetMap":
            tiles = "osm"
        _choice("tiles", "none" if tiles is None else tiles, TILES)
        object.__setattr__(self, "tiles", None if tiles in (None, "none") else "osm")

    @property
    def folium_tiles(self) -> str | None:
        """The folium tile name, or None."""
        return None if self.tiles is None else "OpenStreetMap"

    @property
    def look(self) -> dict[str, str]:
        """Keywords for :func:`~kwxmap.render_map` and :func:`~kwxmap.static.render_static`."""
        return {"palette": self.palette, "lang": self.lang, "labels": self.labels}


_GROUPS = (ReadOptions, SurfaceOptions, MapOptions)


def split_options(
    options: Mapping[str, Any],
    *,
    read: ReadOptions | None = None,
    surface: SurfaceOptions | None = None,
    style: MapOptions | None = None,
) -> tuple[ReadOptions, SurfaceOptions, MapOptions, dict[str, Any]]:
    """Sort keyword arguments into the three option groups and method parameters.

    Keywords naming a field of a group replace that field of the given group
    (or of its defaults); the others are method parameters (``power=``...).

    Examples
    --------
    >>> r, s, m, params = split_options({"method": "idw", "power": 3, "on_unknown": "warn"})
    >>> s.method, r.on_unknown, params
    ('idw', 'warn', {'power': 3})
    """
    given = [read or ReadOptions(), surface or SurfaceOptions(), style or MapOptions()]
    rest = dict(options)
    for i, group in enumerate(_GROUPS):
        names = {f.name for f in dataclasses.fields(group)}
        changes = {k: rest.pop(k) for k in list(rest) if k in names}
        if changes:
            given[i] = dataclasses.replace(given[i], **changes)
    return given[0], given[1], given[2], rest
