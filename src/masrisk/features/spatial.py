"""Spatial statistics for territorial features: neighbours, smoothed rates, hot spots, distances.

Plain functions on numpy arrays aligned with the territories, each checkable by hand:
neighbours as sparse ``(n, n)`` matrices without self-loops (:func:`adjacency_weights`,
:func:`knn_neighbours`), Marshall's global and local empirical-Bayes rates (:func:`eb_rates`,
:func:`local_eb_rates`), :func:`spatial_lag`, the Getis-Ord :func:`gi_star` and
:func:`nearest_km`. Empty results are NaN, never a warning.

Examples
--------
>>> import numpy as np
>>> from masrisk.features.spatial import eb_rates
>>> observed, at_risk = np.array([1, 10, 0, 60]), np.array([10, 200, 5, 400])
>>> (observed / at_risk).round(3)
array([0.1 , 0.05, 0.  , 0.15])
>>> eb_rates(observed, at_risk).round(3)
array([0.114, 0.068, 0.108, 0.145])
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

__all__ = [
    "EARTH_RADIUS_KM",
    "adjacency_weights",
    "eb_rates",
    "gi_star",
    "knn_neighbours",
    "local_eb_rates",
    "nearest_km",
    "spatial_lag",
    "unit_vectors",
]

#: Mean radius of the Earth (IUGG), in kilometres.
EARTH_RADIUS_KM: float = 6371.0088


def unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Return the ``(n, 3)`` unit vectors of points given in degrees (WGS 84, on a sphere)."""
    lon = np.radians(np.asarray(lon, dtype="float64"))
    lat = np.radians(np.asarray(lat, dtype="float64"))
    cos_lat = np.cos(lat)
    return np.column_stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)])


def nearest_km(
    lon: np.ndarray, lat: np.ndarray, to_lon: np.ndarray, to_lat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Great-circle distance from each point to the nearest of other points.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        The points, in degrees; a NaN coordinate gives a NaN distance.
    to_lon, to_lat : numpy.ndarray
        The points to reach, in degrees, without NaN.

    Returns
    -------
    km : numpy.ndarray
        float64 distances in kilometres (NaN when there is nothing to reach).
    nearest : numpy.ndarray
        int64 position of the nearest target, -1 where ``km`` is NaN.

    Examples
    --------
    >>> km, nearest = nearest_km([0.0], [0.0], [0.0, 5.0], [1.0, 5.0])
    >>> round(float(km[0]), 1), int(nearest[0])
    (111.2, 0)
    """
    points = unit_vectors(lon, lat)
    km = np.full(len(points), np.nan)
    nearest = np.full(len(points), -1, dtype="int64")
    ok = np.isfinite(points).all(axis=1)
    if len(to_lon) == 0 or not ok.any():
        return km, nearest
    # The nearest by chord on unit vectors is the nearest by arc: arc = 2 R asin(chord / 2).
    chord, found = cKDTree(unit_vectors(to_lon, to_lat)).query(points[ok], k=1)
    km[ok] = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(chord / 2.0, 1.0))
    nearest[ok] = found
    return km, nearest


def adjacency_weights(adjacency: pd.DataFrame, territory_ids: pd.Index) -> sparse.csr_array:
    """Spatial weights from an adjacency table, as given (not made symmetric).

    Parameters
    ----------
    adjacency : pandas.DataFrame
        ``territory_id``, ``neighbor_id`` and optionally ``weight`` (a missing weight is 1).
        Pairs of a territory with itself, pairs weighted 0 and ids not in ``territory_ids``
        are left out; of repeated pairs the first counts.
    territory_ids : pandas.Index
        The territories, in the order of the rows and columns of the result.

    Returns
    -------
    scipy.sparse.csr_array
        ``(n, n)`` float64 weights, row ``i`` holding the neighbours of territory ``i``.
    """
    pairs = adjacency.drop_duplicates(["territory_id", "neighbor_id"])
    rows = territory_ids.get_indexer(pairs["territory_id"])
    cols = territory_ids.get_indexer(pairs["neighbor_id"])
    weight = pairs.reindex(columns=["weight"]).to_numpy(dtype="float64", na_value=np.nan)[:, 0]
    weight = np.where(np.isnan(weight), 1.0, weight)
    keep = (rows >= 0) & (cols >= 0) & (rows != cols) & (weight > 0)
    n = len(territory_ids)
    return sparse.csr_array((weight[keep], (rows[keep], cols[keep])), shape=(n, n))


def knn_neighbours(lon: np.ndarray, lat: np.ndarray, k: int) -> sparse.csr_array:
    """Binary weights linking each point to its ``k`` nearest others, made symmetric.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Centroids in degrees; a point with a NaN coordinate has no neighbours.
    k : int
        Neighbours per point (fewer when there are fewer other points). The symmetric
        closure (``i ~ j`` when either is among the other's nearest) may give more.

    Returns
    -------
    scipy.sparse.csr_array
        ``(n, n)`` float64 matrix of ones and zeros, symmetric, with an empty diagonal.

    Examples
    --------
    >>> w = knn_neighbours([0.0, 0.1, 0.2, 5.0], [0.0, 0.0, 0.0, 0.0], k=1)
    >>> w.toarray().astype(int).tolist()
    [[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]]
    """
    if k < 1:
        raise ValueError(f"k_neighbors must be at least 1, got {k}")
    points = unit_vectors(lon, lat)
    n = len(points)
    ok = np.flatnonzero(np.isfinite(points).all(axis=1))
    k = min(k, len(ok) - 1)
    if k < 1:
        return sparse.csr_array((n, n), dtype="float64")
    _, found = cKDTree(points[ok]).query(points[ok], k=k + 1)
    found = found.reshape(len(ok), k + 1)
    others = found != np.arange(len(ok))[:, None]
    # Where duplicate points hid the point itself from its k + 1 nearest, drop the farthest.
    others[others.all(axis=1), -1] = False
    rows = np.repeat(ok, k)
    cols = ok[found[others]]
    nearest = sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return ((nearest + nearest.T) > 0).astype("float64")


def _edges(neighbours: sparse.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each link of a binary neighbourhood, and ``i ~ i`` for every ``i``."""
    coo = sparse.coo_array(neighbours)
    linked = coo.data != 0
    rows, cols = coo.row[linked], coo.col[linked]
    keep = rows != cols
    every = np.arange(neighbours.shape[0])
    return np.concatenate([every, rows[keep]]), np.concatenate([every, cols[keep]])


def _shrink(
    rate: np.ndarray, at_risk: np.ndarray, mean: np.ndarray, variance: np.ndarray
) -> np.ndarray:
    """Marshall's estimate ``w r + (1 - w) m`` with ``w = A / (A + m / n)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sampling = np.where(at_risk > 0, mean / at_risk, np.inf)
        weight = np.where(variance > 0, variance / (variance + sampling), 0.0)
        weight = np.where(np.isfinite(weight), weight, 0.0)
    smoothed = mean + weight * np.where(at_risk > 0, rate - mean, 0.0)
    return np.where(np.isnan(mean), np.nan, smoothed)


def _raw_rates(observed: np.ndarray, at_risk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    observed = np.asarray(observed, dtype="float64")
    at_risk = np.asarray(at_risk, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(at_risk > 0, observed / at_risk, np.nan)
    return rate, at_risk


def eb_rates(observed: np.ndarray, at_risk: np.ndarray) -> np.ndarray:
    """Global empirical-Bayes rates (Marshall 1991, method of moments).

    Parameters
    ----------
    observed, at_risk : numpy.ndarray
        Persons with the outcome and persons at risk, per territory.

    Returns
    -------
    numpy.ndarray
        float64 ``w_i r_i + (1 - w_i) m``: each raw rate ``r_i = O_i / n_i`` shrunk toward
        ``m = sum(O) / sum(n)`` with ``w_i = A / (A + m / n_i)``, where ``A = max(s2 - m /
        n_bar, 0)``, ``s2 = sum(n_i (r_i - m)^2) / sum(n)`` and ``n_bar`` is the mean ``n_i``
        over territories with persons at risk. Without persons at risk a territory gets
        ``m``; all are NaN when nobody is at risk.

    References
    ----------
    R. J. Marshall (1991). Mapping disease and mortality rates using empirical Bayes
    estimators. *Applied Statistics* 40(2): 283-294.
    """
    rate, at_risk = _raw_rates(observed, at_risk)
    counted = at_risk > 0
    total = at_risk[counted].sum()
    if total == 0:
        return np.full(len(rate), np.nan)
    mean = np.asarray(observed, dtype="float64")[counted].sum() / total
    spread = (at_risk[counted] * (rate[counted] - mean) ** 2).sum() / total
    variance = max(spread - mean / (total / counted.sum()), 0.0)
    return _shrink(rate, at_risk, np.full(len(rate), mean), np.full(len(rate), variance))


def local_eb_rates(
    observed: np.ndarray, at_risk: np.ndarray, neighbours: sparse.sparray
) -> np.ndarray:
    """Local (spatial) empirical-Bayes rates (Marshall 1991).

    As :func:`eb_rates`, with the mean ``m_i`` and the variance ``A_i`` computed over the
    neighbourhood of territory ``i``: itself and its neighbours (any nonzero weight links).

    Parameters
    ----------
    observed, at_risk : numpy.ndarray
        Persons with the outcome and persons at risk, per territory.
    neighbours : scipy.sparse array
        ``(n, n)`` spatial weights; only which entries are nonzero matters.

    Returns
    -------
    numpy.ndarray
        float64 smoothed rates; NaN where the neighbourhood has nobody at risk.
    """
    rate, at_risk = _raw_rates(observed, at_risk)
    observed = np.nan_to_num(rate * at_risk)
    rows, cols = _edges(neighbours)
    n = len(rate)
    total = np.bincount(rows, at_risk[cols], minlength=n)
    counted = np.bincount(rows, at_risk[cols] > 0, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(total > 0, np.bincount(rows, observed[cols], minlength=n) / total, np.nan)
        deviation = np.where(at_risk[cols] > 0, rate[cols] - mean[rows], 0.0)
        spread = np.bincount(rows, at_risk[cols] * deviation**2, minlength=n) / total
        variance = np.maximum(spread - mean / (total / counted), 0.0)
    return _shrink(rate, at_risk, mean, variance)


def spatial_lag(values: np.ndarray, weights: sparse.sparray) -> np.ndarray:
    """Row-standardised weighted mean of the neighbours' values, the territory left out.

    Neighbours with a NaN value are left out (their weight too); a territory without
    neighbours, or whose neighbours are all NaN, gets NaN.

    Examples
    --------
    >>> from scipy import sparse
    >>> chain = sparse.csr_array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float)
    >>> spatial_lag(np.array([1.0, 2.0, 4.0]), chain).tolist()
    [2.0, 2.5, 2.0]
    """
    values = np.asarray(values, dtype="float64")
    coo = sparse.coo_array(weights)
    off = coo.row != coo.col
    weights = sparse.csr_array(
        (coo.data[off].astype("float64"), (coo.row[off], coo.col[off])), shape=coo.shape
    )
    known = ~np.isnan(values)
    total = weights @ known.astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, (weights @ np.where(known, values, 0.0)) / total, np.nan)


def gi_star(values: np.ndarray, neighbours: sparse.sparray) -> np.ndarray:
    """Getis-Ord Gi* z-scores, binary weights with the territory itself included.

    Parameters
    ----------
    values : numpy.ndarray
        One value per territory; NaN values are left out of every sum (and get NaN).
    neighbours : scipy.sparse array
        ``(n, n)`` spatial weights; only which entries are nonzero matters.

    Returns
    -------
    numpy.ndarray
        float64 z-scores, high where a territory and its neighbours have high values; NaN
        where undefined (fewer than 2 values, all equal, a territory linked to all others).

    Notes
    -----
    With ``w_ij`` = 1 for ``j`` = ``i`` and its neighbours, ``W_i = sum_j w_ij``, the mean
    ``x_bar`` and ``S = sqrt(sum(x^2) / n - x_bar^2)`` over the ``n`` values (Ord & Getis
    1995, eq. 14)::

        Gi* = (sum_j w_ij x_j - x_bar W_i) / (S sqrt((n sum_j w_ij^2 - W_i^2) / (n - 1)))

    References
    ----------
    J. K. Ord and A. Getis (1995). Local spatial autocorrelation statistics: distributional
    issues and an application. *Geographical Analysis* 27(4): 286-306.
    """
    values = np.asarray(values, dtype="float64")
    known = ~np.isnan(values)
    n = int(known.sum())
    result = np.full(len(values), np.nan)
    if n < 2:
        return result
    rows, cols = _edges(neighbours)
    linked = known[cols]
    rows, cols = rows[linked], cols[linked]
    x = values[known]
    mean, scale = x.mean(), x.std()  # scale: S = sqrt(sum(x^2) / n - x_bar^2)
    if scale <= 1e-12 * np.abs(x).max():
        return result  # all values equal: no hot or cold spots
    size = np.bincount(rows, minlength=len(values)).astype("float64")  # W_i = sum w^2
    local = np.bincount(rows, values[cols], minlength=len(values))
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = scale * np.sqrt((n * size - size**2) / (n - 1))
        z = (local - mean * size) / spread
    result[known] = np.where(np.isfinite(z) & (spread > 0), z, np.nan)[known]
    return result
