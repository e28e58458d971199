"""Temperature colours for isotherm bands, and the colour difference that checks them.

One perceptually ordered ramp (:data:`RAMP`: violet - blue - cyan - green -
yellow - orange - red - maroon, interpolated in CIELAB and re-spaced so that
equal steps along it are equal CIEDE2000 colour differences) gives every band
its colour in one of two modes:

``"fixed"`` (the default)
    One colour, one temperature, on every map, summer and winter, like KMA's
    charts: :data:`FIXED_RANGE` (−30..+40 °C) spans the ramp linearly, a band
    takes the colour of its middle temperature, values outside take the end
    colours. Neighbouring 1 °C bands differ by ≈ :func:`ramp_length` / 70
    (about 3) ΔE2000: visible side by side, clearer with 2 °C levels.
``"adaptive"``
    A per-map stretch: the bands of one map spread evenly over the whole
    ramp, coldest band violet and warmest maroon, so neighbouring bands
    differ by the same, large amount; a colour then means a different
    temperature on every map.

:data:`MIN_DELTA_E` is the smallest CIEDE2000 difference kwxmap accepts
between neighbouring bands; :func:`delta_e2000` (Sharma, Wu & Dalal 2005)
measures it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from .errors import InputError

__all__ = [
    "DEFAULT_PALETTE",
    "FIXED_RANGE",
    "MIN_DELTA_E",
    "PALETTES",
    "RAMP",
    "band_colors",
    "delta_e2000",
    "hex_to_lab",
    "ramp_colors",
    "ramp_length",
]

#: The ramp's anchor colours, coldest first (interpolated in CIELAB).
RAMP: tuple[str, ...] = (
    "#40004b",  # violet
    "#3f3fb5",  # indigo
    "#2b83d6",  # blue
    "#2cc0d6",  # cyan
    "#6fdba0",  # green-cyan
    "#b8ea6a",  # yellow-green
    "#fbe85a",  # yellow
    "#fdae3f",  # orange
    "#f46a2b",  # red-orange
    "#cf2027",  # red
    "#7a0422",  # maroon
)

#: Temperatures (°C) the ramp spans in ``palette="fixed"``.
FIXED_RANGE: tuple[float, float] = (-30.0, 40.0)

#: Palette modes: colours fixed by °C (the default), or spread over each map's bands.
PALETTES: tuple[str, ...] = ("fixed", "adaptive")
#: The default palette: a colour means the same temperature on every map.
DEFAULT_PALETTE = "fixed"

#: Smallest CIEDE2000 difference between neighbouring bands in the adaptive
#: palette. ΔE2000 ≈ 1 is the just-noticeable difference for large patches
#: side by side; map bands are thin, seen at 85 % opacity over a base map and
#: matched against a legend swatch away from them, and the difference needed
#: for a reliable judgement grows several-fold as the patches shrink (Stone,
#: Szafir & Setlur 2014, "An engineering model for color difference as a
#: function of size"), so kwxmap asks for 6 — a difference a reader sees at a
#: glance, which the ramp can still give to the 25 bands that the default
#: levels allow at most (:func:`ramp_length` / 24 > 6).
MIN_DELTA_E = 6.0

_DENSE = 2048


def hex_to_lab(colors: str | Sequence[str]) -> np.ndarray:
    """Convert ``#rrggbb`` colours (sRGB) to CIELAB (D65 white).

    Parameters
    ----------
    colors
        One hex colour or a sequence of them.

    Returns
    -------
    numpy.ndarray
        ``(..., 3)`` array of L*, a*, b*.

    Examples
    --------
    >>> hex_to_lab(["#ffffff", "#000000"])[:, 0].round(2).tolist()
    [100.0, 0.0]
    >>> hex_to_lab("#ff0000").round(1).tolist()
    [53.2, 80.1, 67.2]
    """
    single = isinstance(colors, str)
    items = [colors] if single else list(colors)
    try:
        rgb = np.array(
            [[int(c.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)] for c in items], dtype=float
        ) / 255.0
    except ValueError as exc:
        raise InputError(f"colours {items!r} must be '#rrggbb' hex strings") from exc
    return (_rgb_to_lab(rgb)[0] if single else _rgb_to_lab(rgb)).reshape(
        (3,) if single else (len(items), 3)
    )


def _rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Convert sRGB in 0..1 to CIELAB (D65)."""
    rgb = np.asarray(rgb, dtype=float).reshape(-1, 3)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1
    )


def _lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Convert CIELAB (D65) to sRGB in 0..1, clipped to the gamut."""
    lab = np.asarray(lab, dtype=float).reshape(-1, 3)
    fy = (lab[:, 0] + 16) / 116
    f = np.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], axis=1)
    eps, kappa = 216 / 24389, 24389 / 27
    xyz = np.where(f**3 > eps, f**3, (116 * f - 16) / kappa) * np.array([0.95047, 1.0, 1.08883])
    m_inv = np.array(
        [
            [3.2404542, -1.5371385, -0.4985314],
            [-0.9692660, 1.8760108, 0.0415560],
            [0.0556434, -0.2040259, 1.0572252],
        ]
    )
    lin = np.clip(xyz @ m_inv.T, 0.0, 1.0)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (kL = kC = kH = 1), vectorised.

    Follows Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference
    formula: implementation notes, supplementary test data, and mathematical
    observations", Color Res. Appl. 30(1), whose 34 test pairs the test suite
    checks.

    Parameters
    ----------
    lab1, lab2
        ``(..., 3)`` CIELAB arrays (broadcast against each other).

    Returns
    -------
    numpy.ndarray
        ΔE00, shape of the broadcast inputs without the last axis.

    Examples
    --------
    >>> round(float(delta_e2000([50, 2.6772, -79.7751], [50, 0, -82.7485])), 4)
    2.0425
    >>> float(delta_e2000(hex_to_lab("#336699"), hex_to_lab("#336699")))
    0.0
    """
    lab1, lab2 = np.broadcast_arrays(np.asarray(lab1, float), np.asarray(lab2, float))
    L1, a1, b1 = np.moveaxis(lab1, -1, 0)
    L2, a2, b2 = np.moveaxis(lab2, -1, 0)
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.where((a1p == 0) & (b1 == 0), 0.0, np.degrees(np.arctan2(b1, a1p)) % 360)
    h2p = np.where((a2p == 0) & (b2 == 0), 0.0, np.degrees(np.arctan2(b2, a2p)) % 360)
    dLp = L2 - L1
    dCp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dHp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    Lp = (L1 + L2) / 2
    Cp = (c1p + c2p) / 2
    hsum = h1p + h2p
    hp = np.where(
        np.abs(h1p - h2p) <= 180, hsum / 2, np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2)
    )
    hp = np.where(c1p * c2p == 0, hsum, hp)
    t = (
        1
        - 0.17 * np.cos(np.radians(hp - 30))
        + 0.24 * np.cos(np.radians(2 * hp))
        + 0.32 * np.cos(np.radians(3 * hp + 6))
        - 0.20 * np.cos(np.radians(4 * hp - 63))
    )
    d_theta = 30 * np.exp(-(((hp - 275) / 25) ** 2))
    rc = 2 * np.sqrt(Cp**7 / (Cp**7 + 25.0**7))
    sl = 1 + 0.015 * (Lp - 50) ** 2 / np.sqrt(20 + (Lp - 50) ** 2)
    sc = 1 + 0.045 * Cp
    sh = 1 + 0.015 * Cp * t
    rt = -np.sin(np.radians(2 * d_theta)) * rc
    return np.sqrt(
        (dLp / sl) ** 2 + (dCp / sc) ** 2 + (dHp / sh) ** 2 + rt * (dCp / sc) * (dHp / sh)
    )


@functools.lru_cache(maxsize=1)
def _dense_ramp() -> tuple[np.ndarray, np.ndarray]:
    """Sample the ramp densely in CIELAB; return it with its cumulative ΔE2000."""
    anchors = hex_to_lab(RAMP)
    s = np.linspace(0, len(RAMP) - 1, _DENSE)
    i = np.minimum(s.astype(int), len(RAMP) - 2)
    w = (s - i)[:, None]
    lab = anchors[i] * (1 - w) + anchors[i + 1] * w
    lab = _rgb_to_lab(_lab_to_rgb(lab))  # what the screen can show
    steps = delta_e2000(lab[1:], lab[:-1])
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    return lab, arc


def ramp_length() -> float:
    """Total CIEDE2000 length of :data:`RAMP` (sum of small steps along it).

    Examples
    --------
    >>> ramp_length() > 24 * MIN_DELTA_E
    True
    """
    return float(_dense_ramp()[1][-1])


def ramp_colors(positions: Sequence[float] | np.ndarray) -> list[str]:
    """Colours at ``positions`` along the ramp (0 = coldest, 1 = warmest).

    Positions are fractions of the ramp's CIEDE2000 length, so equal steps
    in position are equal colour differences. Values outside 0..1 clip.

    Examples
    --------
    >>> ramp_colors([0, 1]) == [RAMP[0], RAMP[-1]]
    True
    """
    lab, arc = _dense_ramp()
    target = np.clip(np.asarray(positions, dtype=float), 0, 1) * arc[-1]
    picked = np.stack([np.interp(target, arc, lab[:, k]) for k in range(3)], axis=-1)
    rgb = np.round(_lab_to_rgb(picked) * 255).astype(int)
    return ["#{:02x}{:02x}{:02x}".format(*c) for c in rgb]


def check_palette(palette: str) -> str:
    """Return ``palette`` if it is a known mode, else raise a clear InputError.

    Examples
    --------
    >>> check_palette("fixed")
    'fixed'
    """
    if palette not in PALETTES:
        raise InputError(f"palette={palette!r} is not one of {list(PALETTES)!r}")
    return palette


def band_colors(
    lowers: Sequence[float] | np.ndarray,
    uppers: Sequence[float] | np.ndarray,
    palette: str = DEFAULT_PALETTE,
) -> list[str]:
    """Colour of each ``(lower, upper]`` band, in the given palette mode.

    Parameters
    ----------
    lowers, uppers
        Band edges in °C (any order; bands are ranked by their middle).
    palette
        ``"adaptive"``: the distinct bands spread evenly over the whole ramp
        (one band takes its middle colour). ``"fixed"``: the colour of the
        band's middle temperature on :data:`FIXED_RANGE`.

    Returns
    -------
    list of str
        ``#rrggbb`` per band, in input order.

    Examples
    --------
    >>> band_colors([20, 21, 22], [21, 22, 23], "adaptive")
    ['#40004b', '#92e18b', '#7a0422']
    >>> band_colors([20], [21], "fixed") == band_colors([19.5], [21.5], "fixed")
    True
    """
    check_palette(palette)
    mids = (np.asarray(lowers, float) + np.asarray(uppers, float)) / 2
    if mids.size == 0:
        return []
    if palette == "fixed":
        lo, hi = FIXED_RANGE
        return ramp_colors((mids - lo) / (hi - lo))
    distinct, rank = np.unique(mids, return_inverse=True)
    if distinct.size == 1:
        return ramp_colors(np.full(mids.size, 0.5))
    return ramp_colors(rank / (distinct.size - 1))
