"""The KMA station registry: load, look up, find nearest, export.

The registry ships as ``data/stations.geojson`` (built by
``scripts/build_stations.py`` from KMA metadata exports): 105 ASOS stations
(97 active) and about 620 AWS and other KMA stations, one RFC 7946 feature
each, with every name KMA pages have printed for a station and the history
of its sites and names.

Names resolve in this order, and the first rule that matches decides:

1. an id (``108`` or ``"108"``), or ``"name (id)"``;
2. ASOS stations before AWS stations (an AWS station never takes a name
   an ASOS station answers to, e.g. ``서청주`` is ASOS 181, not AWS 399);
3. the current name, then a printed or historic name or romanization
   (``홍성(예)``, ``문산``, ``Seoul``), then a derived form (``홍성 (예)`` →
   ``홍성``, ``강진군`` → ``강진``, ``진도(첨찰산)`` → ``첨찰산``);
4. when several stations share the current name, the active one (``성산``
   is 188, not the closed 187).

Anything still matching several stations is ambiguous and raises
:class:`~kwxmap.errors.UnknownStationError` with ``ambiguous=True``
(``진도``: 진도(첨찰산) 175 or 진도군 268). Names compare after NFKC
(full-width characters), case folding, and removing spaces, hyphens and dots.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import logging
import math
import numbers
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _names
from ._data import data_path, local_registry_path
from .errors import DataError, InputError, OutputError, UnknownStationError
from .io import VECTOR_FORMATS

if TYPE_CHECKING:  # pragma: no cover
    import geopandas

__all__ = [
    "NETWORKS",
    "SHAPEFILE_FIELDS",
    "WRITE_FORMATS",
    "SitePeriod",
    "Station",
    "StationRegistry",
    "load_stations",
    "write_stations",
]

#: Values of ``load_stations(network=...)``.
NETWORKS = ("asos", "aws", "all")
#: Formats :func:`write_stations` writes, by file extension.
WRITE_FORMATS = VECTOR_FORMATS
#: Shapefile field names are at most 10 characters: these columns are renamed.
SHAPEFILE_FIELDS = {"elevation_m": "elev_m"}

_NETWORK_RANK = {"ASOS": 0, "AWS": 1}
_NAME_ID = re.compile(r"(.*?)\s*\((\d+)\)")
_COLUMNS = [
    "station_id",
    "name_ko",
    "name_en",
    "elevation_m",
    "network",
    "active",
    "start_date",
    "end_date",
    "address",
    "province",
    "aliases",
]


@dataclass(frozen=True)
class SitePeriod:
    """One period of a station's site and name.

    Dates are ISO ``YYYY-MM-DD`` strings; the period covers ``start <= day <
    end`` (``None`` is open-ended), matching KMA's history, where one period
    ends on the day the next begins.

    Examples
    --------
    >>> p = SitePeriod("2015-11-03", "2017-10-31", "홍성(예)", 126.6877, 36.6575, 20.0)
    >>> p.contains("2016-01-01"), p.contains("2017-10-31")
    (True, False)
    """

    start: str | None
    end: str | None
    name_ko: str
    lon: float
    lat: float
    elevation_m: float
    address: str | None = None

    def contains(self, day: str) -> bool:
        """Return True when ``day`` (ISO date string) falls in this period."""
        return (self.start is None or self.start <= day) and (self.end is None or day < self.end)


@dataclass(frozen=True)
class Station:
    """One KMA weather station.

    Attributes
    ----------
    station_id
        KMA station number.
    name_ko, name_en
        Current Korean name and its romanization.
    lon, lat
        Current site, degrees (WGS84 / EPSG:4326).
    elevation_m
        Height of the site above sea level in metres (NaN when unknown).
    network
        ``"ASOS"`` (synoptic) or ``"AWS"`` (automatic; includes a few airport,
        radar and GAW sites).
    active
        Whether the station still observes.
    start_date, end_date
        First day of observation and the day it ended (ISO strings or None).
    address
        Site address as KMA lists it.
    province
        시도 in the KOSTAT 2018 naming of ``data/provinces.geojson``
        (``강원도``, ``전라북도``).
    aliases
        Other names that resolve to this station (printed, historic,
        bare, romanized).
    history
        Site and name periods, oldest first (see :meth:`StationRegistry.as_of`).

    Examples
    --------
    >>> s = load_stations().get(177)
    >>> s.name_ko, s.network, "홍성(예)" in s.aliases
    ('홍성', 'ASOS', True)
    """

    station_id: int
    name_ko: str
    name_en: str
    lon: float
    lat: float
    elevation_m: float
    network: str
    active: bool
    start_date: str | None
    end_date: str | None
    address: str | None
    province: str | None
    aliases: tuple[str, ...] = ()
    history: tuple[SitePeriod, ...] = field(default=(), repr=False, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        """The current name followed by the aliases.

        Examples
        --------
        >>> load_stations().get(259).names[:3]
        ('강진군', 'Gangjin-gun', '강진')
        """
        return (self.name_ko, *self.aliases)

    def nearest(self, day: str | _dt.date) -> Station:
        """Return the station as it stood in the recorded period nearest to ``day``.

        For a reading dated outside the station's history (before it opened,
        after it closed, or in a gap): the site it had closest in time.

        Examples
        --------
        >>> s = load_stations().get(102).nearest("1990-01-01")  # history starts 2000-11-01
        >>> s.elevation_m, s.lat
        (146.0, 37.9661)
        """
        iso = _iso_day(day)
        periods = self.history or (
            SitePeriod(self.start_date, self.end_date, self.name_ko, self.lon, self.lat,
                       self.elevation_m, self.address),
        )

        def inside(p: SitePeriod) -> str:
            if p.start is not None and iso < p.start:
                return p.start
            if p.end is not None and iso >= p.end:
                return (_dt.date.fromisoformat(p.end) - _dt.timedelta(days=1)).isoformat()
            return iso

        def gap(p: SitePeriod) -> int:
            return abs((_dt.date.fromisoformat(inside(p)) - _dt.date.fromisoformat(iso)).days)

        best = min(reversed(periods), key=gap)
        at = self.at(inside(best))
        return at if at is not None else self

    def at(self, day: str | _dt.date) -> Station | None:
        """Return the station as it stood on ``day``, or None if it was not observing.

        Examples
        --------
        >>> load_stations().get(177).at("2016-01-01").name_ko
        '홍성(예)'
        """
        iso = _iso_day(day)
        periods = self.history or (
            SitePeriod(
                self.start_date, self.end_date, self.name_ko, self.lon, self.lat,
                self.elevation_m, self.address,
            ),
        )
        for period in reversed(periods):
            if period.contains(iso):
                break
        else:
            return None
        if (period.name_ko, period.lon, period.lat) == (self.name_ko, self.lon, self.lat):
            return replace(
                self,
                active=True,
                elevation_m=period.elevation_m,
                address=period.address or self.address,
            )
        aliases = tuple(
            dict.fromkeys(a for a in (*self.aliases, self.name_ko) if a != period.name_ko)
        )
        name_en = self.name_en if period.name_ko == self.name_ko else _names.romanize(
            period.name_ko
        )
        return replace(
            self,
            name_ko=period.name_ko,
            name_en=name_en,
            lon=period.lon,
            lat=period.lat,
            elevation_m=period.elevation_m,
            address=period.address or self.address,
            active=True,
            aliases=aliases,
        )


def _iso_day(day: object) -> str:
    if isinstance(day, _dt.datetime):
        return day.date().isoformat()
    if isinstance(day, _dt.date):
        return day.isoformat()
    if type(day).__name__ == "datetime64":  # numpy, without importing it
        day = str(day)
    if isinstance(day, str):
        text = day.strip()
        for parse in (_dt.date.fromisoformat, _dt.datetime.fromisoformat):
            try:
                value = parse(text)
            except ValueError:
                continue
            return (value.date() if isinstance(value, _dt.datetime) else value).isoformat()
    raise InputError(f"date {day!r} is not a date; give 'YYYY-MM-DD' or a datetime.date")


def _aliases(value: Any) -> tuple[str, ...]:
    # A list in kwxmap's own file; a ";"-joined string in exported files.
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(a for a in value.split(";") if a)
    return tuple(str(a) for a in value)


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def _station(feature: dict, where: str) -> Station:
    try:
        props = feature["properties"]
        lon, lat = feature["geometry"]["coordinates"][:2]
        history = tuple(
            SitePeriod(
                h["start"], h["end"], h["name_ko"], float(h["lon"]), float(h["lat"]),
                _nan(h["elevation_m"]), h.get("address"),
            )
            for h in props.get("history") or ()
        )
        return Station(
            station_id=int(props["station_id"]),
            name_ko=str(props["name_ko"]),
            name_en=str(props.get("name_en") or ""),
            lon=float(lon),
            lat=float(lat),
            elevation_m=_nan(props.get("elevation_m")),
            network=str(props.get("network") or "ASOS").upper(),
            active=bool(props.get("active", True)),
            start_date=props.get("start_date"),
            end_date=props.get("end_date"),
            address=props.get("address"),
            province=props.get("province"),
            aliases=_aliases(props.get("aliases")),
            history=history,
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise DataError(f"{where}: malformed station feature ({exc!r}); rebuild the file") from exc


@functools.lru_cache(maxsize=8)
def _read(path: str, mtime_ns: int, size: int) -> tuple[Station, ...]:
    # Keyed on mtime and size so an edited file is re-read. Stations are
    # frozen, so sharing them between registries is safe.
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read station file {path!r}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise DataError(f"station file {path!r} is not a GeoJSON FeatureCollection")
    return tuple(
        _station(feat, f"{path}: feature {i}") for i, feat in enumerate(data["features"])
    )


@functools.lru_cache(maxsize=16)
def _name_keys_index(
    stations: tuple[Station, ...],
) -> dict[str, list[tuple[tuple[int, int, int], int]]]:
    """Return name key -> [(rank, station id)] of a station tuple (read only).

    Cached: every join loads the registry anew, and equal registries share it.
    """
    index: dict[str, list[tuple[tuple[int, int, int], int]]] = {}
    for s in stations:
        net = _NETWORK_RANK.get(s.network, 9)
        sources = [(s.name_ko, 0)] + [(a, 1) for a in (*s.aliases, s.name_en) if a]
        for text, level in sources:
            for key, strength in _names.name_keys(text):
                rank = (net, level if strength == 0 else 2, 0 if s.active else 1)
                index.setdefault(key, []).append((rank, s.station_id))
    return index


def load_stations(
    network: str = "all", *, path: str | os.PathLike[str] | None = None
) -> StationRegistry:
    """Load the station registry.

    Parameters
    ----------
    network
        ``"all"`` (default: every ASOS and AWS station; where a printed name
        is shared, the ASOS station wins, as widgets mean it), ``"asos"``
        (the 105 synoptic stations) or ``"aws"`` (automatic stations).
    path
        A station GeoJSON in the same schema. When None: the user's local
        registry if ``kwxmap stations --update`` (:func:`kwxmap.update_stations`)
        has written one (logged at INFO level on the ``kwxmap`` logger), else
        the bundled ``stations.geojson``.

    Returns
    -------
    StationRegistry
        A new registry; changing it never changes what the next call returns.

    Raises
    ------
    ValueError
        For an unknown ``network``.
    DataError
        When the file is missing or malformed.

    Examples
    --------
    >>> reg = load_stations()
    >>> len(reg), sum(s.active for s in reg)
    (788, 743)
    >>> len(load_stations("asos"))
    105
    >>> reg.lookup("추풍령").station_id
    135
    """
    if not isinstance(network, str) or network.lower() not in NETWORKS:
        raise InputError(f"network {network!r} is not one of {', '.join(map(repr, NETWORKS))}")
    network = network.lower()
    file = Path(path) if path is not None else _default_file()
    try:
        st = file.stat()
    except OSError as exc:
        raise DataError(f"station file {str(file)!r} not found: {exc.strerror}") from exc
    stations = _read(str(file.resolve()), st.st_mtime_ns, st.st_size)
    if network != "all":
        stations = tuple(s for s in stations if s.network == network.upper())
    return StationRegistry(stations)


def _default_file() -> Path:
    local = local_registry_path()
    if local.is_file():
        logging.getLogger("kwxmap").info(
            "stations from the local registry %s (kwxmap stations --update); delete it to "
            "use the bundled list", local)
        return local
    return data_path("stations.geojson")


class StationRegistry:
    """A set of stations with name lookup, nearest-station search and export.

    Parameters
    ----------
    stations
        The stations; ids must be unique.

    Examples
    --------
    >>> reg = load_stations()
    >>> reg.lookup("홍성(예)").station_id, reg.lookup("108").name_ko
    (177, '서울')
    >>> 108 in reg, "고창군" in reg, "진도" in reg
    (True, True, False)
    """

    def __init__(self, stations: Iterable[Station]) -> None:
        self._stations = tuple(stations)
        self._by_id: dict[int, Station] = {}
        for s in self._stations:
            if s.station_id in self._by_id:
                raise DataError(f"station id {s.station_id} appears twice in the registry")
            self._by_id[s.station_id] = s
        self._index_cache: dict[str, list[tuple[tuple[int, int, int], int]]] | None = None

    # --- container protocol --------------------------------------------------

    def __len__(self) -> int:
        return len(self._stations)

    def __iter__(self) -> Iterator[Station]:
        return iter(self._stations)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, Station):
            return self._by_id.get(item.station_id) == item
        try:
            self.lookup(item)  # type: ignore[arg-type]
        except (UnknownStationError, TypeError):
            return False
        return True

    def __repr__(self) -> str:
        nets: dict[str, int] = {}
        for s in self._stations:
            nets[s.network] = nets.get(s.network, 0) + 1
        parts = ", ".join(f"{k} {v}" for k, v in sorted(nets.items(), key=lambda kv: kv[0]))
        active = sum(s.active for s in self._stations)
        return f"<StationRegistry: {len(self)} stations ({parts or 'none'}), {active} active>"

    @property
    def ids(self) -> list[int]:
        """Station ids in registry order.

        Examples
        --------
        >>> load_stations().ids[:3]
        [90, 93, 95]
        """
        return [s.station_id for s in self._stations]

    def select(self, *, network: str | None = None, active: bool | None = None) -> StationRegistry:
        """Return the stations of one network and/or activity state.

        Parameters
        ----------
        network
            ``"asos"``, ``"aws"`` or ``"all"`` (None: no filter).
        active
            True: active only; False: closed only; None: both.

        Examples
        --------
        >>> len(load_stations("asos").select(active=True))
        97
        """
        if network is not None and (
            not isinstance(network, str) or network.lower() not in NETWORKS
        ):
            raise InputError(f"network {network!r} is not one of {', '.join(map(repr, NETWORKS))}")
        keep = self._stations
        if network is not None and network.lower() != "all":
            keep = tuple(s for s in keep if s.network == network.upper())
        if active is not None:
            keep = tuple(s for s in keep if s.active == bool(active))
        return StationRegistry(keep)

    # --- lookup ----------------------------------------------------------------

    def get(self, station_id: int | str) -> Station:
        """Return the station with KMA id ``station_id`` (int or digit string).

        Raises
        ------
        UnknownStationError
            When no station has that id.
        TypeError
            When ``station_id`` is neither an int nor a digit string.

        Examples
        --------
        >>> load_stations().get("135").name_ko
        '추풍령'
        """
        sid = _as_id(station_id)
        if sid is None:
            raise TypeError(
                f"station id {station_id!r} is not an int or a digit string such as '108'"
            )
        try:
            return self._by_id[sid]
        except KeyError:
            raise UnknownStationError(station_id) from None

    def lookup(self, name_or_id: str | int) -> Station:
        """Find a station by id, name, alias, normalised or romanized name.

        Parameters
        ----------
        name_or_id
            A KMA id (``108``, ``"108"``), a name as printed (``"홍성(예)"``,
            ``"강진군"``, ``" 강 진 "``, ``"ＳＥＯＵＬ"``, ``"gangjin-gun"``),
            or ``"name (id)"``.

        Returns
        -------
        Station

        Raises
        ------
        UnknownStationError
            When nothing matches (``.suggestions`` holds the closest names,
            compared jamo by jamo) or the name matches several stations
            (``.ambiguous`` is True; ``.suggestions`` names each one).
        TypeError
            When ``name_or_id`` is not a str or an int (e.g. None).

        Examples
        --------
        >>> reg = load_stations()
        >>> [reg.lookup(n).station_id for n in ("고창", "고창군", "강진", "Seoul")]
        [172, 251, 259, 108]
        >>> reg.lookup("추풍녕")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        kwxmap.errors.UnknownStationError: unknown station '추풍녕'; did you mean '추풍령', ...?
        """
        if isinstance(name_or_id, bool) or not isinstance(name_or_id, str | numbers.Integral):
            raise TypeError(
                f"station {name_or_id!r} is not a name (str) or a KMA id (int); "
                "pass e.g. '서울' or 108"
            )
        if isinstance(name_or_id, numbers.Integral):
            return self.get(int(name_or_id))
        text = unicodedata.normalize("NFKC", name_or_id).strip()
        if not text:
            raise UnknownStationError(name_or_id)
        if text.isdecimal():
            if int(text) in self._by_id:
                return self._by_id[int(text)]
            raise UnknownStationError(name_or_id)
        m = _NAME_ID.fullmatch(text)
        if m:  # "name (id)": the id must belong to a station answering to the name
            station = self._by_id.get(int(m.group(2)))
            if station is not None and station.station_id in self._resolve(
                m.group(1), all_claims=True
            ):
                return station
            raise UnknownStationError(name_or_id, self.suggest(m.group(1)))
        ids = self._resolve(text)
        if len(ids) == 1:
            return self._by_id[ids[0]]
        if ids:
            raise UnknownStationError(name_or_id, self._labels(ids), ambiguous=True)
        raise UnknownStationError(name_or_id, self.suggest(text))

    def suggest(self, name: str, n: int = 5) -> list[str]:
        """Return up to ``n`` known names closest to ``name``, best first.

        Hangul is compared jamo by jamo, so a wrong vowel or final consonant
        counts as a small difference; Latin names are compared case-blind.

        Examples
        --------
        >>> load_stations().suggest("추풍녕", n=1)
        ['추풍령']
        >>> load_stations().suggest("seoull", n=1)
        ['Seoul']
        """
        if not isinstance(name, str):
            return []
        hangul = _names.is_hangul(name)
        pool: list[str] = []
        order = sorted(
            self._stations, key=lambda s: (_NETWORK_RANK.get(s.network, 9), not s.active)
        )
        for s in order:
            for candidate in (*s.names, s.name_en):
                if candidate and _names.is_hangul(candidate) == hangul:
                    pool.append(candidate)
        return _names.closest(name, pool, n=n)

    def name_index(self) -> dict[str, int]:
        """Map every printed name and alias to its station id.

        Only names that resolve to exactly one station are included, and
        ``name_index()[name] == lookup(name).station_id`` for each.

        Examples
        --------
        >>> idx = load_stations().name_index()
        >>> idx["홍성(예)"], idx["고창"], idx["고창군"], "진도" in idx
        (177, 172, 251, False)
        """
        out: dict[str, int] = {}
        for s in self._stations:
            for name in (*s.names, s.name_en):
                if not name or name in out:
                    continue
                ids = self._resolve(name)
                if len(ids) == 1:
                    out[name] = ids[0]
        return out

    def _index(self) -> dict[str, list[tuple[tuple[int, int, int], int]]]:
        if self._index_cache is None:
            self._index_cache = _name_keys_index(self._stations)
        return self._index_cache

    def _resolve(self, text: str, *, all_claims: bool = False) -> list[int]:
        index = self._index()
        for key, _ in _names.name_keys(text):
            claims = index.get(key)
            if not claims:
                continue
            if all_claims:
                return sorted({sid for _, sid in claims})
            best = min(rank[:2] for rank, _ in claims)
            ids = sorted({sid for rank, sid in claims if rank[:2] == best})
            if len(ids) > 1 and best[1] == 0:  # same current name: the active one wins
                live = sorted({sid for rank, sid in claims if rank == (*best, 0)})
                if len(live) == 1:
                    return live
            return ids
        return []

    def _labels(self, ids: list[int]) -> list[str]:
        stations = [self._by_id[i] for i in ids]
        names = [s.name_ko for s in stations]
        return [
            s.name_ko if names.count(s.name_ko) == 1 and len(self._resolve(s.name_ko)) == 1
            else f"{s.name_ko} ({s.station_id})"
            for s in stations
        ]

    # --- geography ---------------------------------------------------------------

    def nearest(self, lon: float, lat: float, k: int = 1) -> list[tuple[Station, float]]:
        """Return the ``k`` stations nearest to a point, with geodesic distances.

        Parameters
        ----------
        lon, lat
            The point in degrees (WGS84).
        k
            How many stations (at most the registry size).

        Returns
        -------
        list of (Station, float)
            Nearest first; distances in metres on the WGS84 ellipsoid
            (pyproj ``Geod``).

        Examples
        --------
        >>> (s, d), = load_stations().nearest(126.9658, 37.5714)
        >>> s.name_ko, round(d)
        ('서울', 0)
        """
        import numpy as np
        from pyproj import Geod

        for label, value, bound in (("lon", lon, 180.0), ("lat", lat, 90.0)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{label} {value!r} is not a number")
            if not math.isfinite(value) or abs(value) > bound:
                raise InputError(f"{label} {value!r} is outside -{bound:g}..{bound:g} degrees")
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise InputError(f"k {k!r} must be a positive int")
        if not self._stations:
            return []
        lons = np.array([s.lon for s in self._stations])
        lats = np.array([s.lat for s in self._stations])
        _, _, dist = Geod(ellps="WGS84").inv(
            np.full_like(lons, float(lon)), np.full_like(lats, float(lat)), lons, lats
        )
        order = np.lexsort((np.array(self.ids), dist))[: int(k)]
        return [(self._stations[i], float(dist[i])) for i in order]

    def as_of(self, date: str | _dt.date) -> StationRegistry:
        """Return the registry as it stood on ``date``.

        Each station gets the name and site it had that day; stations not
        yet opened or already closed are left out. Periods are half-open
        (``start <= date < end``). AWS stations carry no history: they count
        from the day their current site opened (always, when unknown).

        Examples
        --------
        >>> old = load_stations().as_of("2016-01-01")
        >>> old.get(177).name_ko, old.lookup("홍성(예)").station_id
        ('홍성(예)', 177)
        >>> 239 in old   # 세종 opened in 2019
        False
        >>> load_stations().as_of("2009-01-01").lookup("고창").station_id
        251
        """
        iso = _iso_day(date)
        return StationRegistry(
            s2 for s in self._stations if (s2 := s.at(iso)) is not None
        )

    def to_geodataframe(self, crs: Any = 4326) -> geopandas.GeoDataFrame:
        """Return the stations as a GeoDataFrame of points.

        Parameters
        ----------
        crs
            Target CRS (anything ``pyproj.CRS.from_user_input`` takes, e.g.
            4326, 5179, ``"EPSG:5186"``).

        Returns
        -------
        geopandas.GeoDataFrame
            Columns station_id, name_ko, name_en, elevation_m, network,
            active, start_date, end_date, address, province, aliases
            (``;``-joined), geometry.

        Examples
        --------
        >>> gdf = load_stations("asos").to_geodataframe(crs=5179)
        >>> gdf.crs.to_epsg(), len(gdf)
        (5179, 105)
        """
        import geopandas as gpd
        import pandas as pd

        rows = {
            "station_id": pd.array([s.station_id for s in self._stations], dtype="int64"),
            "name_ko": [s.name_ko for s in self._stations],
            "name_en": [s.name_en for s in self._stations],
            "elevation_m": pd.array([s.elevation_m for s in self._stations], dtype="float64"),
            "network": [s.network for s in self._stations],
            "active": pd.array([s.active for s in self._stations], dtype="bool"),
            "start_date": [s.start_date for s in self._stations],
            "end_date": [s.end_date for s in self._stations],
            "address": [s.address for s in self._stations],
            "province": [s.province for s in self._stations],
            "aliases": [";".join(s.aliases) for s in self._stations],
        }
        geometry = gpd.points_from_xy(
            [s.lon for s in self._stations], [s.lat for s in self._stations], crs=4326
        )
        gdf = gpd.GeoDataFrame(pd.DataFrame(rows, columns=_COLUMNS), geometry=geometry)
        return _to_crs(gdf, crs)


def _as_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        if text.isdecimal():
            return int(text)
    return None


def _to_crs(gdf: geopandas.GeoDataFrame, crs: Any) -> geopandas.GeoDataFrame:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        target = CRS.from_user_input(crs)
    except CRSError as exc:
        raise InputError(f"crs {crs!r} is not a CRS pyproj knows; use e.g. 4326 or 5179") from exc
    if gdf.crs is None:
        raise DataError("the GeoDataFrame has no CRS; set one with gdf.set_crs(...)")
    return gdf if gdf.crs == target else gdf.to_crs(target)


# --- export -----------------------------------------------------------------------


def write_stations(
    stations: StationRegistry | geopandas.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    crs: Any = 4326,
) -> Path:
    """Write stations to a GIS file, atomically.

    Parameters
    ----------
    stations
        A registry or a GeoDataFrame (e.g. ``to_geodataframe()``, filtered).
    path
        Output file. An existing file is replaced only when the write succeeds.
    format
        ``"geojson"``, ``"gpkg"``, ``"fgb"``, ``"shp"`` or ``"csv"``; inferred
        from the extension when None.
    crs
        Output CRS (e.g. 4326, 5179, 5186). GeoJSON is always EPSG:4326
        (RFC 7946).

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    - GeoJSON: RFC 7946, UTF-8 with Korean kept as characters.
    - Shapefile: written with a ``.cpg`` declaring UTF-8; field names are cut
      to 10 characters, so ``elevation_m`` becomes ``elev_m``
      (:data:`SHAPEFILE_FIELDS`).
    - CSV: UTF-8 with a byte-order mark (Excel then reads Korean correctly;
      GDAL skips the mark), comma-separated, coordinates in ``lon``/``lat``
      columns (``x``/``y`` for a projected CRS), written with full precision.

    Raises
    ------
    OutputError
        Unknown format, GeoJSON in a projected CRS, or the file cannot be
        written (the previous file, if any, is left untouched).

    Examples
    --------
    >>> import tempfile, pathlib, pyogrio
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "asos.gpkg"
    >>> _ = write_stations(load_stations("asos").select(active=True), out)
    >>> pyogrio.read_info(out)["features"]
    97
    """
    from .io import vector_format, write_vector

    fmt = vector_format(path, format)
    if isinstance(stations, StationRegistry):
        gdf = stations.to_geodataframe(crs)
    else:
        import geopandas as gpd

        if not isinstance(stations, gpd.GeoDataFrame):
            raise TypeError(
                "stations must be a StationRegistry or a GeoDataFrame, "
                f"not {type(stations).__name__}"
            )
        gdf = _to_crs(stations, crs)
    if fmt == "geojson" and gdf.crs.to_epsg() != 4326:
        raise OutputError(
            f"GeoJSON is written in EPSG:4326 (RFC 7946), not {crs!r}; "
            "drop the CRS or use gpkg, fgb, shp or csv"
        )
    gdf = gdf.copy()
    for column in ("start_date", "end_date"):  # ISO text -> real Date fields
        if column in gdf.columns:
            gdf[column] = [_dt.date.fromisoformat(v) if isinstance(v, str) and v else None
                           for v in gdf[column]]
    if fmt == "shp":
        gdf = gdf.rename(columns=SHAPEFILE_FIELDS)
    return write_vector(gdf, path, format=fmt, layer="stations")
