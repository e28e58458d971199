"""Option groups: validated once, the CLI's choices, and one default everywhere."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import numpy as np
import pytest

import kwxmap
from kwxmap import InputError
from kwxmap.cli import _build_parser
from kwxmap.options import (
    DEFAULT_ELEVATION,
    DEFAULT_METHOD,
    ELEVATIONS,
    ON_DUPLICATE,
    ON_UNKNOWN,
    MapOptions,
    ReadOptions,
    SurfaceOptions,
    method_choices,
    split_options,
)

WIDGET = Path(__file__).resolve().parents[1] / "examples" / "widget.txt"


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ReadOptions(on_unknown="skip"), "on_unknown='skip' is not valid; use one of"),
        (lambda: ReadOptions(on_duplicate="keep"), "'raise', 'first', 'last', 'mean'"),
        (lambda: ReadOptions(on_implausible="drop"), "'raise', 'nan', 'keep'"),
        (lambda: ReadOptions(encoding="rot13"), "'rot13' is not a text encoding"),
        (lambda: ReadOptions(encoding="klingon"), "unknown encoding 'klingon'"),
        (lambda: ReadOptions(encoding="undefined"), "'undefined' cannot decode text"),
        (lambda: SurfaceOptions(method="linear"), "method='linear' is not valid; use one of"),
        (lambda: SurfaceOptions(elevation="yes"), "'lapse', 'fit', 'drift', 'predictors', 'none'"),
        (lambda: SurfaceOptions(resolution=0), "resolution=0 is not a positive number"),
        (lambda: SurfaceOptions(resolution="fine"), "resolution='fine'"),
        (lambda: SurfaceOptions(crs=4326), "crs=4326 is not valid; use one of 5179, 5186"),
        (lambda: SurfaceOptions(elevation=None, dem="x.tif"), "only used with an elevation"),
        (lambda: SurfaceOptions(max_memory="lots"), "memory size 'lots' is not a size"),
        (lambda: MapOptions(tiles="stamen"), "tiles='stamen' is not valid; use one of 'osm'"),
    ],
)
def test_bad_options_name_the_valid_values(make, match):
    with pytest.raises(InputError, match=match):
        make()


def test_options_normalise_and_are_frozen():
    s = SurfaceOptions(elevation="none", crs="EPSG:5186", resolution="500", max_memory="1GB")
    assert (s.elevation, s.crs, s.resolution, s.max_memory) == (None, 5186, 500.0, 2**30)
    assert MapOptions(tiles="OpenStreetMap").folium_tiles == "OpenStreetMap"
    assert MapOptions(tiles=None).folium_tiles is None
    with pytest.raises(AttributeError):
        s.method = "idw"  # type: ignore[misc]


def test_split_options_routes_fields_and_keeps_method_parameters():
    read, surface, style, params = split_options(
        {"region": "충북", "on_duplicate": "mean", "levels": [1, 2], "power": 3},
        surface=SurfaceOptions(method="idw"),
    )
    assert surface.method == "idw" and surface.region == "충북"
    assert read.on_duplicate == "mean" and style.levels == [1, 2] and params == {"power": 3}


def _choices(command: str) -> dict[str, object]:
    parser = _build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        a.dest: (tuple(a.choices) if a.choices else None, a.default)
        for a in sub.choices[command]._actions
    }


@pytest.mark.parametrize("command", ["map", "cv", "point", "batch"])
def test_cli_takes_choices_and_defaults_from_the_options(command):
    got = _choices(command)
    assert got["method"] == (method_choices(), DEFAULT_METHOD)
    assert got["elevation"] == (ELEVATIONS, DEFAULT_ELEVATION)
    assert got["on_duplicate"][0] == ON_DUPLICATE and got["on_unknown"][0] == ON_UNKNOWN


def test_one_default_method_and_elevation_in_every_signature():
    for func in (kwxmap.interpolate, kwxmap.interpolate_many, kwxmap.cross_validate):
        sig = inspect.signature(func).parameters
        assert sig["method"].default == DEFAULT_METHOD, func.__name__
        assert sig["elevation"].default == DEFAULT_ELEVATION, func.__name__
    s = SurfaceOptions()
    assert (s.method, s.elevation) == (DEFAULT_METHOD, DEFAULT_ELEVATION)


def test_interpolate_and_snapshot_make_the_same_default_surface():
    snap = kwxmap.snapshot(WIDGET, resolution=20_000, tiles=None)
    joined = kwxmap.join_readings(kwxmap.parse_readings(WIDGET.read_text(encoding="utf-8")))
    grid = kwxmap.interpolate(joined, resolution=20_000)
    # one default everywhere: kriging with the elevation predictors
    chosen = (grid.attrs["method"], grid.attrs["elevation"])
    assert chosen == (snap.grid.attrs["method"], snap.grid.attrs["elevation"])
    assert chosen == ("kriging", "predictors")
    np.testing.assert_allclose(grid.values, snap.grid.values, equal_nan=True)
    rep = kwxmap.cross_validate(joined)
    assert (rep.method, rep.elevation) == chosen
    explicit = kwxmap.interpolate(joined, "kriging", elevation="predictors", resolution=20_000)
    np.testing.assert_array_equal(grid.values, explicit.values)
