"""The bands drawn under the stations hold their readings.

For the seed widget, a regional map and a winter daily-minimum map (the
bundled example), every station's reading is compared with the band under it
(:func:`kwxmap.contours.band_agreement`): at least 95 % lie inside it or
within half a band step. The method's field alone (``honour_readings=False``)
fails the same check, so the test guards the behaviour, not a constant.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import kwxmap
from kwxmap.contours import band_agreement

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "data" / "kma_asos_daily_2020.csv"
CASES = [
    ("seed", ROOT / "examples" / "widget.txt", {}),
    ("regional", EXAMPLE, {"time": "2020-08-14", "region": "경북", "resolution": 2000}),
    ("winter minimum", EXAMPLE, {"time": "2020-12-10", "variable": "tmin",
                                 "resolution": 2000}),
]


def _shares(source, honour, **kw):
    snap = kwxmap.snapshot(source, tiles=None, honour_readings=honour, **kw)
    a = band_agreement(snap.stations, snap.bands)
    a = a[np.isfinite(a["off_c"])]
    return len(a), float((a["off_c"] == 0).mean()), float((a["off_steps"] <= 0.5).mean())


@pytest.mark.parametrize("name, source, kw", CASES, ids=[c[0] for c in CASES])
def test_the_map_agrees_with_its_readings(name, source, kw):
    n, inside, half = _shares(source, True, **kw)
    assert n >= 10 or name == "regional"
    assert half >= 0.95, (name, inside, half)


@pytest.mark.parametrize("name, source, kw", CASES[::2], ids=[c[0] for c in CASES[::2]])
def test_the_field_alone_would_not(name, source, kw):
    _, inside, _ = _shares(source, False, **kw)
    assert inside < 0.8, (name, inside)
