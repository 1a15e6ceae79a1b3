"""The interventions catalogue: what the teams can offer, to whom, at what cost and effect.

The shipped catalogue is ``configs/interventions.yaml`` (:func:`load_catalog`); a catalogue
covers every axis of care (:data:`AXES`), risk route (:data:`ROUTES`) and life-course stage.

Examples
--------
>>> from masrisk.planning import load_catalog
>>> catalog = load_catalog()
>>> len(catalog) >= 30
True
>>> screening = catalog["mammography_screening"]
>>> screening.sex, screening.min_age, screening.max_age, screening.requires_any
('F', 50, 69, ('ind_gap_mammography',))
>>> screening.required_columns
('ind_life_stage', 'ind_sex', 'ind_age', 'ind_gap_mammography')
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import pandas as pd
from pydantic import AfterValidator, Field, ValidationError, model_validator

from masrisk.codes import LIFE_COURSE_STAGES
from masrisk.config import StrictModel, describe_validation_error, read_yaml, shipped_file
from masrisk.exceptions import ConfigError
from masrisk.planning._catalog_checks import (
    _duplicate_names,
    _features,
    _subset,
    _uncovered,
    _which,
)
from masrisk.tiers import TIERS

__all__ = [
    "AXES",
    "ROUTES",
    "SETTINGS",
    "STAGES",
    "Intervention",
    "InterventionCatalog",
    "catalog_path",
    "load_catalog",
]

Axis = Literal[
    "promotion", "prevention", "diagnosis_treatment", "rehabilitation", "palliative_care"
]
Route = Literal[
    "general",
    "cardio_cerebrovascular_metabolic",
    "maternal_perinatal",
    "chronic_respiratory",
    "cancer",
    "mental_health_substance_use",
    "infectious",
    "child_nutrition_development",
    "older_adult_frailty",
]
Setting = Literal["home", "community", "primary_care", "specialist"]

#: The five axes of care (MAS-Bienestar), in the order of the programme's text.
AXES: tuple[str, ...] = get_args(Axis)
#: Risk routes, after Colombia's RIAS; ``general`` holds what is offered to everyone.
ROUTES: tuple[str, ...] = get_args(Route)
#: Where an intervention is delivered.
SETTINGS: tuple[str, ...] = get_args(Setting)
#: Life-course stages of the RIAS (:data:`masrisk.codes.LIFE_COURSE_STAGES`), youngest first.
STAGES: tuple[str, ...] = tuple(LIFE_COURSE_STAGES)

#: Columns of the persons table that eligibility reads (:mod:`masrisk.planning.eligibility_rules`).
STAGE_COLUMN, SEX_COLUMN, AGE_COLUMN, TIER_COLUMN = "ind_life_stage", "ind_sex", "ind_age", "tier"
#: A feature meets ``requires_any`` at or above this value (flags are 0/1, counts 0, 1, ...).
REQUIRES_THRESHOLD = 0.5
_CATALOG_FILE = "interventions.yaml"

_Stages = Annotated[tuple[str, ...], AfterValidator(partial(_subset, known=STAGES, what="stage"))]
_Tiers = Annotated[tuple[str, ...], AfterValidator(partial(_subset, known=TIERS, what="tier"))]
_Features = Annotated[tuple[str, ...], AfterValidator(_features)]


class Intervention(StrictModel):
    """One intervention of the catalogue: axis, route, setting, eligibility, cost and effect.

    Parameters
    ----------
    name, description : str
        Unique snake_case name (``"prenatal_control"``); one line, in English.
    axis, route, setting : str
        Axis of care (:data:`AXES`), risk route (:data:`ROUTES`, ``"general"`` for everyone)
        and where it is delivered (:data:`SETTINGS`).
    level_of_care : {1, 2, 3}
        Level of care that delivers it (Mexico's first, second and third levels).
    stages, tiers : tuple of str
        Eligible life-course stages and tiers (:data:`masrisk.tiers.TIERS`); all if left out.
    sex : {"F", "M"} or None
        Eligible sex; anyone when left out.
    min_age, max_age : int or None
        Eligible ages in completed years, both included.
    requires_any : tuple of str
        Features (:func:`masrisk.features.feature_catalog`) of which at least one must be 0.5
        or more: a condition, a care gap, a family situation; none when left out.
    hours_per_person, relative_risk_reduction : float
        Team-hours per person covered over the plan's 12 months, travel included, and the
        conservative reduction of the person's 12-month risk of the outcome, in (0, 0.5).
    min_coverage : float
        Share of eligible persons a territory must reach when the intervention is offered.
    source : str
        Short citation of the evidence behind ``relative_risk_reduction``.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    description: str = Field(min_length=1)
    axis: Axis
    route: Route
    setting: Setting
    level_of_care: int = Field(default=1, ge=1, le=3)
    stages: _Stages = STAGES
    sex: Literal["F", "M"] | None = None
    tiers: _Tiers = TIERS
    min_age: int | None = Field(default=None, ge=0, le=120)
    max_age: int | None = Field(default=None, ge=0, le=120)
    requires_any: _Features = ()
    hours_per_person: float = Field(gt=0, le=500)
    relative_risk_reduction: float = Field(gt=0, lt=0.5)
    min_coverage: float = Field(default=0.0, ge=0, le=1)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ages_fit_the_stages(self) -> Intervention:
        low = 0 if self.min_age is None else self.min_age
        high = 120 if self.max_age is None else self.max_age
        if low > high:
            raise ValueError(f"min_age ({low}) is above max_age ({high})")
        ages = [LIFE_COURSE_STAGES[stage] for stage in self.stages]
        if not any(first <= high and low <= last for first, last in ages):
            raise ValueError(
                f"no age in {low}-{high} falls in the stages {', '.join(self.stages)}, "
                "so nobody would be eligible"
            )
        return self

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns of the persons table that deciding this intervention's eligibility reads."""
        columns = [
            STAGE_COLUMN if self.stages != STAGES else None,
            SEX_COLUMN if self.sex is not None else None,
            TIER_COLUMN if self.tiers != TIERS else None,
            AGE_COLUMN if (self.min_age, self.max_age) != (None, None) else None,
            *self.requires_any,
        ]
        return tuple(c for c in columns if c is not None)

    def eligibility_text(self) -> str:
        """Say in a few words who is eligible (``"F, 50-69 y, with ind_gap_mammography"``)."""
        parts = [self.sex] if self.sex else []
        if self.max_age is not None:
            parts.append(f"{'' if self.min_age is None else self.min_age}-{self.max_age} y")
        elif self.min_age is not None:
            parts.append(f"{self.min_age}+ y")
        if self.stages != STAGES:
            parts.append("/".join(self.stages))
        if self.tiers != TIERS:
            parts.append("tier " + "/".join(self.tiers))
        if self.requires_any:
            parts.append("with " + " or ".join(self.requires_any))
        return ", ".join(parts) or "everyone"

    def summary(self) -> str:
        """Return a one-line summary: name, axis, route, setting, who, cost and effect.

        Examples
        --------
        >>> from masrisk.planning import load_catalog
        >>> print(load_catalog()["mammography_screening"].summary())
        mammography_screening: prevention, cancer, specialist (level 2); F, 50-69 y, ...
        """
        return (
            f"{self.name}: {self.axis}, {self.route}, {self.setting} (level {self.level_of_care});"
            f" {self.eligibility_text()}; {self.hours_per_person:g} h/person,"
            f" RRR {self.relative_risk_reduction:g}, min coverage {self.min_coverage:g}"
        )


class InterventionCatalog(StrictModel):
    """A validated catalogue of interventions, in the order they are shown.

    Names are unique, and the catalogue covers every axis (:data:`AXES`), every route
    (:data:`ROUTES`) and every life-course stage (:data:`STAGES`).
    """

    interventions: tuple[Intervention, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _is_complete(self) -> InterventionCatalog:
        items = self.interventions
        problems = [
            *_duplicate_names(items),
            *_uncovered("axis", AXES, {i.axis for i in items}),
            *_uncovered("route", ROUTES, {i.route for i in items}),
            *_uncovered("stage", STAGES, {s for i in items for s in i.stages}),
        ]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def __len__(self) -> int:
        return len(self.interventions)

    def __getitem__(self, name: str) -> Intervention:
        for intervention in self.interventions:
            if intervention.name == name:
                return intervention
        close = difflib.get_close_matches(name, self.names, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise KeyError(f"no intervention {name!r} in the catalogue{hint}")

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the interventions, in catalogue order."""
        return tuple(i.name for i in self.interventions)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns of the persons table that :func:`~masrisk.planning.eligibility` reads."""
        return tuple(dict.fromkeys(c for i in self.interventions for c in i.required_columns))

    def to_frame(self) -> pd.DataFrame:
        """Return one row per intervention, in catalogue order, for notebooks and documentation.

        The columns are the fields, with who is eligible in words (``eligible``) in place of
        ``description``, ``stages``, ``sex``, ``tiers``, the ages and ``requires_any``.

        Examples
        --------
        >>> from masrisk.planning import load_catalog
        >>> frame = load_catalog().to_frame()
        >>> list(frame.columns[:5])
        ['name', 'axis', 'route', 'setting', 'level_of_care']
        """
        hidden = ("description", "stages", "sex", "tiers", "min_age", "max_age", "requires_any")
        columns = [c for c in Intervention.model_fields if c not in hidden]
        rows = [
            [getattr(i, c) for c in columns] + [i.eligibility_text()] for i in self.interventions
        ]
        return pd.DataFrame(rows, columns=[*columns, "eligible"])

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)


def catalog_path() -> Path:
    """Return the path of the shipped catalogue, ``configs/interventions.yaml``."""
    return shipped_file(_CATALOG_FILE)


def load_catalog(source: str | Path | Mapping[str, Any] | None = None) -> InterventionCatalog:
    """Read and validate an interventions catalogue.

    ``source`` is ``None`` or ``"default"`` for the shipped ``configs/interventions.yaml``, the
    path of a YAML file, or the catalogue as a dictionary (``{"interventions": [...]}``). Raises
    :class:`masrisk.ConfigError` naming every bad key (``interventions[3].axis: ...``) and the
    file it came from.
    """
    where: str | None = None
    if isinstance(source, Mapping):
        data: Any = source
    else:
        path = catalog_path() if source is None or source == "default" else Path(source)
        where = str(path)
        data = read_yaml(path)
    if not isinstance(data, Mapping):
        raise ConfigError("the catalogue must be a mapping with the key `interventions`", where)
    try:
        return InterventionCatalog.model_validate(data)
    except ValidationError as exc:
        lines = describe_validation_error(exc, annotate=partial(_which, data=data))
        raise ConfigError(lines, source=where) from None
