"""Commands for other systems' formats: ``import rips``, ``import omop``, ``export fhir``."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from masrisk.cli._common import FileFormat, Quiet, _err, _stage, _summary, _table, app

import_app = typer.Typer(
    help="Read a health system's records (RIPS, OMOP CDM) into a data directory.",
    no_args_is_help=True,
)
export_app = typer.Typer(
    help="Write scores and plans for other systems (HL7 FHIR R4).", no_args_is_help=True
)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")

#: The options of both imports that say how the data directory is written.
TablesFormat = Annotated[
    FileFormat, typer.Option("--format", help="File format of the tables written.")
]
ReplaceTables = Annotated[
    bool,
    typer.Option(help="Replace a data directory masrisk wrote (never anyone else's files)."),
]


class OmopIds(str, Enum):
    """Where ids of an OMOP import come from."""

    omop = "omop"
    source = "source"


@import_app.command("omop")
def import_omop(
    source: Annotated[
        str,
        typer.Argument(
            help="OMOP CDM v5.4: a folder of CSV/Parquet tables, a .duckdb file, "
            "duckdb:///PATH, or a database URL (postgresql://user@host/db)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Data directory to write.")],
    schema: Annotated[str | None, typer.Option(help="Database schema of the CDM tables.")] = None,
    file_format: TablesFormat = FileFormat.parquet,
    households: Annotated[
        Path | None,
        typer.Option(help="Households table (.parquet/.csv) to use instead of OMOP's locations."),
    ] = None,
    territories: Annotated[
        Path | None,
        typer.Option(help="Territories table (.parquet/.csv): zones and names OMOP lacks."),
    ] = None,
    ids: Annotated[
        OmopIds, typer.Option(help="Ids from OMOP's integer ids or from the *_source_value.")
    ] = OmopIds.omop,
    territory_column: Annotated[
        str, typer.Option(help="Column of location holding the territory id.")
    ] = "county",
    default_zone: Annotated[
        str, typer.Option(help="Zone of every territory when --territories is not given.")
    ] = "urban",
    overwrite: ReplaceTables = False,
    quiet: Quiet = False,
) -> None:
    """Read an OMOP Common Data Model into a data directory."""
    from masrisk.io.omop import from_omop
    from masrisk.outputs import write_data_directory

    with _stage(quiet, out, overwrite=overwrite, kind="data"):
        tables = from_omop(
            source,
            schema=schema,
            households=households,
            territories=territories,
            ids=ids.value,
            territory_column=territory_column,
            default_zone=default_zone,
        )
        write_data_directory(tables, out, format=file_format.value, overwrite=overwrite)
        if not quiet:
            _err.print(_summary(f"Wrote {out}", tables.summary()))


@import_app.command("rips")
def import_rips(
    folder: Annotated[
        Path, typer.Argument(help="Folder of RIPS JSON files (Resolution 2275 of 2023).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Data directory to write.")],
    households: Annotated[
        Path | None, typer.Option(help="Households table (.parquet/.csv), e.g. from SISBÉN.")
    ] = None,
    territories: Annotated[
        Path | None, typer.Option(help="Territories table (.parquet/.csv) of the households.")
    ] = None,
    members: Annotated[
        Path | None,
        typer.Option(
            help="Membership table (.parquet/.csv): document_type, document_number, household_id."
        ),
    ] = None,
    file_format: TablesFormat = FileFormat.parquet,
    overwrite: ReplaceTables = False,
    quiet: Quiet = False,
) -> None:
    """Read RIPS JSON files into a data directory; list problems by file and JSON path."""
    from masrisk.io.rips import from_rips

    with _stage(quiet, out, overwrite=overwrite, kind="data"):
        result = from_rips(folder, households=households, territories=territories, members=members)
        result.write(out, format=file_format.value, overwrite=overwrite)
    if quiet:
        return
    table = _summary(f"Wrote {out}", result.tables.summary())
    counts = result.counts
    table.caption = (
        f"{counts['files']:,} files, {counts['user_entries']:,} user entries; "
        f"{counts['unmatched_persons']:,} persons not in the membership table "
        f"(unmatched_persons.csv); {counts['problems']:,} problems (import_problems.csv)"
    )
    _err.print(table)
    for problem in result.problems[:10]:
        _err.print(f"  {problem}", markup=False, soft_wrap=True)
    if len(result.problems) > 10:
        _err.print(f"  ... and {len(result.problems) - 10:,} more in import_problems.csv")


@export_app.command("fhir")
def export_fhir(
    scores: Annotated[Path, typer.Option("--scores", help="Scores file (masrisk score).")],
    plans: Annotated[Path, typer.Option("--plans", help="Plans directory (masrisk plan).")],
    out: Annotated[Path, typer.Option("--out", help="Directory of NDJSON files to write.")],
    model: Annotated[
        Path | None,
        typer.Option(help="Bundle that made the scores: the model's identity and horizon."),
    ] = None,
    system_base: Annotated[
        str,
        typer.Option("--system-base", help="URI under which masrisk's code systems are named."),
    ] = "urn:masrisk",
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", min=1, help="Persons converted at a time.")
    ] = 20_000,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes that build and validate the resources.")
    ] = 1,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing export.")] = False,
    quiet: Quiet = False,
) -> None:
    """Write scores and plans as FHIR R4 RiskAssessment, CarePlan and Group NDJSON files."""
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    from masrisk.io.fhir import export_fhir as write_fhir

    columns = (TextColumn("RiskAssessment: {task.completed:,} persons"), TimeElapsedColumn())
    with _stage(quiet), Progress(*columns, console=_err, disable=quiet, transient=True) as bar:
        task = bar.add_task("export", total=None)
        export = write_fhir(
            scores, plans, out, model=model, system_base=system_base, chunk_size=chunk_size,
            workers=workers, overwrite=overwrite, on_chunk=lambda rows: bar.advance(task, rows),
        )  # fmt: skip
    if not quiet:
        table = _table("FHIR R4 resources", "file", "resources")
        for kind, n in export.counts.items():
            table.add_row(f"{kind}.ndjson", f"{n:,}")
        _err.print(table)
        note = "" if model is not None else " (no --model: no basis or horizon)"
        _err.print(f"Wrote {out}: {export.outcome} as of {export.as_of}{note}", markup=False)
