"""Reading time grows linearly with the input, on every reader's path, for hostile shapes.

Each generator builds an input of a given size in one shape that once made a
regular expression backtrack (``<`` followed by spaces or letters, tags that
never close, repeated declarations) or that each reader's sniff and read
path sees first. The input is read at sizes doubling from 1 KB to 256 KB; at
each doubling the time beyond a fixed cost (the best of three reads of a
tiny input) may at most triple (linear: 2 x, quadratic: 4 x), with 20 ms for
timer noise, and inputs from 64 KB read at under 1 s per MB. The first
doubling that breaks the rule fails the test, so a quadratic path fails in
seconds rather than running for hours.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from kwxmap import parse_readings
from kwxmap.errors import KwxmapError

TYP01 = "#START7777\n# YYMMDDHHMI STN WD1 WS1 WDS WSS WD10 WS10 TA RE RN-15m\n"
PORTAL = "지점,지점명,일시,기온(°C)\n108,서울,2024-01-15 06:00,"
STN_INF = "# STN LON LAT STN_SP HT\n"

GENERATORS: dict[str, Callable[[int], str]] = {
    "lt_spaces": lambda n: "<" + " " * n,
    "lt_letters": lambda n: "<" + "a" * n,
    "html_lt_letters": lambda n: "<html><p>" + "<" + "a" * n,
    "html_lt_spaces": lambda n: "<html><p>" + "<" + " " * n,
    "html_lt_slash_spaces": lambda n: "<div>< /" + " " * n,
    "unclosed_tag": lambda n: "<div " + "x=1 " * (n // 4),
    "unclosed_tags_repeated": lambda n: "<html>" + "<td a=b " * (n // 8),
    "tag_name_then_letters": lambda n: "<html><" + "b" * n + " x",
    "meta_repeated": lambda n: "<meta " * (n // 6),
    "meta_charset_spaces": lambda n: '<meta charset="' + " " * n,
    "xml_encoding_spaces": lambda n: "<?xml encoding=" + " " * n,
    "comment_unclosed": lambda n: "<html><!--" + "-" * n,
    "script_unclosed": lambda n: "<html><script>" + "</script " * (n // 9),
    "img_alt": lambda n: "<html><img alt=" + "=" * n,
    "many_lt": lambda n: "<" * n,
    "degree_signs": lambda n: "맑음서울 " + "°" * n + "C",
    "minus_spaces": lambda n: "서울 -" + " " * n + "-",
    "hangul_run": lambda n: "가" * n + " 24.5℃",
    "typ01_long_line": lambda n: TYP01 + "2026" + "0" * n,
    "portal_long_cell": lambda n: PORTAL + "1" * n,
    "json_long_string": lambda n: '{"response": {"body": "' + "a" * n,
    "xml_long": lambda n: '<?xml version="1.0"?><response><item><stnNm>' + "<" * n,
    "stn_inf_long": lambda n: STN_INF + "108 " + " " * n,
}

SIZES = [1_000 * 2**k for k in range(9)]  # 1 KB ... 256 KB


def _read_seconds(text: str, repeats: int = 2) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        try:
            parse_readings(text)
        except KwxmapError:
            pass
        best = min(best, time.perf_counter() - start)
    return best


@pytest.fixture(scope="module")
def fixed_cost() -> float:
    return _read_seconds("<", repeats=3)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_read_time_grows_linearly(name, fixed_cost):
    make = GENERATORS[name]
    previous = None
    for size in SIZES:
        text = make(size)
        seconds = _read_seconds(text)
        grown = max(seconds - fixed_cost, 0.0)
        if previous is not None and grown > 3 * previous + 0.02:
            # another process took the CPU for a moment: measure both sizes again, best
            # of five; a quadratic path stays over the bound, a busy moment does not
            previous = max(_read_seconds(make(size // 2), repeats=5) - fixed_cost, 0.0)
            seconds = _read_seconds(text, repeats=5)
            grown = max(seconds - fixed_cost, 0.0)
        if previous is not None:
            # 20 ms of slack: timer noise on a busy 2-core machine, far below any
            # quadratic growth (256x the input would take >1000x the time)
            assert grown <= 3 * previous + 0.02, (name, size, seconds, previous)
        megabytes = len(text.encode("utf-8")) / 1e6
        if size >= 64_000:
            assert seconds / megabytes < 1.0, (name, size, seconds)
        previous = grown


@pytest.mark.parametrize("text", ["<" + " " * 16_000, "<" + "a" * 100_000],
                         ids=["lt_16000_spaces", "lt_100000_letters"])
def test_the_reported_inputs_read_in_under_a_second(text):
    assert _read_seconds(text, repeats=1) < 1.0
