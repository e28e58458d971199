"""Outputs never reach what they should not: planted links, mount points, and permissions.

- In a sticky, world-writable folder (``/tmp``) kwxmap does not follow a
  symlink: another user could plant ``map.html -> /root/secret``.
- A set folder that holds a mount point is refused before anything moves
  (swapping it would copy the mounted files onto the parent disk, then
  delete them).
- A replaced file or folder keeps its permission bits; a new one gets the
  user's umask (temporaries are 0600/0700).
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from kwxmap import io
from kwxmap.errors import OutputError


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def shared(tmp_path) -> Path:
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o1777)
    return folder


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda value: os.umask(value)
    os.umask(old)


def test_a_symlink_in_a_sticky_shared_folder_is_not_followed(tmp_path, shared):
    victim = tmp_path / "secret"
    victim.write_text("mine", encoding="utf-8")
    os.chmod(victim, 0o600)
    (shared / "map.html").symlink_to(victim)
    with pytest.raises(OutputError, match=r"is a symlink in the shared folder .* kwxmap does "
                                          r"not follow links there"):
        io.write_text("a map", shared / "map.html")
    assert victim.read_text(encoding="utf-8") == "mine" and _mode(victim) == 0o600
    assert (shared / "map.html").is_symlink()
    with pytest.raises(OutputError, match="is a symlink in the shared folder"):
        io.write_set(shared / "map.html", {"a.txt": lambda p: p.write_text("x")})


def test_a_symlink_in_an_own_folder_is_written_through_keeping_the_mode(tmp_path, umask):
    victim = tmp_path / "data" / "map.html"
    victim.parent.mkdir()
    victim.write_text("old", encoding="utf-8")
    os.chmod(victim, 0o640)
    link = tmp_path / "map.html"
    link.symlink_to(victim)
    io.write_text("new", link)
    assert link.is_symlink() and victim.read_text(encoding="utf-8") == "new"
    assert _mode(victim) == 0o640


def test_a_replaced_file_keeps_its_mode_and_a_new_one_gets_the_umask(tmp_path, umask):
    private = tmp_path / "private.html"
    private.write_text("old", encoding="utf-8")
    os.chmod(private, 0o600)
    io.write_text("new", private)
    assert (private.read_text(encoding="utf-8"), _mode(private)) == ("new", 0o600)
    umask(0o027)
    fresh = io.write_text("x", tmp_path / "fresh.html")
    assert _mode(fresh) == 0o640


def test_a_set_folder_keeps_its_mode_and_members_theirs(tmp_path, umask):
    dest = tmp_path / "maps"
    dest.mkdir()
    os.chmod(dest, 0o755)
    io.write_set(dest, {"a.txt": lambda p: p.write_text("1"), "b.txt": lambda p: p.write_text("2")})
    assert _mode(dest) == 0o755 and _mode(dest / "a.txt") == 0o644
    os.chmod(dest, 0o750)
    os.chmod(dest / "a.txt", 0o600)
    io.write_set(dest, {"a.txt": lambda p: p.write_text("3"), "b.txt": lambda p: p.write_text("4")})
    assert (dest / "a.txt").read_text() == "3"
    assert (_mode(dest), _mode(dest / "a.txt"), _mode(dest / "b.txt")) == (0o750, 0o600, 0o644)
    umask(0o077)
    new = tmp_path / "new"
    io.write_set(new, {"a.txt": lambda p: p.write_text("1")})
    assert (_mode(new), _mode(new / "a.txt")) == (0o700, 0o600)
    umask(0o002)
    group = tmp_path / "group"
    io.write_set(group, {"a.txt": lambda p: p.write_text("1")})
    assert _mode(group) == 0o775


def test_batch_and_snapshot_folders_keep_a_0755_mode(tmp_path, umask, seed_stations):
    from kwxmap import snapshot

    folder = tmp_path / "site"
    folder.mkdir()
    os.chmod(folder, 0o755)
    snap = snapshot(seed_stations, resolution=20000, tiles=None)
    snap.save(folder)
    assert _mode(folder) == 0o755
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "bands.geojson", "isolines.geojson", "map.html", "stations.geojson"]


@pytest.fixture
def mounted(tmp_path):
    dest = tmp_path / "maps"
    (dest / "archive").mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                           str(dest / "archive")], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or 'not root'})")
    try:
        yield dest
    finally:
        subprocess.run(["umount", "-l", str(dest / "archive")], check=False)


def test_a_set_folder_holding_a_mount_point_is_refused_untouched(mounted):
    kept = mounted / "archive" / "2019.html"
    kept.write_text("on the other disk", encoding="utf-8")
    (mounted / "old.txt").write_text("old", encoding="utf-8")
    with pytest.raises(OutputError, match=r"holds a mount point .*archive'; kwxmap replaces "
                                          r"the whole folder"):
        io.write_set(mounted, {"a.txt": lambda p: p.write_text("new")})
    assert kept.read_text(encoding="utf-8") == "on the other disk"
    assert os.path.ismount(mounted / "archive")
    assert sorted(p.name for p in mounted.iterdir()) == ["archive", "old.txt"]
