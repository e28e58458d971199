"""Make the README screenshots: national and regional maps, desktop and phone.

Renders the 26 seed readings (national map) and the ASOS daily means of
2020-08-14 from ``examples/data/kma_asos_daily_2020.csv`` framed on 충청북도
(regional map) with ``tiles=None``, opens each page in Debian's chromium
(through playwright) with every network request blocked, and saves
``docs/map-{national,region}-{desktop,phone}.png`` (1280×900 and 390×844),
plus ``docs/map-national.png`` from the static renderer. Korean text needs a
CJK font (Debian: ``apt-get install fonts-noto-cjk``).

Usage::

    python scripts/make_screenshots.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

import kwxmap
from kwxmap.static import render_static, save_figure

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CHROMIUM = "/usr/bin/chromium"
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}

SEED = [
    ("동두천", "맑음", 26.0), ("강릉", "구름많음", 28.0), ("서울", "구름많음", 24.5),
    ("충주", "맑음", 25.4), ("서산", "맑음", 21.4), ("청주", "맑음", 25.4),
    ("대전", "맑음", 25.8), ("추풍령", "맑음", 26.0), ("대구", "맑음", 26.1),
    ("울산", "맑음", 22.5), ("광주", "맑음", 25.0), ("부산", "구름조금", 21.0),
    ("고창", "맑음", 25.3), ("홍성(예)", "맑음", 23.7), ("제주", "구름조금", 18.9),
    ("고산", "구름조금", 18.1), ("강화", "구름조금", 22.5), ("제천", "맑음", 23.9),
    ("보은", "맑음", 25.4), ("천안", "맑음", 24.9), ("보령", "맑음", 22.5),
    ("부여", "맑음", 24.9), ("금산", "맑음", 26.8), ("강진군", "맑음", 22.8),
    ("경주시", "맑음", 28.3), ("거제", "맑음", 21.0),
]


def national() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, str]:
    text = "\n".join(f"• {cond}{name} {temp:.1f}℃" for name, cond, temp in SEED)
    stations = kwxmap.join_readings(kwxmap.parse_readings(text))
    grid = kwxmap.interpolate(stations, resolution=1000.0)
    bands = kwxmap.contour_bands(grid)
    return stations, bands, kwxmap.contour_lines(grid, bands.attrs["levels"]), "관측소 26곳 기온"


def region() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, str]:
    daily = pd.read_csv(ROOT / "examples" / "data" / "kma_asos_daily_2020.csv")
    rows = daily[daily["time"] == "2020-08-14"].rename(
        columns={"stn_id": "station_id", "temp_c": "temperature_c"}
    )
    registry = kwxmap.load_stations().to_geodataframe()
    gdf = registry.merge(rows[["station_id", "temperature_c"]], on="station_id")
    stations = gpd.GeoDataFrame(gdf, geometry="geometry", crs=registry.crs)
    grid = kwxmap.interpolate(stations, resolution=1000.0, region="충청북도")
    used = grid.attrs.get("station_ids")
    shown = stations if used is None else stations[stations["station_id"].isin(used)]
    bands = kwxmap.contour_bands(grid, "20:32:0.5")
    return shown, bands, kwxmap.contour_lines(grid, bands.attrs["levels"]), "충청북도 일평균 기온"


def main() -> None:
    from playwright.sync_api import sync_playwright

    DOCS.mkdir(exist_ok=True)
    maps = {
        "national": (*national(), "2016-10-27 16:37 KST"),
        "region": (*region(), "2020-08-14"),
    }
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        args = ["--no-sandbox", "--disable-gpu"]
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        for name, (stations, bands, lines, title, when) in maps.items():
            labels = "values" if name == "region" else "none"
            m = kwxmap.render_map(stations, bands, lines, title=title, time=when, tiles=None,
                                  labels=labels)
            page_path = kwxmap.write_html(m, Path(tmp) / f"{name}.html")
            for device, (width, height) in SIZES.items():
                context = browser.new_context(viewport={"width": width, "height": height},
                                              device_scale_factor=1)
                page = context.new_page()
                page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:")
                           else r.abort())
                page.goto(page_path.as_uri(), wait_until="load")
                page.wait_for_timeout(1200)  # after the fit-to-bounds zoom settles
                out = DOCS / f"map-{name}-{device}.png"
                page.screenshot(path=str(out))
                print(out.relative_to(ROOT))
                context.close()
            if name == "national":
                fig = render_static(stations, bands, lines, title=title, time=when)
                out = save_figure(fig, DOCS / "map-national.png")
                print(out.relative_to(ROOT))
        browser.close()


if __name__ == "__main__":
    main()
