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
    "UnseenCategoryWarning",
    "binary_labels",
    "check_features",
    "frame_specs",
    "input_error",
]


class UnseenCategoryWarning(UserWarning):
    """Categorical values unseen in training were scored as missing."""


def check_features(X: pd.DataFrame, specs: Sequence[FeatureSpec]) -> pd.DataFrame:
    """Return the features of ``X`` described by ``specs``, in order, checked.

    Categorical features get their training categories: values given as text (Parquet or
    CSV can hand categoricals back so) are read as those categories, and values unseen in
    training are scored as missing, with an :class:`UnseenCategoryWarning`.

    Raises
    ------
    masrisk.ValidationError
        Naming every feature that ``X`` lacks, or a numeric feature that it holds as text.
    """
    names = [spec.name for spec in specs]
    columns = getattr(X, "columns", None)
    if columns is None:
        raise input_error("X", f"must be a pandas DataFrame of features, not {type(X).__name__}")
    missing = [c for c in names if c not in columns]
    if missing:
        detail = f"{len(missing)} of {len(names)}: {', '.join(missing)}"
        raise input_error(
            "features", "features of the model are missing from the data", missing, detail
        )
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
        counts = ", ".join(f"{name}: {n:,}" for name, n in unseen.items())
        warnings.warn(
            f"categories unseen in training were scored as missing ({counts})",
            UnseenCategoryWarning,
            stacklevel=3,
        )
    return X.assign(**aligned) if aligned else X


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
