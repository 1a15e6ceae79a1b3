"""Condition records of an OMOP CDM as the ICD-10 codes masrisk's features read.

Real CDMs code conditions with SNOMED CT standard concepts, and keep the source's own code
(ICD-10, ICD-10-CM, or ICD-9-CM in older US data) in ``condition_source_value``. A record
becomes one or more ICD-10 codes (:meth:`ConditionCodes.codes`):

1. its source value when that is ICD-10 or ICD-10-CM (the vocabulary of
   ``condition_source_concept_id`` in ``concept`` says so, or, without that, the value looks
   like one: a letter and two digits);
2. for an ICD-9-CM source value, the code of each condition group it falls in
   (:attr:`masrisk.codes.ConditionGroup.code`);
3. and, whatever the source, the code of each condition group whose SNOMED CT anchors include
   the standard concept or one of its ancestors (``concept_ancestor``) that step 1 or 2 did
   not already give.

A record that none of these codes keeps its source value, which matches no ICD-10 group. The
groups and their anchors are the shipped :data:`masrisk.codes.CONDITION_DEFINITIONS`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd

from masrisk.codes import CONDITION_DEFINITIONS, icd10_matches
from masrisk.io.user_tables import to_text

__all__ = ["ICD9CM_VOCABULARIES", "ICD10_VOCABULARIES", "ConditionCodes"]

logger = logging.getLogger("masrisk.io.omop")

#: ``vocabulary_id`` values of OHDSI's vocabularies that write ICD-10 or a national version.
ICD10_VOCABULARIES = frozenset({"ICD10", "ICD10CM", "ICD10CN", "ICD10GM", "CIM10", "KCD7"})
#: ``vocabulary_id`` values that write ICD-9-CM.
ICD9CM_VOCABULARIES = frozenset({"ICD9CM"})

_LOOKS_ICD10 = re.compile(r"^[A-Z][0-9]{2}")
_LOOKS_ICD9CM = re.compile(r"^[0-9]{3}(\.?[0-9]{1,2})?$")

#: Reads ``(table, columns)`` of the CDM in chunks; nothing when the table is absent.
Reader = Callable[[str, list[str]], Iterator[pd.DataFrame]]


@dataclass(frozen=True)
class ConditionCodes:
    """What a CDM's own vocabulary tables say about its condition records.

    Attributes
    ----------
    source_vocabulary : pandas.Series
        ``concept_id`` -> ``vocabulary_id`` of the concepts of ``concept`` (empty without it).
    group_codes : pandas.Series
        Standard ``concept_id`` -> the group codes it falls in, a tuple in the order of the
        groups (empty without ``concept_ancestor``).
    """

    source_vocabulary: pd.Series
    group_codes: pd.Series

    @classmethod
    def from_tables(cls, read: Reader) -> ConditionCodes:
        """Read ``concept`` and ``concept_ancestor`` through ``read``, keeping what is needed.

        Anchors are found by their SNOMED CT id in ``concept`` where it holds them, else by the
        shipped OMOP ``concept_id``; an anchor id that ``concept`` holds for another concept is
        not used (a CDM with its own ids).
        """
        vocabulary, snomed = _concepts(read)
        anchors: dict[int, str] = {}
        for group in CONDITION_DEFINITIONS.values():
            for code, concept_id in group.snomed:
                found = snomed.get(code)
                if found is None and concept_id is not None:
                    if concept_id in vocabulary.index and vocabulary[concept_id] != "SNOMED":
                        logger.warning("concept %d is not SNOMED here: anchor unused", concept_id)
                        continue
                    found = concept_id
                if found is not None:
                    anchors.setdefault(int(found), group.code)
        pairs = [pd.DataFrame({"descendant": list(anchors), "code": list(anchors.values())})]
        for chunk in read("concept_ancestor", ["ancestor_concept_id", "descendant_concept_id"]):
            ancestor = pd.to_numeric(chunk["ancestor_concept_id"], errors="coerce")
            kept = chunk[ancestor.isin(list(anchors))]
            pairs.append(
                pd.DataFrame(
                    {
                        "descendant": pd.to_numeric(kept["descendant_concept_id"]).astype("int64"),
                        "code": ancestor[kept.index].astype("int64").map(anchors),
                    }
                )
            )
        found = pd.concat(pairs, ignore_index=True).drop_duplicates()
        order = {group.code: k for k, group in enumerate(CONDITION_DEFINITIONS.values())}
        found = found.assign(order=found["code"].map(order)).sort_values(["descendant", "order"])
        codes = found.groupby("descendant", sort=False)["code"].agg(tuple)
        return cls(vocabulary, codes)

    @classmethod
    def none(cls) -> ConditionCodes:
        """No vocabulary tables: codes come from the source values alone."""
        return cls(pd.Series(dtype=object), pd.Series(dtype=object))

    def codes(
        self, concept: pd.Series, source_value: pd.Series, source_concept: pd.Series
    ) -> pd.DataFrame:
        """Return the ICD-10 codes of condition records, one row per code.

        Parameters
        ----------
        concept, source_value, source_concept : pandas.Series
            ``condition_concept_id``, ``condition_source_value`` and
            ``condition_source_concept_id`` of the records (aligned; ids ``Int64``).

        Returns
        -------
        pandas.DataFrame
            ``row`` (the record's position), ``code`` and ``first`` (True on each record's
            first code: the one that codes its visit). Every record has at least one row;
            its code is missing only when the record has neither a source value nor a group.
        """
        source = to_text(source_value).reset_index(drop=True)
        vocabulary = pd.Series(
            source_concept.map(self.source_vocabulary).to_numpy(dtype=object), dtype=object
        )
        kind = _source_kind(source, vocabulary)
        first = source.where(kind == "icd10")
        icd9 = source.where(kind == "icd9cm").dropna()
        first[icd9.index] = _on_unique(icd9, _icd9_code)
        groups = pd.Series(concept.map(self.group_codes).to_numpy(dtype=object), dtype=object)
        extra = groups.dropna().explode()
        extra = extra[~_already_coded(first[extra.index], extra)]
        parts = [
            pd.DataFrame({"row": first.dropna().index, "code": first.dropna(), "rank": -1}),
            pd.DataFrame(
                {"row": extra.index, "code": extra, "rank": extra.groupby(level=0).cumcount()}
            ),
        ]
        coded = pd.concat(parts, ignore_index=True)
        bare = source[~source.index.isin(coded["row"])]  # kept as written: matches no group
        parts.append(pd.DataFrame({"row": bare.index, "code": bare, "rank": -1}))
        out = pd.concat(parts, ignore_index=True).sort_values(["row", "rank"], kind="stable")
        out = out.drop(columns="rank").reset_index(drop=True)
        return out.assign(first=~out["row"].duplicated())


def _concepts(read: Reader) -> tuple[pd.Series, dict[str, int]]:
    """``concept_id`` -> ``vocabulary_id``, and SNOMED CT id -> ``concept_id`` of the anchors."""
    wanted = {code for group in CONDITION_DEFINITIONS.values() for code, _ in group.snomed}
    vocabularies, snomed = [], {}
    for chunk in read("concept", ["concept_id", "vocabulary_id", "concept_code"]):
        ids = pd.to_numeric(chunk["concept_id"], errors="coerce")
        vocabulary = to_text(chunk["vocabulary_id"])
        vocabularies.append(pd.Series(vocabulary.to_numpy(), index=ids.to_numpy()))
        code = to_text(chunk["concept_code"])
        hit = (vocabulary == "SNOMED") & code.isin(wanted)
        snomed |= dict(zip(code[hit], ids[hit].astype("int64"), strict=True))
    if not vocabularies:
        return pd.Series(dtype=object), snomed
    found = pd.concat(vocabularies)
    return found[~found.index.duplicated()].dropna(), snomed


def _source_kind(source: pd.Series, vocabulary: pd.Series) -> pd.Series:
    """``icd10``, ``icd9cm`` or missing, per record, from its source concept or its shape."""
    kind = pd.Series(pd.NA, index=source.index, dtype=object)
    kind[vocabulary.isin(ICD10_VOCABULARIES)] = "icd10"
    kind[vocabulary.isin(ICD9CM_VOCABULARIES)] = "icd9cm"
    unknown = vocabulary.isna() | ~vocabulary.isin(ICD10_VOCABULARIES | ICD9CM_VOCABULARIES)
    upper = source.str.upper()
    kind[unknown & upper.str.match(_LOOKS_ICD10).fillna(False)] = "icd10"
    kind[unknown & source.str.match(_LOOKS_ICD9CM).fillna(False)] = "icd9cm"
    return kind


def _icd9_code(code: str) -> str | None:
    """Return the group code of an ICD-9-CM code's first group, or ``None``."""
    for group in CONDITION_DEFINITIONS.values():
        if icd10_matches(code, group.icd9cm):
            return group.code
    return None


def _on_unique(values: pd.Series, function: Callable[[str], str | None]) -> pd.Series:
    """``values.map(function)``, calling ``function`` once per distinct value."""
    distinct = pd.unique(values.to_numpy(dtype=object))
    return values.map(dict(zip(distinct, map(function, distinct), strict=True)))


def _already_coded(first: pd.Series, codes: pd.Series) -> pd.Series:
    """Whether each group code's group is already given by its record's first code."""
    groups = {group.code: group.icd10 for group in CONDITION_DEFINITIONS.values()}
    pairs = pd.Series(list(zip(first.to_numpy(dtype=object), codes, strict=True)), dtype=object)
    seen = _on_unique(pairs, lambda p: isinstance(p[0], str) and icd10_matches(p[0], groups[p[1]]))
    return pd.Series(seen.to_numpy(dtype=bool), index=codes.index)
