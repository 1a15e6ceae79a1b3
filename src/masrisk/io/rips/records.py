"""The service records of a RIPS document, one builder per service group.

Each builder takes one row (``icd``: the diagnosis as RIPS writes it, ``cups``: the procedure
code, ``kind``, ``start`` and ``end``: date-times, ``condition`` and ``cause``: the egress),
the record's ``consecutivo`` and the provider's code. Fields masrisk has no value for
(authorisation, values, copayments, purpose and cause of the service, service codes) hold
placeholders that were not checked against the RIPS code tables: the reader ignores them.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["RECORD_BUILDERS"]

# principal diagnosis of procedures, by kind: Z01.7 laboratory examination, Z27.9 need for
# immunisation against combinations of infectious diseases, Z13.9 special screening
# examination (not read back: procedures take their code from the CUPS table)
_PROCEDURE_DIAGNOSIS = {"lab": "Z017", "vaccination": "Z279", "screening": "Z139"}
_NONE = {"numAutorizacion": None, "tipoDocumentoIdentificacion": None}
_PAYMENT = {
    "vrServicio": 0,
    "conceptoRecaudo": "05",
    "valorPagoModerador": 0,
    "numFEVPagoModerador": None,
}


def _provider(nit: str) -> str:
    return f"{nit}01"


def consultation(row: dict, consecutive: int, nit: str) -> dict:
    """Return a ``consultas`` record: a general practice consultation (CUPS 890201)."""
    return {
        "codPrestador": _provider(nit),
        "fechaInicioAtencion": row["start"],
        "numAutorizacion": None,
        "codConsulta": "890201",
        "modalidadGrupoServicioTecSal": "01",
        "grupoServicios": "01",
        "codServicio": 328,
        "finalidadTecnologiaSalud": "15",
        "causaMotivoAtencion": "38",
        "codDiagnosticoPrincipal": row["icd"],
        "codDiagnosticoRelacionado1": None,
        "codDiagnosticoRelacionado2": None,
        "codDiagnosticoRelacionado3": None,
        "tipoDiagnosticoPrincipal": "01",
        **_NONE,
        "numDocumentoIdentificacion": None,
        **_PAYMENT,
        "consecutivo": consecutive,
    }


def procedure(row: dict, consecutive: int, nit: str) -> dict:
    """Return a ``procedimientos`` record: a lab, vaccine or screening by its CUPS code."""
    return {
        "codPrestador": _provider(nit),
        "fechaInicioAtencion": row["start"],
        "idMIPRES": None,
        "numAutorizacion": None,
        "codProcedimiento": row["cups"],
        "viaIngresoServicioSalud": "01",
        "modalidadGrupoServicioTecSal": "01",
        "grupoServicios": "02",
        "codServicio": 706,
        "finalidadTecnologiaSalud": "14",
        "tipoDocumentoIdentificacion": None,
        "numDocumentoIdentificacion": None,
        "codDiagnosticoPrincipal": _PROCEDURE_DIAGNOSIS.get(row["kind"], "Z000"),
        "codDiagnosticoRelacionado": None,
        "codComplicacion": None,
        **_PAYMENT,
        "consecutivo": consecutive,
    }


def _egress(row: dict) -> dict:
    return {
        "codDiagnosticoPrincipal": row["icd"],
        "codDiagnosticoPrincipalE": row["icd"],
        "codDiagnosticoRelacionadoE1": None,
        "codDiagnosticoRelacionadoE2": None,
        "codDiagnosticoRelacionadoE3": None,
    }


def emergency(row: dict, consecutive: int, nit: str) -> dict:
    """Return an ``urgencias`` record; a death is its egress condition ``"02"``."""
    return {
        "codPrestador": _provider(nit),
        "fechaInicioAtencion": row["start"],
        "causaMotivoAtencion": "38",
        **_egress(row),
        "condicionDestinoUsuarioEgreso": row["condition"],
        "codDiagnosticoCausaMuerte": row["cause"],
        "fechaEgreso": row["end"],
        "consecutivo": consecutive,
    }


def admission(row: dict, consecutive: int, nit: str) -> dict:
    """Return a ``hospitalizacion`` record; a death is its egress condition ``"02"``."""
    return {
        "codPrestador": _provider(nit),
        "viaIngresoServicioSalud": "02",
        "fechaInicioAtencion": row["start"],
        "numAutorizacion": None,
        "causaMotivoAtencion": "38",
        **_egress(row),
        "codComplicacion": None,
        "condicionDestinoUsuarioEgreso": row["condition"],
        "codDiagnosticoCausaMuerte": row["cause"],
        "fechaEgreso": row["end"],
        "consecutivo": consecutive,
    }


def dispensation(row: dict, consecutive: int, nit: str) -> dict:
    """Return a ``medicamentos`` record; masrisk knows the diagnosis, not the drug."""
    return {
        "codPrestador": _provider(nit),
        "numAutorizacion": None,
        "idMIPRES": None,
        "fechaDispensAdmon": row["start"],
        "codDiagnosticoPrincipal": row["icd"],
        "codDiagnosticoRelacionado": None,
        "tipoMedicamento": "01",
        "codTecnologiaSalud": None,
        "nomTecnologiaSalud": None,
        "concentracionMedicamento": 0,
        "unidadMedida": 0,
        "formaFarmaceutica": None,
        "unidadMinDispensa": 1,
        "cantidadMedicamento": 1,
        "diasTratamiento": 30,
        "tipoDocumentoIdentificacion": None,
        "numDocumentoIdentificacion": None,
        "vrUnitMedicamento": 0,
        **_PAYMENT,
        "consecutivo": consecutive,
    }


#: Service group -> builder of its records.
RECORD_BUILDERS: dict[str, Callable[[dict, int, str], dict]] = {
    "consultas": consultation,
    "procedimientos": procedure,
    "urgencias": emergency,
    "hospitalizacion": admission,
    "medicamentos": dispensation,
}
