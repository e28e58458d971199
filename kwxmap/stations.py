"""The KMA station registry: load, look up by any printed name, find nearest, as of a day.

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
import logging
import math
import numbers
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _names
from ._data import data_path, local_registry_path
from .errors import DataError, InputError, UnknownStationError
from .station import SitePeriod, Station, iso_day
from .station_file import (
    SHAPEFILE_FIELDS,
    WRITE_FORMATS,
    read_station_file,
    to_crs,
    write_stations,
)

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
    stations = read_station_file(str(file.resolve()), st.st_mtime_ns, st.st_size)
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
        iso = iso_day(date)
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
        return to_crs(gdf, crs)


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
