"""The planner's inputs checked: scores against the data, and the features eligibility reads.

Scores of another data directory (or of an older version of the same one) would plan persons
the data do not have, or put them in the wrong household or territory: :func:`check_scores`
refuses them, naming the mismatch and a few example ids. A feature that the catalogue reads
but that the data cannot give, because the optional column it is made from is absent (a
RIPS or OMOP import has no ``persons.disability``), is missing for everyone
(:func:`eligibility_inputs`): the rules that read it reach no one by it, and the log says
which interventions that touches.

Examples
--------
>>> import pandas as pd
>>> from masrisk.planning.inputs import check_scores
>>> scores = pd.DataFrame({"person_id": ["P1", "P9"], "household_id": ["H1", "H1"],
...                        "territory_id": ["T1", "T1"]})
>>> places = pd.DataFrame({"household_id": ["H1"], "territory_id": ["T1"]},
...                       index=pd.Index(["P1"], name="person_id"))
>>> check_scores(scores, places)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
masrisk.exceptions.ValidationError: 1 problem in scores
  scores.person_id: person not in the data at the scores' cut-off in 1 row (e.g. 'P9') ...
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from masrisk.exceptions import Problems, show
from masrisk.models.features import OPTIONAL_SOURCES
from masrisk.planning.catalog import InterventionCatalog

__all__ = ["check_scores", "eligibility_inputs"]

logger = logging.getLogger(__name__)

_HINT = "scores of another data directory?"


def check_scores(scores: pd.DataFrame, places: pd.DataFrame) -> None:
    """Refuse scores whose persons, households or territories do not match the data's.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``person_id``, ``household_id`` and ``territory_id`` of each person scored.
    places : pandas.DataFrame
        The data's persons present at the scores' cut-off, indexed by ``person_id``, with
        their ``household_id`` and ``territory_id``.

    Raises
    ------
    masrisk.ValidationError
        Naming persons scored that the data lack at the cut-off, and persons whose household
        or territory in the scores is not theirs in the data, with a few examples each.
    """
    found = Problems("scores")
    person = scores["person_id"]
    known = pd.Series(person.isin(places.index).to_numpy(), index=scores.index)
    rule = "person not in the data at the scores' cut-off"
    found.add_values("scores", "person_id", rule, ~known, person, detail=_HINT)
    scored = scores[known.to_numpy()]
    theirs = places.reindex(scored["person_id"].to_numpy())
    for column in ("household_id", "territory_id"):
        given = scored[column].astype(str)
        differs = pd.Series(given.to_numpy() != theirs[column].astype(str).to_numpy())
        rule = f"{column.removesuffix('_id')} is not the person's in the data"
        example = theirs[column][differs.to_numpy()].head(1)
        detail = (
            f"e.g. the data put {show(example.index[0])} in {show(example.iloc[0])}; {_HINT}"
            if len(example)
            else ""
        )
        found.add_rows(
            "scores", column, rule, differs, ids=scored["person_id"].reset_index(drop=True),
            values=given.reset_index(drop=True), detail=detail,
        )  # fmt: skip
    found.raise_if_any()
    absent = len(places) - int(known.sum())
    if absent > 0:
        logger.warning(
            "scores: %s of the %s persons present in the data at the cut-off are not scored; "
            "the plans cover the persons scored only",
            f"{absent:,}",
            f"{len(places):,}",
        )


def eligibility_inputs(persons: pd.DataFrame, catalog: InterventionCatalog) -> pd.DataFrame:
    """Return the persons' features eligibility reads, absent optional ones as missing.

    A column the catalogue reads that is an optional feature (:data:`OPTIONAL_SOURCES`) and
    that ``persons`` lacks is added as missing (NaN: no rule is met by it) and logged once,
    naming its source column and the interventions reading it. Any other absent column is
    left absent, for :func:`masrisk.planning.eligibility` to name.
    """
    needed = [c for c in catalog.required_columns if c != "tier"]
    present = persons[[c for c in needed if c in persons.columns]]
    absent = [c for c in needed if c not in persons.columns and c in OPTIONAL_SOURCES]
    if not absent:
        return present
    for column in absent:
        readers = [i.name for i in catalog.interventions if column in i.required_columns]
        alone = [i.name for i in catalog.interventions if i.requires_any == (column,)]
        logger.warning(
            "%s is absent from the data, so %s is missing for everyone: %s of the catalogue "
            "read it (%s), and %s of them reach no one without it (%s)",
            OPTIONAL_SOURCES[column],
            column,
            len(readers),
            ", ".join(readers),
            len(alone),
            ", ".join(alone) or "none",
        )
    filled = {c: np.full(len(persons), np.nan, dtype="float32") for c in absent}
    return present.assign(**filled)
