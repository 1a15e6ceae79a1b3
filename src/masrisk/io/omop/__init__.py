"""Read and write the OMOP Common Data Model (CDM v5.4), the model of OHDSI's research network.

:func:`from_omop` reads a CDM - a folder of CSV/Parquet tables, a DuckDB file, or a database
reached through SQLAlchemy (PostgreSQL with psycopg 3) - into masrisk :class:`~masrisk.Tables`;
:func:`to_omop` writes masrisk tables as a CDM. A round trip gives back equal persons and
events, except for what OMOP cannot carry (listed in :func:`to_omop`).

How OMOP maps to masrisk:

===========================  ================================================================
OMOP                         masrisk
===========================  ================================================================
``person``                   persons: ``gender_concept_id`` 8532 -> F, 8507 -> M;
                             ``birth_datetime``, else year/month/day of birth (a missing
                             month or day counts as 1)
``location``                 households: persons sharing a ``location_id`` are one household;
                             its territory is ``county`` (``territory_column``); territories'
                             ``lon``/``lat`` are the median of their households' coordinates
``care_site``                facilities: coordinates of its location, level of care 1-3 in
                             ``place_of_service_source_value``
``payer_plan_period``        persons' ``insurer`` (``payer_source_value``) and ``regime``
                             (``plan_source_value``), from each person's latest period
``visit_occurrence``         outpatient 9202 (and office, home, telehealth), emergency 9203,
                             hospitalization 9201 and 262 (see :data:`VISIT_KINDS`); code: the
                             visit's primary diagnosis in ``condition_occurrence``
``condition_occurrence``     ``condition_source_value`` (ICD-10 as the source writes it) codes
                             the visit it belongs to
``drug_exposure``            vaccinations when ``drug_source_value`` is a vaccine code (see
                             :data:`PREVENTIVE_CODES`), else pharmacy events coded with the
                             primary diagnosis of their visit
``procedure_occurrence``     screenings when ``procedure_source_value`` is a screening code
``measurement``              lab events: ``measurement_source_value``, ``value_as_number``
``death``                    death events, code ``cause_source_value``
===========================  ================================================================

Standard concept ids of conditions, drugs, procedures and measurements are neither read nor
written (written as 0): masrisk works with the source codes, and ships no OMOP vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from typing import Any, Literal

from masrisk.codes import SCREENINGS, VACCINES
from masrisk.exceptions import ParameterError
from masrisk.io.omop.cdm import CDM_TABLES, VISIT_KINDS
from masrisk.io.omop.events import EventOptions
from masrisk.io.omop.people import PeopleOptions
from masrisk.io.omop.read import read_cdm
from masrisk.io.omop.store import open_store
from masrisk.io.omop.write import omop_frames
from masrisk.io.user_tables import TableInput, read_user_table
from masrisk.tables import Tables
from masrisk.vocabulary import ZONES

__all__ = ["NOT_CARRIED", "PREVENTIVE_CODES", "VISIT_KINDS", "from_omop", "to_omop"]

#: Source values of ``drug_exposure`` and ``procedure_occurrence`` that are vaccinations or
#: screenings: masrisk's vaccine and screening codes (:mod:`masrisk.codes`).
PREVENTIVE_CODES: dict[str, str] = {
    **dict.fromkeys(VACCINES, "vaccination"),
    **dict.fromkeys(SCREENINGS, "screening"),
}

#: What a masrisk -> OMOP -> masrisk round trip loses: ``table.column`` -> why.
NOT_CARRIED: dict[str, str] = {
    "territories.zone": "OMOP has no zone: from_omop sets default_zone, or pass territories=",
    "territories.name, district, area_km2, stratum": "OMOP has no territory table",
    "adjacency": "not in OMOP; features fall back to nearest neighbours by lon/lat",
    "households.dep_*": "the 15 deprivation flags have no place in location; pass households=",
    "persons.pregnant, persons.disability": "not written (pregnancy is read from event codes)",
    "facilities.capacity": "care_site has no capacity",
    "text ids": "numbered 1, 2, ... in OMOP; from_omop(ids='source') gives them back",
    "events.code of vaccinations/screenings": "required: it is how OMOP tells them apart",
}


def from_omop(
    source: Any,
    *,
    schema: str | None = None,
    households: TableInput = None,
    territories: TableInput = None,
    ids: Literal["omop", "source"] = "omop",
    territory_column: str = "county",
    default_zone: str = ZONES[0],
    visit_kinds: Mapping[int, str | None] | None = None,
    preventive_codes: Mapping[str, str | None] | None = None,
    diagnoses: Literal["primary", "all"] = "primary",
    chunksize: int = 500_000,
) -> Tables:
    """Read an OMOP CDM into masrisk tables, reading only the columns needed, in chunks.

    Parameters
    ----------
    source : str, path-like, duckdb connection or sqlalchemy Engine
        A folder of ``<table>.parquet``/``<table>.csv`` files; a DuckDB file (``.duckdb``,
        ``.ddb``, or ``duckdb:///path`` with SQLAlchemy's slashes: ``duckdb:////abs/path``);
        a SQLAlchemy URL (``postgresql://user@host/db`` uses psycopg 3); or an open
        connection or engine, which is left open.
    schema : str, optional
        Database schema of the CDM tables (default: the connection's).
    households, territories : DataFrame or path, optional
        Tables of the data contract that OMOP cannot give in full: ``households`` replaces
        those built from ``location`` (e.g. to bring the deprivation flags), ``territories``
        gives zones, names and other columns (``population`` is counted when absent).
    ids : {"omop", "source"}
        Take person, household and facility ids from the OMOP integer ids, or from
        ``person_source_value``, ``location_source_value`` and ``care_site_source_value``
        (integers written plainly come back as integers).
    territory_column : str
        Column of ``location`` that holds each household's territory id.
    default_zone : str
        Zone of every territory when ``territories`` is not given (OMOP has no zone): one of
        :data:`masrisk.vocabulary.ZONES`, by default the first.
    visit_kinds : mapping of int to str or None, optional
        Visit concepts to add to (or override in) :data:`VISIT_KINDS`; ``None`` leaves such
        visits out. A visit concept with no kind is an error.
    preventive_codes : mapping of str to str or None, optional
        Source values to add to (or override in) :data:`PREVENTIVE_CODES`.
    diagnoses : {"primary", "all"}
        One event per visit coded with its primary diagnosis, or one per diagnosis.
    chunksize : int
        Rows read at a time.

    Returns
    -------
    Tables
        Validated tables. What is not imported (secondary diagnoses, procedures that are not
        screenings, care sites without a level, ...) is counted in a log warning.

    Raises
    ------
    FileNotFoundError
        If ``source`` is a path that does not exist.
    masrisk.ValidationError
        Listing every missing table or column and every unreadable or unmapped value, with
        example ids.
    """
    if ids not in ("omop", "source"):
        raise ParameterError("ids", "'omop' or 'source'", ids)
    if diagnoses not in ("primary", "all"):
        raise ParameterError("diagnoses", "'primary' or 'all'", diagnoses)
    with closing(open_store(source, schema=schema)) as store:
        return read_cdm(
            store,
            households=read_user_table(households, "households"),
            territories=read_user_table(territories, "territories"),
            people=PeopleOptions(ids, territory_column, default_zone),
            events=EventOptions(
                {**VISIT_KINDS, **(visit_kinds or {})},
                {**PREVENTIVE_CODES, **(preventive_codes or {})},
                diagnoses,
            ),
            chunksize=chunksize,
        )


def to_omop(
    tables: Tables,
    target: Any,
    *,
    schema: str | None = None,
    format: Literal["parquet", "csv"] = "parquet",
    overwrite: bool = False,
) -> dict[str, int]:
    """Write masrisk tables as OMOP CDM v5.4 tables, so that other tools can read them.

    Each table goes where :mod:`masrisk.io.omop` reads it from, with every CDM column of the
    tables written (unknown values null, standard concept ids 0); ``observation_period`` spans
    the events, from birth and up to death; a household's coordinates are its territory's; a
    pharmacy event is a ``drug_exposure`` inside a pharmacy visit (581458) whose diagnosis is
    its code. What OMOP cannot carry is listed in :data:`NOT_CARRIED`.

    Parameters
    ----------
    tables : Tables
        The tables to write (e.g. ``masrisk.synthesize(...).tables``).
    target : str, path-like, duckdb connection or sqlalchemy Engine
        A folder (created if missing), a DuckDB file (``.duckdb``/``.ddb`` or
        ``duckdb:///path``, created if missing) or a SQLAlchemy URL such as
        ``postgresql://user@host/db``.
    schema : str, optional
        Database schema to create the tables in (created if missing).
    format : {"parquet", "csv"}
        File format, for a folder.
    overwrite : bool
        Replace OMOP tables that already exist at ``target``; otherwise that is an error.

    Returns
    -------
    dict of str to int
        Rows written per OMOP table.

    Raises
    ------
    masrisk.MasriskError
        If tables exist and ``overwrite`` is false, or events cannot be written (an event
        kind OMOP has no table for, a vaccination or screening without a code).

    Examples
    --------
    >>> import tempfile, masrisk
    >>> from masrisk.io import from_omop, to_omop
    >>> tables = masrisk.synthesize(persons=1000, seed=1).tables
    >>> directory = tempfile.TemporaryDirectory()
    >>> path = directory.name + "/cdm.duckdb"
    >>> to_omop(tables, path)["person"]
    1000
    >>> back = from_omop(path)
    >>> len(back.events) == len(tables.events)
    True
    >>> directory.cleanup()
    """
    if format not in ("parquet", "csv"):
        raise ParameterError("format", "'parquet' or 'csv'", format)
    frames = omop_frames(tables)
    with closing(open_store(target, schema=schema, create=True, file_format=format)) as store:
        store.write(frames, overwrite=overwrite)
    return {table: len(frames[table]) for table in CDM_TABLES if table in frames}
