"""Colombia's RIPS (Resolution 2275 of 2023) in and out: JSON documents to a data directory.

Since Resolution 2275 of 2023 every health service billed in Colombia is reported as RIPS, one
JSON document per invoice: the invoice (``numDocumentoIdObligado``, ``numFactura``), its
``usuarios`` (identity document, ``fechaNacimiento``, ``codSexo``, ``tipoUsuario``,
``codMunicipioResidencia``, ``codZonaTerritorialResidencia``, ...) and each user's
``servicios`` grouped as ``consultas``, ``procedimientos``, ``urgencias``, ``hospitalizacion``,
``recienNacidos``, ``medicamentos`` and ``otrosServicios``.

:func:`from_rips` reads a folder of such documents, one file at a time, into the tables of the
data contract; :func:`to_rips` writes tables (a synthetic population) as RIPS, so that a round
trip can be tested.

How RIPS maps to the data contract
----------------------------------
* **Persons**: one per identity document (``tipoDocumentoIdentificacion`` and
  ``numDocumentoIdentificacion``), however many invoices list them. ``fechaNacimiento`` gives
  ``birth_date``, ``codSexo`` gives ``sex``, ``tipoUsuario`` gives ``regime`` (01-03
  contributivo, 04 subsidiado, 05 and 14 no_afiliado, 06, 07 and 13 especial; the other types
  name no regime). Where invoices disagree, the most frequent valid value wins (the first seen
  on ties) and a disagreeing birth date or sex is reported. A person whose birth date cannot
  be read, or whose sex is neither ``F`` nor ``M``, is left out with their events, and
  reported.
* **Households and territories** come from the user (SISBÉN, a census frame): a membership
  table links documents to ``household_id``. A user missing from it is kept, in a household
  of their own (``RIPS-<type>-<number>``) in a territory made from their municipality and zone
  of residence (``RIPS-11001-U``), and listed in :attr:`RipsImport.unmatched`. Members that
  RIPS never mentions become persons without events when the membership table gives their
  ``birth_date`` and ``sex``.
* **Events**: ``consultas`` -> outpatient, ``urgencias`` -> emergency, ``hospitalizacion`` ->
  hospitalization (dated ``fechaInicioAtencion``), ``medicamentos`` -> pharmacy (dated
  ``fechaDispensAdmon``), each with its ``codDiagnosticoPrincipal``; ``procedimientos`` ->
  lab, vaccination or screening by the CUPS code of ``codProcedimiento``
  (:data:`CUPS_CODES`), with masrisk's lab, vaccine or screening code; other procedures are
  counted by code in :attr:`RipsImport.unmapped_cups`, not imported. An emergency or
  admission whose ``condicionDestinoUsuarioEgreso`` is ``"02"`` (patient deceased) also gives
  a death, dated ``fechaEgreso``, coded ``codDiagnosticoCausaMuerte``; a person keeps their
  earliest death. ``otrosServicios`` (supplies, devices, transport, stays) and
  ``recienNacidos`` (births reported on the mother's entry; the newborn is a person once
  listed as a user of their own) give no events and are counted.
* **ICD-10 codes** are kept in the normalised form of :func:`masrisk.codes.normalize_icd10`:
  the ``X`` filler of a three-character code is dropped (``I10X`` -> ``I10``, ``A09X`` ->
  ``A09``), four-character codes stay as they are (``E119``).

Fields RIPS cannot carry
------------------------
:func:`to_rips` drops, and :func:`from_rips` cannot give back: ``events.value`` (RIPS has no
lab results); ``persons.insurer`` (the insurer is on the electronic invoice, not in the RIPS
JSON); ``persons.pregnant`` and ``persons.disability`` (no such user fields; ``incapacidad``
is a sick leave); a regime other than the four of :data:`masrisk.codes.REGIMES_COLOMBIA`; the
household deprivation flags and everything about territories (they come from the user's
household and territory tables); lab, vaccine and screening codes missing from the CUPS table;
event kinds beyond the built-in ones; the optional adjacency and facilities tables. A death
needs an emergency visit or admission to carry it: :func:`to_rips` puts it on the person's
last one before the death (whose ``fechaEgreso`` becomes the date of death), or, when there is
none, on a new emergency record on the day of death, which comes back as an emergency event
(:attr:`RipsExport.added_events`).

Examples
--------
>>> import json, tempfile, pathlib
>>> from masrisk.io import from_rips
>>> user = {"tipoDocumentoIdentificacion": "CC", "numDocumentoIdentificacion": "52100200",
...         "tipoUsuario": "04", "fechaNacimiento": "1961-05-02", "codSexo": "F",
...         "codMunicipioResidencia": "11001", "codZonaTerritorialResidencia": "02",
...         "servicios": {"consultas": [{"fechaInicioAtencion": "2024-03-05 08:10",
...                       "codConsulta": "890201", "codDiagnosticoPrincipal": "I10X"}]}}
>>> document = {"numDocumentoIdObligado": "900123456", "numFactura": "FE1", "usuarios": [user]}
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "FE1.json").write_text(json.dumps(document))
>>> result = from_rips(folder)
>>> result.tables.events[["person_id", "kind", "code"]].values.tolist()
[['CC-52100200', 'outpatient', 'I10']]
>>> result.unmatched[["person_id", "territory_id"]].values.tolist()
[['CC-52100200', 'RIPS-11001-U']]
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from masrisk.codes import EVENT_KINDS
from masrisk.exceptions import ParameterError, Problem
from masrisk.io.rips.assemble import assemble
from masrisk.io.rips.codes import CUPS_CODES
from masrisk.io.rips.places import read_places
from masrisk.io.rips.reader import RipsReader
from masrisk.io.rips.writer import RipsExport, to_rips
from masrisk.io.user_tables import TableInput
from masrisk.outputs import write_data_directory
from masrisk.tables import Tables

__all__ = ["CUPS_CODES", "RipsExport", "RipsImport", "RipsProblem", "from_rips", "to_rips"]

logger = logging.getLogger(__name__)

#: The former name of an import's problems, now :class:`masrisk.exceptions.Problem`.
RipsProblem = Problem


@dataclass(frozen=True)
class RipsImport:
    """What :func:`from_rips` read: the tables, the problems, the unmatched persons, counts.

    Attributes
    ----------
    tables : Tables
        Territories, households, persons and events, validated against the data contract.
    problems : tuple of masrisk.exceptions.Problem
        Every problem: ``table`` is the file, ``column`` the JSON path in it (``None`` for the
        whole document), ``rule`` what is wrong, ``examples`` the offending value as written
        and ``detail`` more (the JSON parser's message, the votes of disagreeing invoices).
        Nothing that was read is dropped without one (but see ``unmapped_cups`` and
        ``counts``).
    unmatched : pandas.DataFrame
        Persons missing from the membership table, kept in households of their own:
        ``person_id, document_type, document_number, household_id, territory_id``.
    counts : dict of str to int
        ``files``, ``documents``, ``user_entries`` (users listed, one per invoice),
        ``user_entries_skipped`` (without an identity document), ``persons``,
        ``events``, ``deaths``, ``services`` (records in the service groups),
        ``persons_left_out``, ``events_left_out``, ``unmatched_persons``,
        ``members_without_services`` (members added as persons without events),
        ``members_left_out`` (members without services and without birth date or sex),
        ``procedures_unmapped``, ``not_imported_<group>`` and ``problems``.
    unmapped_cups : dict of str to int
        Procedures whose CUPS code the table does not map, by code, most frequent first.
    """

    tables: Tables
    problems: tuple[Problem, ...]
    unmatched: pd.DataFrame
    counts: dict[str, int]
    unmapped_cups: dict[str, int] = field(default_factory=dict)

    def problems_frame(self) -> pd.DataFrame:
        """Return the problems as a frame: ``file, path, rule, value, detail``, one row each."""
        rows = [
            (p.table, p.column or "", p.rule, ", ".join(p.examples), p.detail)
            for p in self.problems
        ]
        return pd.DataFrame(rows, columns=["file", "path", "rule", "value", "detail"], dtype="str")

    def to_dict(self) -> dict[str, int]:
        """Return the counts."""
        return dict(self.counts)

    def write(
        self,
        out_dir: str | os.PathLike,
        *,
        format: Literal["parquet", "csv"] = "parquet",
        overwrite: bool = False,
    ) -> Path:
        """Write the data directory, ``import_problems.csv`` and ``unmatched_persons.csv``.

        The directory is written beside ``out_dir`` and moved into place whole
        (:func:`masrisk.outputs.output_directory`). The two CSV files beside the tables are
        written even when empty.

        Parameters
        ----------
        out_dir : str or path-like
            The data directory; created if missing.
        format : {"parquet", "csv"}
            File format of the tables.
        overwrite : bool
            Replace a data directory that masrisk wrote before (an import or a synthetic
            population); a directory of anyone else's is never replaced.

        Returns
        -------
        pathlib.Path
            The data directory.

        Raises
        ------
        masrisk.exceptions.OutputExistsError
            If ``out_dir`` exists and ``overwrite`` is false, or masrisk did not write it.
        """
        beside = {
            "import_problems.csv": (self.problems_frame(), "problems"),
            "unmatched_persons.csv": (self.unmatched, "unmatched"),
        }
        return write_data_directory(
            self.tables, out_dir, format=format, overwrite=overwrite, beside=beside
        )

    def __repr__(self) -> str:
        return (
            f"RipsImport({self.tables!r}, problems={len(self.problems):,}, "
            f"unmatched={len(self.unmatched):,})"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{v:,}</td></tr>" for k, v in self.counts.items()
        )
        return f"<table><tbody>{rows}</tbody></table>"


def from_rips(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    households: TableInput = None,
    territories: TableInput = None,
    members: TableInput = None,
    cups: Mapping[str, tuple[str, str]] | None = None,
) -> RipsImport:
    """Read RIPS JSON documents (Resolution 2275 of 2023) into the tables of the data contract.

    Files are read one at a time; a file that cannot be read, a document without
    ``usuarios``, an unknown service group, a date or code that cannot be read are reported by
    file and JSON path (:attr:`RipsImport.problems`) and the rest is still read. See the
    module's documentation for how RIPS maps to persons and events.

    Parameters
    ----------
    paths : path or iterable of paths
        A folder (every ``*.json`` below it, in sorted order), a file, or several of them.
    households, territories : pandas.DataFrame or path, optional
        The user's household and territory tables of the data contract (``.parquet`` or
        ``.csv``); households need territories.
    members : pandas.DataFrame or path, optional
        The membership table (e.g. from SISBÉN): ``document_type``, ``document_number`` (as
        RIPS writes ``tipoDocumentoIdentificacion`` and ``numDocumentoIdentificacion``) and
        ``household_id``; optionally ``person_id`` (else persons are ``"<type>-<number>"``,
        which identifies them: pseudonymise before sharing), ``birth_date`` and ``sex`` (for
        members without services) and ``insurer``, ``regime``, ``pregnant``, ``disability``
        (RIPS carries only the regime, which wins where given). Needs ``households``.
    cups : mapping of str to (kind, code), optional
        CUPS codes read as labs, vaccinations and screenings, added to (and overriding)
        :data:`CUPS_CODES`.

    Returns
    -------
    RipsImport
        The tables, the problems, the unmatched persons and counts.

    Raises
    ------
    masrisk.ValidationError
        If the households, territories or members do not fit each other, if no person could
        be read, or if the resulting tables break the data contract.
    FileNotFoundError
        If a path does not exist.
    """
    cups = {**CUPS_CODES, **(cups or {})}
    unknown = sorted({str(kind) for kind, _ in cups.values()} - set(EVENT_KINDS))
    if unknown:
        raise ParameterError("cups", f"(kind, code) pairs with kinds of {EVENT_KINDS}", unknown)
    places = read_places(households, territories, members)
    reader = RipsReader(cups)
    for k, (path, name) in enumerate(_json_files(paths), start=1):
        reader.read(path, name)
        if k % 1000 == 0:
            events = sum(len(chunk[0]) for chunk in reader.chunks)
            logger.info("RIPS: %s files read, %s events", f"{k:,}", f"{events:,}")
    built = assemble(reader, places)
    problems = tuple(reader.problems)
    read = (
        "files",
        "documents",
        "documents_in_envelope",
        "user_entries",
        "user_entries_skipped",
        "related_diagnoses",
        "dispensations_without_product",
    )
    counts = {
        **{k: int(reader.counts[k]) for k in read},
        **built.counts,
        "services": int(reader.counts["services"]),
        "procedures_unmapped": int(sum(reader.unmapped_cups.values())),
        **{f"not_imported_{g}": int(n) for g, n in sorted(reader.not_imported.items())},
        "problems": len(problems),
    }
    logger.info(
        "RIPS: %s persons, %s events from %s files; %s problems",
        *(f"{counts[k]:,}" for k in ("persons", "events", "files", "problems")),
    )
    return RipsImport(
        tables=built.tables,
        problems=problems,
        unmatched=built.unmatched,
        counts=counts,
        unmapped_cups=dict(reader.unmapped_cups.most_common()),
    )


def _json_files(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[tuple[Path, str]]:
    """Return ``(path, name)`` of each JSON file, named relative to the folder given."""
    given = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    found = []
    for item in given:
        root = Path(item)
        if root.is_file():
            found.append((root, root.name))
        elif root.is_dir():
            files = sorted(
                p for p in root.rglob("*") if p.suffix.lower() == ".json" and p.is_file()
            )
            found.extend((path, path.relative_to(root).as_posix()) for path in files)
        else:
            raise FileNotFoundError(f"RIPS path not found: {root}")
    return found
