"""Where kwxmap's files live: the data that ships with it, and the user's cache.

In an installed wheel they live in ``kwxmap/data/`` (the build maps the
repository's top-level ``data/`` there); in a checkout or an editable install
they are read from ``data/`` beside the package.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import DataError

#: Environment variable that names kwxmap's cache folder (local registry, fetched responses).
CACHE_ENV = "KWXMAP_CACHE_DIR"

_PACKAGE = Path(__file__).resolve().parent
_CANDIDATES = (_PACKAGE / "data", _PACKAGE.parent / "data")


def data_path(name: str) -> Path:
    """Return the path of a bundled data file.

    Parameters
    ----------
    name
        File name inside the data folder, e.g. ``"stations.geojson"``.

    Returns
    -------
    pathlib.Path
        The first existing candidate.

    Raises
    ------
    DataError
        When the file is in neither the wheel nor the checkout.

    Examples
    --------
    >>> data_path("stations.geojson").name
    'stations.geojson'
    """
    for folder in _CANDIDATES:
        path = folder / name
        if path.is_file():
            return path
    looked = ", ".join(str(f) for f in _CANDIDATES)
    raise DataError(
        f"bundled data file {name!r} not found (looked in {looked}); reinstall kwxmap"
    )


def user_cache_dir() -> Path:
    r"""Return kwxmap's cache folder (it need not exist yet).

    ``$KWXMAP_CACHE_DIR`` when set; else ``$XDG_CACHE_HOME/kwxmap``; else
    ``%LOCALAPPDATA%\kwxmap\Cache`` on Windows, ``~/Library/Caches/kwxmap``
    on macOS and ``~/.cache/kwxmap`` elsewhere.

    Examples
    --------
    >>> user_cache_dir().name in ("kwxmap", "Cache") or CACHE_ENV in os.environ
    True
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "kwxmap"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "kwxmap" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "kwxmap"
    return Path.home() / ".cache" / "kwxmap"


def local_registry_path(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return where the local registry lives: ``stations.geojson`` in the cache folder.

    Examples
    --------
    >>> local_registry_path("/tmp/kwx").as_posix()
    '/tmp/kwx/stations.geojson'
    """
    return Path(cache_dir if cache_dir is not None else user_cache_dir()) / "stations.geojson"
