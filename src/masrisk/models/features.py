"""The one check of a model's input: feature names, dtypes and categories, and 0/1 labels.

:class:`~masrisk.models.RiskModel` records its features at fit (:func:`frame_specs`) and
checks every frame it predicts on against them (:func:`check_features`); a bundle's model is
the same estimator, so a bundle checks its input the same way.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import type_of_target

from masrisk.exceptions import Problem, ValidationError
from masrisk.models.facts import FeatureSpec, feature_specs

__all__ = [
    "OPTIONAL_SOURCES",
    "MissingFeatureWarning",
    "UnseenCategoryWarning",
    "binary_labels",
    "check_features",
    "frame_specs",
    "input_error",
]


#: Features made only when an optional column of the data contract is given, and that column.
#: A model trained with one scores data without the column with the feature missing (NaN:
#: LightGBM's missing branch, the baseline's imputation) and a :class:`MissingFeatureWarning`.
OPTIONAL_SOURCES: dict[str, str] = {
    "ind_regime": "persons.regime",
    "ind_insurer": "persons.insurer",
    "ind_disability": "persons.disability",
}


class UnseenCategoryWarning(UserWarning):
    """Categorical values unseen in training were scored as missing.

    ``counts`` holds the rows of each feature that had an unseen value, ``rows`` the rows
    checked, so that a caller checking in parts can sum them.
    """

    def __init__(self, message: str, counts: dict[str, int] | None = None, rows: int = 0):
        super().__init__(message)
        self.counts, self.rows = dict(counts or {}), rows


class MissingFeatureWarning(UserWarning):
    """Features of the model whose optional source column the data lack were scored as missing.

    ``features`` maps each such feature to its source column (:data:`OPTIONAL_SOURCES`),
    ``rows`` the rows scored.
    """

    def __init__(self, message: str, features: dict[str, str] | None = None, rows: int = 0):
        super().__init__(message)
        self.features, self.rows = dict(features or {}), rows


def check_features(X: pd.DataFrame, specs: Sequence[FeatureSpec]) -> pd.DataFrame:
    """Return the features of ``X`` described by ``specs``, in order, checked.

    Categorical features get their training categories: values given as text (Parquet or
    CSV can hand categoricals back so) are read as those categories, and values unseen in
    training are scored as missing, with an :class:`UnseenCategoryWarning` giving each
    feature's count and share of rows. A feature made only from an optional column of the
    data contract (:data:`OPTIONAL_SOURCES`) that ``X`` lacks is scored as missing for every
    row, with a :class:`MissingFeatureWarning` naming the column.

    Raises
    ------
    masrisk.ValidationError
        Naming every other feature that ``X`` lacks, or a numeric feature held as text.
    """
    names = [spec.name for spec in specs]
    columns = getattr(X, "columns", None)
    if columns is None:
        raise input_error("X", f"must be a pandas DataFrame of features, not {type(X).__name__}")
    absent = [c for c in names if c not in columns]
    missing = [c for c in absent if c not in OPTIONAL_SOURCES]
    if missing:
        detail = f"{len(missing)} of {len(names)}: {', '.join(missing)}"
        raise input_error(
            "features", "features of the model are missing from the data", missing, detail
        )
    if absent:
        X = X.assign(**_all_missing(X.index, [s for s in specs if s.name in absent]))
        _warn_absent({name: OPTIONAL_SOURCES[name] for name in absent}, len(X))
    X = X[names]
    aligned, unseen = {}, {}
    for spec in specs:
        column = X[spec.name]
        if spec.categories is None and not _numeric(column.dtype):
            raise input_error(spec.name, f"must be numeric ({spec.dtype}), got {column.dtype}")
        if spec.categories is None or (
            isinstance(column.dtype, pd.CategoricalDtype)
            and list(column.cat.categories) == spec.categories
        ):
            continue
        values = column.astype("str").where(column.notna())
        known = values.isna() | values.isin(spec.categories)
        if not known.all():
            unseen[spec.name] = int((~known).sum())
        aligned[spec.name] = pd.Categorical(values.where(known), categories=spec.categories)
    if unseen:
        warnings.warn(unseen_warning(unseen, len(X)), stacklevel=3)
    return X.assign(**aligned) if aligned else X


def unseen_warning(counts: dict[str, int], rows: int) -> UnseenCategoryWarning:
    """Return the warning of ``counts`` rows per feature, of ``rows``, with unseen categories."""
    shown = ", ".join(
        f"{name}: {n:,} of {rows:,} ({n / max(rows, 1):.0%})" for name, n in counts.items()
    )
    return UnseenCategoryWarning(
        f"categories unseen in training were scored as missing ({shown})", counts, rows
    )


def absent_warning(features: dict[str, str], rows: int) -> MissingFeatureWarning:
    """Return the warning of model ``features`` (to their source column) absent from the data."""
    shown = "; ".join(f"{source} (feature {name})" for name, source in features.items())
    return MissingFeatureWarning(
        f"the data lack the optional column {shown}: scored as missing for all {rows:,} "
        "persons (100%); the model was trained with it, so their risks are less precise",
        features,
        rows,
    )


def _warn_absent(features: dict[str, str], rows: int) -> None:
    warnings.warn(absent_warning(features, rows), stacklevel=4)


def _all_missing(index: pd.Index, specs: Sequence[FeatureSpec]) -> dict[str, Any]:
    """Columns of missing values with each spec's dtype (categories, or float32)."""
    n = len(index)
    return {
        s.name: (
            pd.Categorical([None] * n, categories=s.categories)
            if s.categories is not None
            else np.full(n, np.nan, dtype="float32")
        )
        for s in specs
    }


def frame_specs(X: Any, name: str) -> list[FeatureSpec]:
    """Return the feature specs of a frame (pandas or Dask), which must have named columns."""
    dtypes = getattr(X, "dtypes", None)
    if not isinstance(dtypes, pd.Series) or not all(isinstance(c, str) for c in dtypes.index):
        raise input_error(name, f"must be a DataFrame with named columns, not {type(X).__name__}")
    specs = feature_specs(X._meta if hasattr(X, "_meta") else X.iloc[:0])
    text = [s.name for s in specs if s.categories is None and not _numeric(dtypes[s.name])]
    if text:
        raise input_error(name, "features must be numeric, boolean or categorical", text)
    return specs


def _numeric(dtype: Any) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def input_error(
    where: str, rule: str, examples: Sequence[str] = (), detail: str = ""
) -> ValidationError:
    """Return the ValidationError of one problem of a model's input, at ``where``."""
    return ValidationError(
        [Problem(where, None, rule, examples=tuple(examples[:5]), detail=detail)]
    )


def binary_labels(y: Any, name: str) -> np.ndarray:
    """Return 0/1 labels as an int8 array, or raise naming ``name``."""
    values = np.asarray(y)
    if values.ndim != 1 or not np.isin(values, (0, 1)).all():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # it casts NaN and infinity with a warning
            try:
                kind = type_of_target(values)
            except ValueError:
                kind = "non-finite"
        detail = "Only binary classification is supported." if kind == "multiclass" else ""
        got = f"{kind} labels" if kind != "binary" else f"the labels {np.unique(values).tolist()}"
        raise input_error(name, f"must be a 1-D array of 0/1 labels, got {got}", detail=detail)
    if not len(values) or values.min() == values.max():
        raise input_error(name, "holds only one class; both outcomes must occur")
    return values.astype("int8")
