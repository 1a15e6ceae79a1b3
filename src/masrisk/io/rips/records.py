"""The service records of a RIPS document, one builder per service group.

Each builder takes one row (``icd``: the diagnosis as RIPS writes it, ``cups``: the procedure
code, ``kind``, ``start`` and ``end``: date-times, ``condition`` and ``cause``: the egress) and
returns the fields between ``codPrestador`` and ``consecutivo`` (added by :func:`record`).
Fields masrisk has no value for (authorisation, values, copayments, purpose and cause of the
service, service codes) hold placeholders that were not checked against the RIPS code tables:
the reader ignores them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

__all__ = ["RECORD_BUILDERS", "record"]

# principal diagnosis of procedures, by kind: Z01.7 laboratory examination, Z27.9 need for
# immunisation against combinations of infectious diseases, Z13.9 special screening
# examination (not read back: procedures take their code from the CUPS table)
_PROCEDURE_DIAGNOSIS = {"lab": "Z017", "vaccination": "Z279", "screening": "Z139"}
_PAYMENT = {"vrServicio": 0, "conceptoRecaudo": "05", "valorPagoModerador": 0}


def _empty(names: str) -> dict[str, None]:
    """Fields left empty (``null``), named in one string."""
    return dict.fromkeys(names.split())


_EMPTY = {
    "consultas": _empty(
        "numAutorizacion codDiagnosticoRelacionado1 codDiagnosticoRelacionado2 "
        "codDiagnosticoRelacionado3 tipoDocumentoIdentificacion numDocumentoIdentificacion "
        "numFEVPagoModerador"
    ),
    "procedimientos": _empty(
        "idMIPRES numAutorizacion tipoDocumentoIdentificacion numDocumentoIdentificacion "
        "codDiagnosticoRelacionado codComplicacion numFEVPagoModerador"
    ),
    "egress": _empty(
        "codDiagnosticoRelacionadoE1 codDiagnosticoRelacionadoE2 codDiagnosticoRelacionadoE3"
    ),
    "hospitalizacion": _empty("numAutorizacion codComplicacion"),
    "medicamentos": _empty(
        "numAutorizacion idMIPRES codDiagnosticoRelacionado codTecnologiaSalud "
        "nomTecnologiaSalud formaFarmaceutica tipoDocumentoIdentificacion "
        "numDocumentoIdentificacion numFEVPagoModerador"
    ),
}


def record(group: str, row: dict, consecutive: int, nit: str) -> dict:
    """Return the record of ``row`` in ``group``, the ``consecutive``-th of provider ``nit``."""
    return {"codPrestador": f"{nit}01", **RECORD_BUILDERS[group](row), "consecutivo": consecutive}


def consultation(row: dict) -> dict:
    """Return a ``consultas`` record: a general practice consultation (CUPS 890201)."""
    return {
        "fechaInicioAtencion": row["start"],
        "codConsulta": "890201",
        "modalidadGrupoServicioTecSal": "01",
        "grupoServicios": "01",
        "codServicio": 328,
        "finalidadTecnologiaSalud": "15",
        "causaMotivoAtencion": "38",
        "codDiagnosticoPrincipal": row["icd"],
        "tipoDiagnosticoPrincipal": "01",
        **_EMPTY["consultas"],
        **_PAYMENT,
    }


def procedure(row: dict) -> dict:
    """Return a ``procedimientos`` record: a lab, vaccine or screening by its CUPS code."""
    return {
        "fechaInicioAtencion": row["start"],
        "codProcedimiento": row["cups"],
        "viaIngresoServicioSalud": "01",
        "modalidadGrupoServicioTecSal": "01",
        "grupoServicios": "02",
        "codServicio": 706,
        "finalidadTecnologiaSalud": "14",
        "codDiagnosticoPrincipal": _PROCEDURE_DIAGNOSIS.get(row["kind"], "Z000"),
        **_EMPTY["procedimientos"],
        **_PAYMENT,
    }


def egress(row: dict, group: str = "urgencias") -> dict:
    """Return an ``urgencias`` (or ``hospitalizacion``) record; a death is egress ``"02"``."""
    stay = {"viaIngresoServicioSalud": "02", **_EMPTY[group]} if group != "urgencias" else {}
    return {
        **stay,
        "fechaInicioAtencion": row["start"],
        "causaMotivoAtencion": "38",
        "codDiagnosticoPrincipal": row["icd"],
        "codDiagnosticoPrincipalE": row["icd"],
        **_EMPTY["egress"],
        "condicionDestinoUsuarioEgreso": row["condition"],
        "codDiagnosticoCausaMuerte": row["cause"],
        "fechaEgreso": row["end"],
    }


def dispensation(row: dict) -> dict:
    """Return a ``medicamentos`` record; masrisk knows the diagnosis, not the drug."""
    return {
        "fechaDispensAdmon": row["start"],
        "codDiagnosticoPrincipal": row["icd"],
        "tipoMedicamento": "01",
        "concentracionMedicamento": 0,
        "unidadMedida": 0,
        "unidadMinDispensa": 1,
        "cantidadMedicamento": 1,
        "diasTratamiento": 30,
        "vrUnitMedicamento": 0,
        **_EMPTY["medicamentos"],
        **_PAYMENT,
    }


#: Service group -> builder of its records.
RECORD_BUILDERS: dict[str, Callable[[dict], dict]] = {
    "consultas": consultation,
    "procedimientos": procedure,
    "urgencias": egress,
    "hospitalizacion": partial(egress, group="hospitalizacion"),
    "medicamentos": dispensation,
}
