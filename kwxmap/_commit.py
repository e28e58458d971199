"""Moving staged outputs into place: one step, or a journal that the next run completes.

A run that writes one output (a file, or a set folder) moves it into place
with one rename (a folder: ``renameat2(RENAME_EXCHANGE)`` on Linux), so
readers see the old or the new one, never a mix. A run that writes several
paths (``map -o map.html --geojson-dir layers --geotiff t.tif``) cannot:
POSIX has no rename of several paths at once. Such a commit writes a
journal first — the list of renames, beside the first output, with a
pointer to it beside every other one — and the journal's appearance is the
commit point:

- killed before it: nothing moved; the next run removes the temporaries;
- killed after it: the next kwxmap run that writes any of those paths
  completes every rename first (they are idempotent), so the set becomes
  the whole new one, never a mix of old and new files.

Between such a kill and the next run a reader may see a mix; the window is
the few renames of the commit.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import functools
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MARK", "Step", "alive", "commit", "exchange", "journal_of", "recover"]

#: A file in a staged set folder naming the commit that brings it in; the
#: swap of that folder is done exactly when the staged folder lacks it.
MARK = ".kwxmap-commit"

_JOURNAL = ".kwxmap-commit.json"


@dataclass(frozen=True)
class Step:
    """One rename of a commit.

    ``op`` is ``"move"`` (rename ``src`` over ``dest`` when ``src`` exists),
    ``"swap"`` (exchange the staged folder ``src`` with the folder ``dest``
    when ``src`` still holds this commit's :data:`MARK`; rename it when
    ``dest`` is missing) or ``"unlink"`` (remove ``dest`` if present).
    ``cleanup`` is a temporary to remove once every step is done.
    """

    op: str
    dest: str
    src: str = ""
    cleanup: str = ""


def journal_of(dest: str | os.PathLike[str]) -> Path:
    """Name the journal (or pointer) kept beside ``dest``.

    Examples
    --------
    >>> journal_of("/data/maps/map.html").name
    '.map.html.kwxmap-commit.json'
    """
    dest = Path(dest)
    return dest.with_name(f".{dest.name}{_JOURNAL}")


def alive(pid: object) -> bool:
    """Return whether process ``pid`` runs (this process included); False for no pid."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write(output: Path, data: dict) -> Path:
    """Write the journal (or pointer) of ``output`` atomically; return its path.

    The temporary is named like every temporary of ``output``, so the next
    run removes it if this one is killed.
    """
    path = journal_of(output)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.kwxmap-{os.getpid()}-",
                               dir=output.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _apply(step: Step, token: str) -> None:
    if step.op == "move":
        if os.path.lexists(step.src):
            os.replace(step.src, step.dest)
    elif step.op == "swap":
        mark = os.path.join(step.src, MARK)
        try:
            with open(mark, encoding="utf-8") as fh:
                staged = fh.read() == token
        except OSError:
            staged = False
        if staged:
            if os.path.isdir(step.dest):
                exchange(Path(step.src), Path(step.dest))
            else:
                os.rename(step.src, step.dest)
    elif step.op == "unlink":
        with contextlib.suppress(FileNotFoundError):
            os.unlink(step.dest)


def _finish(steps: Sequence[Step]) -> None:
    for step in steps:
        if step.op == "swap":
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(step.dest, MARK))
        if step.cleanup:
            shutil.rmtree(step.cleanup, ignore_errors=True)


def commit(steps: Sequence[Step], token: str, outputs: Sequence[str]) -> None:
    """Carry out ``steps``: directly when there is one, through a journal otherwise.

    Parameters
    ----------
    steps
        The renames, in order. Every ``swap`` source holds :data:`MARK` with
        ``token``.
    token
        A name of this commit, unique among runs.
    outputs
        The paths the run writes (files and set folders): the journal goes
        beside the first, a pointer to it beside each other, where a later
        run that writes any of them looks (:func:`recover`).

    Raises
    ------
    OSError
        When a rename fails. Before the journal nothing has moved; after it,
        the journal stays and the next run completes the commit.
    """
    dests = list(dict.fromkeys(os.path.abspath(p) for p in outputs))
    if len(steps) <= 1 or not dests:
        for step in steps:
            _apply(step, token)
        _finish(steps)
        return
    primary = journal_of(dests[0])
    pid = os.getpid()
    pointers = [  # a later run that writes any of the paths finds the journal
        _write(Path(d), {"journal": str(primary), "pid": pid, "token": token})
        for d in dests[1:]]
    _write(Path(dests[0]), {"pid": pid, "token": token, "pointers": [str(p) for p in pointers],
                     "steps": [step.__dict__ for step in steps]})  # the commit point
    _replay(primary)


def _replay(primary: Path) -> None:
    data = _read(primary)
    if data is None:
        return
    steps = [Step(**step) for step in data.get("steps", [])]
    for step in steps:
        _apply(step, str(data.get("token", "")))
    _finish(steps)
    with contextlib.suppress(OSError):
        os.unlink(primary)
    for pointer in data.get("pointers", []):
        with contextlib.suppress(OSError):
            os.unlink(pointer)


def recover(dest: str | os.PathLike[str]) -> bool:
    """Complete a commit that a killed run left half done at ``dest``.

    Called before anything is written to ``dest``. A journal or pointer of a
    running process is left alone; a pointer whose journal is gone (the
    commit never began, or ended) is removed.

    Returns
    -------
    bool
        True when a commit at ``dest`` is still going on (its temporaries
        must stay).
    """
    found = journal_of(dest)
    data = _read(found)
    if data is None:
        return False
    if alive(data.get("pid")):
        return True
    if "journal" in data:
        primary = Path(str(data["journal"]))
        journal = _read(primary)
        if journal is not None and alive(journal.get("pid")):
            return True  # another run is committing there now
        if journal is None or journal.get("token") != data.get("token"):
            with contextlib.suppress(OSError):
                os.unlink(found)
            return False
        _replay(primary)
        with contextlib.suppress(OSError):
            os.unlink(found)
        return False
    _replay(found)
    return False


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@functools.cache
def _renameat2() -> object | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        return libc.renameat2
    except (OSError, AttributeError, TypeError):
        return None


def exchange(new: Path, dest: Path) -> None:
    """Atomically swap two folders' names (Linux ``renameat2(RENAME_EXCHANGE)``).

    Falls back to two renames (a moment where ``dest`` is missing) where the
    system call or the filesystem does not support the exchange.
    """
    func = _renameat2()
    if func is not None:
        rc = func(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(dest), _RENAME_EXCHANGE)
        if rc == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), str(dest))
    aside = new.with_name(new.name + "-old")
    os.rename(dest, aside)
    os.rename(new, dest)
    os.rename(aside, new)
