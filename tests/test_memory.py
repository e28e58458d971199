"""The memory budget by value: sizes, the estimate, the check and the chunks, worked by hand.

The process's own resident set is pinned (``held_memory``) so every number is
one this file computes from the documented constants; ``/proc`` and the page
size are compared with the operating system's own report.
"""

from __future__ import annotations

import os
import resource

import pytest

from kwxmap.errors import InterpolationError
from kwxmap.grid import make_grid
from kwxmap.interpolate import memory
from kwxmap.interpolate.memory import (
    BASE_BYTES,
    BYTES_PER_BOX_CELL,
    BYTES_PER_CELL_TIME,
    DRAW_BYTES_PER_BOX_CELL,
    IDW_BYTES_PER_NEIGHBOUR,
    check_memory,
    chunk_times,
    default_memory_limit,
    estimate_memory,
    held_memory,
    memory_left,
    parse_size,
)

MIB, GIB = 2**20, 2**30


@pytest.mark.parametrize(("text", "size"), [
    ("4GB", 4 * GIB), ("4G", 4 * GIB), ("4gib", 4 * GIB), (" 1.5 GB ", 3 * GIB // 2),
    ("360MB", 360 * MIB), ("512m", 512 * MIB), ("100KB", 100 * 1024), ("2TB", 2 * 2**40),
    ("1000", 1000), ("1000B", 1000), (1000, 1000), (2.5e9, 2_500_000_000), (".5K", 512),
])
def test_sizes_are_binary_units(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize(("text", "match"), [
    ("lots", "is not a size"), ("4 PB", "is not a size"), ("-1GB", "is not a size"),
    ("0", "must be positive"), (0, "must be positive"), (float("inf"), "must be positive"),
    (True, "is not a size"), ("1.2.3G", "is not a size"),
])
def test_a_size_that_is_not_one_is_refused(text, match):
    with pytest.raises(InterpolationError, match=match):
        parse_size(text)


def test_the_default_limit_is_half_the_physical_memory(monkeypatch):
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert default_memory_limit() == pages // 2

    def unknown(name):
        raise ValueError(name)

    monkeypatch.setattr(memory.os, "sysconf", unknown)  # no sysconf: 8 GB assumed
    assert default_memory_limit() == 4 * GIB


def test_held_memory_is_the_resident_set_the_kernel_reports():
    with open("/proc/self/status", encoding="ascii") as fh:
        rss_kb = next(int(ln.split()[1]) for ln in fh if ln.startswith("VmRSS:"))
    assert abs(held_memory() - rss_kb * 1024) < 16 * MIB  # the same, allowing for growth
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert held_memory() <= peak + 16 * MIB


@pytest.fixture
def grid():
    return make_grid("충북", resolution=2000.0)


def test_the_estimate_is_the_documented_sum(grid):
    box, inside = grid.mask.size, int(grid.mask.sum())
    assert box > inside > 0
    base = BASE_BYTES + BYTES_PER_BOX_CELL * box
    assert estimate_memory(grid, "kriging") == base
    assert estimate_memory(grid, "spline") == base
    assert estimate_memory(grid, "idw") == base + IDW_BYTES_PER_NEIGHBOUR * 12 * inside
    assert estimate_memory(grid, "idw", params={"k": 5}) == (
        base + IDW_BYTES_PER_NEIGHBOUR * 5 * inside)
    assert estimate_memory(grid, "kriging", n_times=24) == base + BYTES_PER_CELL_TIME * box * 24
    assert estimate_memory(grid, "kriging", n_times=1) == base  # one map holds no series


def test_the_check_counts_what_the_run_holds(grid, monkeypatch):
    need = estimate_memory(grid, "kriging")
    monkeypatch.setattr(memory, "held_memory", lambda: 100 * MIB)
    assert check_memory(grid, "kriging", max_memory=need + 100 * MIB) == need + 100 * MIB
    with pytest.raises(InterpolationError) as err:
        check_memory(grid, "kriging", max_memory=need + 100 * MIB - 1, n_times=1)
    text = str(err.value)
    assert f"on a {grid.shape[0]} x {grid.shape[1]} grid at 2000 m needs about " in text
    assert f"{need / MIB:.0f} MiB besides the 100 MiB the run already holds" in text
    with pytest.raises(InterpolationError, match=r"at 2000 m for 2 timestamps needs"):
        check_memory(grid, "kriging", max_memory=need + 100 * MIB, n_times=2)
    monkeypatch.setattr(memory, "default_memory_limit", lambda: 3 * GIB)
    assert check_memory(grid, "kriging") == 3 * GIB
    with pytest.raises(InterpolationError, match=r"memory limit of 1\.0 GiB"):
        check_memory(grid, "kriging", max_memory=GIB, n_times=10**5)


def test_what_is_left_and_the_chunks_worked_by_hand(grid, monkeypatch):
    monkeypatch.setattr(memory, "held_memory", lambda: 200 * MIB)
    box = grid.mask.size
    one_map = BASE_BYTES + BYTES_PER_BOX_CELL * box
    limit = 600 * MIB
    assert memory_left(grid, "kriging", max_memory=limit) == (
        limit, 200 * MIB, limit - 200 * MIB - one_map)
    left = limit - 200 * MIB - one_map - DRAW_BYTES_PER_BOX_CELL * box
    per_time = BYTES_PER_CELL_TIME * box
    assert chunk_times(grid, "kriging", n_times=10**6, max_memory=limit) == left // per_time
    assert chunk_times(grid, "kriging", n_times=7, max_memory=limit) == 7
    assert chunk_times(grid, "kriging", n_times=10**6, max_memory=limit, share=0.5) == int(
        0.5 * left // per_time)
    # exactly one timestamp fits; one byte less and none does
    tight = 200 * MIB + one_map + DRAW_BYTES_PER_BOX_CELL * box + per_time
    assert chunk_times(grid, "kriging", n_times=50, max_memory=tight) == 1
    with pytest.raises(InterpolationError) as err:
        chunk_times(grid, "kriging", n_times=50, max_memory=tight - 1)
    assert f"needs at least {tight / MIB:.0f} MiB (the run holds 200 MiB)" in str(err.value)


@pytest.mark.parametrize("method", ["kriging", "spline", "idw"])
def test_the_estimate_bounds_what_an_interpolation_allocates(seed_stations, method):
    """tracemalloc's peak (numpy reports to it) of one map stays under the estimate."""
    import tracemalloc

    from kwxmap.interpolate import interpolate

    grid = make_grid("south-korea", resolution=4000.0)
    interpolate(seed_stations, method, resolution=8000.0)  # imports and caches first
    tracemalloc.start()
    try:
        interpolate(seed_stations, method, resolution=4000.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    estimate = estimate_memory(grid, method)
    assert peak <= estimate, (peak / MIB, estimate / MIB)
