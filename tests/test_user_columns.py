"""Users' own column names: a config's ``columns:`` mapping and DANE's names of the IPM flags.

Read as the contract's in one place (:mod:`masrisk.schema.columns`); a column outside the
contract is kept and said once to be kept, not used.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import masrisk
from masrisk.codes import MPI_INDICATORS
from masrisk.config import shipped_file
from masrisk.features import build_features
from masrisk.scale import engines
from masrisk.schema.columns import known_names
from tests.conftest import make_frames
from tests.test_cli import run

#: DANE's variable names of the 15 flags (its IPM algorithm), as the shipped file gives them.
DANE = {
    "LOGRO_2": "dep_low_educational_attainment",
    "ALFA_2": "dep_illiteracy",
    "ASISTE_2": "dep_school_non_attendance",
    "REZAGO_2": "dep_school_lag",
    "A_INTEGRAL_2": "dep_early_childhood_care_barriers",
    "TRABAJOINF_2": "dep_child_labour",
    "DES_DURA_2": "dep_long_term_unemployment",
    "EFORMAL_2": "dep_informal_work",
    "SEGURO_SALUD_2": "dep_no_health_insurance",
    "SALUD_NEC_2": "dep_health_access_barriers",
    "ACUEDUCTO": "dep_no_improved_water",
    "ALCANTARILLADO": "dep_inadequate_excreta_disposal",
    "PISOS": "dep_inadequate_floors",
    "PAREDES": "dep_inadequate_exterior_walls",
    "HACINAMIENTO": "dep_critical_overcrowding",
}
OURS_TO_DANE = {ours: theirs for theirs, ours in DANE.items()}
AS_OF = "2025-01-01"
DEMO = Path(__file__).resolve().parents[1] / "models" / "hospitalization_12m"


def kept_not_used(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "kept, not used" in r.getMessage()]


def test_the_shipped_names_are_dane_s_for_each_of_the_15_flags_once():
    households = known_names()["households"]
    assert {theirs.upper(): ours for theirs, (ours, _) in households.items()} == DANE
    assert set(DANE.values()) == set(MPI_INDICATORS)
    assert {source for _, source in households.values()} == {"dane"}


def test_dane_names_give_the_same_features_as_masrisk_names(caplog):
    frames = make_frames()
    theirs = {**frames, "households": frames["households"].rename(columns=OURS_TO_DANE)}
    assert "PISOS" in theirs["households"].columns
    config = masrisk.load_config("bogota")
    with caplog.at_level(logging.INFO, logger="masrisk"):
        renamed = masrisk.Tables.from_frames(theirs)
    assert set(MPI_INDICATORS) <= set(renamed.households.columns)
    assert not kept_not_used(caplog)
    assert any("read 'PISOS' as dep_inadequate_floors (DANE's name)" in m for m in caplog.messages)
    expected = build_features(masrisk.Tables.from_frames(frames), as_of=AS_OF, config=config)
    got = build_features(renamed, as_of=AS_OF, config=config)
    pd.testing.assert_frame_equal(got, expected)
    assert got["fam_deprivation_score"].notna().all()


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(sorted(DANE)), flips=st.lists(st.booleans(), min_size=20, max_size=20))
def test_dane_names_are_recognised_whatever_their_case(name, flips):
    spelled = "".join(c.swapcase() if flip else c for c, flip in zip(name, flips, strict=False))
    spelled += name[len(flips) :]
    frames = make_frames()
    households = frames["households"].rename(columns={DANE[name]: spelled})
    tables = masrisk.Tables.from_frames({**frames, "households": households})
    assert DANE[name] in tables.households.columns
    assert spelled not in tables.households.columns or spelled == DANE[name]


def test_a_flag_under_both_names_is_refused_naming_both():
    frames = make_frames()
    households = frames["households"].assign(PISOS=frames["households"]["dep_inadequate_floors"])
    with pytest.raises(masrisk.ValidationError) as caught:
        masrisk.Tables.from_frames({**frames, "households": households})
    (problem,) = caught.value.problems
    assert (problem.table, problem.column) == ("households", "dep_inadequate_floors")
    assert problem.rule == "column given twice, under several names"
    assert set(problem.examples) == {"'dep_inadequate_floors'", "'PISOS'"}


def test_an_unmapped_extra_column_is_kept_and_said_once(caplog):
    frames = make_frames()
    households = frames["households"].assign(estrato_hogar=[1, 2, 3, 4], dep_ilitteracy=0)
    persons = frames["persons"].assign(peso_kg=70.5)
    with caplog.at_level(logging.WARNING, logger="masrisk"):
        tables = masrisk.Tables.from_frames(
            {**frames, "households": households, "persons": persons}
        )
    said = kept_not_used(caplog)
    assert len(said) == 2, said
    assert said[0].startswith("households: 2 columns kept, not used: 'estrato_hogar', ")
    assert "'dep_ilitteracy' (did you mean dep_illiteracy?" in said[0]
    assert said[1] == "persons: 1 column kept, not used: 'peso_kg'"
    assert tables.households["estrato_hogar"].tolist() == [1, 2, 3, 4]  # kept as given
    assert tables.persons["peso_kg"].eq(70.5).all()


def test_some_flags_but_not_all_are_said_to_leave_every_score_missing(caplog):
    frames = make_frames()
    households = frames["households"].drop(columns=["dep_child_labour"])
    with caplog.at_level(logging.WARNING, logger="masrisk"):
        tables = masrisk.Tables.from_frames({**frames, "households": households})
    assert any(
        "14 of the 15 deprivation flags given (missing: dep_child_labour)" in m
        for m in caplog.messages
    )
    features = build_features(tables, as_of=AS_OF, config=masrisk.load_config("bogota"))
    assert features["fam_deprivation_score"].isna().all()


# --------------------------------------------------------------------------- config columns:

MAPPING = {
    "persons": {"id_persona": "person_id", "sexo": "sex", "fecha_nacimiento": "birth_date"},
    "events": {"fecha": "date", "tipo": "kind"},
}


def renamed_frames() -> dict[str, pd.DataFrame]:
    frames = make_frames()
    for table, names in MAPPING.items():
        frames[table] = frames[table].rename(columns={ours: t for t, ours in names.items()})
    return frames


def config_file(directory: Path, columns: dict) -> Path:
    settings_ = yaml.safe_load(shipped_file("bogota.yaml").read_text(encoding="utf-8"))
    path = directory / "mine.yaml"
    path.write_text(yaml.safe_dump({**settings_, "columns": columns}), encoding="utf-8")
    return path


def write(frames: dict[str, pd.DataFrame], directory: Path) -> Path:
    directory.mkdir()
    for name, frame in frames.items():
        frame.to_csv(directory / f"{name}.csv", index=False)
    return directory


def test_a_config_columns_mapping_reads_users_names_as_the_contract_s(tmp_path):
    config = masrisk.load_config(config_file(tmp_path, MAPPING))
    assert config.columns == MAPPING
    data = write(renamed_frames(), tmp_path / "data")
    with pytest.raises(masrisk.ValidationError, match="persons.sex: missing column"):
        masrisk.load_tables(data)
    mine = masrisk.load_tables(data, columns=config.columns)
    ours = masrisk.load_tables(write(make_frames(), tmp_path / "ours"))
    for name, frame in ours.items():
        pd.testing.assert_frame_equal(getattr(mine, name), frame)


def test_the_mapping_reaches_scoring_through_the_config(tmp_path):
    frames = {
        name: frame.copy()
        for name, frame in masrisk.synthesize("bogota", persons=1000, seed=2).tables.items()
    }
    frames["persons"] = frames["persons"].rename(columns={"sex": "sexo"})
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in frames.items():
        frame.to_parquet(data / f"{name}.parquet")
    config = masrisk.load_config(config_file(tmp_path, {"persons": {"sexo": "sex"}}))
    scores = engines.score(masrisk.load_bundle(DEMO), data, as_of=AS_OF, config=config)
    assert len(scores) > 0


def test_a_mapping_to_no_contract_column_is_refused_naming_the_config_key():
    frames = renamed_frames()
    columns = {"persons": {"sexo": "gender"}, "personas": {"x": "sex"}}
    with pytest.raises(masrisk.ValidationError) as caught:
        masrisk.validate(frames, columns={**MAPPING, **columns})
    found = {(p.table, p.column): p for p in caught.value.problems}
    assert found["config", "columns.persons.sexo"].examples == ("'gender'",)
    assert "sex" in found["config", "columns.persons.sexo"].detail
    assert ("config", "columns.personas.x") in found


def test_a_columns_section_of_the_wrong_shape_is_a_config_error(tmp_path):
    with pytest.raises(masrisk.ConfigError, match="columns"):
        masrisk.load_config(config_file(tmp_path, {"persons": ["sexo"]}))


def test_masrisk_validate_reads_the_config_s_names_and_says_what_it_keeps(tmp_path):
    frames = renamed_frames()
    frames["households"] = frames["households"].rename(columns=OURS_TO_DANE).assign(estrato=3)
    data = write(frames, tmp_path / "data")
    refused = run("validate", data)
    assert refused.returncode == 2
    assert "persons.sex: missing column" in refused.stderr
    done = run("validate", data, "--config", config_file(tmp_path, MAPPING))
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("households: 1 column kept, not used: 'estrato'") == 1
    assert "valid" in done.stdout
