"""Sizes and timings of the rendering stage on the national 1 km grid.

For two fields — the 26 seed readings, and the ASOS daily means of the day
with the widest temperature spread in ``examples/data/kma_asos_daily_2020.csv``
— interpolates onto the national 1 km grid (kwxmap's default method; the
daily field also with the lapse-rate terrain correction, whose DEM detail
makes the most complex isotherms), then
times Grid -> ``contour_bands`` (1 °C steps) + ``contour_lines`` ->
``render_map`` -> ``write_html``, and prints the bytes of the bands GeoJSON
(as is and with ``simplify=True``), the isolines GeoJSON and the HTML.

Usage::

    python benchmarks/bench_render.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

import kwxmap

ROOT = Path(__file__).resolve().parents[1]

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


def seed_stations() -> gpd.GeoDataFrame:
    return kwxmap.join_readings(kwxmap.parse_readings(SEED))


def widest_day() -> tuple[str, gpd.GeoDataFrame]:
    daily = pd.read_csv(ROOT / "examples" / "data" / "kma_asos_daily_2020.csv")
    daily = daily.dropna(subset=["temp_c"])
    spread = daily.groupby("time")["temp_c"].agg(lambda s: s.max() - s.min())
    day = str(spread.idxmax())
    rows = daily[daily["time"] == day]
    registry = kwxmap.load_stations().to_geodataframe()
    gdf = registry.merge(
        rows.rename(columns={"stn_id": "station_id", "temp_c": "temperature_c"})[
            ["station_id", "temperature_c"]
        ],
        on="station_id",
    )
    return day, gpd.GeoDataFrame(gdf, geometry="geometry", crs=registry.crs)


def grid_to_html(grid, stations, out: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    bands = kwxmap.contour_bands(grid)
    lines = kwxmap.contour_lines(grid)
    t1 = time.perf_counter()
    m = kwxmap.render_map(stations, bands, lines, title="bench", tiles=None)
    kwxmap.write_html(m, out / "map.html")
    t2 = time.perf_counter()
    return {
        "contours_s": t1 - t0,
        "render_write_s": t2 - t1,
        "total_s": t2 - t0,
        "bands": bands,
        "lines": lines,
    }


def run(name: str, stations: gpd.GeoDataFrame, repeat: int, **params) -> None:
    t = time.perf_counter()
    grid = kwxmap.interpolate(stations, resolution=1000.0, **params)
    t_interp = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        runs = [grid_to_html(grid, stations, out) for _ in range(repeat)]
        bands, lines = runs[-1]["bands"], runs[-1]["lines"]
        b_full = kwxmap.write_geojson(bands, out / "bands.geojson").stat().st_size
        simple = kwxmap.contour_bands(grid, simplify=True)
        b_simple = kwxmap.write_geojson(simple, out / "bands_s.geojson").stat().st_size
        l_size = kwxmap.write_geojson(lines, out / "lines.geojson").stat().st_size
        html = (out / "map.html").stat().st_size
    med = {
        k: statistics.median(r[k] for r in runs)
        for k in ("contours_s", "render_write_s", "total_s")
    }
    n_vert = int(shapely.get_num_coordinates(bands.geometry.values).sum())
    print(f"\n## {name}")
    print(
        f"grid {grid.shape[1]} x {grid.shape[0]} cells at {grid.resolution:.0f} m, "
        f"method {grid.attrs.get('method')}, {len(stations)} stations, "
        f"interpolation {t_interp:.2f} s"
    )
    print(
        f"bands: {len(bands)} at 1 °C ({bands['lower'].min():g}..{bands['upper'].max():g} °C), "
        f"{n_vert} vertices; isolines: {len(lines)}"
    )
    print(f"bands GeoJSON (precision 5):       {b_full:>9,} bytes")
    print(f"bands GeoJSON (simplify=True):     {b_simple:>9,} bytes")
    print(f"isolines GeoJSON:                  {l_size:>9,} bytes")
    print(f"HTML (tiles=None):                 {html:>9,} bytes")
    print(f"Grid -> bands + lines:             {med['contours_s']:.2f} s")
    print(f"render_map + write_html:           {med['render_write_s']:.2f} s")
    print(f"Grid -> written HTML (median of {repeat}): {med['total_s']:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    run("seed readings (26 ASOS stations)", seed_stations(), args.repeat)
    day, gdf = widest_day()
    run(f"ASOS daily means {day} (widest spread in the example file)", gdf, args.repeat)
    run(
        f"ASOS daily means {day}, lapse-rate terrain correction (DEM detail)",
        gdf,
        args.repeat,
        elevation="lapse",
    )


if __name__ == "__main__":
    main()
