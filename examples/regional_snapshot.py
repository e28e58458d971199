"""Tonight's map of one province, from the bundled widget readings.

Run from the repository root::

    python examples/regional_snapshot.py

Writes ``out/chungbuk/map.html`` and the three GeoJSON layers beside it
(open them in QGIS). Stations outside 충청북도 still shape the surface near
its border; the bands are clipped to the province.
"""

from pathlib import Path

import kwxmap

here = Path(__file__).parent
snap = kwxmap.snapshot(
    here / "widget.txt",
    region="충북",
    resolution=500,
    title="충청북도 기온",
    cv=True,
)
print(snap.cv.to_text())
out = Path("out/chungbuk")
out.mkdir(parents=True, exist_ok=True)
for path in snap.save(out):
    print("wrote", path)
