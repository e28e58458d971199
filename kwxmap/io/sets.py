"""Sets of files written together: staged beside the destination, swapped in with one rename."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .._atomic import (
    check_writable,
    keep_mode,
    output_folder,
    temp_sibling,
)
from .._commit import MARK, Step, commit
from ..errors import KwxmapError, OutputError

#: The file in a set folder that lists the files of the set (so the next set
#: replaces exactly those and keeps anything else in the folder).
MANIFEST = ".kwxmap_set.json"

Writer = Callable[[Path], Any]


# --- sets of files -----------------------------------------------------------------


class _Folder:
    """A set folder being staged: files go to a temporary sibling of ``dest``."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.tmp = temp_sibling(dest)
        self.names: list[str] = []

    def write(self, name: str, writer: Writer) -> Path:
        """Write ``name`` into the set now (with ``writer(path)``); return its final path."""
        if Path(name).name != name or name in ("", ".", "..", MANIFEST):
            raise OutputError(f"set member {name!r} must be a plain file name")
        _run(writer, self.tmp / name, self.dest / name)
        if name not in self.names:
            self.names.append(name)
        return self.dest / name

    def _old_members(self) -> set[str]:
        try:
            return set(json.loads((self.dest / MANIFEST).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return set()

    def _check_one_filesystem(self) -> None:
        """Refuse a folder holding a mount point: swapping it would copy and then delete it."""
        device = os.stat(self.dest).st_dev
        for root, dirs, _ in os.walk(self.dest):  # does not follow symlinks
            for name in dirs:
                path = os.path.join(root, name)
                if os.lstat(path).st_dev != device:
                    raise OutputError(
                        f"output folder {str(self.dest)!r} holds a mount point {path!r}; "
                        "kwxmap replaces the whole folder to write a set: write it into a "
                        "folder without mount points"
                    )

    def _carry_over(self) -> None:
        """Hard-link what the folder holds besides the old set into the new set."""
        if not self.dest.is_dir():
            return
        self._check_one_filesystem()
        skip = self._old_members() | set(self.names) | {MANIFEST, MARK}
        for entry in os.scandir(self.dest):
            if entry.name in skip:
                continue
            src, dst = Path(entry.path), self.tmp / entry.name
            if entry.is_symlink():
                os.symlink(os.readlink(src), dst)
            elif entry.is_dir():
                shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)
            else:
                _link_or_copy(src, dst)

    def steps(self, token: str) -> list[Step]:
        """Finish the staged folder and return the renames that bring it in."""
        (self.tmp / MANIFEST).write_text(json.dumps(self.names), encoding="utf-8")
        self._carry_over()
        for name in self.names:  # a replaced member keeps who may read it
            keep_mode(self.tmp / name, self.dest / name)
        keep_mode(self.tmp, self.dest)
        dest, tmp = os.path.abspath(self.dest), os.path.abspath(self.tmp)
        if self.dest.exists() and _holds_cwd(self.dest):
            # the folder is the working directory: it cannot be swapped, so its
            # files move one by one
            moves = [Step("move", os.path.join(dest, n), os.path.join(tmp, n))
                     for n in self.names]
            gone = [Step("unlink", os.path.join(dest, n))
                    for n in sorted(self._old_members() - set(self.names))]
            return [*moves, *gone, Step("move", os.path.join(dest, MANIFEST),
                                        os.path.join(tmp, MANIFEST), cleanup=tmp)]
        (self.tmp / MARK).write_text(token, encoding="utf-8")
        return [Step("swap", dest, tmp, cleanup=tmp)]

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _holds_cwd(folder: Path) -> bool:
    try:
        cwd = Path.cwd().resolve()
    except OSError:
        return False
    target = folder.resolve()
    return cwd == target or target in cwd.parents


def _link_or_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _run(writer: Writer, tmp: Path, final: Path) -> None:
    try:
        writer(tmp)
    except OutputError as exc:  # name the file the user asked for, not the temporary
        raise OutputError(str(exc).replace(str(tmp), str(final))) from exc
    except KwxmapError:
        raise
    except (OSError, RuntimeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        raise OutputError(f"cannot write {str(final)!r}: {reason}") from exc
    if not tmp.exists():
        raise OutputError(f"writer produced no file for {str(final)!r}")


class Staging:
    """Write several files and folders now; move them into place together at the end.

    Use it as a context manager: on a normal exit every staged folder is
    swapped in (one rename each) and every staged file renamed over its
    target; on an exception every temporary is removed and nothing changes.
    A file staged inside a staged folder becomes part of that folder's set.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> with Staging() as st:
    ...     layers = st.folder(base / "layers")
    ...     _ = layers.write("a.txt", lambda p: p.write_text("1", encoding="utf-8"))
    ...     _ = st.file(base / "map.txt", lambda p: p.write_text("2", encoding="utf-8"))
    >>> sorted(p.name for p in base.rglob("*") if not p.name.startswith("."))
    ['a.txt', 'layers', 'map.txt']
    """

    def __init__(self) -> None:
        self._folders: dict[Path, _Folder] = {}
        self._files: list[tuple[Path, Path, Path]] = []  # (tmp, target, tmpdir)
        self.written: list[Path] = []

    def folder(self, dest: str | os.PathLike[str]) -> _Folder:
        """Stage a set folder (the one output-folder rule applies: see :func:`output_folder`)."""
        path = output_folder(dest, create=False)
        key = path.resolve()
        if key not in self._folders:
            self._folders[key] = _Folder(path)
        return self._folders[key]

    def file(self, path: str | os.PathLike[str], writer: Writer) -> Path:
        """Write one file now into a temporary; it replaces ``path`` at the end."""
        given = Path(path)
        staged = self._folders.get(given.parent.resolve())
        if staged is not None:
            final = staged.write(given.name, writer)
            self.written.append(final)
            return final
        target = check_writable(given)
        tmpdir = temp_sibling(target)
        self._files.append((tmpdir / target.name, target, tmpdir))
        _run(writer, tmpdir / target.name, target)
        self.written.append(target)
        return target

    def commit(self) -> list[Path]:
        """Move everything into place, all or nothing.

        One output moves with one rename; several through a journal that the
        next run completes if this one is killed (see :mod:`kwxmap._commit`).
        """
        token = f"{os.getpid()}-{uuid.uuid4().hex}"
        try:
            steps: list[Step] = []
            for staged in self._folders.values():
                steps += staged.steps(token)
                self.written += [staged.dest / n for n in staged.names]
            for tmp, target, tmpdir in self._files:
                keep_mode(tmp, target)
                steps.append(Step("move", os.path.abspath(target), os.path.abspath(tmp),
                                  cleanup=os.path.abspath(tmpdir)))
        except OSError as exc:
            self.discard()
            raise OutputError(f"cannot move the outputs into place: {exc.strerror or exc}") from exc
        try:
            outputs = [str(f.dest) for f in self._folders.values()]
            commit(steps, token, [*outputs, *(str(target) for _, target, _ in self._files)])
        except OSError as exc:
            raise OutputError(
                f"cannot move the outputs into place: {exc.strerror or exc} (the next run "
                "that writes them completes or removes what was staged)") from exc
        self.written = list(dict.fromkeys(self.written))
        return self.written

    def discard(self) -> None:
        """Remove every temporary; nothing is moved into place."""
        for staged in self._folders.values():
            staged.discard()
        for _, _, tmpdir in self._files:
            shutil.rmtree(tmpdir, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def write_set(dest: str | os.PathLike[str], writers: Mapping[str, Writer]) -> list[Path]:
    """Write a set of files into folder ``dest``, all or nothing.

    Every file is written into a temporary folder beside ``dest`` which then
    takes ``dest``'s place in one rename (``renameat2`` exchange on Linux):
    readers see the complete old set or the complete new set. Files of the
    previous set that the new one lacks are gone; anything else in ``dest``
    (files kwxmap did not write) is kept. Temporaries of killed runs are
    removed by the next run. ``dest`` is created when its parent exists.

    Parameters
    ----------
    dest
        The folder.
    writers
        File name → ``writer(path)`` that writes that file at ``path``.

    Returns
    -------
    list of pathlib.Path
        The files of the set, in order.

    Raises
    ------
    OutputError
        When the folder cannot be created or a file cannot be written
        (nothing changes then).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> dest = pathlib.Path(tempfile.mkdtemp()) / "maps"
    >>> _ = write_set(dest, {"a.txt": lambda p: p.write_text("a", encoding="utf-8"),
    ...                      "b.txt": lambda p: p.write_text("b", encoding="utf-8")})
    >>> _ = write_set(dest, {"a.txt": lambda p: p.write_text("A", encoding="utf-8")})
    >>> sorted(p.name for p in dest.iterdir() if p.name != MANIFEST)
    ['a.txt']
    """
    with Staging() as st:
        folder = st.folder(dest)
        for name, writer in writers.items():
            folder.write(name, writer)
    return [Path(dest) / n for n in writers]
