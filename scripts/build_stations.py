"""Build ``data/stations.geojson``, kwxmap's station registry, from the KMA sources.

Run from the repository root::

    python scripts/build_stations.py            # writes data/stations.geojson
    python scripts/build_stations.py --check    # exit 1 if the committed file is stale

Inputs (all in ``scripts/sources/``, copied from KMA metadata exports; see
``data/README.md`` for provenance and licences):

- ``kma_asos_stations.csv``: the 105 ASOS stations (current site, dates, romanized name)
- ``kma_asos_station_history.csv``: every site/name period of each ASOS station
- ``kma_currentweather_2017_95names_to_ids.csv``: names as KMA's current-weather table printed them
- ``kma_aws_stations.csv``: AWS and other KMA stations (the 2022 station-history export)
- ``kma_stn_inf_stations_2024_2026.csv``: three later KMA API Hub ``stn_inf`` lists
  (2024-12-13, 2025-08-09, 2026-08-11) that date the AWS sites, names and closures since
- ``kma_meta_station_history_2022.csv``: the full 2022 station-history export (every
  period of every station), for the stations that had closed before 2022: their
  readings in older files still need a place
- ``data/provinces.geojson``: KOSTAT 2018 provinces, for the province of stations without an address

The output is one RFC 7946 FeatureCollection, ASOS first then AWS, each by
station id, one feature per line, UTF-8 with Korean kept as characters. The
same inputs always give the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import sys
from pathlib import Path

from pyproj import Geod
from shapely import STRtree
from shapely.geometry import Point, shape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kwxmap._names import canonical, name_keys, romanize  # noqa: E402

SOURCES = ROOT / "scripts" / "sources"
OUTPUT = ROOT / "data" / "stations.geojson"
PROVINCES = ROOT / "data" / "provinces.geojson"

# Provinces use the KOSTAT 2018 names of data/provinces.geojson; addresses in
# the 2022-2026 exports use the later names of two of them.
PROVINCE_RENAMES = {"강원특별자치도": "강원도", "전북특별자치도": "전라북도"}
# How far (degrees, about 5 km) outside every province polygon a station
# without an address may be and still be given the nearest province.
MAX_OFFSHORE_DEG = 0.05
# The 2022 AWS export lists sites that opened up to 2022-03-17: it is the
# network as of that day.
AWS_2022_DATE = "2022-03-17"
# A later list that puts a station within this many metres of its previous
# site, under the same name, describes the same site (re-surveyed, or given
# with more decimals); farther away, or renamed, it is a new site period.
SAME_SITE_M = 100.0
_GEOD = Geod(ellps="WGS84")


def read_csv(name: str) -> list[dict[str, str]]:
    with open(SOURCES / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def num(text: str) -> float | None:
    return float(text) if text not in ("", None) else None


def load_provinces() -> tuple[list[str], STRtree, list]:
    with open(PROVINCES, encoding="utf-8") as f:
        fc = json.load(f)
    names = [feat["properties"]["name"] for feat in fc["features"]]
    geoms = [shape(feat["geometry"]) for feat in fc["features"]]
    return names, STRtree(geoms), geoms


class ProvinceFinder:
    """Province of a station: the address prefix, else the polygon the point is in."""

    def __init__(self) -> None:
        self.names, self.tree, self.geoms = load_provinces()
        self.known = set(self.names)
        self.notes: list[str] = []

    def from_address(self, address: str) -> str | None:
        text = address.removeprefix("(산지)").strip()
        if not text:
            return None
        head = text.split()[0]
        head = PROVINCE_RENAMES.get(head, head)
        for name in self.names:
            if text.startswith(name) or head == name:
                return name
        return None

    def from_point(self, lon: float, lat: float) -> tuple[str, float]:
        pt = Point(lon, lat)
        i = int(self.tree.nearest(pt))
        # distance in degrees is enough to tell "inside" (0) from "near the coast"
        return self.names[i], float(self.geoms[i].distance(pt))

    def __call__(self, sid: int, address: str, lon: float, lat: float) -> str | None:
        by_point, dist = self.from_point(lon, lat)
        by_address = self.from_address(address)
        if by_address is None:
            # Offshore stations (buoys, lighthouses, rocks) with no address:
            # the nearest polygon is only a guess, so leave them without one.
            return by_point if dist <= MAX_OFFSHORE_DEG else None
        if by_address != by_point:
            # An address prefix can be a typo in the source (창원 listed under
            # 경상북도); a point inside a polygon is only wrong near a border,
            # where the simplified polygons are off. Trust the point when it is
            # inside one province and well away (> 0.02 deg) from the one the
            # address names, the address otherwise (islands off the polygons).
            away = self.geoms[self.names.index(by_address)].distance(Point(lon, lat))
            choice = by_point if dist == 0 and away > 0.02 else by_address
            self.notes.append(
                f"{sid}: address says {by_address}, point is in/near {by_point} "
                f"({dist:.3f} deg); using {choice}"
            )
            return choice
        return by_address


def history_periods(rows: list[dict[str, str]]) -> list[dict]:
    periods = []
    for r in sorted(rows, key=lambda r: (r["start"], r["end"] or "9999")):
        periods.append(
            {
                "start": r["start"] or None,
                "end": r["end"] or None,
                "name_ko": r["name_ko"],
                "lon": float(r["lon"]),
                "lat": float(r["lat"]),
                "elevation_m": num(r["elevation_m"]),
                "address": r["address"] or None,
            }
        )
    return periods


def resolve_owner(key_owners: dict[str, list[tuple[int, int]]], key: str) -> set[int]:
    """Station ids a key resolves to: the strongest claim wins, ties stay ambiguous."""
    claims = key_owners.get(key, [])
    if not claims:
        return set()
    best = min(level for level, _ in claims)
    return {sid for level, sid in claims if level == best}


def build_asos(finder: ProvinceFinder) -> list[dict]:
    stations = read_csv("kma_asos_stations.csv")
    history: dict[int, list[dict[str, str]]] = {}
    for r in read_csv("kma_asos_station_history.csv"):
        history.setdefault(int(r["stn_id"]), []).append(r)
    printed: dict[int, list[str]] = {}
    for r in read_csv("kma_currentweather_2017_95names_to_ids.csv"):
        printed.setdefault(int(r["stn_id"]), []).append(r["name_on_2017_kma_page"])

    # Candidate aliases: printed names, historic names, former names, their
    # romanizations, and the English name.
    candidates: dict[int, list[str]] = {}
    for r in stations:
        sid = int(r["stn_id"])
        names = list(printed.get(sid, []))
        names += [h["name_ko"] for h in history.get(sid, [])]
        names += [n for n in r["former_names"].split(";") if n]
        names += [romanize(n) for n in list(names)]
        names.append(r["name_en"])
        seen: list[str] = []
        for n in names:
            n = n.strip()
            if n and n != r["name_ko"] and n not in seen:
                seen.append(n)
        candidates[sid] = seen

    # Who claims which lookup key: current names are the strongest claim
    # (level 0), printed/historic names next (1), derived forms last (2).
    active = {int(r["stn_id"]): r["active"] == "1" for r in stations}
    key_owners: dict[str, list[tuple[int, int]]] = {}
    for r in stations:
        sid = int(r["stn_id"])
        for key, strength in name_keys(r["name_ko"]):
            key_owners.setdefault(key, []).append((0 if strength == 0 else 2, sid))
        for alias in candidates[sid]:
            for key, strength in name_keys(alias):
                key_owners.setdefault(key, []).append((1 if strength == 0 else 2, sid))
    # Two stations with the same current name (성산 187 closed, 188 active):
    # the active one owns the name.
    for claims in key_owners.values():
        level0 = [sid for level, sid in claims if level == 0]
        if len(set(level0)) > 1:
            live = [sid for sid in level0 if active[sid]]
            if len(live) == 1:
                claims[:] = [(lv if sid == live[0] else lv + 1, sid) for lv, sid in claims]

    aws_lists, lists = aws_sightings(), list_dates()
    features = []
    for r in stations:
        sid = int(r["stn_id"])
        aliases: list[str] = []
        # keep an alias only if it resolves to this station, and add the bare
        # forms (강진군 -> 강진) that resolve to it alone
        for alias in candidates[sid]:
            if resolve_owner(key_owners, canonical(alias)) == {sid}:
                aliases.append(alias)
        for source in [r["name_ko"], *candidates[sid]]:
            for key, strength in name_keys(source):
                if strength == 0:
                    continue
                if resolve_owner(key_owners, key) != {sid}:
                    continue
                bare = _display_form(source, key)
                if bare and bare != r["name_ko"] and bare not in aliases:
                    aliases.append(bare)
        lon, lat = float(r["lon"]), float(r["lat"])
        periods = history_periods(history.get(sid, []))
        if sid in aws_lists:
            periods = sorted(
                periods + outside_asos(aws_periods(aws_lists[sid], lists), periods),
                key=lambda p: p["start"] or "",
            )
        features.append(
            feature(
                lon,
                lat,
                {
                    "station_id": sid,
                    "name_ko": r["name_ko"],
                    "name_en": r["name_en"],
                    "elevation_m": num(r["elevation_m"]),
                    "network": "ASOS",
                    "active": r["active"] == "1",
                    "start_date": r["first_start"] or None,
                    "end_date": r["end_date"] or None,
                    "address": r["address"] or None,
                    "province": finder(sid, r["address"], lon, lat),
                    "aliases": aliases,
                    "history": periods,
                },
            )
        )
    return features


def _display_form(source: str, key: str) -> str | None:
    """The printed spelling of a derived key (keys are case-folded)."""
    if source.isascii():
        for cand in (source.rsplit("-", 1)[0], source.split("(")[0]):
            if canonical(cand) == key:
                return cand
        return None
    return key


def aws_sightings() -> dict[int, list[tuple[str, dict]]]:
    """Every dated view of each AWS station: the 2022 export, then the stn_inf lists."""
    seen: dict[int, list[tuple[str, dict]]] = {}
    for r in read_csv("kma_aws_stations.csv"):
        address = " ".join(r["address"].split()) or None
        seen.setdefault(int(r["stn_id"]), []).append((AWS_2022_DATE, {
            "name_ko": r["name_ko"], "lon": float(r["lon"]), "lat": float(r["lat"]),
            "elevation_m": num(r["elevation_m"]), "address": address,
            "since": r["current_since"] or None,
        }))
    for r in read_csv("kma_stn_inf_stations_2024_2026.csv"):
        if r["inf"] != "AWS":
            continue
        seen.setdefault(int(r["stn_id"]), []).append((r["version"], {
            "name_ko": r["name_ko"], "lon": float(r["lon"]), "lat": float(r["lat"]),
            "elevation_m": num(r["elev_m"]), "address": None, "since": None,
        }))
    return {sid: sorted(v, key=lambda x: x[0]) for sid, v in seen.items()}


def midpoint(a: str, b: str) -> str:
    """The day halfway between two ISO days (rounded down)."""
    da, db = dt.date.fromisoformat(a), dt.date.fromisoformat(b)
    return (da + (db - da) // 2).isoformat()


def next_day(day: str) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()


def aws_periods(sightings: list[tuple[str, dict]], lists: list[str]) -> list[dict]:
    """Site periods of one AWS station from its dated sightings.

    ``lists`` are the dates of every station list, oldest first. A site a list
    shows is taken from the day halfway to the previous list that showed it
    elsewhere or under another name (the list nearest in time wins). A station
    new in a list counts from the day after the previous list; one missing
    from a list ends on that list's date (a list that omits a station only
    proves it was gone by then, and readings from before that day still need
    a place).
    """
    periods: list[dict] = []
    last_date = None
    for date, v in sightings:
        period = {"start": v["since"], "end": None, "name_ko": v["name_ko"], "lon": v["lon"],
                  "lat": v["lat"], "elevation_m": v["elevation_m"], "address": v["address"]}
        if not periods:
            if period["start"] is None:
                earlier = [d for d in lists if d < date]
                period["start"] = next_day(earlier[-1]) if earlier else None
            periods.append(period)
        else:
            cur = periods[-1]
            _, _, dist = _GEOD.inv(cur["lon"], cur["lat"], v["lon"], v["lat"])
            if dist <= SAME_SITE_M and cur["name_ko"] == v["name_ko"]:
                # same site: keep its opening day, take the newer survey
                cur.update(lon=v["lon"], lat=v["lat"], elevation_m=v["elevation_m"],
                           address=v["address"] or cur["address"])
            else:
                boundary = midpoint(last_date, date)
                cur["end"] = boundary
                period["start"] = boundary
                # a renamed station on the same site keeps its address
                period["address"] = v["address"] or (
                    cur["address"] if dist <= SAME_SITE_M else None)
                periods.append(period)
        last_date = date
    later = [d for d in lists if d > last_date]
    if later:
        periods[-1]["end"] = later[0]
    return periods


def list_dates() -> list[str]:
    """The dates of the AWS station lists, oldest first."""
    return sorted({AWS_2022_DATE} | {r["version"] for r in read_csv(
        "kma_stn_inf_stations_2024_2026.csv") if r["inf"] == "AWS"})


def outside_asos(periods: list[dict], asos: list[dict]) -> list[dict]:
    """The parts of AWS-list periods before an ASOS station opened or after it closed.

    Some ASOS numbers live on as AWS sites (116 관악산 → 관악(레), 175 진도(첨찰산)
    → 진도(레)) or were AWS sites before (296 북부산): the AWS lists date those
    days, the ASOS history all the others.
    """
    first, last = asos[0]["start"], asos[-1]["end"]
    out = []
    for p in periods:
        if first and (p["start"] is None or p["start"] < first):
            before = dict(p, end=first if p["end"] is None else min(p["end"], first))
            if before["start"] is None or before["start"] < before["end"]:
                out.append(before)
        if last and (p["end"] is None or p["end"] > last):
            after = dict(p, start=last if p["start"] is None else max(p["start"], last))
            out.append(after)
    return out


def build_aws(finder: ProvinceFinder, asos_ids: set[int]) -> list[dict]:
    lists = list_dates()
    features = []
    for sid, sightings in sorted(aws_sightings().items()):
        if sid in asos_ids:
            continue
        history = aws_periods(sightings, lists)
        cur = history[-1]
        lon, lat = cur["lon"], cur["lat"]
        features.append(
            feature(
                lon,
                lat,
                {
                    "station_id": sid,
                    "name_ko": cur["name_ko"],
                    "name_en": romanize(cur["name_ko"]),
                    "elevation_m": cur["elevation_m"],
                    "network": "AWS",
                    "active": cur["end"] is None,
                    "start_date": history[0]["start"],
                    "end_date": cur["end"],
                    "address": cur["address"],
                    "province": finder(sid, cur["address"] or "", lon, lat),
                    "aliases": [],
                    "history": history,
                },
            )
        )
    return features


def build_closed(finder: ProvinceFinder, known: set[int]) -> list[dict]:
    """Stations of the 2022 history export that had closed by then, with every period.

    Only KMA's own numbers in South Korea (90-999; below 90 are stations in
    the North that KMA lists by WMO number) that no other source knows. A
    period runs from its first day up to the day after its last one, or to the
    next period's first day when that comes sooner.
    """
    rows: dict[int, list[dict[str, str]]] = {}
    for r in read_csv("kma_meta_station_history_2022.csv"):
        sid = int(r["지점"])
        if 90 <= sid < 1000 and sid not in known:
            rows.setdefault(sid, []).append(r)
    features = []
    for sid, periods in sorted(rows.items()):
        periods.sort(key=lambda r: r["시작일"])
        if any(not r["종료일"] for r in periods):
            continue  # still open in 2022 but in no later list: not dated
        history = []
        for i, r in enumerate(periods):
            end = next_day(r["종료일"])
            if i + 1 < len(periods):
                end = min(end, periods[i + 1]["시작일"])
            if end <= r["시작일"]:
                continue
            history.append({
                "start": r["시작일"], "end": end, "name_ko": r["지점명"],
                "lon": float(r["경도"]), "lat": float(r["위도"]),
                "elevation_m": num(r["노장해발고도(m)"]),
                "address": " ".join(r["지점주소"].split()) or None,
            })
        cur = history[-1]
        features.append(feature(cur["lon"], cur["lat"], {
            "station_id": sid,
            "name_ko": cur["name_ko"],
            "name_en": romanize(cur["name_ko"]),
            "elevation_m": cur["elevation_m"],
            "network": "AWS",
            "active": False,
            "start_date": history[0]["start"],
            "end_date": cur["end"],
            "address": cur["address"],
            "province": finder(sid, cur["address"] or "", cur["lon"], cur["lat"]),
            "aliases": [],
            "history": history,
        }))
    return features


def feature(lon: float, lat: float, props: dict) -> dict:
    for value in (lon, lat):
        if not math.isfinite(value):
            raise ValueError(f"station {props['station_id']}: bad coordinate {value!r}")
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


def render(features: list[dict]) -> str:
    lines = [
        json.dumps(f, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        for f in features
    ]
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


def build() -> tuple[str, list[str]]:
    finder = ProvinceFinder()
    asos = build_asos(finder)
    aws = build_aws(finder, {f["properties"]["station_id"] for f in asos})
    known = {f["properties"]["station_id"] for f in asos + aws}
    aws = sorted(aws + build_closed(finder, known), key=lambda f: f["properties"]["station_id"])
    return render(asos + aws), finder.notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="fail if the output is stale")
    parser.add_argument("-v", "--verbose", action="store_true", help="print province notes")
    args = parser.parse_args(argv)
    text, notes = build()
    if args.verbose:
        for note in notes:
            print(note, file=sys.stderr)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale; run scripts/build_stations.py", file=sys.stderr)
            return 1
        return 0
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    tmp.replace(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
