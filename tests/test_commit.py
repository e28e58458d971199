"""A run that writes several paths lands whole or not at all, even when killed at commit.

The set used here is what ``map -o map.html --geojson-dir layers --geotiff
t.tif`` writes: a folder of three layers and two separate files. Every file
of one run holds that run's version, so a set is *mixed* when two files
hold different versions. A kill is aimed at the commit in two ways: a crash
before each rename the commit makes (every position, deterministic), and a
SIGKILL sent by a watcher the moment the first output changes on disk.
After either, the next run that writes any one of the paths completes or
removes what the killed run left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kwxmap import _commit
from kwxmap._atomic import remove_stale
from kwxmap.io import MANIFEST, Staging

LAYERS = ("bands.geojson", "isolines.geojson", "stations.geojson")


def outputs(base: Path, extra: int = 0) -> list[Path]:
    """The paths a run writes: the layer folder, then the single files."""
    return [base / "layers", base / "map.html", base / "t.tif",
            *(base / f"frame{i:02d}.png" for i in range(extra))]


def write_run(base: Path, version: str, size: int = 64, extra: int = 0,
              files: int = 2) -> None:
    """Write one run's set: the folder and ``files`` single files (``extra`` more make
    its commit longer)."""
    body = (version + "\n") * size
    with Staging() as st:
        folder = st.folder(base / "layers")
        for name in LAYERS:
            folder.write(name, lambda p: p.write_text(body, encoding="utf-8"))
        for path in outputs(base, extra)[1:1 + files + extra]:
            st.file(path, lambda p: p.write_text(body, encoding="utf-8"))


def versions(base: Path, extra: int = 0) -> set[str]:
    """The versions the set's files hold (one element: a whole set)."""
    files = [base / "layers" / n for n in LAYERS] + outputs(base, extra)[1:]
    return {f.read_text(encoding="utf-8").split("\n", 1)[0] if f.exists() else "missing"
            for f in files}


def leftovers(base: Path) -> list[str]:
    """Temporaries and journals still on disk (the folder's own manifest excepted)."""
    found = [p.name for p in base.iterdir() if p.name.startswith(".")]
    found += [p.name for p in (base / "layers").iterdir()
              if p.name.startswith(".") and p.name != MANIFEST]
    return sorted(found)


def crash_at(base: Path, k: int, files: int = 2) -> int:
    """Write version "new" in a child that dies before the commit's k-th rename."""
    pid = os.fork()
    if pid == 0:  # the child: count the renames of the commit, die at the k-th
        try:
            count = [0]
            real_replace, real_rename, real_exchange = os.replace, os.rename, _commit.exchange

            def counted(real):
                def call(*args, **kwargs):
                    if count[0] == k:
                        os._exit(9)
                    count[0] += 1
                    return real(*args, **kwargs)
                return call

            _commit.os.replace = counted(real_replace)  # the module's os is os: child only
            _commit.os.rename = counted(real_rename)
            _commit.exchange = counted(real_exchange)
            write_run(base, "new", files=files)
            os._exit(0)
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_crash_before_any_rename_of_the_commit_leaves_old_or_new_after_the_next_run(tmp_path):
    renames = None
    for k in range(40):
        base = tmp_path / f"k{k}"
        base.mkdir()
        write_run(base, "old")
        code = crash_at(base, k)
        if code == 0:  # the commit made fewer than k renames: every position is covered
            renames = k
            assert versions(base) == {"new"}
            break
        assert code == 9
        # the next run that writes one of the paths (a different one each time)
        remove_stale(outputs(base)[k % 3])
        got = versions(base)
        assert got in ({"old"}, {"new"}), f"crash before rename {k}: mixed set {got}"
        # a crash after the journal is written always ends in the new set
        write_run(base, "next")
        assert versions(base) == {"next"}
        assert leftovers(base) == [], f"crash before rename {k}: left {leftovers(base)}"
    # two pointers + the journal + three renames (folder swap, two files)
    assert renames == 6


def test_two_outputs_are_journaled_too(tmp_path):
    """A folder and one file (``map --geojson-dir D -o map.html``): a crash before the
    second rename is completed by the next run."""
    files = [tmp_path / "layers" / n for n in LAYERS] + [tmp_path / "map.html"]
    write_run(tmp_path, "old", files=1)
    assert crash_at(tmp_path, 3, files=1) == 9  # pointer, journal, folder swapped: file not
    assert {f.read_text(encoding="utf-8")[:3] for f in files} == {"old", "new"}
    remove_stale(tmp_path / "map.html")
    assert {f.read_text(encoding="utf-8")[:3] for f in files} == {"new"}


def test_a_journal_without_a_process_id_is_completed(tmp_path):
    write_run(tmp_path, "old")
    assert crash_at(tmp_path, 4) == 9
    journal = _commit.journal_of(outputs(tmp_path)[0])
    data = json.loads(journal.read_text(encoding="utf-8"))
    journal.write_text(json.dumps({**data, "pid": 0}), encoding="utf-8")  # pid 0: no process
    remove_stale(outputs(tmp_path)[1])
    assert versions(tmp_path) == {"new"}


def test_a_process_of_another_user_counts_as_running(monkeypatch):
    def refused(pid, sig):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(_commit.os, "kill", refused)
    assert _commit.alive(os.getpid() + 1)


def test_a_pointer_whose_journal_never_came_is_removed_and_changes_nothing(tmp_path):
    write_run(tmp_path, "old")
    assert crash_at(tmp_path, 2) == 9  # both pointers written, journal not
    assert sorted(p.name for p in tmp_path.glob(".*.kwxmap-commit.json")) == [
        ".map.html.kwxmap-commit.json", ".t.tif.kwxmap-commit.json"
    ]
    for path in outputs(tmp_path):
        remove_stale(path)
    assert versions(tmp_path) == {"old"}
    assert leftovers(tmp_path) == []


def test_a_journal_of_a_running_process_is_left_alone(tmp_path):
    write_run(tmp_path, "old")
    assert crash_at(tmp_path, 4) == 9  # journal written, folder swapped, files not
    assert versions(tmp_path) == {"old", "new"}
    journal = _commit.journal_of(outputs(tmp_path)[0])
    data = json.loads(journal.read_text(encoding="utf-8"))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        journal.write_text(json.dumps({**data, "pid": sleeper.pid}), encoding="utf-8")
        remove_stale(outputs(tmp_path)[1])  # the pointer leads to a live journal
        assert versions(tmp_path) == {"old", "new"}
        with pytest.raises(subprocess.TimeoutExpired):  # asked whether it runs, not signalled:
            sleeper.wait(timeout=0.5)  # still running half a second later
    finally:
        sleeper.kill()
        sleeper.wait()
    remove_stale(outputs(tmp_path)[2])
    assert versions(tmp_path) == {"new"}


def test_sigkill_sent_when_the_folder_changes_never_leaves_a_mixed_set(tmp_path):
    """30 SIGKILLs that land inside the commit, each sent the moment the layer folder is
    swapped in: 0 mixed sets.

    The kill lands inside the commit (the other files are not yet renamed:
    the set is mixed on disk); the next run that writes any one of the paths
    completes it, and the set is the killed run's, whole. On a busy machine
    a kill can come after the last rename (the set is whole already): such
    runs are checked the same way and not counted, up to 150 runs.
    """
    base = tmp_path
    write_run(base, "v0")
    landed_inside, mixed_after, run = 0, [], 0
    while landed_inside < 30 and run < 150:
        run += 1
        folder = os.stat(base / "layers").st_ino
        pid = os.fork()
        if pid == 0:
            try:
                write_run(base, f"v{run}")
            finally:
                os._exit(0)
        while os.waitpid(pid, os.WNOHANG) == (0, 0):  # watch; kill on the swap
            if os.stat(base / "layers").st_ino != folder:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
        landed_inside += len(versions(base)) > 1
        remove_stale(outputs(base)[run % 3])
        if versions(base) != {f"v{run}"}:
            mixed_after.append((run, versions(base)))
    assert mixed_after == []
    assert landed_inside == 30, f"only {landed_inside} of {run} kills landed inside the commit"
    assert leftovers(base) == []


@pytest.mark.parametrize("k", [0, 3])
def test_a_journaled_commit_of_the_cli_map_lands_whole(tmp_path, k):
    """The same through ``Staging`` as the map command uses it: a cwd set folder."""
    base = tmp_path
    write_run(base, "old")
    cwd = os.getcwd()
    os.chdir(base / "layers")  # the folder is the working directory: files move one by one
    try:
        assert crash_at(base, k) == 9
        remove_stale(base / "layers")
        assert versions(base) in ({"old"}, {"new"})
        write_run(base, "next")
    finally:
        os.chdir(cwd)
    assert versions(base) == {"next"}
