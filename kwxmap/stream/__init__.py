"""Years of hourly maps: a streaming, resumable batch engine for one laptop or a dask cluster.

:func:`stream_batch` (:mod:`.batch`) drives it; :mod:`.tables` reads the long
table in chunks, :mod:`.tasks` computes each chunk's surfaces where the
executor runs them, :mod:`.store` lays out and fills the CF-1.8 Zarr store.
"""

from __future__ import annotations

from .batch import StreamResult, chunk_hours_for, stream_batch
from .store import write_netcdf_copy

__all__ = ["StreamResult", "chunk_hours_for", "stream_batch", "write_netcdf_copy"]
