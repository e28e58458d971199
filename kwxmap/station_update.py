"""The user's local station registry: newer KMA station lists merged into it.

The bundled ``stations.geojson`` is as current as the KMA lists it was built
from. A user who downloads a newer list — API Hub ``stn_inf`` or the portal's
``META_관측지점정보`` — merges it with :func:`update_stations` (``kwxmap
stations --update FILE``). The result is written to the user cache folder
(:func:`user_cache_dir`; never into the installed package), and
:func:`~kwxmap.load_stations` reads it from then on, logging that it does.
Delete the file (:func:`local_registry_path`) to go back to the bundled list.

How a list merges:

- ``stn_inf`` (no dates: the network as of ``date``, default today): a
  station within 100 m of its current site under the same name takes the
  list's coordinates and height; one farther away or renamed gets a new site
  period from ``date``; a new station is added (opening day unknown). A
  station the list leaves out is kept as it is (a list can be ASOS-only or
  AWS-only), and an ``inf=AWS`` list leaves ASOS stations alone (KMA lists
  their AWS sensors, sometimes a few hundred metres from the ASOS site).
- ``META_관측지점정보`` (dated periods): each station in the file gets the
  file's periods as its history; its current site and name are the open
  period's (or the last one's, closed on its end day).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from . import _names
from ._atomic import atomic_path
from ._data import CACHE_ENV, data_path, local_registry_path, user_cache_dir
from .errors import DataError, InputError, OutputError, ParseError
from .readers import station_lists

__all__ = [
    "CACHE_ENV",
    "SAME_SITE_M",
    "StationUpdate",
    "local_registry_path",
    "update_stations",
    "user_cache_dir",
]

#: A listed site this close (metres) to the current one, under the same name, is the same site.
SAME_SITE_M = 100.0

_log = logging.getLogger("kwxmap")
_RANK = {"ASOS": 0, "AWS": 1}


@dataclass(frozen=True)
class StationUpdate:
    """What :func:`update_stations` did.

    Attributes
    ----------
    path
        The local registry written.
    kind
        ``"stn_inf"`` or ``"meta"``: the list format read.
    added, moved, renamed, unchanged
        Station ids: new to the registry; on a new site (over
        :data:`SAME_SITE_M` away); same site under a new name; on the same
        site (coordinates and height taken from the list). A META file's
        known stations count as ``moved`` when their history changed.
    """

    path: Path
    kind: str
    added: tuple[int, ...]
    moved: tuple[int, ...]
    renamed: tuple[int, ...]
    unchanged: tuple[int, ...]

    def summary(self) -> str:
        """Return a one-line account, e.g. ``2 new, 1 moved, 0 renamed, 40 unchanged``."""
        return (f"{len(self.added)} new, {len(self.moved)} moved, {len(self.renamed)} renamed, "
                f"{len(self.unchanged)} unchanged")


def _read_list(path: Path) -> tuple[str, pd.DataFrame]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read station list {str(path)!r}: {exc.strerror}") from exc
    head = station_lists._text(data[:65536]) if data else ""
    where = f"{str(path)!r}: "
    try:
        if station_lists.sniff_stn_inf(head):
            return "stn_inf", station_lists.read_stn_inf(data)
        if station_lists.sniff_portal_meta(head):
            return "meta", station_lists.read_portal_meta(data)
    except ParseError as exc:
        raise ParseError(where + str(exc)) from None
    raise ParseError(
        f"{where}not a KMA station list: expected an API Hub stn_inf list ('# STN LON LAT ...') "
        "or a 기상자료개방포털 META_관측지점정보 export ('지점,시작일,종료일,지점명,...')"
    )


def _load_features(file: Path) -> tuple[list[dict], list[dict]]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        return list(data["features"]), list(data.get("kwxmap_updates") or [])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"cannot read station file {str(file)!r} ({exc}); delete it to start "
                        "again from the bundled registry") from exc


def _distance_m(a: dict, lon: float, lat: float) -> float:
    from pyproj import Geod

    return float(Geod(ellps="WGS84").inv(a["lon"], a["lat"], lon, lat)[2])


def _num(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _period(row: Any, start: str | None, end: str | None) -> dict:
    return {"start": start, "end": end, "name_ko": row.name_ko, "lon": float(row.lon),
            "lat": float(row.lat), "elevation_m": _num(float(row.elevation_m)), "address": None}


def _history(props: dict, geometry: dict) -> list[dict]:
    if props.get("history"):
        return [dict(h) for h in props["history"]]
    lon, lat = geometry["coordinates"][:2]
    return [{"start": props.get("start_date"), "end": props.get("end_date"),
             "name_ko": props["name_ko"], "lon": lon, "lat": lat,
             "elevation_m": props.get("elevation_m"), "address": props.get("address")}]


def _set_current(feature: dict, history: list[dict]) -> None:
    props = feature["properties"]
    cur = history[-1]
    if cur["name_ko"] != props["name_ko"]:
        props["name_en"] = _names.romanize(cur["name_ko"])
    props.update(name_ko=cur["name_ko"], elevation_m=cur["elevation_m"],
                 active=cur["end"] is None, start_date=history[0]["start"],
                 end_date=cur["end"], address=cur["address"] or props.get("address"),
                 history=history)
    feature["geometry"] = {"type": "Point", "coordinates": [cur["lon"], cur["lat"]]}


def _new_feature(sid: int, network: str | None, history: list[dict]) -> dict:
    feature = {"type": "Feature", "properties": {
        "station_id": sid, "name_ko": history[-1]["name_ko"],
        "name_en": _names.romanize(history[-1]["name_ko"]), "elevation_m": None,
        "network": network or "AWS", "active": True, "start_date": None, "end_date": None,
        "address": None, "province": None, "aliases": [], "history": []}}
    _set_current(feature, history)
    return feature


def _merge_stn_inf(by_id: dict[int, dict], table: pd.DataFrame, day: str) -> dict[str, list]:
    out: dict[str, list] = {"added": [], "moved": [], "renamed": [], "unchanged": []}
    for row in table.itertuples(index=False):
        sid = int(row.station_id)
        if sid not in by_id:
            by_id[sid] = _new_feature(sid, row.network, [_period(row, None, None)])
            out["added"].append(sid)
            continue
        feature = by_id[sid]
        if feature["properties"]["network"] == "ASOS" and row.network == "AWS":
            continue  # ASOS sites come from ASOS lists (inf=SFC, META), not the AWS one
        history = _history(feature["properties"], feature["geometry"])
        cur = history[-1]
        dist = _distance_m(cur, float(row.lon), float(row.lat))
        if dist <= SAME_SITE_M and cur["name_ko"] == row.name_ko:
            cur.update(lon=float(row.lon), lat=float(row.lat),
                       elevation_m=_num(float(row.elevation_m)))
            if cur["end"] is not None and cur["end"] <= day:
                cur["end"] = None  # listed again: still observing
            out["unchanged"].append(sid)  # a re-survey of the same site
        else:
            if cur["end"] is None or cur["end"] > day:
                cur["end"] = day
            new = _period(row, day, None)
            if dist <= SAME_SITE_M:
                new["address"] = cur["address"]
            history.append(new)
            out["moved" if dist > SAME_SITE_M else "renamed"].append(sid)
        _set_current(feature, history)
    return out


def _merge_meta(by_id: dict[int, dict], table: pd.DataFrame) -> dict[str, list]:
    out: dict[str, list] = {"added": [], "moved": [], "renamed": [], "unchanged": []}
    for sid, rows in table.groupby("station_id", sort=True):
        rows = rows.sort_values("start", na_position="first", kind="stable")
        history = [_period(r, r.start, r.end) for r in rows.itertuples(index=False)]
        sid = int(sid)
        network = rows["network"].iloc[0]
        if sid not in by_id:
            by_id[sid] = _new_feature(sid, network, history)
            out["added"].append(sid)
            continue
        feature = by_id[sid]
        old = _history(feature["properties"], feature["geometry"])
        for period in history:  # keep the addresses KMA gave before
            period["address"] = next((h["address"] for h in old if h["start"] == period["start"]
                                      and h["name_ko"] == period["name_ko"]), None)
        same = [(h["start"], h["end"], h["name_ko"]) for h in old] == [
            (h["start"], h["end"], h["name_ko"]) for h in history] and all(
            _distance_m(a, b["lon"], b["lat"]) <= SAME_SITE_M for a, b in zip(old, history,
                                                                            strict=True))
        renamed = history[-1]["name_ko"] != feature["properties"]["name_ko"]
        _set_current(feature, history)
        out["unchanged" if same else "renamed" if renamed else "moved"].append(sid)
    return out


def update_stations(
    path: str | os.PathLike[str],
    *,
    date: str | _dt.date | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> StationUpdate:
    r"""Merge a newer KMA station list into the user's local registry.

    Parameters
    ----------
    path
        An API Hub ``stn_inf`` list (``/api/typ01/url/stn_inf.php?inf=AWS``
        or ``inf=SFC``) or a 기상자료개방포털 ``META_관측지점정보`` export.
    date
        The day a ``stn_inf`` list describes (the day you fetched it);
        today when None. New sites count from this day. Ignored for META
        exports, which carry their own dates.
    cache_dir
        The cache folder; :func:`user_cache_dir` when None.

    Returns
    -------
    StationUpdate
        The file written and which stations were added, moved or renamed.

    Raises
    ------
    ParseError
        The file is not a station list, or a row cannot be read.
    InputError
        The file cannot be read, or ``date`` is not a date.
    OutputError
        The local registry cannot be written (the previous one is kept).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (tmp / "stn.txt").write_text(
    ...     "# STN LON LAT STN_SP HT HT_WD LAU STN STN_KO\n"
    ...     "#  ID degee degree ---- m m ID AD ----\n"
    ...     " 997 127.5 36.5 01111000 250.0 10.0 4109 131 가온\n", encoding="utf-8")
    >>> update_stations(tmp / "stn.txt", date="2026-12-01", cache_dir=tmp).summary()
    '1 new, 0 moved, 0 renamed, 0 unchanged'
    >>> from kwxmap import load_stations
    >>> load_stations("aws", path=local_registry_path(tmp)).get(997).name_ko
    '가온'
    """
    from .station import iso_day as _iso_day

    source = Path(path)
    kind, table = _read_list(source)
    day = _iso_day(date) if date is not None else _dt.date.today().isoformat()
    target = local_registry_path(cache_dir)
    base = target if target.is_file() else data_path("stations.geojson")
    features, updates = _load_features(base)
    by_id = {int(f["properties"]["station_id"]): f for f in features}
    out = _merge_stn_inf(by_id, table, day) if kind == "stn_inf" else _merge_meta(by_id, table)
    merged = sorted(by_id.values(), key=lambda f: (
        _RANK.get(f["properties"]["network"], 9), f["properties"]["station_id"]))
    updates.append({"file": source.name, "kind": kind, "date": day if kind == "stn_inf" else None,
                    "merged": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                    "stations": len(table["station_id"].unique())})
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
             for f in merged]
    text = ('{"type":"FeatureCollection","kwxmap_updates":'
            + json.dumps(updates, ensure_ascii=False) + ',"features":[\n'
            + ",\n".join(lines) + "\n]}\n")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"cannot write the local registry {str(target)!r}: {exc}; set "
                          f"{CACHE_ENV} to a writable folder") from exc
    _log.info("merged %s into the local station registry %s: %s", source.name, target,
              ", ".join(f"{len(v)} {k}" for k, v in out.items()))
    return StationUpdate(target, kind, *(tuple(sorted(out[k])) for k in
                                         ("added", "moved", "renamed", "unchanged")))
