"""Code tables of RIPS (Resolution 2275 of 2023), and how the reader and writer check them."""

from __future__ import annotations

import datetime
import re
from importlib import resources
from typing import NamedTuple

import numpy as np
import pandas as pd

from masrisk import vocabulary
from masrisk.codes import EVENT_KINDS, normalize_icd10
from masrisk.tables import DATE_RANGE

#: Service groups of a user's ``servicios`` -> (date field, masrisk kind). ``procedimientos``
#: take their kind from the CUPS code (:data:`CUPS_CODES`); a kind of ``None`` means the
#: group is read (counted) but gives no events.
SERVICE_GROUPS: dict[str, tuple[str, str | None]] = {
    "consultas": ("fechaInicioAtencion", "outpatient"),
    "procedimientos": ("fechaInicioAtencion", None),
    "urgencias": ("fechaInicioAtencion", "emergency"),
    "hospitalizacion": ("fechaInicioAtencion", "hospitalization"),
    "medicamentos": ("fechaDispensAdmon", "pharmacy"),
    "otrosServicios": ("fechaSuministroTecnologia", None),
    "recienNacidos": ("fechaNacimiento", None),
}

#: Groups whose records end with an egress (``fechaEgreso``, ``condicionDestinoUsuarioEgreso``).
EGRESS_GROUPS: tuple[str, ...] = ("urgencias", "hospitalizacion")

#: ``condicionDestinoUsuarioEgreso`` of a patient who died ("Paciente muerto").
DECEASED = "02"

#: Field holding each group's principal ICD-10 diagnosis, for the groups whose events carry one
#: (the principal diagnosis of a procedure is its reason, not read: the procedure's event is
#: coded by its CUPS code).
DIAGNOSIS_FIELD = "codDiagnosticoPrincipal"

#: Fields of each group holding further ICD-10 diagnoses of the service (Resolución 2275 de
#: 2023, technical annex): related diagnoses, the complication, and the principal diagnosis at
#: egress (``codDiagnosticoPrincipalE``, read only where it differs from the principal one).
#: Each gives an event of kind ``diagnosis`` dated as the service. ``recienNacidos`` carry the
#: newborn's diagnoses, not the user's, and ``otrosServicios`` carry none.
RELATED_DIAGNOSIS_FIELDS: dict[str, tuple[str, ...]] = {
    "consultas": (
        "codDiagnosticoRelacionado1",
        "codDiagnosticoRelacionado2",
        "codDiagnosticoRelacionado3",
    ),
    "procedimientos": ("codDiagnosticoRelacionado", "codComplicacion"),
    "urgencias": (
        "codDiagnosticoPrincipalE",
        "codDiagnosticoRelacionadoE1",
        "codDiagnosticoRelacionadoE2",
        "codDiagnosticoRelacionadoE3",
    ),
    "hospitalizacion": (
        "codDiagnosticoPrincipalE",
        "codDiagnosticoRelacionadoE1",
        "codDiagnosticoRelacionadoE2",
        "codDiagnosticoRelacionadoE3",
        "codComplicacion",
    ),
    "medicamentos": ("codDiagnosticoRelacionado",),
}

#: The field read only where it differs from the principal diagnosis.
EGRESS_DIAGNOSIS_FIELD = "codDiagnosticoPrincipalE"

#: Field of each group naming what was done or dispensed, kept in ``events.product_code`` as
#: written: the CUPS code of a consultation or procedure, the drug's ``codTecnologiaSalud``
#: (CUM, ATC or IUM, as the provider codes it).
PRODUCT_FIELDS: dict[str, str] = {
    "consultas": "codConsulta",
    "procedimientos": "codProcedimiento",
    "medicamentos": "codTecnologiaSalud",
}

#: The shipped CUPS table: ``cups, kind, code, name, verified`` (see its header for sources).
CUPS_TABLE_FILE = "cups.csv"


def read_cups_table() -> pd.DataFrame:
    """Return the shipped CUPS table (``cups.csv`` beside this module), one row per CUPS code.

    Its header cites the CUPS resolutions and says how each code was checked (``verified``).

    Examples
    --------
    >>> table = read_cups_table()
    >>> table.set_index("cups").loc["902210", ["kind", "code"]].tolist()
    ['lab', 'HEMOGRAMA']
    """
    source = resources.files("masrisk.io.rips").joinpath(CUPS_TABLE_FILE)
    with source.open("r", encoding="utf-8") as stream:
        return pd.read_csv(stream, comment="#", dtype="str", keep_default_na=False)


#: CUPS procedure code -> (masrisk kind, masrisk code) of the labs, vaccines and screenings
#: read from ``procedimientos``, from :func:`read_cups_table`. Codes with a masrisk code
#: (:data:`masrisk.codes.LAB_CODES`, ``VACCINES``, ``SCREENINGS``) use it; other labs carry
#: the test's own name (``HEMOGRAMA``, ``UROANALISIS``). Codes starting ``masrisk:`` are
#: placeholders for tests without a verified CUPS code, which no real RIPS holds.
CUPS_CODES: dict[str, tuple[str, str]] = {
    row.cups: (row.kind, row.code) for row in read_cups_table().itertuples(index=False)
}

#: ``tipoUsuario`` (table RIPSTipoUsuarioVersion2) -> ``persons.regime``; the other codes
#: (ARL, SOAT, voluntary plans, private payers, prisons) name no regime and give a missing one.
USER_TYPE_REGIME: dict[str, str] = {
    "01": "contributivo",  # contributivo cotizante
    "02": "contributivo",  # contributivo beneficiario
    "03": "contributivo",  # contributivo adicional
    "04": "subsidiado",
    "05": "no_afiliado",
    "06": "especial",  # especial o de excepción cotizante
    "07": "especial",  # especial o de excepción beneficiario
    "13": "especial",  # especial o de excepción no cotizante
    "14": "no_afiliado",  # población pobre no asegurada
}

#: ``persons.regime`` -> ``tipoUsuario`` written by :func:`masrisk.io.to_rips`.
REGIME_USER_TYPE: dict[str, str] = {
    "contributivo": "01",
    "subsidiado": "04",
    "no_afiliado": "05",
    "especial": "06",
}

#: ``tipoUsuario`` written for a regime RIPS cannot name ("12", particular).
NO_REGIME_USER_TYPE = "12"

#: ``codZonaTerritorialResidencia`` -> ``territories.zone``: 02 urban, 01 rural.
#:
#: The field takes SISPRO's reference table ``ZonaVersion2`` (Resolución 2275 de 2023,
#: technical annex). That table itself could not be read from here; public RIPS
#: implementations that load it give 01 "Rural" and 02 "Urbano" (a validator's seed of the
#: table, comments "02 // Urbana" in generators for Bogotá and Cali), and one notes that the
#: IHCE's zone code system (``ZonaResidenciaCS`` of MinSalud's FHIR guide: 01 Urbana, 02 Rural)
#: runs the other way. One implementation writes the IHCE order for RIPS too. Check against
#: SISPRO's ZonaVersion2 before relying on urban/rural from RIPS alone.
ZONES: dict[str, str] = dict(zip(("02", "01"), vocabulary.ZONES, strict=True))

#: Identity documents of ``tipoDocumentoIdentificacion``.
DOCUMENT_TYPES: frozenset[str] = frozenset(
    {"CC", "CE", "CD", "PA", "SC", "PE", "PT", "RC", "TI", "CN", "AS", "MS", "DE", "SI", "NV"}
)

#: Sexes of ``codSexo`` that the data contract knows; "I" (indeterminate) is not one.
SEXES: frozenset[str] = frozenset(vocabulary.SEXES)

#: Kind codes of events, as positions in :data:`masrisk.codes.EVENT_KINDS`.
KIND_CODE: dict[str, int] = {kind: k for k, kind in enumerate(EVENT_KINDS)}

_ICD10 = re.compile(r"[A-Z][0-9]{2}[0-9A-Z]{0,2}")


class Located(NamedTuple):
    """Where a value sits: the file's position in the import and a JSON path in it."""

    file: int
    path: str


def read_icd10(raw: object) -> str | None:
    """Return the normalised ICD-10 code of a RIPS diagnosis, or ``None`` if it is not one.

    RIPS writes four characters without a dot, with an ``X`` filler for three-character codes
    (``"I10X"``, ``"A09X"``); the result is what :func:`masrisk.codes.normalize_icd10` gives
    (``"I10"``, ``"E119"``), the form masrisk's code groups match.

    Examples
    --------
    >>> [read_icd10(c) for c in ["I10X", "E119", "a09x", "U07.1", "10X", "", None]]
    ['I10', 'E119', 'A09', 'U071', None, None, None]
    """
    if not isinstance(raw, str):
        return None
    code = normalize_icd10(raw)
    return code if _ICD10.fullmatch(code) else None


def write_icd10(code: str) -> str:
    """Write an ICD-10 code the way RIPS does: no dot, four characters, ``X`` filler.

    Examples
    --------
    >>> [write_icd10(c) for c in ["I10", "E11.9", "I10X", "a09"]]
    ['I10X', 'E119', 'I10X', 'A09X']
    """
    normal = normalize_icd10(code)
    return normal + "X" if len(normal) == 3 else normal


#: Fields of a user entry that describe the person, in the order the reader keeps them.
USER_FIELDS: tuple[str, ...] = (
    "fechaNacimiento",
    "codSexo",
    "tipoUsuario",
    "codMunicipioResidencia",
    "codZonaTerritorialResidencia",
)
BIRTH, SEX, USER_TYPE, MUNICIPALITY, ZONE = range(len(USER_FIELDS))

#: Day number of a date that is missing or could not be read.
NO_DAY = np.iinfo("int64").min

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)?")
_MUNICIPALITY = re.compile(r"\d{5}")
_USER_TYPES = frozenset(f"{k:02d}" for k in range(1, 16))
_EARLIEST, _LATEST = (pd.Timestamp(d) for d in DATE_RANGE)

OK, MISSING, NOT_A_DATE, OUT_OF_RANGE = range(4)


def parse_days(raw: list[object]) -> tuple[np.ndarray, np.ndarray]:
    """Parse RIPS dates (``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM``) to days since 1970-01-01.

    Returns the days (int64, :data:`NO_DAY` where a value could not be read) and a status
    (int8: ``OK``, ``MISSING``, ``NOT_A_DATE`` or ``OUT_OF_RANGE`` of 1850-2200) per value.

    Examples
    --------
    >>> days, status = parse_days(["2024-01-31 08:10", "2024-02-30", None, "31/01/2024", 7])
    >>> status.tolist(), int(days[0])
    ([0, 2, 1, 2, 2], 19753)
    """
    values = pd.Series(raw, dtype=object)
    text = values.where(values.map(type) == str)  # noqa: E721 - exact type, not subclasses
    shaped = text.str.fullmatch(_DATE.pattern).fillna(False).astype(bool)
    parsed = pd.to_datetime(text.where(shaped).str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    read = parsed.notna().to_numpy()
    inside = read & ((parsed >= _EARLIEST) & (parsed < _LATEST)).to_numpy()
    missing = (values.isna() | values.eq("")).to_numpy()
    status = np.where(
        inside, OK, np.where(read, OUT_OF_RANGE, np.where(missing, MISSING, NOT_A_DATE))
    )
    days = parsed.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype("int64")
    return np.where(inside, days, NO_DAY), status.astype("int8")


def check_user_value(k: int, value: object) -> str:
    """Return the rule a value of user field ``USER_FIELDS[k]`` breaks, or ``""``."""
    if value is None or value == "":
        return f"missing {USER_FIELDS[k]}"
    if k == BIRTH:
        return _date_rule(value)
    if k == SEX:
        return "" if value in SEXES else "sex not F or M"
    if k == USER_TYPE:
        return "" if value in _USER_TYPES else "unknown tipoUsuario"
    if k == MUNICIPALITY:
        ok = isinstance(value, str) and _MUNICIPALITY.fullmatch(value)
        return "" if ok else "not a DIVIPOLA municipality code"
    return "" if value in ZONES else "unknown codZonaTerritorialResidencia"


def _date_rule(value: object) -> str:
    """Return the rule a RIPS date breaks (as :func:`parse_days` reads it), or ``""``."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return "not a date"
    try:
        day = datetime.date.fromisoformat(value[:10])
    except ValueError:
        return "not a date"
    return "" if _EARLIEST.year <= day.year < _LATEST.year else "date out of range 1850-2200"
