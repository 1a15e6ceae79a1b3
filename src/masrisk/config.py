"""Typed configuration read from ``configs/*.yaml``.

A configuration is validated on load: an unknown key or a bad value raises
:class:`~masrisk.exceptions.ConfigError` naming the key (``outcomes.mortality_12m.kinds``).
The two shipped configurations are reached by name, ``load_config("bogota")``.

Examples
--------
>>> from masrisk import load_config
>>> config = load_config("bogota")
>>> sorted(config.outcomes)
['cardiovascular_12m', 'emergency_12m', 'hospitalization_12m', 'mortality_12m']
>>> config.outcomes["cardiovascular_12m"].codes
('I20-I25', 'I60-I69')
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from masrisk.codes import EVENT_KINDS
from masrisk.exceptions import ConfigError

__all__ = [
    "BUNDLED_CONFIGS",
    "CapacityConfig",
    "Config",
    "OutcomeConfig",
    "PhasesConfig",
    "PlanningConfig",
    "PriorityConfig",
    "StrictModel",
    "TiersConfig",
    "config_path",
    "describe_validation_error",
    "load_config",
    "read_yaml",
    "shipped_file",
]

#: Names of the configurations shipped with masrisk.
BUNDLED_CONFIGS: tuple[str, ...] = ("bogota", "mexico")

_ICD10 = r"[A-Z][0-9]{2}(?:\.?[0-9A-Z]{1,2})?"
_ICD10_CODE_OR_RANGE = re.compile(rf"^{_ICD10}(?:-{_ICD10})?$")


class StrictModel(BaseModel):
    """The base of masrisk's settings: unknown keys refused, frozen, text stripped."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class OutcomeConfig(StrictModel):
    """Definition of one binary outcome.

    A person's label at ``as_of`` is 1 when one of their events of a listed ``kind`` (and,
    if ``codes`` is given, with an ICD-10 code in one of the codes or ranges) falls in
    ``[as_of, as_of + horizon_days)``.
    """

    kinds: tuple[str, ...] = Field(min_length=1)
    codes: tuple[str, ...] | None = None
    horizon_days: int = Field(default=365, gt=0, le=3650)
    description: str = ""

    @field_validator("codes")
    @classmethod
    def _codes_are_icd10(cls, codes: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if codes is None:
            return None
        if not codes:
            raise ValueError("give at least one code, or leave `codes` out")
        bad = [c for c in codes if not _ICD10_CODE_OR_RANGE.match(c.upper())]
        if bad:
            raise ValueError(f"not ICD-10 codes or ranges such as 'I20-I25': {bad}")
        return tuple(c.upper() for c in codes)


class TiersConfig(StrictModel):
    """Cut-offs of the risk pyramid (in the manner of Kaiser Permanente's).

    With ``method="percentile"`` the values are shares of the scored population: the top
    ``case_management`` share, then the next ``disease_management`` share; the rest is
    promotion and prevention. With ``method="absolute"`` they are risks: case management at
    or above ``case_management``, disease management at or above ``disease_management``.
    """

    method: Literal["percentile", "absolute"] = "percentile"
    case_management: float = Field(default=0.03, gt=0, lt=1)
    disease_management: float = Field(default=0.17, gt=0, lt=1)

    @model_validator(mode="after")
    def _cut_offs_are_ordered(self) -> TiersConfig:
        if self.method == "percentile" and self.case_management + self.disease_management >= 1:
            raise ValueError("case_management + disease_management must leave a share below 1")
        if self.method == "absolute" and self.case_management <= self.disease_management:
            raise ValueError("case_management's risk must be above disease_management's")
        return self


class PriorityConfig(StrictModel):
    """Weights of a territory's priority score: burden, deprivation (z-scores), rurality (0/1)."""

    burden: float = Field(default=1.0, ge=0)
    deprivation: float = Field(default=0.3, ge=0)
    rurality: float = Field(default=0.3, ge=0)


class PhasesConfig(StrictModel):
    """Rollout phases of the territories, in priority order.

    Phase 1 holds the highest-priority share ``first_share`` of the units (territories, or
    districts with ``group_by="district"``) and, with ``rural_first``, every rural territory -
    as in Bogotá, whose first phase was 696 of 1,170 urban sectors plus the rural area. The
    other units are split evenly, in priority order, into phases 2 to ``count``.
    """

    count: int = Field(default=3, ge=1, le=10)
    first_share: float = Field(default=0.595, gt=0, le=1)
    rural_first: bool = True
    group_by: Literal["territory", "district"] = "territory"


class CapacityConfig(StrictModel):
    """Team-hours available over the plan's period, per district (``territories.district``).

    ``districts`` gives a district's hours by name; the others get ``hours_per_1000`` per
    1,000 persons scored in it. Without a ``district`` column the population is one district.
    """

    hours_per_1000: float = Field(default=800.0, gt=0)
    districts: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)


class PlanningConfig(StrictModel):
    """How scores become plans: catalogue, capacity, households, priorities and phases.

    Parameters
    ----------
    catalog : str
        The interventions catalogue: ``"default"`` (shipped) or a YAML path.
    capacity : CapacityConfig
    priority : PriorityConfig
    phases : PhasesConfig
    home_visit_hours : float
        Team-hours of a home visit to a household of one (travel included).
    home_visit_hours_per_member : float
        Hours added per further member.
    home_visit_rrr : float
        Relative reduction of each member's risk that a home visit brings (conservative).
    equity_weight : float
        Households' priority is multiplied by ``1 + equity_weight * deprivation score``.
    priority_households : int
        Households listed per territory, in visiting order.
    drivers : int
        Top drivers listed per territory.
    suppress_below : int
        Public pages show counts below this as "<n".
    mip_gap, time_limit_s : float
        Stopping rule of the capacity allocation (relative gap, seconds).
    """

    catalog: str = "default"
    capacity: CapacityConfig = CapacityConfig()
    priority: PriorityConfig = PriorityConfig()
    phases: PhasesConfig = PhasesConfig()
    home_visit_hours: float = Field(default=1.5, gt=0)
    home_visit_hours_per_member: float = Field(default=0.25, ge=0)
    home_visit_rrr: float = Field(default=0.05, gt=0, lt=1)
    equity_weight: float = Field(default=0.5, ge=0)
    priority_households: int = Field(default=20, ge=0)
    drivers: int = Field(default=5, ge=0)
    suppress_below: int = Field(default=5, ge=1)
    mip_gap: float = Field(default=0.01, ge=0, lt=1)
    time_limit_s: float = Field(default=30.0, gt=0)


class Config(StrictModel):
    """A masrisk configuration: outcomes, tiers and planning.

    Parameters
    ----------
    profile : str
        Name of the population profile (``"bogota"``, ``"mexico"`` or your own).
    outcomes : dict of str to OutcomeConfig
        The outcomes that can be trained and scored, by name.
    extra_event_kinds : tuple of str
        Event kinds accepted beside the built-in ones of the data contract.
    tiers : TiersConfig
        Cut-offs of the risk pyramid used when scoring.
    planning : PlanningConfig
        How scores become plans per community.
    columns : dict of str to dict of str to str
        Users' own column names, read as the contract's when data are read: table ->
        {their name: contract name}, e.g. ``{"persons": {"sexo": "sex"}}``
        (:mod:`masrisk.schema.columns`; unknown tables and columns are refused there).
    """

    profile: str
    outcomes: dict[str, OutcomeConfig] = Field(min_length=1)
    extra_event_kinds: tuple[str, ...] = ()
    tiers: TiersConfig = TiersConfig()
    planning: PlanningConfig = PlanningConfig()
    columns: dict[str, dict[str, str]] = {}

    @field_validator("outcomes")
    @classmethod
    def _outcome_names_are_identifiers(cls, outcomes: dict[str, OutcomeConfig]) -> dict:
        bad = [name for name in outcomes if not re.fullmatch(r"[a-z][a-z0-9_]*", name)]
        if bad:
            raise ValueError(f"outcome names must be lowercase identifiers: {bad}")
        return outcomes

    @model_validator(mode="after")
    def _outcome_kinds_are_known(self) -> Config:
        known = {*EVENT_KINDS, *self.extra_event_kinds}
        problems = [
            f"outcomes.{name}.kinds: unknown kind {kind!r} (known: {', '.join(sorted(known))})"
            for name, outcome in self.outcomes.items()
            for kind in outcome.kinds
            if kind not in known
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def event_kinds(self) -> tuple[str, ...]:
        """All event kinds accepted in the data: the built-in ones and the extra ones."""
        return tuple(dict.fromkeys([*EVENT_KINDS, *self.extra_event_kinds]))


def config_path(name: str) -> Path:
    """Return the path of a shipped configuration by name (``"bogota"`` or ``"mexico"``)."""
    if name not in BUNDLED_CONFIGS:
        raise ConfigError(f"no shipped configuration {name!r}; choose one of {BUNDLED_CONFIGS}")
    return shipped_file(f"{name}.yaml")


def shipped_file(filename: str) -> Path:
    """Return the path of a file of the shipped ``configs/`` (installed, or of the checkout).

    Raises
    ------
    masrisk.ConfigError
        If the installation lacks it.
    """
    here = Path(__file__).resolve().parent
    for directory in (here / "configs", here.parents[1] / "configs"):
        if (directory / filename).is_file():
            return directory / filename
    raise ConfigError(f"the shipped configs/{filename} is missing from the installation")


def load_config(source: str | Path | dict[str, Any]) -> Config:
    """Read and validate a configuration.

    Parameters
    ----------
    source : str, pathlib.Path or dict
        A shipped configuration's name (``"bogota"``, ``"mexico"``), the path of a YAML
        file, or the configuration as a dictionary.

    Raises
    ------
    masrisk.ConfigError
        Naming every unknown key and bad value, with the file it came from.
    """
    data, where = source, None
    if not isinstance(source, dict):
        path = config_path(str(source)) if str(source) in BUNDLED_CONFIGS else Path(source)
        where = str(path)
        data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("the file must hold a mapping of keys to values", source=where)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc), source=where) from None


def read_yaml(path: Path) -> Any:
    """Read a YAML file, or raise :class:`~masrisk.ConfigError` saying why it cannot be read."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=str(path)) from None


def describe_validation_error(
    error: ValidationError, *, annotate: Callable[[tuple[str | int, ...]], str] | None = None
) -> list[str]:
    """Return one line per problem of a pydantic error, with the key and the value given.

    Keys read like ``outcomes.x.kinds`` or ``interventions[3].axis``; ``annotate(loc)`` may
    append a hint. A problem of the whole document (no key) keeps its own lines.
    """
    lines = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        if not item["loc"]:
            lines.extend(message.splitlines())
            continue
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        shown = item.get("input")
        got = "" if item["type"] == "missing" or isinstance(shown, dict) else f" (got {shown!r})"
        hint = annotate(item["loc"]) if annotate else ""
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"]).lstrip(".")
        lines.append(f"{key}: {message}{got}{hint}")
    return lines
