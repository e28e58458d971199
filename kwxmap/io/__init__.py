"""Every file kwxmap writes: vector layers, rasters, HTML, and sets of them.

One writer per format, each atomic (a temporary beside the target renamed
into place, so a failure never leaves a partial file or clobbers the old
one) and each refusing targets that are not regular files (a device such as
``/dev/full``, a FIFO, a socket). A symlink is written through: the file it
points to is replaced, the link stays.

========================  =======================================================
vector                    :func:`write_vector` (GeoJSON, GeoPackage, FlatGeobuf,
                          Shapefile, CSV), :func:`write_geojson`
raster                    :func:`write_geotiff` (Cloud-Optimized GeoTIFF),
                          :func:`write_netcdf`, :func:`write_zarr` (CF-1.8)
page                      :func:`write_html`, :func:`write_text`
readings                  :func:`~kwxmap.io.readings.format_readings`,
                          :func:`~kwxmap.io.readings.write_readings` (CSV, JSON,
                          GeoJSON of joined readings)
sets of files             :func:`write_set`, :class:`Staging`
========================  =======================================================

A set (an HTML map and its layers, a batch of maps with their index and
grids) is written into a temporary folder beside the destination and swapped
in with one rename, so readers see the old set or the new set, never a mix.
Every output folder follows one rule: it is created when its parent exists;
otherwise the error names the missing parent.
"""

from __future__ import annotations

from .._atomic import check_writable, output_folder
from .page import write_html, write_text
from .raster import cf_dataset, cf_encoding, write_geotiff, write_netcdf, write_zarr
from .sets import MANIFEST, Staging, Writer, write_set
from .vector import VECTOR_FORMATS, formula_safe, vector_format, write_geojson, write_vector

__all__ = [
    "MANIFEST",
    "VECTOR_FORMATS",
    "Staging",
    "Writer",
    "cf_dataset",
    "cf_encoding",
    "check_writable",
    "formula_safe",
    "output_folder",
    "vector_format",
    "write_geojson",
    "write_geotiff",
    "write_html",
    "write_netcdf",
    "write_set",
    "write_text",
    "write_vector",
    "write_zarr",
]
