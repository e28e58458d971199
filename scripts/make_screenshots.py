"""Make the README screenshots: national and regional maps, desktop and phone.

Renders, with kwxmap's defaults (as ``kwxmap map`` does) and ``tiles=None``,
the 26 bundled widget readings (national map) and the ASOS daily means of
2020-08-14 from ``examples/data/kma_asos_daily_2020.csv`` on 충청북도 with
station values written (regional map); opens each page in Debian's chromium
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

import kwxmap
from kwxmap.static import render_static, save_figure

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CHROMIUM = "/usr/bin/chromium"
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}

EXAMPLE = ROOT / "examples"


def maps() -> dict[str, kwxmap.Snapshot]:
    """The two maps the README shows, made the way a user makes them (defaults)."""
    return {
        "national": kwxmap.snapshot(EXAMPLE / "widget.txt", tiles=None),
        "region": kwxmap.snapshot(EXAMPLE / "data" / "kma_asos_daily_2020.csv",
                                  time="2020-08-14", region="충청북도", tiles=None,
                                  labels="values"),
    }


def main() -> None:
    from playwright.sync_api import sync_playwright

    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        args = ["--no-sandbox", "--disable-gpu"]
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        for name, snap in maps().items():
            page_path = kwxmap.write_html(snap.map, Path(tmp) / f"{name}.html")
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
                fig = render_static(snap.stations, snap.bands, snap.lines,
                                    title=snap.heading[0], time=snap.heading[1])
                out = save_figure(fig, DOCS / "map-national.png")
                print(out.relative_to(ROOT))
        browser.close()


if __name__ == "__main__":
    main()
