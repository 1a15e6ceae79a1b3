"""What a fitted model records of itself, typed: features, training facts, bundle metadata.

:class:`TrainingFacts` is a model's ``training_``; :class:`BundleMetadata` adds what the model
says of its choice and is a bundle's ``metadata.json``, field for field. Numbers have bounds,
names come from fixed sets: a bundle is data, not instructions. Both records also read as the
mapping they replace (``facts["lab_codes"]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import pydantic
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from masrisk.config import BUNDLED_CONFIGS
from masrisk.exceptions import ParameterError
from masrisk.models.calibration import CALIBRATIONS

__all__ = [
    "BOUNDS",
    "FORMAT_VERSION",
    "BundleMetadata",
    "FeatureSpec",
    "TrainingFacts",
    "check_bounded",
    "describe_problems",
    "feature_specs",
]

#: Bounds of every numeric option of a model: (type, lowest, highest), both included.
BOUNDS: dict[str, tuple[type, float, float]] = {
    "n_jobs": (int, 1, 64),
    "random_state": (int, 0, 2**32 - 1),
    "num_leaves": (int, 2, 131_072),
    "max_depth": (int, -1, 64),
    "learning_rate": (float, 1e-4, 1.0),
    "lambda_l2": (float, 0.0, 1e6),
    "trees": (int, 0, 100_000),
}

#: Version of the bundle layout; a bundle of another version is refused.
FORMAT_VERSION = 1


def check_bounded(name: str, value: Any) -> Any:
    """Return ``value`` if it is of the type and within the :data:`BOUNDS` of ``name``.

    Raises
    ------
    masrisk.exceptions.ParameterError
        Worded as scikit-learn words it: ``n_jobs must be an int in [1, 64], got 10``.

    Examples
    --------
    >>> check_bounded("n_jobs", 4)
    4
    """
    kind, low, high = BOUNDS[name]
    numbers = (int, np.integer) if kind is int else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, numbers) or not low <= value <= high:
        article = "an int" if kind is int else "a float"
        raise ParameterError(f"{name} must be {article} in [{low}, {high}], got {value!r}")
    return kind(value)


def describe_problems(error: pydantic.ValidationError) -> str:
    """Return a pydantic error as ``field: problem (got value)``, one per problem, on one line."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
        + ("" if e["type"] == "value_error" else f" (got {e.get('input')!r:.80})")
        for e in error.errors()
    )


def _bounded(name: str) -> Any:
    return BeforeValidator(partial(check_bounded, name))


def _known_version(version: int) -> int:
    if version != FORMAT_VERSION:
        raise ValueError(f"bundle format {version} is not {FORMAT_VERSION}")
    return version


class _Record(BaseModel):
    """A record that reads as the mapping it replaces: keys are the fields given."""

    model_config = ConfigDict(extra="allow")

    def keys(self) -> list[str]:
        """Return the names of the fields set, declared ones first."""
        declared = [k for k in type(self).model_fields if k in self.model_fields_set]
        return [*declared, *(self.__pydantic_extra__ or {})]

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def __iter__(self) -> Iterator[str]:  # type: ignore[override] - as a mapping iterates
        return iter(self.keys())

    def get(self, key: str, default: Any = None) -> Any:
        """Return the field ``key`` if it was set, else ``default``."""
        return getattr(self, key) if key in self.keys() else default

    def to_dict(self) -> dict[str, Any]:
        """Return the fields set, as JSON-ready Python values."""
        return self.model_dump(exclude_unset=True)


class FeatureSpec(_Record):
    """One feature column: its name, its dtype and, for a categorical, its categories."""

    name: str
    dtype: str
    categories: list[str] | None = None


class OutcomeDefinition(_Record):
    """The outcome a model predicts, as its configuration defined it."""

    name: str
    kinds: list[str] = Field(default_factory=list)
    codes: list[str] | None = None
    horizon_days: int | None = Field(default=None, gt=0, le=3650)
    description: str = ""


_Date = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
_Count = Annotated[int, Field(ge=0, le=10**10)]


class TrainingFacts(_Record):
    """The facts of a training that a bundle records; a fitted model's ``training_``.

    Parameters
    ----------
    features : list of FeatureSpec
        The training features, in order, with dtypes and categories.
    profile : str, optional
        The configuration profile trained with.
    outcome_definition : OutcomeDefinition, optional
    train_as_of, valid_as_of, data_end : str, optional
        The cut-offs and the date of the data's last event (ISO 8601).
    train_persons, train_events, valid_persons, valid_events : int, optional
        Persons present and persons with the outcome at each cut-off.
    lab_codes : list of str
        The lab codes the features describe.
    data_fingerprint : str, optional
        SHA-256 of the training features and labels.
    data_description : str, optional
        What the data are, in words.
    """

    features: list[FeatureSpec] = Field(min_length=1)
    profile: str | None = None
    outcome_definition: OutcomeDefinition | None = None
    train_as_of: _Date | None = None
    valid_as_of: _Date | None = None
    data_end: _Date | None = None
    train_persons: _Count | None = None
    train_events: _Count | None = None
    valid_persons: _Count | None = None
    valid_events: _Count | None = None
    lab_codes: list[str] = Field(default_factory=list)
    data_fingerprint: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    data_description: str | None = None

    @property
    def feature_names(self) -> list[str]:
        """The features' names, in order."""
        return [f.name for f in self.features]


class SearchRow(_Record):
    """One LightGBM complexity tried (its options within bounds) and how it validated."""

    num_leaves: Annotated[int, _bounded("num_leaves")] | None = None
    max_depth: Annotated[int, _bounded("max_depth")] | None = None
    learning_rate: Annotated[float, _bounded("learning_rate")] | None = None
    lambda_l2: Annotated[float, _bounded("lambda_l2")] | None = None

    trees: Annotated[int, _bounded("trees")]
    shap_cost: float = Field(ge=0)
    valid_logloss: float = Field(ge=0)
    valid_auc: float = Field(ge=0, le=1)


class ModelParams(_Record):
    """The options a bundle's model is rebuilt with."""

    model_config = ConfigDict(extra="forbid")

    calibration: Literal[CALIBRATIONS] = "sigmoid"  # type: ignore[valid-type]
    random_state: Annotated[int, _bounded("random_state")] = 0
    n_jobs: Annotated[int, _bounded("n_jobs")] = 2


class BundleMetadata(TrainingFacts):
    """A bundle's ``metadata.json``: the training facts and what the model says of itself.

    Parameters
    ----------
    format_version : int
        Version of the bundle layout.
    outcome : str
    chosen_model : {"lightgbm", "logistic_baseline"}
    choice_reason : str
    search : list of SearchRow
        The LightGBM complexities tried.
    params : ModelParams
        The model's options.
    packages : dict of str to str
        Versions of the packages the model was made with.
    profile : {"bogota", "mexico"} or None
        A shipped configuration profile only: the name is read as a configuration to load.
    """

    format_version: Annotated[int, AfterValidator(_known_version)]
    outcome: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    chosen_model: Literal["lightgbm", "logistic_baseline"]
    choice_reason: str = ""
    search: list[SearchRow] = Field(default_factory=list)
    params: ModelParams = Field(default_factory=ModelParams)
    packages: dict[str, str] = Field(default_factory=dict)
    profile: Literal[BUNDLED_CONFIGS] | None = None  # type: ignore[valid-type]


def feature_specs(X: pd.DataFrame) -> list[FeatureSpec]:
    """Describe each column of ``X``: name, dtype and, for categoricals, the categories."""
    return [
        FeatureSpec(name=str(name), dtype="category", categories=[str(c) for c in dtype.categories])
        if isinstance(dtype, pd.CategoricalDtype)
        else FeatureSpec(name=str(name), dtype=str(dtype))
        for name, dtype in X.dtypes.items()
    ]
