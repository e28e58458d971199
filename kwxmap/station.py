"""One KMA station and its sites through time.

A :class:`Station` is what the registry holds for a station number: its
current name, place and height, every name KMA pages print for it, and the
history of its sites (:class:`SitePeriod`), so a reading of any day is put
where the station stood that day (:meth:`Station.at`, :meth:`Station.nearest`).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, replace

from . import _names
from .errors import InputError

__all__ = ["SitePeriod", "Station", "iso_day"]


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
    >>> from kwxmap import load_stations
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
        >>> from kwxmap import load_stations
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
        >>> from kwxmap import load_stations
        >>> s = load_stations().get(102).nearest("1990-01-01")  # history starts 2000-11-01
        >>> s.elevation_m, s.lat
        (146.0, 37.9661)
        """
        iso = iso_day(day)
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
        >>> from kwxmap import load_stations
        >>> load_stations().get(177).at("2016-01-01").name_ko
        '홍성(예)'
        """
        iso = iso_day(day)
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


def iso_day(day: object) -> str:
    """Return a day (date, datetime, numpy datetime64 or ISO text) as ``YYYY-MM-DD``.

    Examples
    --------
    >>> iso_day("2020-08-01T09:00"), iso_day(_dt.date(2021, 1, 2))
    ('2020-08-01', '2021-01-02')
    """
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
