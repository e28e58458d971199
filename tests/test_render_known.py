"""Escaping in the map against literal expected HTML, not against ``escape()`` itself.

The expected strings are written out by hand: HTML's five specials as
entities, and the three characters that would break out of folium's JS
template literals (backtick, ``$``, backslash) as numeric references.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from kwxmap.render import escape, render_map

CASES = [
    ('<img src=x onerror="alert(1)">', "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"),
    ("`${window.x=1}`", "&#96;&#36;{window.x=1}&#96;"),
    ("a\\u0060b", "a&#92;u0060b"),
    ("Tom's & Jerry's", "Tom&#x27;s &amp; Jerry&#x27;s"),
    ("</script><script>x()</script>", "&lt;/script&gt;&lt;script&gt;x()&lt;/script&gt;"),
    ("맑음 서울 (예)", "맑음 서울 (예)"),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_escape_gives_the_literal_entities(raw, expected):
    assert escape(raw) == expected


def _station(**text):
    columns = {"temperature_c": [20.0], "name_ko": ["서울"], "condition": ["맑음"]}
    columns.update({k: [v] for k, v in text.items()})
    return gpd.GeoDataFrame(columns, geometry=[shapely.Point(127.0, 37.5)], crs=4326)


@pytest.mark.parametrize(("raw", "expected"), CASES[:5])
def test_hostile_station_text_reaches_the_page_as_literal_entities(raw, expected):
    html = render_map(_station(name_ko=raw, condition=raw), tiles=None,
                      title=raw).get_root().render()
    assert expected in html
    assert raw not in html


def test_a_backtick_payload_never_reaches_a_template_literal_raw():
    payload = "`;window.__xss=7;`"
    html = render_map(_station(name_en=payload), tiles=None).get_root().render()
    assert "&#96;;window.__xss=7;&#96;" in html
    assert payload not in html and "window.__xss=7;`" not in html


def test_band_labels_are_escaped_literally(seed_grid):
    from kwxmap.contours import contour_bands

    bands = contour_bands(seed_grid).head(2).copy()
    bands["label"] = ["`${a}` <b>", "x & y"]
    html = render_map(_station(), bands, tiles=None).get_root().render()
    # in the page's JSON payload, each band's text as escaped HTML
    assert '"t":"&#96;&#36;{a}&#96; &lt;b&gt;"' in html
    assert '"t":"x &amp; y"' in html
    assert "`${a}`" not in html
