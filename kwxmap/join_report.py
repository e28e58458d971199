"""What a join placed, and what it could not and why: :class:`JoinReport`."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["JoinReport"]

#: A duplicate-station error quotes this many of the readings, then counts the rest.
SHOWN_DUPLICATES = 3

#: An own place farther than this (km) from the registry's site is reported.
MOVED_KM = 1.0


@dataclass
class JoinReport:
    """What :func:`join_readings` matched, merged, flagged or could not place.

    Attributes
    ----------
    n_readings
        Readings given.
    n_joined
        Rows in the result (after unknown names are left out and duplicates
        merged).
    n_placed
        Rows of the result with a temperature: what a map draws.
    unknown
        ``(name, line, suggestions)`` for each reading whose station is not in
        the registry; ``name`` is the printed name (or the id as text).
    duplicates
        ``(station_id, lines)`` for each station read more than once in one
        snapshot (same time), with the lines it came from.
    implausible
        ``(station_id, line, value)`` for each temperature outside
        :data:`PLAUSIBLE_RANGE_C`, with the value as printed.
    missing_values
        ``(station_id, line)`` for each reading without a temperature (kept,
        NaN).
    missing_reasons
        How many readings lack a temperature, by reason: ``kma_code``
        (KMA's -99.x / -999 codes), ``blank``, ``placeholder`` (a widget's
        ``-``), ``nan`` (a NaN given without a reason).
    own_place
        Readings placed at their own ``lon``/``lat``.
    unknown_placed
        ``(label, line)`` for each reading at its own place whose station the
        registry does not know (kept, not dropped).
    moved
        ``(station_id, line, km)`` for each known station whose own place is
        more than :data:`MOVED_KM` from the registry's site.
    on_duplicate, on_implausible
        The policies that were applied.

    Examples
    --------
    >>> JoinReport(n_readings=26, n_joined=26, n_placed=26).summary()
    '26 of 26 readings placed'
    """

    n_readings: int = 0
    n_joined: int = 0
    n_placed: int = 0
    unknown: list[tuple[str, int, list[str]]] = field(default_factory=list)
    duplicates: list[tuple[int, list[int]]] = field(default_factory=list)
    implausible: list[tuple[int, int, float]] = field(default_factory=list)
    outside_history: list[tuple[int, int, str]] = field(default_factory=list)
    missing_values: list[tuple[int, int]] = field(default_factory=list)
    missing_reasons: dict[str, int] = field(default_factory=dict)
    own_place: int = 0
    unknown_placed: list[tuple[str, int]] = field(default_factory=list)
    moved: list[tuple[int, int, float]] = field(default_factory=list)
    on_duplicate: str = "raise"
    on_implausible: str = "raise"

    @property
    def not_placed(self) -> dict[str, int]:
        """Readings not drawn, by reason (unknown station, missing, implausible, duplicate).

        Examples
        --------
        >>> JoinReport(5, 3, 2, unknown=[("x", 2, [])], missing_values=[(108, 3)],
        ...            duplicates=[(159, [4, 5])], on_duplicate="first").not_placed
        {'unknown station': 1, 'missing value': 1, 'duplicate': 1}
        """
        counts = {
            "unknown station": len(self.unknown),
            "missing value": len(self.missing_values),
            "implausible": len(self.implausible) if self.on_implausible == "nan" else 0,
        }
        # the rest went into another reading of their station (first, last or mean)
        counts["duplicate"] = max(self.n_readings - self.n_placed - sum(counts.values()), 0)
        return {k: v for k, v in counts.items() if v}

    def summary(self) -> str:
        """Return one line for a log or the command line: what was placed, and why not the rest.

        When more than 10 % of the readings are not placed, the line starts
        with ``only`` and names the fix.

        Examples
        --------
        >>> JoinReport(20, 19, 19, unknown=[("서욹", 4, ["서울"])]).summary()
        '19 of 20 readings placed; not placed: 1 unknown station'
        >>> JoinReport(20, 20, 19, missing_values=[(108, 3)], missing_reasons={"kma_code": 1}
        ...            ).summary()
        '19 of 20 readings placed; not placed: 1 missing value (1 kma_code)'
        >>> JoinReport(729, 99, 99, unknown=[("x", 2, [])] * 630).summary()[:80]
        'only 99 of 729 readings placed (86 % not); not placed: 630 unknown stations — ad'
        """
        placed = f"{self.n_placed} of {self.n_readings} readings placed"
        missing = self.n_readings - self.n_placed
        if self.n_readings and missing / self.n_readings > 0.1:
            placed = f"only {placed} ({round(100 * missing / self.n_readings)} % not)"
        parts = []
        for reason, count in self.not_placed.items():
            text = _plural(count, reason)
            if reason == "missing value" and self.missing_reasons:
                why = ", ".join(f"{n} {k}" for k, n in sorted(self.missing_reasons.items()))
                text += f" ({why})"
            if reason == "implausible":
                text += " blanked"
            if reason == "duplicate":
                text += f" of a station merged ({self.on_duplicate})"
            if reason == "unknown station" and placed.startswith("only"):
                text += (" — add newer stations with `kwxmap stations --update FILE` (a KMA "
                         "station list), check --network, or give the readings lon/lat")
            parts.append(text)
        line = placed + ("; not placed: " + ", ".join(parts) if parts else "")
        extra = []
        if self.duplicates and "duplicate" not in self.not_placed:
            extra.append(f"{_plural(len(self.duplicates), 'duplicated station')} merged "
                         f"({self.on_duplicate})")
        if self.implausible and self.on_implausible == "keep":
            extra.append(_plural(len(self.implausible), "implausible value") + " kept")
        if self.outside_history:
            extra.append(
                f"{_plural(len(self.outside_history), 'reading')} dated outside their "
                "station's recorded history, placed at the nearest period's site"
            )
        if self.own_place:
            extra.append(f"{self.own_place} at their own lon/lat")
        if self.unknown_placed:
            extra.append(f"{len(self.unknown_placed)} of them unknown to the registry")
        if self.moved:
            extra.append(
                f"{_plural(len(self.moved), 'station')} over {MOVED_KM:g} km from the "
                "registry site"
            )
        return line + ("; " + ", ".join(extra) if extra else "")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
