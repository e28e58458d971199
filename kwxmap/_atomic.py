"""Atomic output: write to temporaries beside the target, then rename into place.

The private machinery under :mod:`kwxmap.io`. A failed or interrupted write
never leaves a half-written file, never clobbers the previous version of the
output, and never replaces something that is not a regular file:

- a target that is a device (``/dev/full``, ``/dev/null``), a FIFO or a
  socket is refused with an :class:`~kwxmap.errors.OutputError`;
- a symlink is written through: the file it points to is replaced and the
  link is kept;
- every temporary is named ``.<name>.kwxmap-<pid>-<random>`` beside its
  target, and temporaries left by a killed run (whose process is gone) are
  removed by the next write to the same target.

Output folders follow one rule (:func:`output_folder`): a missing folder is
created when its parent exists, otherwise the error names the missing parent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from ._commit import alive, exchange, recover
from .errors import OutputError

__all__ = [
    "atomic_path",
    "atomic_paths",
    "check_writable",
    "exchange",
    "keep_mode",
    "output_folder",
    "remove_stale",
    "temp_sibling",
]

_TAG = ".kwxmap-"


def _kind(mode: int) -> str | None:
    """Name the kind of a non-regular, non-folder file (None for a regular file)."""
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return None


def _shared(folder: Path) -> bool:
    """Return True for a sticky, world-writable folder (``/tmp``): others may plant links."""
    try:
        mode = os.stat(folder if str(folder) else ".").st_mode
    except OSError:
        return False
    return bool(mode & stat.S_ISVTX and mode & stat.S_IWOTH)


def _through_links(path: Path) -> Path:
    """Follow a symlink at ``path`` to the file it names (write-through).

    Not in a shared sticky folder such as ``/tmp``: a link there may have been
    planted by another user to make kwxmap replace a file of theirs (or of
    root's) with a map, so kwxmap refuses to follow it.
    """
    if not path.is_symlink():
        return path
    if _shared(path.parent):
        raise OutputError(
            f"output path {str(path)!r} is a symlink in the shared folder "
            f"{str(path.parent)!r} (sticky, writable by all); kwxmap does not follow links "
            "there: remove it or write elsewhere"
        )
    return Path(os.path.realpath(path))


def keep_mode(new: Path, old: Path) -> None:
    """Give ``new`` the permission bits of ``old`` (if it exists), else the umask's default.

    A replaced file or folder keeps who may read it: a 0600 file stays 0600,
    a 0755 output folder stays 0755; a new one gets what the user's umask
    gives (temporaries are created 0600/0700).
    """
    try:
        mode = stat.S_IMODE(os.stat(old).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = (0o777 if new.is_dir() else 0o666) & ~umask
    with contextlib.suppress(OSError):
        os.chmod(new, mode)


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Return the file that writing ``path`` replaces, after checking it can be written.

    A symlink is followed (the file it points to is the one replaced).

    Raises
    ------
    OutputError
        When the parent folder is missing, not a folder or not writable, or
        the target is a folder, a device, a FIFO or a socket.

    Examples
    --------
    >>> try:
    ...     check_writable("/dev/null")
    ... except OutputError as exc:
    ...     print(exc)
    output path '/dev/null' is a device, not a regular file; give a file name
    """
    given = Path(path)
    target = _through_links(given)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"output folder {str(parent)!r} does not exist; create it first")
    if not parent.is_dir():
        raise OutputError(f"output folder {str(parent)!r} is not a folder")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"output folder {str(parent)!r} is not writable")
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise OutputError(f"cannot use {str(given)!r}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(mode):
        raise OutputError(f"output path {str(given)!r} is a folder; give a file name")
    kind = _kind(mode)
    if kind is not None:
        raise OutputError(
            f"output path {str(given)!r} is {kind}, not a regular file; give a file name"
        )
    return target


def output_folder(path: str | os.PathLike[str], *, create: bool = True) -> Path:
    """Check an output folder; create it when missing and its parent exists.

    The one rule for every output folder kwxmap writes (``Snapshot.save``,
    ``render_batch``, ``--geojson-dir``, ``batch -o``).

    Parameters
    ----------
    path
        The folder.
    create
        Create it now (False: only check that it could be created).

    Raises
    ------
    OutputError
        When ``path`` is a file, its parent does not exist, or it cannot be
        created or written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> output_folder(base / "maps").is_dir()
    True
    >>> try:
    ...     output_folder(base / "no" / "maps")
    ... except OutputError as exc:
    ...     print(str(exc).replace(str(base), "BASE"))
    cannot create 'BASE/no/maps': its parent folder 'BASE/no' does not exist; create it first
    """
    folder = _through_links(Path(path))
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"output folder {str(path)!r} is a file, not a folder; give a folder")
    if not folder.exists():
        parent = folder.parent if str(folder.parent) else Path(".")
        if not parent.is_dir():
            raise OutputError(
                f"cannot create {str(path)!r}: its parent folder {str(parent)!r} does not "
                "exist; create it first"
            )
        if not os.access(parent, os.W_OK):
            raise OutputError(f"cannot create {str(path)!r}: {str(parent)!r} is not writable")
        if not create:
            return folder
        try:
            folder.mkdir()
        except FileExistsError:
            pass
        except OSError as exc:
            raise OutputError(f"cannot create {str(path)!r}: {exc.strerror or exc}") from exc
    if not os.access(folder, os.W_OK):
        raise OutputError(f"output folder {str(path)!r} is not writable")
    return folder


def remove_stale(target: Path) -> None:
    """Remove temporaries of ``target`` left by runs that were killed.

    A temporary ``.<name>.kwxmap-<pid>-<random>`` whose process no longer
    exists is deleted; those of running processes are left alone. A commit
    such a run left half done at ``target`` is completed first
    (:func:`kwxmap._commit.recover`).
    """
    if recover(target):
        return
    prefix = f".{target.name}{_TAG}"
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid = entry.name[len(prefix) :].split("-", 1)[0]
        if not pid.isdecimal() or alive(int(pid)):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def temp_sibling(target: Path) -> Path:
    """Create and return an empty temporary folder beside ``target`` (same filesystem)."""
    remove_stale(target)
    try:
        return Path(
            tempfile.mkdtemp(prefix=f".{target.name}{_TAG}{os.getpid()}-", dir=target.parent)
        )
    except OSError as exc:
        raise OutputError(
            f"cannot write into {str(target.parent)!r}: {exc.strerror or exc}"
        ) from exc


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    The temporary file keeps ``path``'s name so writers that infer a format
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
    target = check_writable(path)
    tmpdir = temp_sibling(target)
    tmp = tmpdir / target.name
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"writer produced no file for {str(path)!r}")
        for suffix in sidecars:
            side = tmp.with_suffix(suffix)
            if side.exists():
                keep_mode(side, target.with_suffix(suffix))
                os.replace(side, target.with_suffix(suffix))
        keep_mode(tmp, target)
        os.replace(tmp, target)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
