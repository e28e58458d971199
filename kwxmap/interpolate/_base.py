"""The interface every kwxmap interpolation method implements, and shared input checks.

An :class:`Interpolator` works on plain arrays in metres (a projected CRS):
``fit(xy, values)`` with ``xy`` of shape ``(N, 2)`` and ``values`` ``(N,)``,
then ``predict(xy)`` or ``weights(xy)``. Parameters go to ``__init__`` as
keyword-only arguments and are validated in ``fit`` (verde style); fitted
state lives in attributes ending in ``_``.

For a *linear* method (nearest, idw, barnes, cressman, spline with fixed
parameters, kriging with a fixed variogram) ``predict(xy) == weights(xy) @
values_``; cross-validation and batch interpolation use the weights so that
many value vectors at the same stations cost one matrix product.

Writing a method: subclass, set ``name``/``exact`` (and ``accepts_drift``
when the method uses external-drift covariates), implement ``_validate``
(check ``self``'s parameters, raise :class:`~kwxmap.InterpolationError`),
``_fit`` (compute fitted state from ``self.xy_``, ``self.values_``,
``self.drift_``) and ``_weights``; override ``_predict`` when a direct
evaluation is cheaper than the weights. Decorate the class with
:func:`register` to make it available as ``interpolate(..., method=name)``.
"""

from __future__ import annotations

import abc
import inspect
import math
from typing import Any, ClassVar, TypeVar

import numpy as np
from scipy.spatial import cKDTree

from ..errors import InterpolationError

__all__ = [
    "METHODS",
    "Interpolator",
    "check_choice",
    "check_number",
    "check_predict_xy",
    "check_stations",
    "register",
]

#: Registry of method name -> Interpolator subclass (filled by :func:`register`).
METHODS: dict[str, type[Interpolator]] = {}

#: Two stations closer than this (metres) count as the same location.
DUPLICATE_TOLERANCE_M = 1.0

_T = TypeVar("_T", bound="type[Interpolator]")


def register(cls: _T) -> _T:
    """Class decorator adding an :class:`Interpolator` subclass to :data:`METHODS`."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} must set a class attribute `name`")
    METHODS[cls.name] = cls
    return cls


def check_choice(name: str, value: Any, choices: Any) -> Any:
    """Raise InterpolationError unless ``value`` is one of ``choices`` (listed in the message).

    Examples
    --------
    >>> check_choice("kind", "a", ("a", "b"))
    'a'
    >>> check_choice("kind", "c", ("a", "b"))
    Traceback (most recent call last):
    ...
    kwxmap.errors.InterpolationError: kind must be one of 'a', 'b'; got 'c'
    """
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise InterpolationError(f"{name} must be one of {listed}; got {value!r}")
    return value


def check_number(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    strict: bool = False,
    integer: bool = False,
    allow_none: bool = False,
) -> Any:
    """Validate a numeric parameter and return it as float (or int).

    Parameters
    ----------
    name
        Parameter name for the message.
    value
        The value to check.
    minimum
        Lower bound (inclusive unless ``strict``).
    strict
        Require ``value > minimum``.
    integer
        Require a whole number; return an ``int``.
    allow_none
        Accept ``None`` (returned unchanged).

    Examples
    --------
    >>> check_number("power", 2)
    2.0
    >>> check_number("k", 0, minimum=1, integer=True)
    Traceback (most recent call last):
    ...
    kwxmap.errors.InterpolationError: k must be >= 1; got 0
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        kind = "a whole number" if integer else "a number"
        raise InterpolationError(f"{name} must be {kind}; got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise InterpolationError(f"{name} must be finite; got {value!r}")
    if integer and number != int(number):
        raise InterpolationError(f"{name} must be a whole number; got {value!r}")
    if minimum is not None:
        if strict and not number > minimum:
            raise InterpolationError(f"{name} must be > {minimum:g}; got {value!r}")
        if not strict and not number >= minimum:
            raise InterpolationError(f"{name} must be >= {minimum:g}; got {value!r}")
    return int(number) if integer else number


def _as_xy(xy: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(xy, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InterpolationError(f"{what} coordinates must be numbers: {exc}") from exc
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InterpolationError(
            f"{what} coordinates must have shape (N, 2) (x, y in metres); got {arr.shape}"
        )
    if not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
        raise InterpolationError(
            f"{what} coordinates contain NaN/inf at rows {bad[:10].tolist()}; drop those rows"
        )
    return arr


def _as_drift(drift: Any, n: int, what: str) -> np.ndarray:
    try:
        arr = np.asarray(drift, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InterpolationError(f"{what} drift must be numbers: {exc}") from exc
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n:
        raise InterpolationError(
            f"{what} drift must have shape ({n}, k) (one row per point); got {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise InterpolationError(f"{what} drift contains NaN/inf; fill or drop those points")
    return arr


def check_stations(
    xy: Any,
    values: Any,
    *,
    drift: Any = None,
    accepts_drift: bool = False,
    method: str = "",
    min_stations: int = 3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate station inputs for ``fit``; return float arrays.

    Checks: ``xy`` is ``(N, 2)`` and finite, ``values`` is ``(N,)`` and finite
    (NaN is an error here; :func:`kwxmap.interpolate` drops NaN readings
    before fitting), at least ``min_stations`` stations, no two stations
    within :data:`DUPLICATE_TOLERANCE_M` metres, and ``drift`` (if given) is
    ``(N, k)`` and accepted by the method.

    Raises
    ------
    InterpolationError
        With a message naming the problem and how to fix it.

    Examples
    --------
    >>> xy = [[0, 0], [1000, 0], [0, 1000]]
    >>> check_stations(xy, [1, 2, 3])[1]
    array([1., 2., 3.])
    >>> check_stations(xy, [1, 2, float("nan")])
    Traceback (most recent call last):
    ...
    kwxmap.errors.InterpolationError: 1 station value(s) are NaN/inf (rows [2]); ...
    """
    label = f"{method}: " if method else ""
    xy = _as_xy(xy, "station")
    try:
        vals = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InterpolationError(f"{label}station values must be numbers: {exc}") from exc
    if vals.ndim != 1 or vals.shape[0] != xy.shape[0]:
        raise InterpolationError(
            f"{label}values must have shape ({xy.shape[0]},) to match the coordinates; "
            f"got {vals.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(vals))
    if bad.size:
        if bad.size == vals.size:
            raise InterpolationError(
                f"{label}all {vals.size} station values are NaN; nothing to interpolate"
            )
        raise InterpolationError(
            f"{label}{bad.size} station value(s) are NaN/inf (rows {bad[:10].tolist()}); "
            f"drop them before fitting"
        )
    if vals.size < min_stations:
        raise InterpolationError(
            f"{label}need at least {min_stations} stations with values, got {vals.size}"
        )
    pairs = cKDTree(xy).query_pairs(DUPLICATE_TOLERANCE_M, output_type="ndarray")
    if len(pairs):
        shown = ", ".join(f"{i}&{j}" for i, j in pairs[:5].tolist())
        raise InterpolationError(
            f"{label}{len(pairs)} pair(s) of stations share a location (rows {shown}); "
            f"average or drop duplicates first"
        )
    if drift is not None:
        if not accepts_drift:
            raise InterpolationError(
                f"{label}method does not use an external drift; drift is only for kriging "
                f"and spline (use elevation='lapse' or 'fit' with other methods)"
            )
        drift = _as_drift(drift, xy.shape[0], "station")
    return xy, vals, drift


def check_predict_xy(xy: Any, *, drift: Any = None, n_drift: int | None = None) -> Any:
    """Validate prediction points (and drift); return ``(xy, drift)`` arrays."""
    arr = _as_xy(xy, "prediction")
    if n_drift is None:
        if drift is not None:
            raise InterpolationError(
                "drift given to predict/weights but the model was fitted without a drift"
            )
        return arr, None
    if drift is None:
        raise InterpolationError(
            "the model was fitted with an external drift; pass drift= for the prediction points"
        )
    d = _as_drift(drift, arr.shape[0], "prediction")
    if d.shape[1] != n_drift:
        raise InterpolationError(
            f"prediction drift has {d.shape[1]} column(s) but the model was fitted with {n_drift}"
        )
    return arr, d


class Interpolator(abc.ABC):
    """Base class of kwxmap's interpolation methods (arrays in metres).

    Attributes
    ----------
    name : str
        Registry name (``"idw"``, ``"barnes"``, ...).
    exact : bool
        True when predictions at the stations reproduce the station values.
    accepts_drift : bool
        True when ``fit``/``predict`` take an external-drift ``drift`` (kriging, spline).
    xy_, values_, drift_
        Fitted station coordinates ``(N, 2)``, values ``(N,)`` and drift
        ``(N, k)`` or None.
    """

    name: ClassVar[str] = ""
    exact: ClassVar[bool] = False
    accepts_drift: ClassVar[bool] = False

    # -- parameters ---------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        """Names of the keyword-only parameters of ``__init__``."""
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY]

    def get_params(self) -> dict[str, Any]:
        """Return the parameters as a dict (as given, before validation)."""
        return {name: getattr(self, name) for name in self.param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def linear(self) -> bool:
        """True when the weights do not depend on the values (``predict == weights @ values``)."""
        return True

    def frozen(self) -> Interpolator:
        """Return an unfitted copy with the data-dependent parameters fixed at this fit.

        The copy is :attr:`linear`: for kriging with an automatically fitted
        variogram, the variogram becomes a fixed parameter. Leave-one-out then
        keeps it for every fold (estimated once per snapshot, not nested).
        Methods whose parameters never depend on the values return a plain copy.
        """
        self._check_fitted()
        return type(self)(**self.get_params())

    def _loo_weights(self) -> Any:
        """``(N, N)`` leave-one-out weights of a linear fit, or None without a closed form.

        Row ``i`` predicts station ``i`` from the others with the parameters of
        this fit; :func:`kwxmap.interpolate.cv.loo_predict` uses it.
        """
        return None

    # -- fitting ------------------------------------------------------------------
    def fit(self, xy: Any, values: Any, *, drift: Any = None) -> Interpolator:
        """Fit to stations at ``xy`` (``(N, 2)`` metres) with ``values`` (``(N,)``).

        Parameters
        ----------
        xy
            Station coordinates in metres in a projected CRS.
        values
            Station values (finite; at least 3 stations; no duplicate locations).
        drift
            ``(N, k)`` external-drift covariates; only for methods with
            ``accepts_drift`` (kriging), an error otherwise.

        Returns
        -------
        Interpolator
            ``self``.
        """
        self._validate()
        xy, vals, drift = check_stations(
            xy, values, drift=drift, accepts_drift=self.accepts_drift, method=self.name
        )
        self.xy_, self.values_, self.drift_ = xy, vals, drift
        self._fit()
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "values_"):
            raise InterpolationError(
                f"{type(self).__name__} is not fitted yet; call fit(xy, values) first"
            )

    def _check_predict(self, xy: Any, drift: Any) -> tuple[np.ndarray, np.ndarray | None]:
        self._check_fitted()
        n_drift = None if self.drift_ is None else self.drift_.shape[1]
        return check_predict_xy(xy, drift=drift, n_drift=n_drift)

    def predict(self, xy: Any, *, drift: Any = None) -> np.ndarray:
        """Predict at ``xy`` (``(M, 2)`` metres); return ``(M,)`` values."""
        xy, drift = self._check_predict(xy, drift)
        return np.asarray(self._predict(xy, drift), dtype=float).reshape(-1)

    def weights(self, xy: Any, *, drift: Any = None) -> Any:
        """Return the ``(M, N)`` weights (ndarray or scipy.sparse) with ``predict == W @ values_``.

        Only meaningful when :attr:`linear` is true; otherwise the weights are
        those of the current fit and change with the values.
        """
        xy, drift = self._check_predict(xy, drift)
        return self._weights(xy, drift)

    # -- hooks for subclasses -----------------------------------------------------
    def _validate(self) -> None:  # noqa: B027 - optional hook, default: nothing to check
        """Check parameters; raise InterpolationError naming the bad one."""

    def _fit(self) -> None:  # noqa: B027 - optional hook
        """Compute fitted state from ``xy_``, ``values_`` and ``drift_``."""

    @abc.abstractmethod
    def _weights(self, xy: np.ndarray, drift: np.ndarray | None) -> Any:
        """Return the ``(M, N)`` weight matrix for validated points."""

    def _predict(self, xy: np.ndarray, drift: np.ndarray | None) -> np.ndarray:
        return np.asarray(self._weights(xy, drift) @ self.values_).reshape(-1)
