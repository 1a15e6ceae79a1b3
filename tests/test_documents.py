"""Plan documents: JSON as DESIGN says, suppressed public pages, pseudonyms, atomic writes."""

from __future__ import annotations

import json
import os
import re
import string
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masrisk.exceptions import ValidationError
from masrisk.outputs import MARKER, policy
from masrisk.planning import writing
from masrisk.planning.documents import (
    CitySummary,
    CommunityPlan,
    Driver,
    InterventionLine,
    pseudonymize,
    suppress,
)
from masrisk.planning.writing import write_plans

TIERS = ("case_management", "disease_management", "promotion_prevention")
AXES = ("promotion", "prevention", "diagnosis_treatment", "rehabilitation", "palliative_care")
DESIGN_TERRITORY_KEYS = {
    "territory_id",
    "zone",
    "phase",
    "population",
    "households",
    "expected_events",
    "tiers",
    "drivers",
    "interventions",
    "priority_households",
    "hours_allocated",
    "expected_events_averted",
}
TERRITORY_KEYS = DESIGN_TERRITORY_KEYS | {"name", "district", "priority", "outcome"}
SUMMARY_KEYS = {
    "outcome",
    "territories",
    "total_hours",
    "capacity_hours",
    "expected_events",
    "expected_events_averted",
    "by_axis",
    "phases",
    "solver",
}
KEY = "not-a-real-secret"


def make_plan(territory_id="T1", **overrides) -> CommunityPlan:
    values = {
        "territory_id": territory_id,
        "name": "Bosa Centro",
        "district": "Bosa",
        "zone": "urban",
        "phase": 1,
        "priority": 1,
        "population": 1200,
        "households": 370,
        "expected_events": 48.25,
        "tiers": {"case_management": 3, "disease_management": 180, "promotion_prevention": 1017},
        "drivers": (
            Driver("ind_diabetes", "diabetes in 12% of persons", 0.1234),
            Driver("ter_distance_km", "far from a health post", -0.05),
        ),
        "interventions": (
            InterventionLine("Home visit", "prevention", "home", 3, 6.0),
            InterventionLine(
                "Hypertension control", "diagnosis_treatment", "primary_care", 40, 20.5
            ),
        ),
        "priority_households": tuple(f"HOUSEHOLD-{territory_id}-{i:04d}" for i in range(12)),
        "hours_allocated": 26.5,
        "expected_events_averted": 1.25,
        "outcome": "hospitalization_12m",
    }
    return CommunityPlan(**{**values, **overrides})


def make_plans() -> list[CommunityPlan]:
    return [
        make_plan("T1"),
        make_plan("T2", name=None, district=None, zone="rural", phase=1, priority=2),
        make_plan("T3", name="Usme", phase=2, priority=3, population=4, households=0),
    ]


def make_summary(plans) -> CitySummary:
    return CitySummary.from_plans(
        plans, capacity_hours=100.0, solver={"status": "optimal", "gap": 0.0, "seconds": 0.25}
    )


def read_dir(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


# ----------------------------------------------------------------------------- JSON


def test_territory_json_holds_the_fields_design_names():
    data = json.loads(make_plan().to_json())
    assert set(data) == TERRITORY_KEYS
    assert set(data) >= DESIGN_TERRITORY_KEYS
    assert data["tiers"] == {
        "case_management": 3,
        "disease_management": 180,
        "promotion_prevention": 1017,
    }
    assert data["interventions"][0] == {
        "name": "Home visit",
        "axis": "prevention",
        "setting": "home",
        "persons": 3,
        "hours": 6.0,
    }
    assert data["drivers"][0] == {
        "feature": "ind_diabetes",
        "description": "diabetes in 12% of persons",
        "contribution": 0.1234,
    }
    assert data["priority_households"][:2] == ["HOUSEHOLD-T1-0000", "HOUSEHOLD-T1-0001"]


def test_summary_json_lists_territories_in_priority_order_with_phase():
    plans = make_plans()
    data = json.loads(make_summary(plans[::-1]).to_json())
    assert set(data) == SUMMARY_KEYS
    assert data["territories"] == [
        {"territory_id": "T1", "phase": 1},
        {"territory_id": "T2", "phase": 1},
        {"territory_id": "T3", "phase": 2},
    ]
    assert data["total_hours"] == pytest.approx(3 * 26.5)
    assert data["expected_events_averted"] == pytest.approx(3 * 1.25)
    assert data["by_axis"]["prevention"] == {"persons": 9, "hours": 18.0}
    assert data["by_axis"]["palliative_care"] == {"persons": 0, "hours": 0.0}
    assert data["phases"] == {"1": 2, "2": 1}
    assert data["solver"] == {"status": "optimal", "gap": 0.0, "seconds": 0.25}


def test_json_keeps_exact_counts_and_rounds_floats():
    plan = make_plan(population=2, expected_events=1.23456789, hours_allocated=1 / 3)
    data = plan.to_dict()
    assert data["population"] == 2
    assert data["tiers"]["case_management"] == 3
    assert data["expected_events"] == 1.235
    assert data["hours_allocated"] == 0.33


def test_json_round_trips():
    plan = make_plan()
    assert CommunityPlan.from_dict(json.loads(plan.to_json())) == plan
    summary = make_summary(make_plans())
    again = CitySummary.from_dict(json.loads(summary.to_json()))
    assert again.to_json() == summary.to_json()
    assert again.territories == summary.territories
    assert again.phases == {1: 2, 2: 1}


def test_plans_refuse_values_outside_the_vocabulary():
    with pytest.raises(ValueError, match="axis"):
        InterventionLine("Visit", "cure", "home", 1, 1.0)
    with pytest.raises(ValueError, match="persons"):
        InterventionLine("Visit", "prevention", "home", -1, 1.0)
    with pytest.raises(ValueError, match="unknown tiers"):
        make_plan(tiers={"top": 1})
    with pytest.raises(ValueError, match="zone"):
        make_plan(zone="suburban")
    with pytest.raises(ValueError, match="priority"):
        make_plan(priority=0)
    with pytest.raises(ValueError, match="contribution"):
        Driver("ind_age", "older", float("nan"))


def test_missing_tiers_count_zero():
    plan = make_plan(tiers={"case_management": 2})
    assert plan.tiers == {"case_management": 2, "disease_management": 0, "promotion_prevention": 0}


# ----------------------------------------------------------------------------- suppression


@pytest.mark.parametrize(
    ("count", "threshold", "shown"),
    [
        (0, 5, "0"),
        (1, 5, "<5"),
        (4, 5, "<5"),
        (5, 5, "5"),
        (12345, 5, "12,345"),
        (0.0, 5, "0.0"),
        (0.2, 5, "<5"),
        (4.99, 5, "<5"),
        (48.25, 5, "48.2"),
        (9, 10, "<10"),
        (1, 1, "1"),
    ],
)
def test_suppress_hides_counts_below_the_threshold_but_not_zero(count, threshold, shown):
    assert suppress(count, threshold) == shown


@pytest.mark.parametrize("threshold", [0, -5, True, 2.5])
def test_suppress_refuses_a_threshold_below_one(threshold):
    with pytest.raises(ValueError, match="suppress_below"):
        suppress(3, threshold)
    with pytest.raises(ValueError, match="suppress_below"):
        make_plan().to_markdown(threshold)


@pytest.mark.parametrize("count", [-1, float("nan"), float("inf")])
def test_suppress_refuses_negative_or_missing_counts(count):
    with pytest.raises(ValueError, match="count"):
        suppress(count)


class CountCells(HTMLParser):
    """Collect the text of every <td class="count">."""

    def __init__(self):
        super().__init__()
        self.cells: list[str] = []
        self._inside = False

    def handle_starttag(self, tag, attrs):
        if tag == "td" and ("class", "count") in attrs:
            self._inside = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._inside = False

    def handle_data(self, data):
        if self._inside:
            self.cells[-1] += data


def count_cells(page: str) -> list[str]:
    parser = CountCells()
    parser.feed(page)
    return parser.cells


small = st.integers(0, 12)


@settings(max_examples=60, deadline=None)
@given(
    population=small,
    households=small,
    tiers=st.tuples(small, small, small),
    persons=st.lists(small, min_size=0, max_size=4),
    events=st.floats(0, 12),
)
def test_html_count_cells_never_show_one_to_four(population, households, tiers, persons, events):
    lines = tuple(InterventionLine(f"I{i}", AXES[i], "home", n, 1.0) for i, n in enumerate(persons))
    plan = make_plan(
        population=population,
        households=households,
        tiers=dict(zip(TIERS, tiers, strict=True)),
        interventions=lines,
        expected_events=events,
        expected_events_averted=events / 2,
    )
    cells = count_cells(plan.to_html())
    assert len(cells) == 4 + 3 + len(persons)  # key figures, tiers, intervention persons
    for cell in cells:
        assert cell in {"0", "0.0", "<5"} or float(cell.replace(",", "")) >= 5, cell
    summary = make_summary([plan])
    cells = count_cells(summary.to_html(plans=[plan]))
    assert len(cells) == 2 + 1 + len(AXES)  # key figures, events averted, persons by axis
    assert not [c for c in cells if re.fullmatch(r"[1-4](\.\d)?", c)]


# The sentinel check: with the threshold at 1000, every count is 0 or 100..999, and no other
# number on a page can reach 100 (hours < 100, phases and ranks < 10, log-odds within +-2). So
# a number in [100, 1000) anywhere on a page - a table cell, a sentence, a list - is a leak.
SENTINEL = 1000
NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
LETTERS = st.text(string.ascii_letters, min_size=1, max_size=8)
counts = st.one_of(st.just(0), st.integers(100, 999))
events = st.one_of(st.just(0.0), st.floats(100, 999))


@st.composite
def plans_strategy(draw):
    n = draw(st.integers(1, 3))
    plans = []
    for k in range(n):
        lines = draw(
            st.lists(
                st.builds(
                    InterventionLine,
                    name=LETTERS,
                    axis=st.sampled_from(AXES),
                    setting=st.sampled_from(["home", "community", "primary_care"]),
                    persons=counts,
                    hours=st.floats(0, 5),
                ),
                max_size=3,
            )
        )
        drivers = draw(
            st.lists(
                st.builds(Driver, LETTERS, st.text(" " + string.ascii_letters), st.floats(-2, 2)),
                max_size=3,
            )
        )
        households = draw(st.lists(LETTERS, max_size=14, unique=True))
        tiers = draw(st.tuples(counts, counts, counts))
        plan = CommunityPlan(
            territory_id=f"T{'ABC'[k]}",
            name=draw(st.none() | LETTERS),
            district=draw(st.none() | LETTERS),
            zone=draw(st.sampled_from(["urban", "rural"])),
            phase=draw(st.integers(1, 9)),
            priority=k + 1,
            population=draw(counts),
            households=draw(counts),
            expected_events=draw(events),
            tiers=dict(zip(TIERS, tiers, strict=True)),
            drivers=tuple(drivers),
            interventions=tuple(lines),
            priority_households=tuple(households),
            hours_allocated=draw(st.floats(0, 20)),
            expected_events_averted=draw(events),
            outcome="hospitalization_12m",
        )
        plans.append(plan)
    return plans


def leaks(page: str) -> list[str]:
    return [m for m in NUMBER.findall(page) if 100 <= float(m.replace(",", "")) < SENTINEL]


@settings(max_examples=80, deadline=None)
@given(plans=plans_strategy())
def test_public_pages_never_show_a_count_below_the_threshold(plans):
    summary = CitySummary.from_plans(plans, capacity_hours=float(SENTINEL))
    pages = [summary.to_markdown(SENTINEL, plans=plans), summary.to_html(SENTINEL, plans=plans)]
    for plan in plans:
        pages += [plan.to_markdown(SENTINEL), plan.to_html(SENTINEL, standalone=True)]
    for page in pages:
        assert leaks(page) == []
    # the check can fail: without suppression the counts do show
    if plans[0].population:
        assert str(plans[0].population) in leaks(plans[0].to_markdown(1))


def test_pages_show_zero_and_say_what_is_suppressed():
    plan = make_plan(households=0, population=4)
    page = plan.to_markdown()
    assert "| Households | 0 |" in page
    assert "| Population | <5 |" in page
    assert "| Case management | <5 |" in page
    assert "below 5 are shown as <5" in page
    assert "| Home visit | home | <5 | 6.0 |" in page
    assert "| Population | 4 |" in plan.to_markdown(1)


def test_pages_hold_title_figures_pyramid_drivers_axes_households_and_phase():
    plan = make_plan()
    page = plan.to_markdown(households_shown=3)
    assert page.startswith("# Integral risk-management plan: Bosa Centro\n")
    assert "Gestión integral del riesgo" in page
    assert "| Rollout phase | 1 |" in page
    assert "| Disease management | 180 |" in page
    assert "**diabetes in 12% of persons** (`ind_diabetes`) raises the risk: +0.123" in page
    assert "(`ter_distance_km`) lowers the risk: -0.050" in page
    for axis in ("Promotion", "Prevention", "Diagnosis and treatment", "Rehabilitation"):
        assert f"### {axis} (" in page
    assert "| Hypertension control | primary care | 40 | 20.5 |" in page
    assert "The first 3 of 12 households" in page
    assert "3. `HOUSEHOLD-T1-0002`" in page
    assert "HOUSEHOLD-T1-0003" not in page
    html_page = plan.to_html(households_shown=3)
    assert html_page.startswith('<div class="masrisk-plan">')
    assert plan._repr_html_() == plan.to_html()
    assert "<li><code>HOUSEHOLD-T1-0002</code></li>" in html_page


def test_fewer_households_than_the_threshold_are_not_listed():
    plan = make_plan(priority_households=("HX1", "HX2"))
    for page in (plan.to_markdown(), plan.to_html()):
        assert "HX1" not in page
        assert "Fewer than 5 households" in page
    assert plan.to_dict()["priority_households"] == ["HX1", "HX2"]


def test_summary_page_lists_territories_by_priority_and_totals_by_axis():
    plans = make_plans()
    page = make_summary(plans).to_markdown(plans=plans)
    rows = [line for line in page.splitlines() if "`T" in line and line.startswith("| ")]
    assert rows[:3] == [
        "| 1 | Bosa Centro `T1` | 1 | 26.5 | <5 |",
        "| 2 | `T2` | 1 | 26.5 | <5 |",
        "| 3 | Usme `T3` | 2 | 26.5 | <5 |",
    ]
    assert "| Prevention (prevención de la enfermedad) | 9 | 18.0 |" in page
    assert "| Palliative care (cuidados paliativos) | 0 | 0.0 |" in page
    assert "| Team-hours allocated | 79.5 |" in page
    assert "| 2 | 1 |" in page  # phase 2: one territory
    assert "| 1 | `T1` | 1 |" in make_summary(plans).to_markdown()  # without plans


def test_pages_escape_html_and_markdown():
    evil = "<script>alert(1)</script> | **x** & [link](http://e)"
    plan = make_plan(name=evil, interventions=(InterventionLine(evil, "promotion", "home", 9, 1),))
    html_page = plan.to_html(standalone=True)
    assert "<script>" not in html_page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_page
    assert html_page.startswith("<!DOCTYPE html>")
    md = plan.to_markdown()
    assert not re.search(r"(?<!\\)<(script|/script)>", md)
    assert r"\<script>" in md
    row = next(line for line in md.splitlines() if "alert" in line and "| home |" in line)
    assert row.count(" | ") == 3  # four cells: the pipe in the name is escaped
    assert r"\*\*x\*\* & \[link\]" in row


# ----------------------------------------------------------------------------- pseudonyms


def test_pseudonyms_are_deterministic_keyed_and_short():
    a = pseudonymize("H001", KEY)
    assert a == pseudonymize("H001", KEY.encode())
    assert re.fullmatch(r"h_[0-9a-f]{16}", a)
    assert a != pseudonymize("H001", KEY + "x")
    assert a != pseudonymize("H002", KEY)
    assert pseudonymize(17, KEY) == pseudonymize("17", KEY)
    with pytest.raises(ValueError, match="empty"):
        pseudonymize("H001", "")


def test_pseudonymized_plan_changes_only_household_ids():
    plan = make_plan()
    masked = plan.pseudonymized(KEY)
    assert masked.priority_households == tuple(
        pseudonymize(h, KEY) for h in plan.priority_households
    )
    assert masked.territory_id == plan.territory_id
    assert masked.to_dict() | {"priority_households": None} == plan.to_dict() | {
        "priority_households": None
    }
    assert plan.pseudonymized("other").priority_households != masked.priority_households


def test_pseudonymized_outputs_never_show_the_original_ids(tmp_path):
    plans = make_plans()
    out = write_plans(plans, make_summary(plans), tmp_path / "plans", pseudonym_key=KEY)
    originals = {h for p in plans for h in p.priority_households}
    texts = {name: data.decode() for name, data in read_dir(out).items()}
    for name, text in texts.items():
        assert not [h for h in originals if h in text], name
    assert json.loads(texts["T1.json"])["priority_households"][0] == pseudonymize(
        "HOUSEHOLD-T1-0000", KEY
    )
    assert pseudonymize("HOUSEHOLD-T1-0000", KEY) in texts["T1.md"]


# ----------------------------------------------------------------------------- the directory


def test_write_plans_writes_every_file_readable_back(tmp_path):
    plans = make_plans()
    summary = make_summary(plans)
    out = write_plans(plans, summary, tmp_path / "city" / "plans")
    stems = ["summary", "T1", "T2", "T3"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MARKER, *(f"{s}{suffix}" for s in stems for suffix in (".json", ".md", ".html"))]
    )
    assert CitySummary.from_dict(json.loads((out / "summary.json").read_text())) == summary
    assert CommunityPlan.from_dict(json.loads((out / "T2.json").read_text())) == plans[1]
    assert (out / "T1.md").read_text(encoding="utf-8") == plans[0].to_markdown()
    assert "Bosa Centro `T1`" in (out / "summary.md").read_text(encoding="utf-8")
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask
    assert [p.name for p in (tmp_path / "city").iterdir()] == ["plans"]


def test_write_plans_is_deterministic(tmp_path):
    plans = make_plans()
    first = write_plans(plans, make_summary(plans), tmp_path / "a", pseudonym_key=KEY)
    second = write_plans(list(plans), make_summary(plans), tmp_path / "b", pseudonym_key=KEY)
    assert read_dir(first) == read_dir(second)


def test_write_plans_refuses_an_existing_directory_and_fills_an_empty_one(tmp_path):
    plans = make_plans()
    out = tmp_path / "plans"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_plans(plans, make_summary(plans), out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (write_plans(plans, make_summary(plans), empty) / "summary.json").is_file()


def test_overwrite_replaces_a_plans_directory_but_nothing_else(tmp_path):
    plans = make_plans()
    out = write_plans(plans, make_summary(plans), tmp_path / "plans")
    write_plans(plans[:1], make_summary(plans[:1]), out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MARKER, *(f"{s}{x}" for s in ("summary", "T1") for x in (".json", ".md", ".html"))]
    )
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.docx").write_text("precious")
    with pytest.raises(FileExistsError, match="did not write"):
        write_plans(plans, make_summary(plans), other, overwrite=True)
    assert (other / "thesis.docx").read_text() == "precious"


def test_a_failing_write_leaves_nothing(tmp_path, monkeypatch):
    plans = make_plans()
    written = []

    def failing(path, text):
        if len(written) == 4:
            raise OSError("disk full")
        written.append(path)
        path.write_text(text)

    monkeypatch.setattr(writing, "_write", failing)
    with pytest.raises(OSError, match="disk full"):
        write_plans(plans, make_summary(plans), tmp_path / "plans")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_rename_keeps_the_old_directory(tmp_path, monkeypatch):
    plans = make_plans()
    out = write_plans(plans, make_summary(plans), tmp_path / "plans")
    before = read_dir(out)

    def failing(first, second):
        raise OSError("rename failed")

    monkeypatch.setattr(policy, "_exchange", failing)
    with pytest.raises(OSError, match="rename failed"):
        write_plans(plans[:1], make_summary(plans[:1]), out, overwrite=True)
    assert read_dir(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["plans"]


def test_unsafe_or_mismatched_territory_ids_are_refused_all_at_once(tmp_path):
    ids = ["../etc", "a/b", "summary", ".hidden", "T1", "t1"]
    plans = [make_plan(t, priority=i + 1) for i, t in enumerate(ids)]
    summary = make_summary(plans[:-1] + [make_plan("T9")])
    with pytest.raises(ValidationError) as caught:
        write_plans(plans, summary, tmp_path / "plans")
    rules = {p.rule: p for p in caught.value.problems}
    assert set(rules["not a safe file name"].examples) == {
        "'../etc'",
        "'a/b'",
        "'summary'",
        "'.hidden'",
    }
    assert rules["duplicate id (ignoring case)"].examples == ("'T1'", "'t1'")
    assert rules["missing from the summary"].examples == ("'t1'",)
    assert rules["in the summary but without a plan"].examples == ("'T9'",)
    assert list(tmp_path.iterdir()) == []


def test_phases_must_agree_with_the_summary(tmp_path):
    plans = make_plans()
    summary = make_summary([*plans[:2], make_plan("T3", phase=4, priority=3)])
    with pytest.raises(ValidationError, match="phase differs"):
        write_plans(plans, summary, tmp_path / "plans")


def test_an_empty_pseudonym_key_is_refused_not_ignored(tmp_path):
    plans = make_plans()
    with pytest.raises(ValueError, match="empty"):
        write_plans(plans, make_summary(plans), tmp_path / "plans", pseudonym_key="")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("population", "shown"),
    [(100, "fewer than 5 persons: household"), (1000, "3% of persons: household"), (10, "0% of")],
)
def test_a_driver_share_that_stands_for_few_persons_is_hidden_on_pages(population, shown):
    driver = Driver("fam_mpi_poor", "3% of persons: household in poverty", 0.2)
    if shown == "0% of":
        driver = Driver("fam_mpi_poor", "0% of persons: household in poverty", 0.2)
    plan = make_plan(drivers=(driver,), population=population)
    for page in (plan.to_markdown(), plan.to_html()):
        assert shown in page
    assert plan.to_dict()["drivers"][0]["description"] == driver.description  # JSON is exact
