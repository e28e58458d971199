"""Atomic output: write to a temporary sibling, then rename into place.

A failed or interrupted write never leaves a half-written file and never
clobbers the previous version of the output.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from .errors import OutputError

__all__ = ["atomic_path", "atomic_paths", "check_writable"]


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path after checking its folder exists and is writable.

    Raises
    ------
    OutputError
        When the parent folder is missing, not a folder, or not writable.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"output folder {str(parent)!r} does not exist; create it first")
    if not parent.is_dir():
        raise OutputError(f"output folder {str(parent)!r} is not a folder")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"output folder {str(parent)!r} is not writable")
    if path.is_dir():
        raise OutputError(f"output path {str(path)!r} is a folder; give a file name")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    The temporary file keeps ``path``'s suffix so writers that infer a format
    from the extension (GDAL drivers) behave the same.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("hello", encoding="utf-8")
    >>> out.read_text(encoding="utf-8")
    'hello'
    """
    with atomic_paths(path, sidecars=()) as tmp:
        yield tmp


@contextlib.contextmanager
def atomic_paths(
    path: str | os.PathLike[str], *, sidecars: Sequence[str]
) -> Iterator[Path]:
    """Like :func:`atomic_path`, for formats made of several files.

    The writer writes ``tmp`` (and its sidecars, e.g. ``.dbf``, ``.shx``,
    ``.prj``, ``.cpg`` for a Shapefile) into a private temporary folder;
    on success every file is moved into place, the main file last.

    Parameters
    ----------
    path
        The final path of the main file.
    sidecars
        Suffixes of the companion files the format may write.
    """
    path = check_writable(path)
    try:
        tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    except OSError as exc:
        raise OutputError(f"cannot write into {str(path.parent)!r}: {exc.strerror or exc}") from exc
    tmp = tmpdir / path.name
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"writer produced no file for {str(path)!r}")
        for suffix in sidecars:
            side = tmp.with_suffix(suffix)
            if side.exists():
                os.replace(side, path.with_suffix(suffix))
        os.replace(tmp, path)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
