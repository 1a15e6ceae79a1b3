"""Interoperability: read the records health systems keep, write what they read back.

- :mod:`masrisk.io.rips` reads Colombia's RIPS (Resolution 2275 of 2023: one JSON document
  per invoice) into a data directory, and writes the synthetic populations as RIPS;
- :mod:`masrisk.io.omop` reads the OMOP Common Data Model from CSV/Parquet folders or a
  database (DuckDB, PostgreSQL), and writes it;
- :mod:`masrisk.io.fhir` writes scores and plans as HL7 FHIR R4 ``RiskAssessment`` and
  ``CarePlan`` resources, as NDJSON bulk files.

Names are loaded on first use, so importing :mod:`masrisk.io` does not import the FHIR or
database libraries.
"""

from __future__ import annotations

from masrisk._lazy import lazy_exports

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "from_rips": "masrisk.io.rips",
    "to_rips": "masrisk.io.rips",
    "from_omop": "masrisk.io.omop",
    "to_omop": "masrisk.io.omop",
    "export_fhir": "masrisk.io.fhir",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
