"""Find the data files that ship with kwxmap.

In an installed wheel they live in ``kwxmap/data/`` (the build maps the
repository's top-level ``data/`` there); in a checkout or an editable install
they are read from ``data/`` beside the package.
"""

from __future__ import annotations

from pathlib import Path

from .errors import DataError

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
