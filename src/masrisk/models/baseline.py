"""The logistic baseline: median-imputed, standardised numerics and one-hot categoricals.

It is fitted with scikit-learn (:func:`make_baseline`) and then kept as plain numbers
(:class:`LogisticBaseline`): what a bundle stores, predicts with and explains with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

__all__ = ["LogisticBaseline", "make_baseline"]

#: The baseline's numeric fields: names, then a number per name for each.
_NUMERIC = ("numeric", "medians", "means", "scales", "numeric_coef")


@dataclass(frozen=True)
class LogisticBaseline:
    """The fitted logistic baseline as plain numbers: what a bundle stores, and predicts with.

    Numeric features are imputed by their training median and standardised; each categorical
    feature adds the coefficient of its category (none for a category unseen in training).
    """

    numeric: tuple[str, ...]
    medians: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    numeric_coef: tuple[float, ...]
    categorical: dict[str, tuple[str, ...]]
    categorical_coef: dict[str, tuple[float, ...]]
    intercept: float

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline) -> LogisticBaseline:
        """Read the numbers out of a pipeline made by :func:`make_baseline` and fitted."""
        encode = pipeline.named_steps["encode"]
        coef = pipeline.named_steps["model"].coef_[0]
        numeric_steps = encode.named_transformers_["numeric"]
        numeric = tuple(encode.transformers_[0][2])
        categorical_columns = list(encode.transformers_[1][2])
        start = len(numeric)
        categorical, categorical_coef = {}, {}
        if categorical_columns:
            onehot = encode.named_transformers_["categorical"]
            for column, categories in zip(categorical_columns, onehot.categories_, strict=True):
                categorical[column] = tuple(str(c) for c in categories)
                categorical_coef[column] = tuple(map(float, coef[start : start + len(categories)]))
                start += len(categories)
        return cls(
            numeric=numeric,
            medians=tuple(map(float, numeric_steps.named_steps["impute"].statistics_)),
            means=tuple(map(float, numeric_steps.named_steps["scale"].mean_)),
            scales=tuple(map(float, numeric_steps.named_steps["scale"].scale_)),
            numeric_coef=tuple(map(float, coef[: len(numeric)])),
            categorical=categorical,
            categorical_coef=categorical_coef,
            intercept=float(pipeline.named_steps["model"].intercept_[0]),
        )

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Return each row's terms of the linear predictor, one column per column of ``X``.

        A numeric feature's term is ``coef * (x - mean) / scale`` (its Shapley value, with the
        training distribution as the reference; a missing value takes the training median), a
        categorical feature's the coefficient of the row's category (0 when missing or unseen).
        A column of ``X`` the baseline does not use has 0. With :attr:`intercept`, a row's
        terms sum to its log-odds.
        """
        columns = list(X.columns)
        out = np.zeros((len(X), len(columns)))
        numeric = X[list(self.numeric)].to_numpy(dtype="float64")
        numeric = np.where(np.isnan(numeric), np.asarray(self.medians), numeric)
        terms = (numeric - np.asarray(self.means)) / np.asarray(self.scales)
        out[:, [columns.index(c) for c in self.numeric]] = terms * np.asarray(self.numeric_coef)
        for column, categories in self.categorical.items():
            codes = _category_codes(X[column], categories)
            coef = np.append(np.asarray(self.categorical_coef[column]), 0.0)
            out[:, columns.index(column)] = coef[codes]
        return out

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Return the log-odds of each row: its :meth:`contributions` and the intercept."""
        return self.contributions(X).sum(axis=1) + self.intercept

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe description."""
        return {
            **{name: list(getattr(self, name)) for name in _NUMERIC},
            # a list, not a mapping: the order of the sum must survive sorted JSON keys
            "categorical": [
                {"column": k, "categories": list(v), "coef": list(self.categorical_coef[k])}
                for k, v in self.categorical.items()
            ],
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogisticBaseline:
        """Rebuild from :meth:`to_dict`."""
        return cls(
            **{name: tuple(data[name]) for name in _NUMERIC},
            categorical={c["column"]: tuple(c["categories"]) for c in data["categorical"]},
            categorical_coef={c["column"]: tuple(c["coef"]) for c in data["categorical"]},
            intercept=float(data["intercept"]),
        )


def make_baseline(X: pd.DataFrame, *, random_state: int = 0) -> Pipeline:
    """Return the logistic baseline: imputed, standardised numerics and one-hot categoricals."""
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in X.columns if c not in categorical]
    impute = SimpleImputer(strategy="median", keep_empty_features=True)
    scaled = Pipeline([("impute", impute), ("scale", StandardScaler())])
    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    encode = ColumnTransformer([("numeric", scaled, numeric), ("categorical", onehot, categorical)])
    model = LogisticRegression(C=1.0, max_iter=2000, random_state=random_state)
    return Pipeline([("encode", encode), ("model", model)])


def _category_codes(values: pd.Series, categories: Sequence[str]) -> np.ndarray:
    """Return each value's position among ``categories`` (as text), -1 when missing or unseen."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # look the categories up, not the rows
        lut = pd.Index(categories).get_indexer(values.cat.categories.astype("str"))
        return np.append(lut, -1)[values.cat.codes.to_numpy()]
    return pd.Categorical(values.astype("str").where(values.notna()), categories).codes
