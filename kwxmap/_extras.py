"""Optional dependencies: import them, or say in one line which extra installs them."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

__all__ = ["require"]


def require(*modules: str, extra: str, what: str) -> ModuleType:
    """Import ``modules`` and return the first; a missing one names the extra to install.

    Parameters
    ----------
    modules
        Module names (``"rasterio"``, ``"rasterio.shutil"``).
    extra
        The kwxmap extra that installs them (``raster``, ``xarray``, ``scale`` ...).
    what
        What needs them, as the user asked for it (``"GeoTIFF output (--geotiff)"``).

    Examples
    --------
    >>> require("json", extra="none", what="nothing").__name__
    'json'
    >>> require("no_such_module_kwxmap", extra="raster", what="GeoTIFF output")
    Traceback (most recent call last):
    ...
    kwxmap.errors.MissingDependencyError: GeoTIFF output needs no_such_module_kwxmap; install it with `pip install "kwxmap[raster]"`
    """  # noqa: E501
    loaded = []
    for name in modules:
        try:
            loaded.append(importlib.import_module(name))
        except ImportError as exc:
            raise MissingDependencyError(
                f"{what} needs {name.split('.')[0]}; install it with "
                f'`pip install "kwxmap[{extra}]"`'
            ) from exc
    return loaded[0]
