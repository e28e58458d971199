"""Variogram models, the empirical variogram and its automatic fit.

The models use PyKrige's parameterisations exactly, so a variogram written for
``pykrige.ok.OrdinaryKriging(variogram_parameters=...)`` means the same here:

============  ==============================  =====================================================
model         parameters                      semivariance ``gamma(d)``
============  ==============================  =====================================================
spherical     psill, range, nugget            ``psill*(1.5 d/r - 0.5 (d/r)**3) + nugget`` (d <= r),
                                              ``psill + nugget`` beyond the range
exponential   psill, range, nugget            ``psill*(1 - exp(-d/(r/3))) + nugget``
gaussian      psill, range, nugget            ``psill*(1 - exp(-d**2/(r*4/7)**2)) + nugget``
linear        slope, nugget                   ``slope*d + nugget``
power         scale, exponent, nugget         ``scale*d**exponent + nugget`` (0 < exponent < 2)
============  ==============================  =====================================================

Distances are in metres (projected CRS), so ``range`` is in metres and the
sill in squared value units (K² for temperature). The *range* of the
exponential and gaussian models is PyKrige's practical range (≈95 % of the
sill), which is why the formulas carry the ``3`` and ``4/7`` factors.
Kriging treats ``gamma(0)`` as 0 (the nugget is a discontinuity at the
origin), so kriging stays exact at the stations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial.distance import pdist

from ..errors import InterpolationError

__all__ = [
    "MODELS",
    "EmpiricalVariogram",
    "Variogram",
    "empirical_variogram",
    "fit_variogram",
    "make_variogram",
    "pooled_variogram",
]

#: Variogram models and the names of their parameters, in PyKrige's order.
MODELS: dict[str, tuple[str, ...]] = {
    "spherical": ("psill", "range", "nugget"),
    "exponential": ("psill", "range", "nugget"),
    "gaussian": ("psill", "range", "nugget"),
    "linear": ("slope", "nugget"),
    "power": ("scale", "exponent", "nugget"),
}

_ESTIMATORS = ("matheron", "cressie")


def _check_model(model: str) -> str:
    if model not in MODELS:
        raise InterpolationError(
            f"unknown variogram model {model!r}; use one of {', '.join(map(repr, MODELS))}"
        )
    return model


@dataclass(frozen=True)
class Variogram:
    """A variogram model with its parameters (PyKrige conventions).

    Parameters
    ----------
    model
        One of ``"spherical"``, ``"exponential"``, ``"gaussian"``, ``"linear"``,
        ``"power"``.
    params
        The parameters in PyKrige's internal order: ``(psill, range, nugget)``,
        ``(slope, nugget)`` or ``(scale, exponent, nugget)``. Build one from a
        dict or PyKrige's list form with :func:`make_variogram`.

    Examples
    --------
    >>> v = Variogram("exponential", (4.0, 90_000.0, 0.5))
    >>> v.sill, v.nugget
    (4.5, 0.5)
    >>> float(v(np.array([0.0, 30_000.0]))[1]).__round__(4)
    3.0285
    >>> v.as_dict()
    {'psill': 4.0, 'range': 90000.0, 'nugget': 0.5}
    """

    model: str
    params: tuple[float, ...]

    def __post_init__(self) -> None:
        _check_model(self.model)
        names = MODELS[self.model]
        params = tuple(float(p) for p in self.params)
        if len(params) != len(names):
            raise InterpolationError(
                f"the {self.model!r} variogram takes {len(names)} parameters "
                f"({', '.join(names)}), got {self.params!r}"
            )
        if not all(np.isfinite(p) and p >= 0 for p in params):
            named = dict(zip(names, params, strict=True))
            raise InterpolationError(f"variogram parameters must be finite and >= 0; got {named!r}")
        if self.model in ("spherical", "exponential", "gaussian") and params[1] <= 0:
            raise InterpolationError(f"the variogram range must be > 0 metres, got {params[1]!r}")
        if self.model == "power" and not 0 < params[1] < 2:
            raise InterpolationError(
                f"the power variogram exponent must lie in (0, 2), got {params[1]!r}"
            )
        object.__setattr__(self, "params", params)

    def as_dict(self) -> dict[str, float]:
        """Return the parameters as a dict (PyKrige's ``variogram_parameters`` dict form)."""
        return dict(zip(MODELS[self.model], self.params, strict=True))

    @property
    def nugget(self) -> float:
        """The nugget (semivariance just above distance 0)."""
        return self.params[-1]

    @property
    def sill(self) -> float:
        """The total sill (``psill + nugget``); ``inf`` for the unbounded models."""
        if self.model in ("linear", "power"):
            return float("inf")
        return self.params[0] + self.params[2]

    @property
    def bounded(self) -> bool:
        """True for the models with a sill (spherical, exponential, gaussian)."""
        return self.model not in ("linear", "power")

    def __call__(self, d: np.ndarray) -> np.ndarray:
        """Evaluate ``gamma(d)`` (``gamma(0) = nugget``, as in PyKrige)."""
        d = np.asarray(d, dtype=np.float64)
        out = np.empty_like(d)
        self.evaluate(d, out=out)
        return out

    def evaluate(self, d: np.ndarray, *, out: np.ndarray) -> np.ndarray:
        """Evaluate ``gamma(d)`` into *out* (may be *d* itself), allocation-free.

        Parameters
        ----------
        d
            Distances in metres.
        out
            Float64 array of ``d``'s shape receiving the semivariances.

        Returns
        -------
        numpy.ndarray
            *out*.
        """
        return _evaluate(self.model, self.params, d, out)


def _evaluate(model: str, p: Sequence[float], d: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Evaluate the *model* semivariance at distances *d* into *out* (no validation)."""
    if model == "exponential":
        psill, rng, nugget = p
        np.multiply(d, -3.0 / rng, out=out)
        np.exp(out, out=out)
        np.multiply(out, -psill, out=out)
        out += psill + nugget
    elif model == "gaussian":
        psill, rng, nugget = p
        a = rng * 4.0 / 7.0
        np.multiply(d, d, out=out)
        out *= -1.0 / (a * a)
        np.exp(out, out=out)
        np.multiply(out, -psill, out=out)
        out += psill + nugget
    elif model == "spherical":
        psill, rng, nugget = p
        np.minimum(d, rng, out=out)
        out *= 1.0 / rng
        # psill * (1.5 h - 0.5 h^3) = psill * h * (1.5 - 0.5 h^2); h = min(d, r)/r
        # equals psill exactly at h = 1, matching PyKrige's piecewise form.
        h2 = out * out
        h2 *= -0.5 * psill
        h2 += 1.5 * psill
        out *= h2
        out += nugget
    elif model == "linear":
        slope, nugget = p
        np.multiply(d, slope, out=out)
        out += nugget
    else:  # power
        scale, exponent, nugget = p
        np.power(d, exponent, out=out)
        out *= scale
        out += nugget
    return out


def make_variogram(
    model: str,
    parameters: Mapping[str, float] | Sequence[float] | Variogram,
) -> Variogram:
    """Build a :class:`Variogram` from PyKrige-style parameters.

    Parameters
    ----------
    model
        The variogram model name (see :data:`MODELS`).
    parameters
        A dict with PyKrige's keys (``psill`` or ``sill``, ``range``, ``nugget``;
        ``slope``, ``nugget``; ``scale``, ``exponent``, ``nugget``), or a list in
        PyKrige's *list* order, where the bounded models take the **full** sill:
        ``[sill, range, nugget]``, ``[slope, nugget]``, ``[scale, exponent, nugget]``.
        A :class:`Variogram` is returned unchanged (its model must match).

    Returns
    -------
    Variogram

    Raises
    ------
    InterpolationError
        Unknown model, missing or extra keys, wrong length, negative values.

    Examples
    --------
    >>> make_variogram("spherical", {"sill": 5.0, "range": 1e5, "nugget": 1.0}).params
    (4.0, 100000.0, 1.0)
    >>> make_variogram("spherical", [5.0, 1e5, 1.0]).params
    (4.0, 100000.0, 1.0)
    >>> make_variogram("linear", {"slope": 1e-4, "nugget": 0.0}).as_dict()
    {'slope': 0.0001, 'nugget': 0.0}
    """
    _check_model(model)
    if isinstance(parameters, Variogram):
        if parameters.model != model:
            raise InterpolationError(
                f"variogram_parameters is a {parameters.model!r} variogram but "
                f"variogram_model={model!r}; pass matching names"
            )
        return parameters
    names = MODELS[model]
    bounded = model in ("spherical", "exponential", "gaussian")
    if isinstance(parameters, Mapping):
        keys = set(parameters)
        if bounded:
            sill_keys = keys & {"psill", "sill"}
            if len(sill_keys) != 1 or keys - sill_keys != {"range", "nugget"}:
                raise InterpolationError(
                    f"the {model!r} variogram needs keys 'range', 'nugget' and one of "
                    f"'psill'/'sill'; got {sorted(keys)!r}"
                )
            nugget = float(parameters["nugget"])
            psill = (
                float(parameters["psill"])
                if "psill" in keys
                else float(parameters["sill"]) - nugget
            )
            return Variogram(model, (psill, float(parameters["range"]), nugget))
        if keys != set(names):
            raise InterpolationError(
                f"the {model!r} variogram needs keys {list(names)!r}; got {sorted(keys)!r}"
            )
        return Variogram(model, tuple(float(parameters[n]) for n in names))
    if isinstance(parameters, str) or not isinstance(parameters, Sequence | np.ndarray):
        raise InterpolationError(
            f"variogram_parameters must be a dict, a list or a Variogram; got {parameters!r}"
        )
    values = [float(v) for v in parameters]
    if len(values) != len(names):
        raise InterpolationError(
            f"the {model!r} variogram takes {len(names)} parameters "
            f"({'sill' if bounded else names[0]}, ...), got {list(parameters)!r}"
        )
    if bounded:
        values[0] -= values[2]
    return Variogram(model, tuple(values))


@dataclass(frozen=True)
class EmpiricalVariogram:
    """Binned semivariances of station pairs.

    Attributes
    ----------
    lags
        Mean pair distance of each non-empty bin (metres).
    semivariance
        Estimated semivariance of each bin.
    counts
        Number of station pairs in each bin (summed over timestamps when pooled).
    max_lag
        Upper edge of the last bin (metres).
    estimator
        ``"matheron"`` or ``"cressie"``.
    """

    lags: np.ndarray
    semivariance: np.ndarray
    counts: np.ndarray
    max_lag: float
    estimator: str = "matheron"
    extra: dict[str, float] = field(default_factory=dict)


def empirical_variogram(
    xy: np.ndarray,
    values: np.ndarray,
    *,
    nlags: int = 15,
    max_lag: float | None = None,
    estimator: str = "matheron",
    standardize: bool | None = None,
) -> EmpiricalVariogram:
    """Bin the semivariances of all station pairs by distance.

    Parameters
    ----------
    xy
        ``(N, 2)`` station coordinates in metres.
    values
        ``(N,)`` values, or ``(T, N)`` values at T timestamps (NaN = missing),
        which are pooled: every timestamp contributes its own pairs.
    nlags
        Number of equal-width bins on ``(0, max_lag]``.
    max_lag
        Largest pair distance used; default half the largest station distance
        (pairs farther apart are few and dominated by the country's edges).
    estimator
        ``"matheron"``: mean of ``(z_i - z_j)**2 / 2`` per bin (the classical
        estimator, as in PyKrige); ``"cressie"``: the Cressie–Hawkins robust
        estimator ``mean(|z_i - z_j|**0.5)**4 / (0.457 + 0.494/n) / 2``,
        which resists outlying stations.
    standardize
        Divide each timestamp by its standard deviation (after removing its
        mean) before pooling, so that a calm night and a stormy afternoon
        weigh the same. Default: True for 2-D *values*, False for 1-D.

    Returns
    -------
    EmpiricalVariogram

    Examples
    --------
    >>> xy = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 2000.0], [3000.0, 3000.0]])
    >>> ev = empirical_variogram(xy, np.array([1.0, 2.0, 3.0, 5.0]), nlags=2, max_lag=5000.0)
    >>> ev.counts.tolist(), ev.semivariance.round(3).tolist()
    ([3, 3], [1.0, 4.833])
    """
    if estimator not in _ESTIMATORS:
        raise InterpolationError(
            f"unknown estimator {estimator!r}; use one of {', '.join(map(repr, _ESTIMATORS))}"
        )
    if int(nlags) < 1:
        raise InterpolationError(f"nlags must be >= 1, got {nlags!r}")
    xy = np.asarray(xy, dtype=np.float64)
    z = np.asarray(values, dtype=np.float64)
    pooled = z.ndim == 2
    if standardize is None:
        standardize = pooled
    z2 = z if pooled else z[None, :]
    d = pdist(xy)
    if d.size == 0:
        raise InterpolationError("an empirical variogram needs at least 2 stations")
    if max_lag is None:
        max_lag = 0.5 * float(d.max())
    max_lag = float(max_lag)
    if not max_lag > 0:
        raise InterpolationError(f"max_lag must be > 0 metres, got {max_lag!r}")
    nlags = int(nlags)
    bin_of = np.minimum((d / max_lag * nlags).astype(np.int64), nlags - 1)
    bin_of[d > max_lag] = -1
    bin_of[d == 0] = -1
    keep = bin_of >= 0
    order = np.argsort(bin_of[keep], kind="stable")
    pair_idx = np.flatnonzero(keep)[order]
    bins_sorted = bin_of[pair_idx]
    i_idx, j_idx = np.triu_indices(xy.shape[0], k=1)
    i_idx, j_idx = i_idx[pair_idx], j_idx[pair_idx]
    dist = d[pair_idx]

    sums = np.zeros(nlags)
    counts = np.zeros(nlags, dtype=np.int64)
    lag_sums = np.zeros(nlags)
    chunk = max(1, 2_000_000 // max(pair_idx.size, 1))
    for s in range(0, z2.shape[0], chunk):
        block = z2[s : s + chunk]
        if standardize:
            mean = np.nanmean(block, axis=1, keepdims=True)
            std = np.nanstd(block, axis=1, keepdims=True)
            std[~(std > 0)] = np.nan  # constant rows carry no spatial information
            block = (block - mean) / std
        diff = np.abs(block[:, i_idx] - block[:, j_idx])
        ok = np.isfinite(diff)
        term = 0.5 * diff * diff if estimator == "matheron" else np.sqrt(diff)
        term[~ok] = 0.0
        sums += np.bincount(bins_sorted, weights=term.sum(axis=0), minlength=nlags)
        n_ok = ok.sum(axis=0)
        counts += np.bincount(bins_sorted, weights=n_ok, minlength=nlags).astype(np.int64)
        lag_sums += np.bincount(bins_sorted, weights=n_ok * dist, minlength=nlags)
    nonempty = counts > 0
    if not nonempty.any():
        raise InterpolationError(
            f"no station pairs closer than max_lag={max_lag!r} m with valid values; "
            "raise max_lag or check the values"
        )
    n = counts[nonempty]
    mean_term = sums[nonempty] / n
    if estimator == "matheron":
        gamma = mean_term
    else:
        gamma = 0.5 * mean_term**4 / (0.457 + 0.494 / n)
    return EmpiricalVariogram(
        lags=lag_sums[nonempty] / n,
        semivariance=gamma,
        counts=n,
        max_lag=max_lag,
        estimator=estimator,
    )


def fit_variogram(
    empirical: EmpiricalVariogram,
    model: str = "exponential",
) -> Variogram:
    """Fit a variogram model to an empirical variogram by weighted least squares.

    The fit minimises Cressie's (1985) weighted least-squares criterion
    ``sum_h n_h * (gamma_hat(h) / gamma(h) - 1)**2`` with
    :func:`scipy.optimize.least_squares` (trust-region reflective, bounds):
    bins holding many pairs and short lags (where ``gamma`` is small and
    kriging weights are decided) count most. Bounds keep every parameter
    physical: ``0 <= nugget <= max(gamma_hat)``, ``0 <= psill <= 10 max(gamma_hat)``,
    ``max_lag/1000 <= range <= 4 max_lag``; ``0.001 <= exponent <= 1.999``
    (power). Bounded models start from three ranges (``max_lag`` × 0.25, 0.5, 1)
    and keep the best fit. A range on its upper bound means the empirical
    variogram still rises at ``max_lag`` (no sill, e.g. a steady north-south
    gradient): the criterion would take the range to infinity, where the model
    becomes a linear variogram; the bound keeps a bounded model with that
    initial slope instead (``variogram_model="linear"`` gives the limit).

    Parameters
    ----------
    empirical
        From :func:`empirical_variogram`.
    model
        The model to fit (see :data:`MODELS`).

    Returns
    -------
    Variogram
        When every semivariance is 0 (a constant field) the result is a
        unit-sill model with range ``max_lag/2``: any variogram gives the same
        (constant) kriging prediction then.

    Examples
    --------
    >>> truth = Variogram("spherical", (3.0, 50_000.0, 0.5))
    >>> lags = np.linspace(5_000.0, 100_000.0, 12)
    >>> ev = EmpiricalVariogram(lags, truth(lags), np.full(12, 50), 100_000.0)
    >>> fit = fit_variogram(ev, "spherical")
    >>> np.allclose(fit.params, truth.params, rtol=1e-4)
    True
    """
    _check_model(model)
    lags = np.asarray(empirical.lags, dtype=np.float64)
    gam = np.asarray(empirical.semivariance, dtype=np.float64)
    n = np.asarray(empirical.counts, dtype=np.float64)
    max_lag = float(empirical.max_lag)
    gmax = float(gam.max()) if gam.size else 0.0
    if not np.isfinite(gam).all():
        raise InterpolationError(
            "the empirical semivariance overflows (station values far beyond temperatures, "
            "e.g. 1e200); check the values and their units"
        )
    if gam.size == 0 or not gmax > 0:
        if model in ("linear", "power"):
            return Variogram(model, (1.0 / max_lag, 0.0) if model == "linear" else (1.0, 1.0, 0.0))
        return Variogram(model, (1.0, 0.5 * max_lag, 0.0))
    sqrt_n = np.sqrt(n)
    floor = 1e-9 * gmax

    def residuals(p: np.ndarray) -> np.ndarray:
        model_g = np.maximum(_evaluate(model, p, lags, np.empty_like(lags)), floor)
        return sqrt_n * (gam / model_g - 1.0)

    if model in ("spherical", "exponential", "gaussian"):
        lower = [0.0, max_lag / 1000.0, 0.0]
        upper = [10.0 * gmax, 4.0 * max_lag, gmax]
        starts = [
            [max(gmax - gam.min(), 1e-3 * gmax), f * max_lag, min(gam.min(), gmax) * 0.5]
            for f in (0.25, 0.5, 1.0)
        ]
    elif model == "linear":
        slope0 = max(gmax - gam.min(), 1e-3 * gmax) / max(lags.max() - lags.min(), max_lag / 10)
        lower, upper = [0.0, 0.0], [np.inf, gmax]
        starts = [[slope0, 0.5 * gam.min()]]
    else:
        lower, upper = [0.0, 0.001, 0.0], [np.inf, 1.999, gmax]
        starts = []
        for e in (0.5, 1.0, 1.5):
            scale0 = max(gmax - gam.min(), 1e-3 * gmax) / max(lags.max(), 1.0) ** e
            starts.append([scale0, e, 0.5 * gam.min()])
    from scipy.optimize import least_squares  # only fitting needs it (import cost ~60 ms)

    best = None
    for x0 in starts:
        x0 = np.clip(np.asarray(x0, dtype=np.float64), lower, upper)
        res = least_squares(residuals, x0, bounds=(lower, upper), method="trf")
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None
    params = np.clip(best.x, lower, upper)
    if model in ("spherical", "exponential", "gaussian") and params[0] + params[2] <= 0:
        params[0] = gmax
    return Variogram(model, tuple(float(p) for p in params))


#: Timestamps used for a pooled variogram fit (evenly spaced over the series).
POOLED_MAX_TIMES = 200


def pooled_variogram(
    matrix: Any,
    xy: np.ndarray,
    elev: np.ndarray | None,
    *,
    model: Any,
    params: dict[str, Any],
    asos: np.ndarray | None = None,
) -> Variogram:
    """Fit one variogram to up to :data:`POOLED_MAX_TIMES` timestamps of a series.

    Each sampled timestamp is reduced as the elevation ``model`` reduces it
    (a lapse rate, or the residuals of the drift columns, with ``asos`` the
    ASOS flags), standardised, and pooled into one empirical variogram; the
    batch engines share the fit between timestamps.
    """
    t = matrix.shape[0]
    rows = np.unique(np.linspace(0, t - 1, min(t, POOLED_MAX_TIMES)).round().astype(int))
    sample = matrix[rows]
    if hasattr(sample, "compute"):  # a dask array
        sample = sample.compute()
    sample = np.array(sample, dtype=float)
    if model.shifts:  # a row whose rate cannot be fitted becomes NaN
        sample = model.reduce(sample, elev, model.rates(sample, elev, xy)[:, None])
    elif model.has_drift:
        columns = model.drift(elev, xy, asos)
        for i, row in enumerate(sample):
            ok = np.isfinite(row)
            if ok.sum() < 2 + columns.shape[1]:
                sample[i] = np.nan
                continue
            design = np.column_stack([np.ones(ok.sum()), columns[ok]])
            coef, *_ = np.linalg.lstsq(design, row[ok], rcond=None)
            sample[i, ok] = row[ok] - design @ coef
    ev = empirical_variogram(
        xy,
        sample,
        nlags=int(params.get("nlags", 15)),
        max_lag=params.get("max_lag"),
        estimator=params.get("estimator", "matheron"),
        standardize=True,
    )
    return fit_variogram(ev, params.get("variogram_model", "exponential"))
