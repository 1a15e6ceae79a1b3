"""The synthetic population: realism against stated targets, the contract, the truth."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import rankdata

from masrisk import synth
from masrisk.codes import (
    EVENT_KINDS,
    LIFE_COURSE_STAGES,
    MPI_INDICATORS,
    MPI_POVERTY_CUTOFF,
    VACCINE_SCHEDULE,
)
from masrisk.outputs import MARKER, OutputExistsError
from masrisk.schema import load_tables, validate
from masrisk.synth import (
    AGE_STAGE_SHARES,
    CHRONIC_PREVALENCE,
    FEMALE_SHARE,
    HOUSEHOLD_SIZE_MEAN,
    MPI_POOR_SHARE,
    ONE_PERSON_SHARE,
    OUTCOME_DEFINITIONS,
    PROFILES,
    RURAL_SHARE,
    TRUTH_OUTCOMES,
    YEARLY_RATES,
    synthesize,
)

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PERSONS = 20_000
END = pd.Timestamp("2024-12-31")
YEARS = (2021, 2022, 2023, 2024)
BOGOTA_LOCALIDADES = {
    "Usaquén", "Chapinero", "Santa Fe", "San Cristóbal", "Usme", "Tunjuelito", "Bosa",
    "Kennedy", "Fontibón", "Engativá", "Suba", "Barrios Unidos", "Teusaquillo",
    "Los Mártires", "Antonio Nariño", "Puente Aranda", "La Candelaria",
    "Rafael Uribe Uribe", "Ciudad Bolívar", "Sumapaz",
}  # fmt: skip
PERIPHERAL = {"Ciudad Bolívar", "Usme", "Bosa", "San Cristóbal", "Santa Fe", "Rafael Uribe Uribe"}


@pytest.fixture(scope="module", params=PROFILES)
def population(request) -> synth.SyntheticPopulation:
    return synthesize(request.param, persons=PERSONS, seed=11)


@pytest.fixture(scope="module")
def bogota() -> synth.SyntheticPopulation:
    return synthesize("bogota", persons=PERSONS, seed=11)


@pytest.fixture(scope="module")
def mexico() -> synth.SyntheticPopulation:
    return synthesize("mexico", persons=PERSONS, seed=11)


def profile_of(population) -> str:
    return (
        "bogota" if population.tables.territories["territory_id"].iloc[0][:3] == "BOG" else "mexico"
    )


def ages(population) -> pd.Series:
    return (END - population.tables.persons["birth_date"]).dt.days / 365.25


def normalised_codes(events: pd.DataFrame) -> pd.Series:
    """Codes without dots or X fillers, as the outcome definitions match them."""
    categories = events["code"].cat.categories.astype(str).str.replace(".", "", regex=False)
    filler = (categories.str.len() == 4) & categories.str.endswith("X")
    clean = np.where(filler, categories.str[:3], categories)
    return pd.Series(clean[events["code"].cat.codes.to_numpy()], index=events.index)


def persons_with(population, prefixes: tuple[str, ...], kinds=("outpatient", "pharmacy")):
    events = population.tables.events
    events = events[events["kind"].isin(kinds)]
    hit = normalised_codes(events).str[:3].isin(prefixes)
    return set(events.loc[hit, "person_id"])


def household_frame(population) -> pd.DataFrame:
    tables = population.tables
    households = tables.households.merge(
        tables.territories[["territory_id", "zone", "district"]], on="territory_id"
    )
    dims = list(MPI_INDICATORS.values())
    weights = np.array([0.2 / dims.count(d) for d in dims])
    households["score"] = households[list(MPI_INDICATORS)].to_numpy() @ weights
    households["poor"] = households["score"] >= MPI_POVERTY_CUTOFF - 1e-9
    return households


def yearly_share(population, kinds: tuple[str, ...], prefixes=None) -> float:
    """Share of persons alive at the start of each year with a qualifying event in it."""
    tables = population.tables
    events, persons = tables.events, tables.persons
    deaths = events.loc[events["kind"] == "death"].set_index("person_id")["date"]
    hits = total = 0
    qualifying = events[events["kind"].isin(kinds)]
    if prefixes is not None:
        qualifying = qualifying[normalised_codes(qualifying).str[:3].isin(prefixes)]
    for year in YEARS:
        first = pd.Timestamp(f"{year}-01-01")
        dead = deaths.index[deaths < first]
        alive = persons.loc[(persons["birth_date"] < first) & ~persons["person_id"].isin(dead)]
        in_year = qualifying[qualifying["date"].dt.year == year]
        hits += alive["person_id"].isin(in_year["person_id"]).sum()
        total += len(alive)
    return hits / total


def auc(y, score) -> float:
    y = np.asarray(y, dtype=bool)
    ranks = rankdata(score)
    positives = y.sum()
    return (ranks[y].sum() - positives * (positives + 1) / 2) / (positives * (~y).sum())


# --------------------------------------------------------------------------- arguments


def test_truth_outcomes_are_those_of_the_configs():
    for profile in PROFILES:
        config = yaml.safe_load((CONFIGS / f"{profile}.yaml").read_text(encoding="utf-8"))
        assert set(TRUTH_OUTCOMES[profile]) == set(config["outcomes"])
        for name, spec in config["outcomes"].items():
            kinds, codes = OUTCOME_DEFINITIONS[name]
            assert set(kinds) == set(spec["kinds"])
            assert tuple(spec.get("codes", ())) == codes
            assert spec["horizon_days"] == 365


def test_unknown_profile_is_rejected_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="bogota, mexico"):
        synthesize("lima")


def test_fewer_than_1000_persons_is_rejected():
    with pytest.raises(ValueError, match="at least 1,000"):
        synthesize("bogota", persons=999)


def test_end_before_start_is_rejected():
    with pytest.raises(ValueError, match="after start"):
        synthesize("bogota", persons=1000, start="2024-01-01", end="2023-01-01")


def test_persons_count_is_exact_and_period_can_change():
    population = synthesize("mexico", persons=1234, seed=2, start="2022-03-01", end="2023-06-30")
    events = population.tables.events
    assert len(population.tables.persons) == 1234
    assert events["date"].min() >= pd.Timestamp("2022-03-01")
    assert events["date"].max() <= pd.Timestamp("2023-06-30")


# --------------------------------------------------------------------------- contract


def test_tables_have_the_documented_dtypes(population):
    t = population.tables
    str_columns = {
        "territories": ["territory_id", "name", "district"],
        "adjacency": ["territory_id", "neighbor_id"],
        "households": ["territory_id"],
        "persons": ["insurer", "regime"],
        "facilities": ["facility_id", "name", "territory_id"],
    }
    for table, columns in str_columns.items():
        for column in columns:
            assert getattr(t, table)[column].dtype == "str", (table, column)
    assert list(t.territories["zone"].cat.categories) == ["urban", "rural"]
    assert t.territories["population"].dtype == "int64"
    assert (t.territories[["area_km2", "lon", "lat"]].dtypes == "float64").all()
    if profile_of(population) == "bogota":
        assert t.territories["stratum"].dtype == "int8"
        assert t.territories["stratum"].between(1, 6).all()
    assert t.adjacency["weight"].dtype == "float64"
    assert t.households["household_id"].dtype == "int64"
    assert (t.households[list(MPI_INDICATORS)].dtypes == "int8").all()
    p = t.persons
    assert p["person_id"].dtype == "int64"
    assert p["household_id"].dtype == "int64"
    assert p["birth_date"].dtype == "datetime64[ns]"
    assert list(p["sex"].cat.categories) == ["F", "M"]
    assert p["pregnant"].dtype == "int8"
    assert p["disability"].dtype == "int8"
    e = t.events
    assert e["person_id"].dtype == "int64"
    assert e["date"].dtype == "datetime64[ns]"
    assert tuple(e["kind"].cat.categories) == EVENT_KINDS
    assert e["code"].cat.categories.dtype == "str"
    assert e["value"].dtype == "float32"
    f = t.facilities
    assert f["level"].dtype == "int8"
    assert set(f["level"]) == {1, 2, 3}
    assert (f[["lon", "lat", "capacity"]].dtypes == "float64").all()


def test_ids_are_unique_and_every_reference_resolves(population):
    t = population.tables
    for table, key in [
        ("territories", "territory_id"),
        ("households", "household_id"),
        ("persons", "person_id"),
        ("facilities", "facility_id"),
    ]:
        assert getattr(t, table)[key].is_unique, table
    territories = set(t.territories["territory_id"])
    assert set(t.households["territory_id"]) <= territories
    assert set(t.adjacency["territory_id"]) | set(t.adjacency["neighbor_id"]) <= territories
    assert set(t.facilities["territory_id"]) <= territories
    assert set(t.persons["household_id"]) == set(t.households["household_id"])
    assert set(t.events["person_id"]) <= set(t.persons["person_id"])


def test_adjacency_is_symmetric_without_self_loops(population):
    a = population.tables.adjacency
    pairs = set(zip(a["territory_id"], a["neighbor_id"], strict=True))
    assert all((j, i) in pairs for i, j in pairs)
    assert not (a["territory_id"] == a["neighbor_id"]).any()
    assert a.groupby("territory_id").size().min() >= 6


def test_territory_population_counts_the_persons_living_there(population):
    t = population.tables
    lives = t.persons.merge(t.households, on="household_id")["territory_id"].value_counts()
    counts = t.territories.set_index("territory_id")["population"]
    assert (counts.reindex(lives.index) == lives).all()
    assert counts.sum() == len(t.persons)
    assert (counts >= 1).all()


def test_events_are_sorted_and_within_each_persons_life(population):
    t = population.tables
    e = t.events
    assert e["date"].min() >= pd.Timestamp("2021-01-01")
    assert e["date"].max() <= END
    key = e["person_id"].to_numpy() * 100_000 + (e["date"] - e["date"].min()).dt.days.to_numpy()
    assert (np.diff(key) >= 0).all()
    born = e["person_id"].map(t.persons.set_index("person_id")["birth_date"])
    assert (e["date"] >= born).all()
    deaths = e[e["kind"] == "death"]
    assert deaths["person_id"].is_unique
    died = e["person_id"].map(deaths.set_index("person_id")["date"])
    assert (died.isna() | (e["date"] <= died)).all()


def test_schema_validation_accepts_the_tables(population):
    validate(population.tables)


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_tables_and_truth():
    first = synthesize("bogota", persons=3000, seed=5)
    second = synthesize("bogota", persons=3000, seed=5)
    for (name, a), (_, b) in zip(first.tables.items(), second.tables.items(), strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
    pd.testing.assert_frame_equal(first.truth, second.truth, check_exact=True)


def test_different_seeds_give_different_tables():
    first = synthesize("mexico", persons=3000, seed=5)
    second = synthesize("mexico", persons=3000, seed=6)
    assert not first.tables.persons["birth_date"].equals(second.tables.persons["birth_date"])
    assert len(first.tables.events) != len(second.tables.events)


# --------------------------------------------------------------------------- people and places


def test_age_structure_follows_the_life_course_targets(population):
    targets = AGE_STAGE_SHARES[profile_of(population)]
    age = ages(population)
    for stage, (low, high) in LIFE_COURSE_STAGES.items():
        share = ((age >= low) & (age < high + 1)).mean()
        assert share == pytest.approx(targets[stage], abs=0.02), stage
    female = (population.tables.persons["sex"] == "F").mean()
    assert female == pytest.approx(FEMALE_SHARE[profile_of(population)], abs=0.015)


def test_households_have_realistic_sizes_and_composition(population):
    profile = profile_of(population)
    persons = population.tables.persons.assign(age=ages(population))
    size = persons.groupby("household_id").size()
    assert size.mean() == pytest.approx(HOUSEHOLD_SIZE_MEAN[profile], abs=0.15)
    assert (size == 1).mean() == pytest.approx(ONE_PERSON_SHARE[profile], abs=0.03)
    assert size.max() >= 8
    by_household = persons.groupby("household_id")["age"]
    young = by_household.min() < 18
    assert (by_household.max()[young] >= 18).mean() > 0.99  # children live with adults
    alone = size.index[size == 1]
    assert (persons.set_index("household_id").loc[alone, "age"] >= 60).mean() > 0.25


def test_poverty_is_on_target_and_higher_in_rural_territories(population):
    households = household_frame(population)
    share = households.groupby("zone", observed=True)["poor"].mean()
    targets = MPI_POOR_SHARE[profile_of(population)]
    assert share["urban"] == pytest.approx(targets["urban"], abs=0.025)
    assert share["rural"] == pytest.approx(targets["rural"], abs=0.10)
    assert share["rural"] > share["urban"] + 0.1
    informal = households["dep_informal_work"].mean()
    assert informal > 0.5  # informal work is very common


def test_bogota_has_its_localidades_sectors_and_a_small_rural_part(bogota):
    t = bogota.tables
    territories = t.territories
    assert set(territories["district"]) == BOGOTA_LOCALIDADES
    assert len(territories) >= 50
    rural = territories[territories["zone"] == "rural"]
    assert len(rural) >= 3
    assert set(rural["district"]) == {"Usme", "Ciudad Bolívar", "Sumapaz"}
    assert rural["population"].sum() / len(t.persons) == pytest.approx(
        RURAL_SHARE["bogota"], abs=0.01
    )
    assert territories["territory_id"].str.fullmatch(r"BOG-\d\d-\d{4}").all()
    assert territories["lon"].between(-74.5, -73.9).all()
    assert territories["lat"].between(3.7, 4.85).all()


def test_peripheral_localidades_are_more_deprived(bogota):
    households = household_frame(bogota)
    urban = households[households["zone"] == "urban"]
    peripheral = urban["district"].isin(PERIPHERAL)
    assert urban.loc[peripheral, "poor"].mean() > 1.5 * urban.loc[~peripheral, "poor"].mean()


def test_mexico_is_more_rural_younger_poorer_and_more_diabetic(bogota, mexico):
    def rural_share(population):
        t = population.tables
        return t.territories.loc[t.territories["zone"] == "rural", "population"].sum() / len(
            t.persons
        )

    assert rural_share(mexico) == pytest.approx(RURAL_SHARE["mexico"], abs=0.05)
    assert (ages(mexico) < 18).mean() > (ages(bogota) < 18).mean() + 0.05
    assert household_frame(mexico)["poor"].mean() > 2 * household_frame(bogota)["poor"].mean()
    diabetes = ("E10", "E11", "E12", "E13", "E14")

    def prevalence(population, prefixes):
        return (
            population.tables.persons["person_id"].isin(persons_with(population, prefixes)).mean()
        )

    assert prevalence(mexico, diabetes) > 1.3 * prevalence(bogota, diabetes)
    assert prevalence(mexico, ("E66",)) > 1.5 * prevalence(bogota, ("E66",))
    assert set(mexico.tables.persons["insurer"]) == {"IMSS-BIENESTAR"}
    assert set(mexico.tables.persons["regime"]) == {"sin_seguridad_social"}


def test_bogota_insurance_follows_regime_and_deprivation(bogota):
    persons = bogota.tables.persons
    share = persons["regime"].value_counts(normalize=True)
    assert share["contributivo"] == pytest.approx(0.77, abs=0.03)
    assert share["subsidiado"] == pytest.approx(0.19, abs=0.03)
    assert share["especial"] == pytest.approx(0.025, abs=0.01)
    assert share["no_afiliado"] == pytest.approx(0.015, abs=0.008)
    assert (persons.loc[persons["regime"] == "no_afiliado", "insurer"] == "NINGUNA").all()
    capital = persons[persons["insurer"] == "Capital Salud"]
    assert (capital["regime"] == "subsidiado").mean() > 0.8
    households = household_frame(bogota).set_index("household_id")
    poor = persons["household_id"].map(households["poor"])
    assert (persons.loc[poor, "regime"] == "subsidiado").mean() > 2 * share["subsidiado"]
    uninsured = persons.groupby("household_id")["regime"].agg(lambda r: (r == "no_afiliado").any())
    assert (households.loc[uninsured.index, "dep_no_health_insurance"] == uninsured).all()


def test_facilities_have_three_levels_with_level_one_most_common(population):
    facilities = population.tables.facilities
    counts = facilities["level"].value_counts()
    assert counts[1] > counts[2] >= counts[3] >= 1
    assert (facilities["capacity"] > 0).all()


# --------------------------------------------------------------------------- health


@pytest.mark.parametrize(
    ("condition", "prefixes"),
    [
        ("hypertension", ("I10", "I11", "I12", "I13")),
        ("diabetes", ("E10", "E11", "E12", "E13", "E14")),
    ],
)
def test_chronic_prevalence_by_age_meets_the_targets(population, condition, prefixes):
    targets = CHRONIC_PREVALENCE[profile_of(population)][condition]
    has = population.tables.persons["person_id"].isin(persons_with(population, prefixes))
    age = ages(population)
    young, old = has[(age >= 18) & (age < 45)].mean(), has[age >= 60].mean()
    assert young == pytest.approx(targets["18-44"], abs=0.015)
    assert old == pytest.approx(targets["60+"], abs=0.04)


def test_yearly_rates_of_admission_emergency_death_and_cardiovascular_events(population):
    targets = YEARLY_RATES[profile_of(population)]
    assert yearly_share(population, ("hospitalization",)) == pytest.approx(
        targets["hospitalization"], abs=0.01
    )
    assert yearly_share(population, ("emergency",)) == pytest.approx(targets["emergency"], abs=0.02)
    assert yearly_share(population, ("death",)) == pytest.approx(targets["mortality"], rel=0.25)
    cardiovascular = tuple(f"I{k}" for k in [*range(20, 26), *range(60, 70)])
    kinds = ("hospitalization", "emergency", "death")
    assert yearly_share(population, kinds, cardiovascular) == pytest.approx(
        targets["cardiovascular"], rel=0.25
    )


def test_every_event_kind_occurs(population):
    # each synthetic visit carries one diagnosis, so no separate diagnosis events are drawn
    counts = population.tables.events["kind"].value_counts()
    assert (counts[[k for k in EVENT_KINDS if k != "diagnosis"]] > 0).all()
    assert counts["diagnosis"] == 0
    assert counts["outpatient"] > counts["emergency"] > counts["hospitalization"] > counts["death"]


def test_codes_come_in_the_sources_mixed_styles(population):
    codes = population.tables.events["code"].astype(str)
    for style in (r"[A-Z]\d\dX", r"[A-Z]\d\d\.\d", r"[A-Z]\d{3}"):
        assert codes.str.fullmatch(style).mean() > 0.02, style
    assert normalised_codes(population.tables.events).nunique() > 150


def test_codes_agree_with_sex(population):
    t = population.tables
    events = t.events.merge(t.persons[["person_id", "sex"]], on="person_id")
    codes = normalised_codes(events)
    men = events["sex"] == "M"
    assert not (men & codes.str.match(r"O|Z3[45]|C5[03]")).any()
    assert not (~men & codes.str.startswith("C61")).any()
    pregnant = t.persons[t.persons["pregnant"] == 1]
    assert (pregnant["sex"] == "F").all()
    assert len(pregnant) > 0


def test_labs_carry_values_and_reflect_conditions(population):
    events = population.tables.events
    labs = events["kind"] == "lab"
    assert events.loc[labs, "value"].notna().all()
    assert events.loc[~labs, "value"].isna().all()
    hba1c = events[events["code"] == "HBA1C"]
    diabetics = hba1c["person_id"].isin(persons_with(population, ("E10", "E11", "E14")))
    assert hba1c.loc[diabetics, "value"].mean() > hba1c.loc[~diabetics, "value"].mean() + 1
    creatinine = events[events["code"] == "CREATININA"]
    ckd = creatinine["person_id"].isin(persons_with(population, ("N18",)))
    assert creatinine.loc[ckd, "value"].median() > 1.3 * creatinine.loc[~ckd, "value"].median()
    counts = events.loc[labs, "code"].value_counts()
    assert counts["CREATININA"] > 5 * counts["CD4"] > 0


def test_preventive_care_targets_ages_and_sex_and_falls_with_deprivation(population):
    t = population.tables
    events = t.events.merge(t.persons[["person_id", "sex", "birth_date"]], on="person_id")
    age = (events["date"] - events["birth_date"]).dt.days / 365.25
    code = events["code"].astype(str)
    assert (events.loc[code == "HPV", "sex"] == "F").all()
    assert age[code == "HPV"].between(9, 18).all()
    assert age[code == "MAMMOGRAPHY"].between(49.5, 70.5).all()
    assert (events.loc[code.isin(["MAMMOGRAPHY", "CERVICAL_CYTOLOGY"]), "sex"] == "F").all()
    assert (events.loc[code == "PSA", "sex"] == "M").all()
    assert age[code == "BCG"].max() < 1
    schedule = events[(events["kind"] == "vaccination") & code.isin(list(VACCINE_SCHEDULE))]
    poor = household_frame(population).set_index("household_id")["poor"]
    children = t.persons[
        (t.persons["birth_date"] >= "2021-01-01") & (t.persons["birth_date"] < "2023-06-30")
    ]
    doses = children["person_id"].map(schedule["person_id"].value_counts()).fillna(0)
    child_poor = children["household_id"].map(poor)
    assert doses[child_poor].mean() < doses[~child_poor].mean()


def test_diabetes_drives_acute_events_and_deaths(mexico):
    diabetes = ("E10", "E11", "E12", "E13", "E14")
    acute = persons_with(mexico, diabetes, kinds=("hospitalization", "emergency"))
    fatal = persons_with(mexico, diabetes, kinds=("death",))
    assert len(acute) > 20
    assert len(fatal) > 0
    diabetics = persons_with(mexico, diabetes)
    assert len(acute & diabetics) > 0.9 * len(acute)  # a few first presentations


def test_cardiovascular_events_concentrate_in_hypertensive_persons(bogota):
    cardiovascular = tuple(f"I{k}" for k in [*range(20, 26), *range(60, 70)])
    events = persons_with(bogota, cardiovascular, kinds=("hospitalization", "emergency", "death"))
    hypertensive = persons_with(bogota, ("I10", "I11", "I12", "I13"))
    share = len(hypertensive) / len(bogota.tables.persons)
    assert len(events & hypertensive) / len(events) > 3 * share


# --------------------------------------------------------------------------- truth


def test_truth_covers_every_person_alive_at_the_end(population):
    t, truth = population.tables, population.truth
    dead = set(t.events.loc[t.events["kind"] == "death", "person_id"])
    assert set(truth["person_id"]) == set(t.persons["person_id"]) - dead
    outcomes = TRUTH_OUTCOMES[profile_of(population)]
    expected = ["person_id"]
    for name in outcomes:
        expected += [f"p_{name}", f"y_{name}"]
    expected += ["latent_individual", "latent_family", "latent_territorial"]
    assert list(truth.columns) == expected
    assert (truth[[f"y_{o}" for o in outcomes]].dtypes == "int8").all()
    assert (
        truth[["latent_individual", "latent_family", "latent_territorial"]].dtypes == "float32"
    ).all()


def test_truth_probabilities_are_calibrated_and_discriminate(population):
    truth = population.truth
    for name in TRUTH_OUTCOMES[profile_of(population)]:
        p, y = truth[f"p_{name}"], truth[f"y_{name}"]
        assert ((p > 0) & (p < 1)).all(), name
        standard_error = np.sqrt((p * (1 - p)).sum()) / len(p)
        assert abs(y.mean() - p.mean()) < 4 * standard_error, name
        assert auc(y, p) > (0.75 if name != "emergency_12m" else 0.68), name


def test_latent_risk_has_individual_family_and_territorial_parts(population):
    latent = population.truth[["latent_individual", "latent_family", "latent_territorial"]]
    share = latent.var() / latent.sum(axis=1).var()
    assert share["latent_individual"] > 0.3
    assert share["latent_family"] == pytest.approx(0.22, abs=0.08)
    assert share["latent_territorial"] == pytest.approx(0.22, abs=0.08)


def test_past_admissions_predict_admissions_in_the_truth_year(bogota):
    events, truth = bogota.tables.events, bogota.truth
    past = events[(events["kind"] == "hospitalization") & (events["date"] >= "2024-01-01")]
    count = truth["person_id"].map(past["person_id"].value_counts()).fillna(0)
    y = truth["y_hospitalization_12m"].astype(bool)
    assert y[count > 0].mean() > 1.7 * y[count == 0].mean()


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_write_gives_one_file_per_table_and_reads_back(bogota, tmp_path, file_format):
    data = tmp_path / "data"
    truth = tmp_path / "truth" / f"truth.{file_format}"
    assert bogota.write(data, format=file_format, truth_path=truth) == data
    assert sorted(p.name for p in data.iterdir()) == sorted(
        [MARKER, *(f"{name}.{file_format}" for name, _ in bogota.tables.items())]
    )
    assert truth.is_file()
    read = pd.read_parquet(truth) if file_format == "parquet" else pd.read_csv(truth)
    assert len(read) == len(bogota.truth)
    tables = load_tables(data)
    for name, frame in bogota.tables.items():
        assert len(getattr(tables, name)) == len(frame), name
    pd.testing.assert_series_equal(tables.events["date"], bogota.tables.events["date"])
    if file_format == "csv":
        first = (data / "persons.csv").read_text(encoding="utf-8").splitlines()[1]
        assert first.split(",")[2] == str(bogota.tables.persons["birth_date"].iloc[0].date())


def test_write_replaces_its_own_output_only_when_asked_and_leaves_no_temporary_files(
    bogota, tmp_path
):
    data = tmp_path / "data"
    bogota.write(data, format="csv")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        bogota.write(data, format="parquet")
    bogota.write(data, format="parquet", overwrite=True)
    assert sorted(p.suffix for p in data.iterdir() if p.name != MARKER) == [".parquet"] * 6
    assert not any(p.name.startswith(".") and p.name != MARKER for p in tmp_path.rglob("*"))


def test_write_never_replaces_a_directory_masrisk_did_not_write(bogota, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my own notes")
    with pytest.raises(OutputExistsError, match="did not write"):
        bogota.write(mine, overwrite=True)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert (mine / "notes.txt").read_text() == "my own notes"


def test_truth_is_written_only_when_asked_and_never_inside_the_data(bogota, tmp_path):
    data = tmp_path / "data"
    bogota.write(data)
    assert not list(tmp_path.rglob("truth*"))
    with pytest.raises(ValueError, match="outside the data directory"):
        bogota.write(data, truth_path=data / "truth.parquet")
    with pytest.raises(ValueError, match="must be 'parquet' or 'csv'"):
        bogota.write(tmp_path / "other", format="xlsx")


def test_written_files_follow_the_umask_like_any_other_file(bogota, tmp_path):
    previous = os.umask(0o022)
    try:
        bogota.write(tmp_path / "data")
    finally:
        os.umask(previous)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "data").iterdir()}
    assert set(modes.values()) == {0o644}, modes
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o755
