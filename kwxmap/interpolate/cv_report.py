"""What :func:`~kwxmap.cross_validate` reports: :class:`CVReport`, as text and JSON."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CVReport"]


@dataclasses.dataclass
class CVReport:
    """Result of :func:`cross_validate`.

    Attributes
    ----------
    method
        The method validated (the chosen one for ``method="auto"``).
    n
        Stations with a finite prediction (the scores use these).
    rmse, mae, bias
        Root-mean-square error, mean absolute error and mean error
        (``predicted - observed``, positive = map too warm).
    table
        One row per station: ``station_id``, ``name_ko`` (if known),
        ``observed``, ``predicted``, ``error``, ``scored`` (the station counts
        in the scores: it has a prediction, and for ``method="auto"`` every
        candidate predicted it).
    folds
        ``"loo"``, the number of folds, or ``"block"``.
    elevation
        The elevation mode.
    params
        The method parameters.
    scores
        For ``method="auto"``: ``{method: {"rmse", "mae", "bias", "n"}}`` of every
        candidate, all on the same stations (those every candidate could
        predict, ``table["scored"]``); the headline scores are the chosen
        method's entry.
    """

    method: str
    n: int
    rmse: float
    mae: float
    bias: float
    table: pd.DataFrame
    folds: str | int = "loo"
    elevation: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    scores: dict[str, dict[str, float]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: method, n, rmse, mae, bias, folds, elevation, params, scores, stations.

        NaN becomes ``None``.
        """

        def clean(v: Any) -> Any:
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                return None
            return v

        rows = [
            {k: clean(v) for k, v in row.items()} for row in self.table.to_dict(orient="records")
        ]
        return {
            "method": self.method,
            "n": self.n,
            "rmse": clean(self.rmse),
            "mae": clean(self.mae),
            "bias": clean(self.bias),
            "folds": self.folds,
            "elevation": self.elevation,
            "params": {k: clean(v) for k, v in self.params.items()},
            "scores": None
            if self.scores is None
            else {m: {k: clean(v) for k, v in s.items()} for m, s in self.scores.items()},
            "stations": rows,
        }

    def to_text(self) -> str:
        """Return a few lines of text for people (the CLI's text format)."""
        elev = self.elevation or "none"
        lines = [
            f"method {self.method} (elevation {elev}, folds {self.folds}): n={self.n} "
            f"RMSE {self.rmse:.2f}  MAE {self.mae:.2f}  bias {self.bias:+.2f}"
        ]
        left = self.table[~self.table["scored"]] if "scored" in self.table else self.table[:0]
        if len(left):
            ids = ", ".join(str(i) for i in left["station_id"].head(8))
            lines.append(
                f"  scored on {self.n} of {len(self.table)} stations; not scored (no "
                f"prediction from every method): {ids}"
            )
        if self.scores:
            lines.append(f"  every candidate on the same {self.n} stations:")
            for name, s in sorted(self.scores.items(), key=lambda kv: kv[1]["rmse"]):
                lines.append(f"  {name:<10} RMSE {s['rmse']:.2f}  MAE {s['mae']:.2f}")
        worst = self.table.reindex(
            self.table["error"].abs().sort_values(ascending=False).index
        ).head(5)
        for _, row in worst.iterrows():
            name = f" {row['name_ko']}" if "name_ko" in row else ""
            lines.append(
                f"  worst: {row['station_id']}{name} observed {row['observed']:.1f} "
                f"predicted {row['predicted']:.1f} error {row['error']:+.1f}"
            )
        return "\n".join(lines)
