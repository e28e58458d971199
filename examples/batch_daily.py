"""A month of daily-mean maps from real KMA observations.

Run from the repository root::

    python examples/batch_daily.py

Reads ``examples/data/kma_asos_daily_2020.csv`` (KMA ASOS daily statistics,
KOGL Type 1), keeps August 2020 (17 days in the example data) and writes one
map per day, ``out/august-2020/index.html`` and ``out/august-2020/grids.nc``.
Interpolation weights are computed once for the station set and reused for
every day.
"""

from pathlib import Path

import pandas as pd

import kwxmap

here = Path(__file__).parent
out = Path("out/august-2020")
out.parent.mkdir(exist_ok=True)  # a fresh clone has no out/ yet
daily = pd.read_csv(here / "data" / "kma_asos_daily_2020.csv", encoding="utf-8")
august = daily[daily["time"].str.startswith("2020-08")]
table = august.rename(columns={"stn_id": "station_id", "temp_c": "temperature_c"})[
    ["time", "station_id", "temperature_c"]
]
result = kwxmap.render_batch(
    table.to_csv(index=False),
    out,
    resolution=2000,
    title="일평균기온",
    netcdf=True,
    progress=True,
)
print(result.summary())
