"""Shared fixtures: the seed readings through the pipeline, and a headless browser.

Browser fixtures drive Debian's chromium (``/usr/bin/chromium``) with Python
playwright; the pages embed everything they draw with, so every request a page
makes is aborted and recorded. They skip with a reason when chromium or
playwright is missing, except under CI (``CI`` set to ``true``/``1``), where a
missing browser fails the test.

Under CI every skip of any kind (``pytest.skip``, ``skipif``, ``importorskip``
at module level, a fixture that skips) is turned into a failure unless its
reason matches an entry of :data:`ALLOWED_SKIPS`, the one list of skips CI
accepts, each with why it is acceptable.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from hypothesis import settings

# Property tests draw the same examples on every run and keep no example database:
# no test depends on run order or on what an earlier run saved.
settings.register_profile("kwxmap", derandomize=True, database=None)
settings.load_profile("kwxmap")

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
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


# --------------------------------------------------------------------------- skips in CI

#: The skips CI accepts: a regex searched in the skip reason -> why it is acceptable.
#: Everything else that skips under ``CI=true`` fails the run. Today CI installs
#: everything the suite needs (``.ci/run``), so no skip is acceptable.
ALLOWED_SKIPS: dict[str, str] = {}


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def skip_is_allowed(reason: str) -> bool:
    """True when *reason* matches an entry of :data:`ALLOWED_SKIPS`."""
    return any(re.search(pattern, reason) for pattern in ALLOWED_SKIPS)


def _fail_unlisted_skip(report) -> None:
    if not (_in_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if skip_is_allowed(reason):
        return
    report.outcome = "failed"
    report.longrepr = (
        f"skipped under CI: {reason}\n(install what it needs, or list the reason with why "
        "in ALLOWED_SKIPS in tests/conftest.py)"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI, a test skipped for a reason not in ALLOWED_SKIPS fails."""
    outcome = yield
    _fail_unlisted_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """Under CI, a module skipped at collection (``importorskip``) fails too."""
    outcome = yield
    _fail_unlisted_skip(outcome.get_result())


# --------------------------------------------------------------------------- browser


def _skip_or_fail(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason} (CI is set, so the browser test must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """A headless chromium driven by playwright (session-wide)."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        _skip_or_fail(f"chromium not found at {CHROMIUM}; install Debian's chromium package")
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


@pytest.fixture
def open_map(browser):
    """Open an HTML file in a fresh page with every network request blocked.

    Returns ``(page, problems)`` where problems lists JS errors and the
    requests the page made (all aborted).
    """
    pages = []

    def _open(path: Path, *, width: int = 1200, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        pages.append(context)
        problems: dict[str, list[str]] = {"errors": [], "requested": []}

        def handle(route):
            url = route.request.url
            if url.startswith("file://"):  # the page itself
                route.continue_()
                return
            problems["requested"].append(url)
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


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory):
    """Keep a developer's local registry and fetch cache out of every test."""
    old = os.environ.get("KWXMAP_CACHE_DIR")
    os.environ["KWXMAP_CACHE_DIR"] = str(tmp_path_factory.mktemp("kwxmap-cache"))
    yield
    if old is None:
        os.environ.pop("KWXMAP_CACHE_DIR", None)
    else:
        os.environ["KWXMAP_CACHE_DIR"] = old
