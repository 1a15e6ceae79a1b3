"""Shared fixtures: small hand-made tables whose right answers are known by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from masrisk.codes import MPI_INDICATORS


def make_frames() -> dict[str, pd.DataFrame]:
    """A valid population of 3 territories, 4 households, 8 persons and 12 events."""
    territories = pd.DataFrame(
        {
            "territory_id": ["T1", "T2", "T3"],
            "zone": ["urban", "urban", "rural"],
            "population": [3, 3, 2],
            "lon": [-74.08, -74.10, -74.15],
            "lat": [4.60, 4.62, 4.30],
        }
    )
    households = pd.DataFrame(
        {"household_id": ["H1", "H2", "H3", "H4"], "territory_id": ["T1", "T1", "T2", "T3"]}
    )
    for i, column in enumerate(MPI_INDICATORS):
        households[column] = [(i + k) % 2 for k in range(4)]
    persons = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"],
            "household_id": ["H1", "H1", "H1", "H2", "H3", "H3", "H4", "H4"],
            "birth_date": [
                "1950-03-01",
                "1955-07-15",
                "2020-01-10",
                "1988-12-31",
                "1975-05-05",
                "2010-10-10",
                "1940-02-29",
                "1999-09-09",
            ],
            "sex": ["M", "F", "F", "M", "F", "M", "F", "M"],
            "regime": ["contributivo"] * 4 + ["subsidiado"] * 4,
            "pregnant": [0, 0, 0, 0, 1, 0, 0, 0],
        }
    )
    events = pd.DataFrame(
        {
            "person_id": ["P1", "P1", "P1", "P2", "P3", "P4", "P5", "P5", "P6", "P7", "P7", "P8"],
            "date": [
                "2023-01-10",
                "2023-06-01",
                "2024-02-03",
                "2023-03-03",
                "2023-04-04",
                "2024-05-05",
                "2023-07-07",
                "2023-08-08",
                "2024-01-01",
                "2023-02-02",
                "2024-03-03",
                "2024-12-31",
            ],
            "kind": [
                "outpatient",
                "lab",
                "hospitalization",
                "pharmacy",
                "vaccination",
                "emergency",
                "screening",
                "outpatient",
                "outpatient",
                "outpatient",
                "death",
                "outpatient",
            ],
            "code": [
                "I10X",
                "HBA1C",
                "I21.0",
                "E119",
                "PENTA",
                "S52",
                "CERVICAL_CYTOLOGY",
                "Z34",
                "J06",
                "J449",
                "I64X",
                "F32",
            ],
            "value": [None, "7.9", None, None, None, None, None, None, None, None, None, None],
        }
    )
    adjacency = pd.DataFrame(
        {"territory_id": ["T1", "T2", "T2", "T3"], "neighbor_id": ["T2", "T1", "T3", "T2"]}
    )
    facilities = pd.DataFrame(
        {"facility_id": ["F1", "F2"], "lon": [-74.09, -74.12], "lat": [4.61, 4.5], "level": [1, 3]}
    )
    return {
        "territories": territories,
        "adjacency": adjacency,
        "households": households,
        "persons": persons,
        "events": events,
        "facilities": facilities,
    }


@pytest.fixture
def frames() -> dict[str, pd.DataFrame]:
    return make_frames()
