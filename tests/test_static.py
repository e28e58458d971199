"""The static picture: PNG/SVG/PDF with bands, labelled isotherms, legend and Korean text."""

from __future__ import annotations

import re
import sys
from collections import Counter

import numpy as np
import pytest

from kwxmap.contours import contour_bands, contour_lines
from kwxmap.errors import InputError, OutputError

pytest.importorskip("matplotlib", reason="static pictures need the 'static' extra")

from kwxmap.static import find_cjk_font, render_static, save_figure  # noqa: E402


@pytest.fixture(scope="module")
def grid(seed_stations):
    from kwxmap import interpolate

    return interpolate(seed_stations, resolution=5000.0)


@pytest.fixture(scope="module")
def layers(grid):
    bands = contour_bands(grid)
    return bands, contour_lines(grid, bands.attrs["levels"])


@pytest.fixture(scope="module")
def figure(seed_stations, layers):
    bands, lines = layers
    return render_static(
        seed_stations, bands, lines, title="관측소 기온", time="2020-08-14 00:00", labels="values"
    )


def test_svg_has_korean_text_labels_and_one_swatch_per_band(tmp_path, figure, layers,
                                                           seed_stations):
    bands, lines = layers
    svg = save_figure(figure, tmp_path / "map.svg").read_text(encoding="utf-8")
    assert "관측소 기온" in svg and "2020년 8월 14일" in svg and "기온 (°C)" in svg
    assert "00:00" not in svg
    legend = figure.axes[1]
    ticks = [t.get_text() for t in legend.get_xticklabels()]
    # isotherm labels and station values are text in the SVG (not outlines); the
    # legend's tick labels are not counted
    texts = re.findall(r">([-\d.]+)</text>", svg)
    on_map = [t for t in texts if t not in ticks]
    levels = {f"{v:g}" for v in lines["level"]}
    assert len(levels & set(on_map)) >= 3
    shown = [t.get_text() for t in figure.axes[0].texts if t.get_visible()]
    # each label drawn once (its halo is a stroke), hidden ones not at all
    assert Counter(texts) == Counter(shown[1::2]) + Counter(ticks)
    values = {f"{v:.1f}" for v in seed_stations["temperature_c"]}
    assert len(values & set(texts)) >= 0.7 * len(values)
    edges = sorted(set(bands["lower"]) | set(bands["upper"]))
    assert len(legend.patches) == len(edges) - 1  # stepped: one swatch per band step
    assert ticks[0] == f"{bands['lower'].min():g}" and ticks[-1] == f"{bands['upper'].max():g}"


def test_labels_never_overprint_and_sit_on_their_isotherms(figure, grid, seed_stations):
    """No two labels drawn touch, none touches a station marker (the seed map is sparse),
    and each isotherm value is the field's value where it is written."""
    from test_browser import _grid_at

    ax = figure.axes[0]
    renderer = figure.canvas.get_renderer()
    drawn = [t for t in ax.texts if t.get_visible()][1::2]  # the text of each halo/text pair
    hidden = [t for t in ax.texts if not t.get_visible()]
    assert drawn and hidden  # the seed's crowded 서울/경기 values do collide
    boxes = [t.get_window_extent(renderer) for t in drawn]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (drawn[i].get_text(), a, b)
    dots = ax.transData.transform([(g.x, g.y) for g in seed_stations.geometry])
    for box, t in zip(boxes, drawn, strict=True):
        inside = ((dots[:, 0] > box.x0) & (dots[:, 0] < box.x1)
                  & (dots[:, 1] > box.y0) & (dots[:, 1] < box.y1))
        assert not inside.any(), t.get_text()
    iso = [t for t in drawn if t.get_fontweight() == "bold"]
    assert len(iso) >= 5
    lon, lat = zip(*(t.get_position() for t in iso), strict=True)
    field = _grid_at(grid, list(lon), list(lat))
    written = np.array([float(t.get_text()) for t in iso])
    ok = np.isfinite(field)
    assert ok.mean() > 0.9 and np.abs(field[ok] - written[ok]).max() < 0.35


def test_png_and_pdf_open_as_what_they_claim(tmp_path, figure):
    from PIL import Image

    png = save_figure(figure, tmp_path / "map.png")
    with Image.open(png) as im:
        assert im.format == "PNG" and im.width > 800
        rgb = np.asarray(im.convert("RGB")).astype(np.uint32)
        colours = len(np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]))
        assert colours > 20  # a drawn map, not a blank page
    pdf = save_figure(figure, tmp_path / "map.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"NotoSansCJK" in pdf.replace(b"-", b"")


def test_bad_suffix_says_which_formats(tmp_path, figure):
    with pytest.raises(InputError, match=r"map.gif.*\['.png', '.svg', '.pdf'\]"):
        save_figure(figure, tmp_path / "map.gif")
    assert not list(tmp_path.iterdir())


def test_no_cjk_font_says_how_to_install_one(monkeypatch):
    from matplotlib import font_manager

    latin = [f for f in font_manager.fontManager.ttflist if "DejaVu" in f.name]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", latin)
    with pytest.raises(OutputError, match="fonts-noto-cjk"):
        find_cjk_font()


def test_without_matplotlib_says_how_to_install(monkeypatch, seed_stations):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install \"kwxmap\[static\]\""):
        render_static(seed_stations)
