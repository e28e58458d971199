"""Sizes and timings of the rendered maps on the national 1 km grid.

Prints, for the pages kwxmap writes with ``tiles=None`` (self-contained: Leaflet
1.9.4 and kwxmap's script embedded):

1. the national seed map (26 readings, default method, 1 °C bands, isolines);
2. a 700-station map: one whole-network AWS + ASOS snapshot from
   ``../shared/reference/obs/kma_aws_snapshots.csv`` (its own lon/lat and
   elevation; IDW with the default lapse-rate correction), when that
   file is beside the repository (skipped with a note otherwise);
3. a 17-frame animation: 17 days of ASOS daily means from
   ``examples/data/kma_asos_daily_2020.csv`` on one set of levels, each frame
   with bands, isolines and station readings;

with the HTML bytes, the part that is Leaflet + kwxmap's script, and the time
from bands/lines to written HTML. ``--quick`` uses a 2 km grid.

``--only agreement`` (also part of the full run): for the seed, a regional
(충북, ASOS daily mean), a whole-network and a winter daily-minimum map made
with the defaults, the share of stations whose reading lies inside the band
drawn under them, and within half a band step of it, with
``honour_readings`` on (the default) and off (the method's field alone); it
exits non-zero when a default map falls below 95 % within half a step.

Usage::

    python benchmarks/bench_render.py [--quick] [--only agreement]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

import kwxmap
from kwxmap.render import _inline_assets, render_animation

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "reference" / "obs" / "kma_aws_snapshots.csv"

SEED = """\
• 맑음동두천 26.0℃
• 구름많음강릉 28.0℃
• 구름많음서울 24.5℃
• 맑음충주 25.4℃
• 맑음서산 21.4℃
• 맑음청주 25.4℃
• 맑음대전 25.8℃
• 맑음추풍령 26.0℃
• 맑음대구 26.1℃
• 맑음울산 22.5℃
• 맑음광주 25.0℃
• 구름조금부산 21.0℃
• 맑음고창 25.3℃
• 맑음홍성(예) 23.7℃
• 구름조금제주 18.9℃
• 구름조금고산 18.1℃
• 구름조금강화 22.5℃
• 맑음제천 23.9℃
• 맑음보은 25.4℃
• 맑음천안 24.9℃
• 맑음보령 22.5℃
• 맑음부여 24.9℃
• 맑음금산 26.8℃
• 맑음강진군 22.8℃
• 맑음경주시 28.3℃
• 맑음거제 21.0℃
"""


def _written(m, out: Path) -> int:
    return kwxmap.write_html(m, out).stat().st_size


def seed_map(res: float, out: Path) -> None:
    stations = kwxmap.join_readings(kwxmap.parse_readings(SEED))
    grid = kwxmap.interpolate(stations, resolution=res)
    bands = kwxmap.contour_bands(grid)
    lines = kwxmap.contour_lines(grid, bands.attrs["levels"])
    t = time.perf_counter()
    size = _written(kwxmap.render_map(stations, bands, lines, title="bench", tiles=None), out)
    print(f"national seed map, 26 stations, {len(bands)} bands, {len(lines)} isolines: "
          f"{size:>10,} bytes  ({time.perf_counter() - t:.2f} s render+write)")


def network_map(res: float, out: Path) -> None:
    if not SHARED.is_file():
        print(f"700-station map: skipped ({SHARED} not found beside the repository)")
        return
    obs = pd.read_csv(SHARED)
    counts = obs.groupby("snapshot_id").size()
    snap = obs[obs["snapshot_id"] == counts.idxmax()].dropna(subset=["temp_c", "lon", "lat"])
    stations = gpd.GeoDataFrame(
        {
            "station_id": snap["stn_id"].to_numpy(),
            "temperature_c": snap["temp_c"].to_numpy(),
            "elevation_m": snap["elev_m"].to_numpy(),
        },
        geometry=gpd.points_from_xy(snap["lon"], snap["lat"]),
        crs=4326,
    )
    grid = kwxmap.interpolate(stations, resolution=res, method="idw")
    bands = kwxmap.contour_bands(grid)
    lines = kwxmap.contour_lines(grid, bands.attrs["levels"])
    t = time.perf_counter()
    m = kwxmap.render_map(stations, bands, lines, title="bench", tiles=None, labels="values")
    size = _written(m, out)
    print(f"{len(stations)}-station map ({counts.idxmax()}), {len(bands)} bands, idw: "
          f"{size:>10,} bytes  ({time.perf_counter() - t:.2f} s render+write)")


def animation(res: float, out: Path, frames: int = 17) -> None:
    daily = pd.read_csv(ROOT / "examples" / "data" / "kma_asos_daily_2020.csv")
    daily = daily.dropna(subset=["temp_c"])
    days = sorted(daily["time"].unique())[:frames]
    registry = kwxmap.load_stations().to_geodataframe()
    readings = []
    for day in days:
        rows = daily[daily["time"] == day].rename(
            columns={"stn_id": "station_id", "temp_c": "temperature_c"}
        )
        gdf = registry.merge(rows[["station_id", "temperature_c"]], on="station_id")
        readings.append(gpd.GeoDataFrame(gdf, geometry="geometry", crs=registry.crs))
    grids = [kwxmap.interpolate(st, resolution=res) for st in readings]
    lo = min(float(np.nanmin(g.values)) for g in grids)
    hi = max(float(np.nanmax(g.values)) for g in grids)
    levels = kwxmap.resolve_levels(None, lo, hi)
    parts = []
    for day, st, grid in zip(days, readings, grids, strict=True):
        bands = kwxmap.contour_bands(grid, levels)
        parts.append((day, st, bands, kwxmap.contour_lines(grid, levels)))
    t = time.perf_counter()
    size = _written(render_animation(parts, title="bench", tiles=None), out)
    print(f"{len(parts)}-frame animation (ASOS daily means {days[0]}..{days[-1]}): "
          f"{size:>10,} bytes  ({time.perf_counter() - t:.2f} s render+write)")


AGREEMENT_MIN = 0.95


def agreement() -> int:
    """Stations in (or within half a step of) their band, per kind of map; failures."""
    from kwxmap.contours import band_agreement

    example = ROOT / "examples" / "data" / "kma_asos_daily_2020.csv"
    cases = [("seed widget", SEED, {}),
             ("regional 충북, daily mean", example, {"time": "2020-08-14", "region": "충북"}),
             ("winter daily minimum", example, {"time": "2020-12-10", "variable": "tmin"})]
    if SHARED.is_file():
        snaps = pd.read_csv(SHARED)
        last = snaps[snaps["snapshot_id"] == sorted(snaps["snapshot_id"].unique())[-1]]
        table = last.rename(columns={"stn_id": "station_id", "temp_c": "temperature_c",
                                     "elev_m": "elevation_m"})
        cases.insert(2, ("whole network (AWS+ASOS)",
                         table[["station_id", "lon", "lat", "elevation_m", "temperature_c"]]
                         .dropna(subset=["temperature_c"]), {}))
    failures = 0
    print(f"{'map':<28} {'stations':>8} {'inside':>8} {'half step':>10}   "
          f"(method field alone: inside, half step)")
    for name, source, kw in cases:
        row = []
        for honour in (True, False):
            snap = kwxmap.snapshot(source, tiles=None, honour_readings=honour, **kw)
            a = band_agreement(snap.stations, snap.bands)
            a = a[np.isfinite(a["off_c"])]
            row.append((len(a), (a["off_c"] == 0).mean(), (a["off_steps"] <= 0.5).mean()))
        (n, inside, half), (_, inside0, half0) = row
        failures += half < AGREEMENT_MIN
        print(f"{name:<28} {n:>8} {100 * inside:>7.1f}% {100 * half:>9.1f}%   "
              f"({100 * inside0:.1f}%, {100 * half0:.1f}%)"
              + ("  << below 95 %" if half < AGREEMENT_MIN else ""))
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 km grid instead of 1 km")
    parser.add_argument("--only", choices=["agreement"])
    args = parser.parse_args()
    if args.only == "agreement":
        raise SystemExit(1 if agreement() else 0)
    res = 2000.0 if args.quick else 1000.0
    css, js = _inline_assets()
    print(f"grid {res:.0f} m; embedded Leaflet + kwxmap CSS/JS: "
          f"{len(css.encode()) + len(js.encode()):,} bytes per page")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        seed_map(res, out / "seed.html")
        network_map(res, out / "network.html")
        animation(res, out / "animation.html")
    if agreement():
        raise SystemExit("a default map agrees with fewer than 95 % of its readings")


if __name__ == "__main__":
    main()
