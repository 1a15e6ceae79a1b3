"""The data contract: which tables and columns masrisk reads, and the ``Tables`` container.

This module only *describes* the contract; :mod:`masrisk.schema` reads and validates data
against it.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from masrisk.codes import EVENT_KINDS, MPI_INDICATORS
from masrisk.vocabulary import SEXES, ZONES

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CONTRACT", "DATE_RANGE", "ColumnSpec", "TableSpec", "Tables"]

ColumnKind = Literal["id", "ref", "date", "category", "integer", "number", "flag", "text"]

_INF = float("inf")
_FLOAT32_MAX = float(np.finfo("float32").max)

#: Dates outside this range (inclusive, ISO 8601) are typing mistakes, not history.
DATE_RANGE: tuple[str, str] = ("1850-01-01", "2200-01-01")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the contract, with the rules its values must meet.

    Parameters
    ----------
    name : str
        Column name, exactly as it must appear in the file.
    kind : {"id", "ref", "date", "category", "integer", "number", "flag", "text"}
        What the column holds: ``id`` the table's own, ``ref`` another table's, ``flag`` 0/1.
    required : bool
        Whether the column must be present (and, but for ids, have no missing value).
    references : str, optional
        For ``kind="ref"``: the table whose id this column points to.
    description : str
        What the column means, shown in the README and in errors.
    dtype : str, optional
        The dtype validation gives, when not the kind's (float64, int64, int8 for flags).
    bounds : (low, high), optional
        Inclusive bounds of a number, or of a date as ISO 8601 text.
    allowed : tuple, optional
        The values a category or an integer may take.
    extensible : bool
        Whether a config may add allowed values (event kinds: ``Config.extra_event_kinds``).
    violation : str
        The rule a value outside ``bounds`` or ``allowed`` breaks, when not the general one.
    """

    name: str
    kind: ColumnKind
    required: bool = False
    references: str | None = None
    description: str = ""
    dtype: str | None = None
    bounds: tuple[float, float] | tuple[str, str] | None = None
    allowed: tuple | None = None
    extensible: bool = False
    violation: str = ""

    def ranges(self) -> tuple[tuple[str, object, object], ...]:
        """Return ``(rule, low, high)`` per range the values must meet: ``bounds``, float32's."""
        ranges: list[tuple[str, object, object]] = []
        if self.bounds is not None:
            low, high = self.bounds
            if self.kind == "date":
                ranges.append((f"date out of range {low[:4]}-{high[:4]}", low, high))
            elif self.violation or low != 0:
                ranges.append((self.violation or f"outside {low:g} to {high:g}", low, high))
            else:
                ranges += [("negative", 0, _INF), (f"above {high:,}", -_INF, high)]
        if self.dtype == "float32":  # 1e300 would become inf
            rule = f"beyond the float32 range (±{_FLOAT32_MAX:.1e})"
            ranges.append((rule, -_FLOAT32_MAX, _FLOAT32_MAX))
        return tuple(ranges)


@dataclass(frozen=True)
class TableSpec:
    """One table of the contract: its columns, its id and whether it is required.

    ``either`` names columns of which at least one must be given; a column of them given
    alone must have no missing value.
    """

    name: str
    columns: tuple[ColumnSpec, ...]
    required: bool = True
    key: str | None = None
    description: str = ""
    either: tuple[str, ...] = ()

    def column(self, name: str) -> ColumnSpec | None:
        """Return the spec of column ``name``, or ``None`` if the contract does not name it."""
        return next((c for c in self.columns if c.name == name), None)


def _one_of(values: tuple[str, ...]) -> str:
    return " or ".join(map(repr, values)) + "."


_LON, _LAT = (-180.0, 180.0), (-90.0, 90.0)
_POSITIVE = (0.0, _INF)

_DEPRIVATION_COLUMNS = tuple(
    ColumnSpec(
        name,
        "flag",
        description=f"1 if the household is deprived in {name[4:]} (IPM dimension {dimension})",
    )
    for name, dimension in MPI_INDICATORS.items()
)


def _by_name(*tables: TableSpec) -> dict[str, TableSpec]:
    return {table.name: table for table in tables}


#: The six tables of the data contract, in the order their keys are referenced.
CONTRACT: dict[str, TableSpec] = _by_name(
    TableSpec(
        "territories",
        key="territory_id",
        description="Territorial units: cadastral sectors, areas of a health district.",
        columns=(
            ColumnSpec("territory_id", "id", True, description="Unique id."),
            ColumnSpec("zone", "category", True, description=_one_of(ZONES), allowed=ZONES),
            ColumnSpec(
                "population", "integer", True, description="Resident persons.", bounds=(0, 10**9)
            ),
            ColumnSpec("name", "text", description="Display name."),
            ColumnSpec("district", "text", description="Localidad or Distrito de Salud."),
            ColumnSpec(
                "area_km2", "number", description="Surface in square kilometres.", bounds=_POSITIVE
            ),
            ColumnSpec(
                "lon", "number", description="Longitude of the centroid (WGS 84).", bounds=_LON
            ),
            ColumnSpec(
                "lat", "number", description="Latitude of the centroid (WGS 84).", bounds=_LAT
            ),
            ColumnSpec("stratum", "number", description="Socio-economic stratum (1-6)."),
        ),
    ),
    TableSpec(
        "adjacency",
        required=False,
        description="Neighbouring territories; k nearest neighbours by lon/lat if absent.",
        columns=(
            ColumnSpec("territory_id", "ref", True, "territories"),
            ColumnSpec("neighbor_id", "ref", True, "territories"),
            ColumnSpec(
                "weight", "number", description="Spatial weight (default 1).", bounds=_POSITIVE
            ),
        ),
    ),
    TableSpec(
        "households",
        key="household_id",
        description="Households, with the deprivation flags of the poverty index.",
        columns=(
            ColumnSpec("household_id", "id", True, description="Unique id."),
            ColumnSpec("territory_id", "ref", True, "territories"),
            *_DEPRIVATION_COLUMNS,
        ),
    ),
    TableSpec(
        "persons",
        key="person_id",
        description="Persons: one row each, in one household.",
        either=("birth_date", "age"),
        columns=(
            ColumnSpec("person_id", "id", True, description="Unique id."),
            ColumnSpec("household_id", "ref", True, "households"),
            ColumnSpec(
                "birth_date",
                "date",
                description="Date of birth (or give `age`).",
                bounds=DATE_RANGE,
            ),
            ColumnSpec(
                "age",
                "number",
                description="Age in years at the last event date.",
                dtype="float32",
                bounds=(0, 120),
                violation="age outside 0-120",
            ),
            ColumnSpec("sex", "category", True, description=_one_of(SEXES), allowed=SEXES),
            ColumnSpec("insurer", "text", description="Insurer (EPS) or provider network."),
            ColumnSpec("regime", "text", description="Insurance regime."),
            ColumnSpec("pregnant", "flag", description="1 if pregnant at the data's end."),
            ColumnSpec("disability", "flag", description="1 if registered with a disability."),
        ),
    ),
    TableSpec(
        "events",
        description="Health events: visits, dispensations, labs, vaccines, screenings, deaths.",
        columns=(
            ColumnSpec("person_id", "ref", True, "persons"),
            ColumnSpec("date", "date", True, description="Date of the event.", bounds=DATE_RANGE),
            ColumnSpec(
                "kind",
                "category",
                True,
                description="One of the event kinds.",
                allowed=EVENT_KINDS,
                extensible=True,
            ),
            ColumnSpec("code", "category", description="ICD-10 code, or the lab/vaccine code."),
            ColumnSpec("value", "number", description="Numeric result (labs).", dtype="float32"),
            ColumnSpec(
                "product_code",
                "category",
                description="What was dispensed or done, as the source codes it (CUM, ATC, IUM, "
                "RxNorm, CUPS, ...); kept for the user, not used by the features.",
            ),
        ),
    ),
    TableSpec(
        "facilities",
        key="facility_id",
        required=False,
        description="Health facilities with their level of care.",
        columns=(
            ColumnSpec("facility_id", "id", True, description="Unique id."),
            ColumnSpec("lon", "number", True, description="Longitude (WGS 84).", bounds=_LON),
            ColumnSpec("lat", "number", True, description="Latitude (WGS 84).", bounds=_LAT),
            ColumnSpec(
                "level",
                "integer",
                True,
                description="Level of care: 1, 2 or 3.",
                dtype="int8",
                allowed=(1, 2, 3),
                violation="unknown facility level",
            ),
            ColumnSpec(
                "capacity",
                "number",
                description="Capacity, e.g. team-hours a week.",
                bounds=_POSITIVE,
            ),
            ColumnSpec("name", "text", description="Display name."),
            ColumnSpec("territory_id", "ref", references="territories"),
        ),
    ),
)


@dataclass(frozen=True)
class Tables:
    """The tables of one population, as pandas frames that meet the data contract.

    Build it with :func:`masrisk.load_tables` (from a data directory) or
    :meth:`Tables.from_frames` (from frames in memory); both validate. Dates are datetimes,
    ``kind``, ``code``, ``sex`` and ``zone`` are categoricals and ids are kept as given.

    Attributes
    ----------
    territories, households, persons, events : pandas.DataFrame
        The required tables.
    adjacency, facilities : pandas.DataFrame or None
        The optional tables, ``None`` when absent.
    """

    territories: pd.DataFrame
    households: pd.DataFrame
    persons: pd.DataFrame
    events: pd.DataFrame
    adjacency: pd.DataFrame | None = None
    facilities: pd.DataFrame | None = None

    @classmethod
    def from_frames(
        cls, frames: dict[str, pd.DataFrame], *, source: str | None = None, extra_kinds=()
    ) -> Tables:
        """Normalise dtypes of frames in memory, validate them and return ``Tables``.

        Parameters
        ----------
        frames : dict of str to pandas.DataFrame
            Keys are table names of the contract; optional tables may be left out.
        source : str, optional
            Where the frames came from, for error messages.
        extra_kinds : iterable of str
            Event kinds accepted beside the built-in ones.

        Raises
        ------
        masrisk.ValidationError
            Listing every problem found.
        """
        from masrisk.schema import normalize_and_validate

        return normalize_and_validate(frames, source=source, extra_kinds=extra_kinds)

    def items(self) -> Iterator[tuple[str, pd.DataFrame]]:
        """Yield ``(name, frame)`` for every table present, in contract order."""
        for name in CONTRACT:
            frame = getattr(self, name)
            if frame is not None:
                yield name, frame

    def person_places(self, persons: pd.Index) -> tuple[pd.Series, pd.Series]:
        """Return each person's ``household_id`` and ``territory_id``, indexed like ``persons``."""
        household = self.persons.set_index("person_id")["household_id"].reindex(persons)
        territory = household.map(self.households.set_index("household_id")["territory_id"])
        return household.rename("household_id"), territory.rename("territory_id")

    def summary(self) -> list[tuple[str, int, int]]:
        """Return ``(table, rows, columns)`` for every table present."""
        return [(name, len(frame), frame.shape[1]) for name, frame in self.items()]

    def __repr__(self) -> str:
        parts = ", ".join(f"{name}={rows:,}x{cols}" for name, rows, cols in self.summary())
        return f"Tables({parts})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{n:,}</td><td>{c}</td></tr>"
            for name, n, c in self.summary()
        )
        return (
            "<table><thead><tr><th>table</th><th>rows</th><th>columns</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )

    def __post_init__(self) -> None:
        # Frozen: the frames are shared, not copied; fields are checked for presence only.
        for name, spec in CONTRACT.items():
            if spec.required and getattr(self, name) is None:
                raise TypeError(f"Tables.{name} is required")
