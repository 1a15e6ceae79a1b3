"""Code tables of RIPS (Resolution 2275 of 2023), and how the reader and writer check them."""

from __future__ import annotations

import datetime
import re
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

#: Field holding each group's principal ICD-10 diagnosis, for the groups whose events carry one.
DIAGNOSIS_FIELD = "codDiagnosticoPrincipal"

#: CUPS procedure code -> (masrisk kind, masrisk code) of the labs, vaccines and screenings the
#: synthetic populations use (:data:`masrisk.codes.LAB_CODES`, ``VACCINES``, ``SCREENINGS``).
#:
#: Checked against public RIPS/CUPS listings: 903426 (HbA1c, automated), 903895 (creatinine),
#: 903816 (LDL, enzymatic), 903841 (glucose), 904902 (TSH), 903026 (microalbuminuria). The other
#: codes follow the CUPS chapters for haematology (9022), flow cytometry (9022), vaccination
#: (9931/9935), cytology (8929), imaging (8768) and tumour markers (9066/9070) as far as we know
#: them, and were not checked against the CUPS resolution in force. The three RIAS assessments
#: (blood pressure, diabetes risk, growth and development) are recorded inside consultations and
#: have no procedure code of their own: their ``masrisk:`` codes are placeholders that no real
#: RIPS holds. Check the table against your sources, and pass ``cups=`` to
#: :func:`masrisk.io.from_rips` / :func:`masrisk.io.to_rips` to correct or extend it.
CUPS_CODES: dict[str, tuple[str, str]] = {
    # labs
    "903426": ("lab", "HBA1C"),
    "903895": ("lab", "CREATININA"),
    "903816": ("lab", "LDL"),
    "903841": ("lab", "GLUCOSA"),
    "902213": ("lab", "HEMOGLOBINA"),
    "903026": ("lab", "MICROALBUMINURIA"),
    "904902": ("lab", "TSH"),
    "902230": ("lab", "CD4"),
    # vaccines of the PAI
    "993102": ("vaccination", "BCG"),
    "993502": ("vaccination", "HEPB"),
    "993130": ("vaccination", "PENTA"),
    "993122": ("vaccination", "POLIO"),
    "993512": ("vaccination", "ROTA"),
    "993513": ("vaccination", "PCV"),
    "993510": ("vaccination", "FLU"),
    "993522": ("vaccination", "MMR"),
    "993509": ("vaccination", "VARICELLA"),
    "993501": ("vaccination", "HEPA"),
    "993504": ("vaccination", "YF"),
    "993120": ("vaccination", "DPT"),
    "993514": ("vaccination", "HPV"),
    "993106": ("vaccination", "TD"),
    "993520": ("vaccination", "COVID19"),
    # screenings and risk assessments of the RIAS
    "892901": ("screening", "CERVICAL_CYTOLOGY"),
    "908890": ("screening", "HPV_TEST"),
    "876802": ("screening", "MAMMOGRAPHY"),
    "906610": ("screening", "PSA"),
    "907009": ("screening", "FIT"),
    "masrisk:BP_SCREENING": ("screening", "BP_SCREENING"),
    "masrisk:DIABETES_RISK": ("screening", "DIABETES_RISK"),
    "masrisk:GROWTH_DEVELOPMENT": ("screening", "GROWTH_DEVELOPMENT"),
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
