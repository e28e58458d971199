"""Text and HTML pages, written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .._atomic import (
    atomic_path,
    check_writable,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import folium


# --- text and HTML -----------------------------------------------------------------


def write_text(text: str, path: str | os.PathLike[str]) -> Path:
    """Write UTF-8 text atomically; returns the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = write_text("서울 3.5", pathlib.Path(tempfile.mkdtemp()) / "a.txt")
    >>> out.read_text(encoding="utf-8")
    '서울 3.5'
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_html(m: folium.Map, path: str | os.PathLike[str]) -> Path:
    """Write a Folium map as a standalone UTF-8 HTML file, atomically.

    Parameters
    ----------
    m
        The map, e.g. from :func:`~kwxmap.render_map`.
    path
        Output file; its folder must exist.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    OutputError
        When the folder is missing or not writable, or ``path`` is a device,
        FIFO or folder.

    Examples
    --------
    >>> import tempfile, pathlib, folium
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "map.html"
    >>> write_html(folium.Map(tiles=None), out).read_text(encoding="utf-8")[:15]
    '<!DOCTYPE html>'
    """
    check_writable(path)  # before rendering
    return write_text(m.get_root().render(), path)
