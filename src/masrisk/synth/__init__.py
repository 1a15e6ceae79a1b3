"""The synthetic population: realistic tables for Bogotá or Mexico, with the truth behind them.

:func:`synthesize` builds territories, households, persons, four years of health events,
facilities and an adjacency, all meeting the data contract, plus a ``truth`` frame: for every
person alive at the end, the exact probability of each outcome in the following year under
the generator, whether it happened in a simulated extra year, and the individual, family and
territorial parts of the latent risk that drove it.

Realism targets live in :mod:`masrisk.synth.targets` (re-exported here) with their sources;
the tests compare generated tables to them. How the generator works:

* places (:mod:`masrisk.synth.geography`): cadastral sectors of Bogotá's 20 localidades, or
  areas and rural localities of municipalities of Guerrero; a symmetric k-nearest-neighbour
  adjacency; Gaussian fields smoothed over neighbours; facilities of levels 1-3;
* households (:mod:`masrisk.synth.households`): family types with coherent ages, a latent
  deprivation correlated in space driving the 15 poverty-index flags and the insurance regime;
* health (:mod:`masrisk.synth.health`): chronic conditions with onset, pregnancies, lab
  latents, disability and frailty;
* risk (:mod:`masrisk.synth.risk`): the latent risk ``individual + family + territorial``
  and the rates of emergency visits, admissions and deaths, calibrated to the targets;
* events (:mod:`masrisk.synth.events`, :mod:`masrisk.synth.prevention`,
  :mod:`masrisk.synth.outcomes`): routine care, labs, vaccines, screenings, emergencies,
  admissions and deaths, all vectorised, and the truth year.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from masrisk.codes import EVENT_KINDS, MPI_INDICATORS
from masrisk.exceptions import ParameterError
from masrisk.outputs import check_output, write_data_directory, write_table
from masrisk.synth.events import Context, Events, acute, chronic, pregnancy
from masrisk.synth.geography import Geography, build_geography
from masrisk.synth.health import NEVER, build_health
from masrisk.synth.households import People, build_people
from masrisk.synth.outcomes import OUTCOME_DEFINITIONS, deaths, truth, visits
from masrisk.synth.prevention import labs, screenings, vaccines
from masrisk.synth.risk import LatentRisk, calibrate, family_part, territorial_part
from masrisk.synth.targets import (
    AGE_STAGE_SHARES,
    CHRONIC_PREVALENCE,
    FEMALE_SHARE,
    HOUSEHOLD_SIZE_MEAN,
    MPI_POOR_SHARE,
    ONE_PERSON_SHARE,
    REGIME_SHARES,
    RURAL_SHARE,
    YEARLY_RATES,
)
from masrisk.synth.vocabulary import CodeBook
from masrisk.tables import Tables
from masrisk.vocabulary import SEXES, ZONES

__all__ = [
    "AGE_STAGE_SHARES",
    "CHRONIC_PREVALENCE",
    "FEMALE_SHARE",
    "HOUSEHOLD_SIZE_MEAN",
    "MPI_POOR_SHARE",
    "ONE_PERSON_SHARE",
    "OUTCOME_DEFINITIONS",
    "PROFILES",
    "REGIME_SHARES",
    "RURAL_SHARE",
    "TRUTH_OUTCOMES",
    "YEARLY_RATES",
    "SyntheticPopulation",
    "synthesize",
]

logger = logging.getLogger(__name__)

#: Population profiles :func:`synthesize` knows.
PROFILES: tuple[str, ...] = ("bogota", "mexico")

_BOTH = ("hospitalization_12m", "emergency_12m", "mortality_12m", "cardiovascular_12m")
#: Outcomes of the truth frame per profile: those of ``configs/<profile>.yaml``.
TRUTH_OUTCOMES: dict[str, tuple[str, ...]] = {
    "bogota": _BOTH,
    "mexico": (*_BOTH, "diabetes_complication_12m"),
}

MIN_PERSONS = 1000


@dataclass(frozen=True)
class SyntheticPopulation:
    """A synthetic population: its tables and the truth behind them.

    Attributes
    ----------
    tables : Tables
        The six tables of the data contract.
    truth : pandas.DataFrame
        One row per person alive at the end of the period: ``person_id``, then for each
        outcome of :data:`TRUTH_OUTCOMES` its probability ``p_<outcome>`` in the following
        365 days under the generator and whether it happened, ``y_<outcome>`` (int8), then
        the parts of the latent risk in that year, ``latent_individual``,
        ``latent_family`` and ``latent_territorial`` (float32, log-odds scale).
    """

    tables: Tables
    truth: pd.DataFrame

    def write(
        self,
        out_dir: str | os.PathLike,
        *,
        format: Literal["parquet", "csv"] = "parquet",
        truth_path: str | os.PathLike | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Write one file per table, ``<table>.parquet`` or ``<table>.csv``, into ``out_dir``.

        The directory is written beside ``out_dir`` and moved into place when complete
        (:func:`masrisk.outputs.output_directory`), so a reader never sees a half-written
        population. Dates are ISO 8601 in CSV.

        Parameters
        ----------
        out_dir : str or path-like
            The data directory; it must not exist (or be empty) unless ``overwrite``.
        format : {"parquet", "csv"}
            File format of the tables.
        truth_path : str or path-like, optional
            Where to write :attr:`truth` (``.parquet`` or ``.csv``); never inside ``out_dir``,
            so that a data directory holds only what a user's own data would.
        overwrite : bool
            Replace a synthetic data directory (and truth file) that masrisk wrote before;
            nothing else is ever replaced (:mod:`masrisk.outputs`).

        Returns
        -------
        pathlib.Path
            The data directory.
        """
        out = Path(out_dir)
        truth_file = None if truth_path is None else Path(truth_path)
        if truth_file is not None:
            if truth_file.suffix not in (".parquet", ".csv"):
                raise ParameterError("truth_path", "a .parquet or .csv file", str(truth_file))
            if truth_file.resolve().is_relative_to(out.resolve()):
                raise ParameterError(
                    "truth_path", f"outside the data directory {out}", str(truth_file)
                )
            check_output(truth_file, overwrite=overwrite, kind="truth")
        write_data_directory(self.tables, out, format=format, overwrite=overwrite)
        if truth_file is not None:
            write_table(self.truth, truth_file, kind="truth", overwrite=overwrite)
        return out

    def __repr__(self) -> str:
        return f"SyntheticPopulation({self.tables!r}, truth={len(self.truth):,} persons)"

    def _repr_html_(self) -> str:
        return self.tables._repr_html_()


def _check(profile: str, persons: int, start: str, end: str) -> tuple[np.datetime64, int]:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    if isinstance(persons, bool) or not isinstance(persons, (int, np.integer)):
        raise TypeError(f"persons must be an integer, not {type(persons).__name__}")
    if persons < MIN_PERSONS:
        raise ValueError(f"persons must be at least {MIN_PERSONS:,}, got {persons:,}")
    first, last = np.datetime64(start, "D"), np.datetime64(end, "D")
    end_day = int((last - first).astype("int64"))
    if end_day < 1:
        raise ValueError(f"end ({end}) must be after start ({start})")
    return first, end_day


def _years(start: np.datetime64, end_day: int) -> list[tuple[int, int]]:
    """Calendar years of the period as day ranges [lo, hi), clipped to the period."""
    first_year = start.astype("datetime64[Y]")
    last_year = (start + end_day).astype("datetime64[Y]")
    bounds = [
        int(((y + 1).astype("datetime64[D]") - start).astype("int64"))
        for y in np.arange(first_year, last_year + 1)
    ]
    lows = [0, *bounds[:-1]]
    return [(lo, min(hi, end_day + 1)) for lo, hi in zip(lows, bounds, strict=True)]


def synthesize(
    profile: str = "bogota",
    *,
    persons: int = 20_000,
    seed: int = 0,
    start: str = "2021-01-01",
    end: str = "2024-12-31",
) -> SyntheticPopulation:
    """Generate a synthetic population and its health events between ``start`` and ``end``.

    Parameters
    ----------
    profile : {"bogota", "mexico"}
        Bogotá's MAS Bienestar population (all insurers, 20 localidades and their rural
        part), or Mexico's MAS-Bienestar population without social security (municipalities
        of Guerrero; younger, more rural, more deprived, more diabetes and obesity).
    persons : int
        Number of persons, at least 1,000. Territories scale with it (at least 50).
    seed : int
        Seed of :func:`numpy.random.default_rng`: the same seed gives identical tables.
    start, end : str
        First and last day of the events (ISO 8601). The truth covers the 365 days after
        ``end``.

    Returns
    -------
    SyntheticPopulation
        The tables and the truth.

    Raises
    ------
    ValueError
        For an unknown profile, fewer than 1,000 persons or ``end`` not after ``start``.

    Examples
    --------
    >>> from masrisk.synth import synthesize
    >>> population = synthesize("bogota", persons=1_000, seed=1)
    >>> len(population.tables.persons)
    1000
    >>> sorted(population.tables.territories["zone"].unique())
    ['rural', 'urban']
    """
    first, end_day = _check(profile, persons, start, end)
    rng = np.random.default_rng(seed)
    clock = time.perf_counter()
    geo = build_geography(profile, persons, rng)
    people = build_people(profile, geo, persons, rng)
    logger.info("%s: %s territories, %s households", profile, len(geo.ids), len(people.hh_size))
    ctx, model, slices = _health(profile, geo, people, first, end_day, rng)
    events = Events()  # deaths first (they end every stream), then visits at their yearly rates
    visits(ctx, model, slices, deaths(ctx, model, slices, events), events)
    for stream in (chronic, acute, pregnancy, labs):
        stream(ctx, events)
    vaccines(ctx, events, slices)
    screenings(ctx, events, slices)
    outcome = truth(ctx, model, TRUTH_OUTCOMES[profile])
    tables = _tables(geo, people, ctx, events, first)
    outcome.insert(0, "person_id", tables.persons["person_id"].to_numpy()[outcome.index])
    logger.info("%s: %s events in %.1f s", profile, len(tables.events), time.perf_counter() - clock)
    return SyntheticPopulation(tables=tables, truth=outcome.reset_index(drop=True))


def _health(profile, geo: Geography, people: People, first, end_day: int, rng):
    """Health states, the calibrated risk model and the context every stream reads."""
    hh = people.household
    birth = (end_day - np.floor(people.age * 365.25)).astype("int32")
    dz = people.hh_dz[hh]
    health = build_health(profile, people.age, people.male, dz, birth, end_day, rng)
    model = LatentRisk(
        age_end=people.age,
        male=people.male,
        end_day=end_day,
        health=health,
        family=family_part(people, rng),
        territorial=territorial_part(geo, people),
    )
    slices = _years(first, end_day)
    calibrate(model, profile, slices, birth)
    terr = people.hh_territory[hh]
    access = np.log1p(geo.access_km[terr])
    care = np.exp(
        -0.25 * dz
        - 0.35 * geo.rural[terr]
        - 0.15 * (access - access.mean()) / max(access.std(), 1e-9)
        + 0.3 * health.adherence
    )
    ctx = Context(
        rng=rng,
        book=CodeBook(),
        profile=profile,
        start=first,
        end_day=end_day,
        birth=birth,
        age_end=people.age,
        male=people.male,
        style=((people.insurer + terr) % 3).astype("int8"),
        care=care / care.mean(),
        dz=dz,
        rural=geo.rural[terr],
        health=health,
    )
    return ctx, model, slices


def _str(values) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=object), dtype="str")


def _tables(geo: Geography, people: People, ctx: Context, events: Events, first) -> Tables:
    """Assemble the frames of the data contract with their documented dtypes."""
    household_id = np.arange(1, len(people.hh_size) + 1, dtype="int64")
    person_id = np.arange(1, len(people.age) + 1, dtype="int64")
    population = np.bincount(people.hh_territory[people.household], minlength=len(geo.ids))
    territories = pd.DataFrame(
        {
            "territory_id": _str(geo.ids),
            "zone": pd.Categorical.from_codes(geo.rural.astype("int8"), list(ZONES)),
            "population": population.astype("int64"),
            "name": _str(geo.names),
            "district": _str(geo.district),
            "area_km2": geo.area_km2.astype("float64"),
            "lon": geo.lon,
            "lat": geo.lat,
        }
    )
    if geo.stratum is not None:
        territories["stratum"] = geo.stratum
    flags = dict(zip(MPI_INDICATORS, people.hh_flags.T, strict=True))
    households = pd.DataFrame(
        {"household_id": household_id, "territory_id": _str(geo.ids[people.hh_territory]), **flags}
    )
    h = ctx.health
    pregnant = (ctx.death == NEVER) & (h.conception <= ctx.end_day) & (h.delivery > ctx.end_day)
    base = first.astype("datetime64[ns]")
    persons = pd.DataFrame(
        {
            "person_id": person_id,
            "household_id": household_id[people.household],
            "birth_date": base + ctx.birth.astype("timedelta64[D]"),
            "sex": pd.Categorical.from_codes(people.male.astype("int8"), list(SEXES)),
            "insurer": _str(np.asarray(people.insurer_names, dtype=object)[people.insurer]),
            "regime": _str(np.asarray(people.regime_names, dtype=object)[people.regime]),
            "pregnant": pregnant.astype("int8"),
            "disability": h.disability.astype("int8"),
        }
    )
    pid, day, kind, code, value = events.arrays()
    frame = pd.DataFrame(
        {
            "person_id": person_id[pid],
            "date": base + day.astype("timedelta64[D]"),
            "kind": pd.Categorical.from_codes(kind, list(EVENT_KINDS)),
            "code": pd.Categorical.from_codes(code, pd.Index(ctx.book.categories, dtype="str")),
            "value": value,
        },
        copy=False,
    )
    return Tables(
        territories=territories,
        households=households,
        persons=persons,
        events=frame,
        adjacency=geo.adjacency,
        facilities=geo.facilities,
    )
