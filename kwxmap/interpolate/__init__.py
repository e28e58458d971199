"""Interpolation of station values onto a :class:`~kwxmap.grid.Grid`.

One module per method behind the :class:`Interpolator` interface
(``fit(xy, values, *, drift=None)``, ``predict(xy)``, ``weights(xy)``, arrays
in metres); :data:`METHODS` maps method names to classes.

Registering a method: decorate the class with :func:`register` in its module
and add one ``from . import <module>`` line below.
"""

from __future__ import annotations

from ._api import DEFAULT_ELEVATION, DEFAULT_METHOD, ELEVATION_MODES, interpolate
from ._base import METHODS, Interpolator, register
from .barnes import Barnes, Cressman
from .batch import interpolate_many
from .cv import CVReport, cross_validate
from .idw import IDW
from .kriging import Kriging
from .nearest import Nearest
from .spline import Spline

# Each method module registers its class on import (one import line per module above).

__all__ = [
    "IDW",
    "Kriging",
    "Barnes",
    "Cressman",
    "Spline",
    "METHODS",
    "Interpolator",
    "Nearest",
    "register",
    "DEFAULT_ELEVATION",
    "DEFAULT_METHOD",
    "ELEVATION_MODES",
    "CVReport",
    "cross_validate",
    "interpolate",
    "interpolate_many",
]
