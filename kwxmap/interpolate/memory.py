"""How much memory an interpolation needs, checked before anything large is allocated.

The estimate comes from ``benchmarks/bench_memory.py`` (tracemalloc peaks of
:func:`~kwxmap.interpolate` per method and resolution): about
:data:`BYTES_PER_BOX_CELL` per cell of the grid's bounding box for the grid,
its mask, coordinates and DEM, plus what a method keeps per cell inside the
region (IDW holds ``k`` neighbour distances, indices and weights for every
cell at once; the other methods work in fixed-size chunks), plus 8 bytes per
cell and timestamp for a series and its NaN checks.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

from ..errors import InterpolationError

__all__ = [
    "BYTES_PER_BOX_CELL",
    "check_memory",
    "chunk_times",
    "default_memory_limit",
    "estimate_memory",
    "held_memory",
    "memory_left",
    "parse_size",
]

#: Grid, mask, cell coordinates and DEM, per cell of the bounding box (measured ~41 B).
BYTES_PER_BOX_CELL = 48
#: Per cell and timestamp of a series: the float64 cube and the finite checks on it.
BYTES_PER_CELL_TIME = 8 + 8 + 1
#: Fixed overhead: chunks of work arrays, registry, DEM.
BASE_BYTES = 64 * 2**20
#: Extra bytes per inside cell and per neighbour for IDW (measured ~60 B x k).
IDW_BYTES_PER_NEIGHBOUR = 64
#: Drawing one map of a batch (contours, layers, the page), per cell of the
#: bounding box: measured ~180 B at 1 km (``bench_memory.py --guard``).
DRAW_BYTES_PER_BOX_CELL = 192


def default_memory_limit() -> int:
    """Return half of the machine's physical memory (bytes): the default budget.

    Examples
    --------
    >>> default_memory_limit() > 2**20
    True
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume 8 GB
        total = 8 * 2**30
    return int(total // 2)


def held_memory() -> int:
    """Return the bytes this process holds now (its resident set; 0 where unknown).

    A memory limit bounds the whole run, as ``/usr/bin/time -v`` reports it:
    what the interpreter, the registry and the DEM already hold counts.

    Examples
    --------
    >>> held_memory() >= 0
    True
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(value: Any) -> int:
    """Return a memory size in bytes from a number or text like ``"4GB"``, ``"500M"``.

    Units are binary (``1G`` = 2**30 bytes).

    Examples
    --------
    >>> parse_size("4GB"), parse_size("512m"), parse_size(1000)
    (4294967296, 536870912, 1000)
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        size = float(value)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(?:I?B)?\s*", str(value).upper())
        if m is None:
            raise InterpolationError(
                f"memory size {value!r} is not a size; use e.g. '4GB', '500MB' or bytes"
            )
        size = float(m.group(1)) * _UNITS[m.group(2)]
    if not math.isfinite(size) or size <= 0:
        raise InterpolationError(f"memory size {value!r} must be positive, e.g. '4GB'")
    return int(size)


def estimate_memory(
    grid: Any, method: str, *, n_times: int = 1, params: dict[str, Any] | None = None
) -> int:
    """Return the estimated peak bytes of interpolating onto ``grid``.

    Parameters
    ----------
    grid
        The target :class:`~kwxmap.grid.Grid` (its bounding box and mask).
    method
        The interpolation method.
    n_times
        Timestamps interpolated at once (a series).
    params
        Method parameters (IDW's ``k``).

    Examples
    --------
    >>> from kwxmap.grid import make_grid
    >>> g = make_grid(resolution=1000)
    >>> round(estimate_memory(g, "idw") / 2**20) > round(estimate_memory(g, "spline") / 2**20)
    True
    """
    box = int(grid.mask.size)
    inside = int(grid.mask.sum())
    total = BASE_BYTES + BYTES_PER_BOX_CELL * box
    if method == "idw":
        k = (params or {}).get("k") or 12
        total += IDW_BYTES_PER_NEIGHBOUR * int(k) * inside
    if n_times > 1:
        total += BYTES_PER_CELL_TIME * box * int(n_times)
    return int(total)


def check_memory(
    grid: Any,
    method: str,
    *,
    max_memory: Any = None,
    n_times: int = 1,
    params: dict[str, Any] | None = None,
) -> int:
    """Raise InterpolationError when the run would pass ``max_memory``; return the limit.

    ``max_memory`` is bytes or text (``"4GB"``); None means
    :func:`default_memory_limit`. It bounds the process: the estimate plus
    what the process already holds (:func:`held_memory`).
    """
    limit = default_memory_limit() if max_memory is None else parse_size(max_memory)
    need = estimate_memory(grid, method, n_times=n_times, params=params)
    held = held_memory()
    if need + held > limit:
        times = f" for {n_times} timestamps" if n_times > 1 else ""
        raise InterpolationError(
            f"method {method!r} on a {grid.shape[0]} x {grid.shape[1]} grid at "
            f"{grid.resolution:g} m{times} needs about {_size(need)} besides the "
            f"{_size(held)} the run already holds, more than the memory limit of "
            f"{_size(limit)} (max_memory=, CLI --max-memory; default half the RAM); "
            f"use a coarser resolution or a smaller region"
        )
    return limit


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def memory_left(
    grid: Any, method: str, *, max_memory: Any = None, params: dict[str, Any] | None = None
) -> tuple[int, int, int]:
    """Return the limit, what the run holds now, and what is left for a series' chunks.

    What is left is the limit less what the process holds and one map's own
    estimate on ``grid``: the bytes a batch may give its per-timestamp arrays.

    Examples
    --------
    >>> from kwxmap.grid import make_grid
    >>> limit, held, left = memory_left(make_grid(resolution=20000), "kriging", max_memory="8GB")
    >>> limit == 8 * 2**30 and 0 <= held and left < limit - held
    True
    """
    limit = default_memory_limit() if max_memory is None else parse_size(max_memory)
    held = held_memory()
    return limit, held, limit - held - estimate_memory(grid, method, params=params)


def chunk_times(
    grid: Any,
    method: str,
    *,
    n_times: int,
    max_memory: Any = None,
    params: dict[str, Any] | None = None,
    share: float = 1.0,
) -> int:
    """Return how many timestamps of a map batch to interpolate at once under the limit.

    The limit bounds the whole process: what it holds now, one chunk's grids,
    and drawing one map (:data:`DRAW_BYTES_PER_BOX_CELL`). ``share`` is the
    part of what remains that grids may take (an animation keeps the rest
    for the frames it holds until its page is written).

    Raises
    ------
    InterpolationError
        When not even one timestamp fits.

    Examples
    --------
    >>> from kwxmap.grid import make_grid
    >>> g = make_grid(resolution=20000)
    >>> chunk_times(g, "kriging", n_times=10, max_memory="8GB")
    10
    """
    limit, held, left = memory_left(grid, method, max_memory=max_memory, params=params)
    box = int(grid.mask.size)
    left -= DRAW_BYTES_PER_BOX_CELL * box
    per_time = BYTES_PER_CELL_TIME * box
    if left < per_time:
        raise InterpolationError(
            f"a batch of maps on a {grid.shape[0]} x {grid.shape[1]} grid at "
            f"{grid.resolution:g} m needs at least {_size(limit - left + per_time)} (the run "
            f"holds {_size(held)}), more than the memory limit of {_size(limit)} "
            f"(max_memory=, CLI --max-memory); use a coarser resolution or a smaller region"
        )
    return int(max(1, min(n_times, share * left // per_time)))
