"""Shared fixtures: the seed readings through the pipeline, and a headless browser.

Browser fixtures drive Debian's chromium (``/usr/bin/chromium``) with Python
playwright; every request the page makes is answered from the npm copies in
``tests/browser/node_modules`` (CI has no internet). They skip with a reason
when chromium, playwright or the npm copies are missing, except under CI
(``CI`` set to ``true``/``1``), where a missing browser fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import geopandas as gpd
import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
NODE_MODULES = TESTS / "browser" / "node_modules"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

#: The 26 seed readings (KMA current-weather list): name as printed, condition, °C.
SEED_READINGS = [
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


def seed_text() -> str:
    """The seed readings in the KMA list format the parser reads."""
    return "\n".join(f"• {cond}{name} {temp:.1f}℃" for name, cond, temp in SEED_READINGS)


@pytest.fixture(scope="session")
def seed_stations() -> gpd.GeoDataFrame:
    """The 26 seed readings, parsed and joined to the station registry (EPSG:4326)."""
    from kwxmap import join_readings, parse_readings

    gdf = join_readings(parse_readings(seed_text()))
    assert len(gdf) == len(SEED_READINGS)
    return gdf


def interpolate_seed(stations: gpd.GeoDataFrame, resolution: float):
    """Interpolate the seed readings onto the national grid (default method, no elevation).

    The contour and render fixtures were tuned on this surface; it stays fixed
    when the library's default elevation handling changes.
    """
    from kwxmap import interpolate

    return interpolate(stations, resolution=resolution, elevation=None)


@pytest.fixture(scope="session")
def seed_grid(seed_stations):
    """The seed readings on the national 1 km grid."""
    return interpolate_seed(seed_stations, 1000.0)


# --------------------------------------------------------------------------- browser


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _skip_or_fail(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason} (CI is set, so the browser test must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """A headless chromium driven by playwright (session-wide)."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        _skip_or_fail(f"chromium not found at {CHROMIUM}; install Debian's chromium package")
    if not (NODE_MODULES / "leaflet" / "dist" / "leaflet.js").is_file():
        _skip_or_fail(
            f"local JS/CSS copies missing in {NODE_MODULES}; run `npm ci --prefix tests/browser`"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("python playwright is not installed (pip install playwright)")
    exe = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


#: CDN package name (as in the URL path) -> folder in node_modules.
_PACKAGES = {
    "leaflet": "leaflet",
    "jquery": "jquery",
    "bootstrap": "bootstrap",
    "leaflet.awesome-markers": "leaflet.awesome-markers",
    "Leaflet.awesome-markers": "leaflet.awesome-markers",
    "@fortawesome/fontawesome-free": "@fortawesome/fontawesome-free",
    "fontawesome-free": "@fortawesome/fontawesome-free",
    "d3": "d3",
}
_CONTENT_TYPES = {
    ".js": "application/javascript",
    ".css": "text/css",
    ".map": "application/json",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def local_asset(url: str) -> Path | None:
    """Find the npm copy of a CDN asset by its URL path, or None.

    The path is split at the ``package@version`` segment; the rest is looked up
    in the package folder, also under ``dist/`` (jsdelivr's ``npm/d3@3.5.5/d3.min.js``
    and cdnjs' ``ajax/libs/.../1.9.3/leaflet.js`` layouts).
    """
    from urllib.parse import urlparse

    parts = [p for p in urlparse(url).path.split("/") if p]
    if not parts:
        return None
    jq = re.fullmatch(r"jquery-[\d.]+(\.min)?\.js", parts[-1])
    if jq:  # code.jquery.com/jquery-3.7.1.min.js
        candidate = NODE_MODULES / "jquery" / "dist" / f"jquery{jq[1] or ''}.js"
        return candidate if candidate.is_file() else None
    for i, part in enumerate(parts):
        name = part.split("@")[0]
        scoped = None
        if part.startswith("@") and i + 1 < len(parts):
            scoped = f"{part}/{parts[i + 1].split('@')[0]}"
            rest = parts[i + 2 :]
        else:
            rest = parts[i + 1 :]
        for key in (scoped, name):
            if key and key in _PACKAGES:
                folder = NODE_MODULES / _PACKAGES[key]
                # cdnjs: .../libs/<pkg>/<version>/<file>
                if rest and rest[0][:1].isdigit() and "@" not in part:
                    rest = rest[1:]
                for candidate in (folder.joinpath(*rest), folder.joinpath("dist", *rest)):
                    if rest and candidate.is_file():
                        return candidate
    return None


@pytest.fixture
def open_map(browser):
    """Open an HTML file in a fresh page with every request served locally.

    Returns ``(page, problems)`` where problems lists JS errors and requests
    that had no local copy (those are aborted).
    """
    pages = []

    def _open(path: Path, *, width: int = 1200, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        pages.append(context)
        problems: dict[str, list[str]] = {"errors": [], "unmatched": [], "stubbed": []}

        def handle(route):
            url = route.request.url
            if url.startswith("file://"):
                route.continue_()
                return
            asset = local_asset(url)
            if asset is not None:
                ctype = _CONTENT_TYPES.get(asset.suffix, "application/octet-stream")
                route.fulfill(status=200, body=asset.read_bytes(), content_type=ctype,
                              headers={"Access-Control-Allow-Origin": "*"})
                return
            if url.split("?")[0].endswith(".css"):
                # Stylesheets with no npm twin (glyphicons, folium's rotate css).
                problems["stubbed"].append(url)
                route.fulfill(status=200, body="", content_type="text/css")
                return
            problems["unmatched"].append(url)
            route.abort()

        page.route("**/*", handle)
        page.on("pageerror", lambda exc: problems["errors"].append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: problems["errors"].append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error"
            else None,
        )
        page.goto(path.resolve().as_uri(), wait_until="load")
        return page, problems

    yield _open
    for context in pages:
        context.close()
