"""The part of the OMOP Common Data Model v5.4 that masrisk reads and writes.

Table and column names, and column types, follow the OHDSI DDL of CDM v5.4
(``OHDSI/CommonDataModel``, ``inst/ddl/5.4``), with two changes made on purpose: ids are
``BIGINT`` (as OHDSI allows for large databases) and text columns have no length limit, so
that long territory ids fit in ``location.county``. Numbers that masrisk reads back exactly
(``value_as_number``, ``latitude``, ``longitude``) are ``DOUBLE PRECISION`` rather than
``NUMERIC``.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "CDM_TABLES",
    "EHR",
    "FEMALE",
    "MALE",
    "NO_CONCEPT",
    "PHARMACY_VISIT",
    "Plan",
    "PRIMARY_DIAGNOSIS",
    "VISIT_CONCEPTS",
    "VISIT_KINDS",
]

#: Concept 0, "No matching concept": masrisk ships no vocabulary, so the standard concept ids
#: of conditions, drugs, procedures and measurements are 0 and the source values carry codes.
NO_CONCEPT = 0
#: Gender concepts (OMOP Gender vocabulary).
FEMALE, MALE = 8532, 8507
#: Type concept "EHR" (Type Concept vocabulary) for every record masrisk writes.
EHR = 32817
#: Condition status "Primary diagnosis": the diagnosis that codes a visit's event.
PRIMARY_DIAGNOSIS = 32902
#: Visit concept "Pharmacy visit": written around each dispensation to carry its indication.
PHARMACY_VISIT = 581458

#: Visit concepts -> masrisk event kind; ``None`` means the visit is not an event by itself
#: (pharmacy and laboratory visits: their drug exposures and measurements are the events).
VISIT_KINDS: dict[int, str | None] = {
    9202: "outpatient",  # Outpatient Visit
    581477: "outpatient",  # Office Visit
    581476: "outpatient",  # Home Visit
    5083: "outpatient",  # Telehealth
    8756: "outpatient",  # Outpatient Hospital (place of service)
    9203: "emergency",  # Emergency Room Visit
    8870: "emergency",  # Emergency Room - Hospital (place of service)
    9201: "hospitalization",  # Inpatient Visit
    262: "hospitalization",  # Emergency Room and Inpatient Visit
    8717: "hospitalization",  # Inpatient Hospital (place of service)
    PHARMACY_VISIT: None,  # Pharmacy visit
    32036: None,  # Laboratory Visit
}

#: masrisk visit kinds -> the visit concept written for them.
VISIT_CONCEPTS: dict[str, int] = {
    "outpatient": 9202,
    "emergency": 9203,
    "hospitalization": 9201,
    "pharmacy": PHARMACY_VISIT,
}

_SQL_TYPES = {
    "id": "BIGINT",
    "int": "INTEGER",
    "date": "DATE",
    "time": "TIMESTAMP",
    "text": "VARCHAR",
    "num": "DOUBLE PRECISION",
}


def _columns(spec: str) -> tuple[tuple[str, str], ...]:
    """Parse ``"name:kind name:kind ..."``, each kind a key of ``_SQL_TYPES``."""
    return tuple((name, _SQL_TYPES[kind]) for name, kind in (i.split(":") for i in spec.split()))


#: OMOP table -> its CDM v5.4 columns ``(name, SQL type)``, in DDL order.
CDM_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "location": _columns(
        "location_id:id address_1:text address_2:text city:text state:text zip:text "
        "county:text location_source_value:text country_concept_id:int "
        "country_source_value:text latitude:num longitude:num"
    ),
    "care_site": _columns(
        "care_site_id:id care_site_name:text place_of_service_concept_id:int location_id:id "
        "care_site_source_value:text place_of_service_source_value:text"
    ),
    "person": _columns(
        "person_id:id gender_concept_id:int year_of_birth:int month_of_birth:int "
        "day_of_birth:int birth_datetime:time race_concept_id:int ethnicity_concept_id:int "
        "location_id:id provider_id:id care_site_id:id person_source_value:text "
        "gender_source_value:text gender_source_concept_id:int race_source_value:text "
        "race_source_concept_id:int ethnicity_source_value:text ethnicity_source_concept_id:int"
    ),
    "observation_period": _columns(
        "observation_period_id:id person_id:id observation_period_start_date:date "
        "observation_period_end_date:date period_type_concept_id:int"
    ),
    "payer_plan_period": _columns(
        "payer_plan_period_id:id person_id:id payer_plan_period_start_date:date "
        "payer_plan_period_end_date:date payer_concept_id:int payer_source_value:text "
        "payer_source_concept_id:int plan_concept_id:int plan_source_value:text "
        "plan_source_concept_id:int sponsor_concept_id:int sponsor_source_value:text "
        "sponsor_source_concept_id:int family_source_value:text stop_reason_concept_id:int "
        "stop_reason_source_value:text stop_reason_source_concept_id:int"
    ),
    "visit_occurrence": _columns(
        "visit_occurrence_id:id person_id:id visit_concept_id:int visit_start_date:date "
        "visit_start_datetime:time visit_end_date:date visit_end_datetime:time "
        "visit_type_concept_id:int provider_id:id care_site_id:id visit_source_value:text "
        "visit_source_concept_id:int admitted_from_concept_id:int "
        "admitted_from_source_value:text discharged_to_concept_id:int "
        "discharged_to_source_value:text preceding_visit_occurrence_id:id"
    ),
    "condition_occurrence": _columns(
        "condition_occurrence_id:id person_id:id condition_concept_id:int "
        "condition_start_date:date condition_start_datetime:time condition_end_date:date "
        "condition_end_datetime:time condition_type_concept_id:int "
        "condition_status_concept_id:int stop_reason:text provider_id:id "
        "visit_occurrence_id:id visit_detail_id:id condition_source_value:text "
        "condition_source_concept_id:int condition_status_source_value:text"
    ),
    "drug_exposure": _columns(
        "drug_exposure_id:id person_id:id drug_concept_id:int drug_exposure_start_date:date "
        "drug_exposure_start_datetime:time drug_exposure_end_date:date "
        "drug_exposure_end_datetime:time verbatim_end_date:date drug_type_concept_id:int "
        "stop_reason:text refills:int quantity:num days_supply:int sig:text "
        "route_concept_id:int lot_number:text provider_id:id visit_occurrence_id:id "
        "visit_detail_id:id drug_source_value:text drug_source_concept_id:int "
        "route_source_value:text dose_unit_source_value:text"
    ),
    "procedure_occurrence": _columns(
        "procedure_occurrence_id:id person_id:id procedure_concept_id:int procedure_date:date "
        "procedure_datetime:time procedure_end_date:date procedure_end_datetime:time "
        "procedure_type_concept_id:int modifier_concept_id:int quantity:int provider_id:id "
        "visit_occurrence_id:id visit_detail_id:id procedure_source_value:text "
        "procedure_source_concept_id:int modifier_source_value:text"
    ),
    "measurement": _columns(
        "measurement_id:id person_id:id measurement_concept_id:int measurement_date:date "
        "measurement_datetime:time measurement_time:text measurement_type_concept_id:int "
        "operator_concept_id:int value_as_number:num value_as_concept_id:int "
        "unit_concept_id:int range_low:num range_high:num provider_id:id "
        "visit_occurrence_id:id visit_detail_id:id measurement_source_value:text "
        "measurement_source_concept_id:int unit_source_value:text unit_source_concept_id:int "
        "value_source_value:text measurement_event_id:id meas_event_field_concept_id:int"
    ),
    "death": _columns(
        "person_id:id death_date:date death_datetime:time death_type_concept_id:int "
        "cause_concept_id:int cause_source_value:text cause_source_concept_id:int"
    ),
}

#: Columns to read per OMOP table (``None``: the table is absent).
Plan = Mapping[str, "list[str] | None"]
