"""Compatibility: the readers moved to :mod:`kwxmap.readers`."""

from __future__ import annotations

from .readers import parse_readings, split_station_token, weather_words

__all__ = ["parse_readings", "split_station_token", "weather_words"]
