"""Inputs of the FHIR export: the scores file (read in chunks), the plans, the model."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from masrisk.exceptions import Problems, show
from masrisk.planning.documents import CitySummary, CommunityPlan
from masrisk.tiers import TIERS

#: Columns of the scores file that the export reads (``masrisk score`` writes them all).
SCORE_INPUT_COLUMNS: tuple[str, ...] = ("person_id", "outcome", "as_of", "risk", "tier")


def check_scores_file(path: Path) -> None:
    """Refuse a scores file that is missing, unreadable or without a column the export reads."""
    found, columns = Problems(str(path)), []
    if not path.is_file():
        found.add("scores", None, "no such file")
    elif path.suffix not in (".parquet", ".csv"):
        found.add("scores", None, "not a .parquet or .csv file")
    else:
        try:
            if path.suffix == ".parquet":
                import pyarrow.parquet as pq

                columns = list(pq.ParquetFile(path).schema_arrow.names)
            else:
                columns = list(pd.read_csv(path, nrows=0).columns)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            found.add("scores", None, "unreadable file", detail=str(exc))
    for column in () if found else SCORE_INPUT_COLUMNS:
        if column not in columns:
            found.add("scores", column, "missing column", detail="masrisk score writes it")
    found.raise_if_any()


def iter_scores(
    path: Path, *, chunk_size: int, columns: Sequence[str] = SCORE_INPUT_COLUMNS
) -> Iterator[pd.DataFrame]:
    """Yield the scores file's ``columns`` in chunks of at most ``chunk_size`` rows."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_size, columns=columns):
            yield batch.to_pandas()
    else:
        text = {c: "string" for c in ("person_id", "outcome", "tier", "as_of") if c in columns}
        yield from pd.read_csv(path, usecols=list(columns), dtype=text, chunksize=chunk_size)


@dataclass
class ScoresCheck:
    """Checks the scores chunk by chunk: ids, risks, tiers, one ``as_of`` and one outcome."""

    problems: Problems
    as_of: pd.Timestamp | None = None
    outcome: str | None = None
    rows: int = 0
    _hashes: list[np.ndarray] = field(default_factory=list)

    def check(self, chunk: pd.DataFrame) -> pd.DataFrame:
        """Return the chunk with ``person_id``/``outcome``/``tier`` as text and ``risk`` numeric.

        Problems are added to :attr:`problems`; rows that break a rule are kept.
        """
        ids = chunk["person_id"].astype("string")
        missing = ids.isna() | (ids.str.strip() == "")
        self.problems.add_rows(
            "scores", "person_id", "missing id", missing, first_row=self.rows + 1
        )
        self._hashes.append(pd.util.hash_array(ids[~missing].to_numpy(dtype=object)))
        risk = pd.to_numeric(chunk["risk"], errors="coerce")
        self._add("risk", "not a probability in [0, 1]", risk.isna() | (risk < 0) | (risk > 1), ids)
        tier = chunk["tier"].astype("string")
        self._add("tier", f"not one of {', '.join(TIERS)}", ~tier.isin(TIERS).fillna(False), ids)
        self._check_constant(chunk, ids)
        self.rows += len(chunk)
        return chunk.assign(person_id=ids, risk=risk, tier=tier)

    def _add(self, column: str, rule: str, mask: pd.Series, ids: pd.Series) -> None:
        self.problems.add_values("scores", column, rule, mask, ids.fillna("<missing>"))

    def _check_constant(self, chunk: pd.DataFrame, ids: pd.Series) -> None:
        dates = pd.to_datetime(chunk["as_of"], errors="coerce")
        self._add("as_of", "not a date", dates.isna(), ids)
        outcome = chunk["outcome"].astype("string")
        self._add("outcome", "missing outcome", outcome.isna(), ids)
        if self.as_of is None and dates.notna().any():
            self.as_of = dates.dropna().iloc[0]
        if self.outcome is None and outcome.notna().any():
            self.outcome = str(outcome.dropna().iloc[0])
        self._others("as_of", "more than one cut-off", dates, self.as_of)
        self._others("outcome", "more than one outcome", outcome, self.outcome)

    def _others(self, column: str, rule: str, values: pd.Series, first: Any) -> None:
        other = values.notna() & (values != first)
        rule = f"{rule} (the first is {show(first)})"
        self.problems.add_values("scores", column, rule, other, values)

    def duplicate_hashes(self) -> np.ndarray:
        """Return the hashes of ``person_id`` values seen more than once (usually none)."""
        if not self._hashes:
            return np.empty(0, dtype="uint64")
        hashes = np.sort(np.concatenate(self._hashes))
        return np.unique(hashes[1:][hashes[1:] == hashes[:-1]])


def duplicate_ids(path: Path, hashes: np.ndarray, *, chunk_size: int) -> dict[str, int]:
    """Return the ids of ``path`` that repeat, among those of the given hashes, with their rows."""
    seen: dict[str, int] = {}
    for chunk in iter_scores(path, chunk_size=chunk_size, columns=("person_id",)):
        ids = chunk["person_id"].astype("string").dropna()
        found = ids[np.isin(pd.util.hash_array(ids.to_numpy(dtype=object)), hashes)]
        for value in found.tolist():
            seen[value] = seen.get(value, 0) + 1
    return {value: n for value, n in seen.items() if n > 1}


def _load(kind: type, path: Path, problems: Problems) -> Any:
    """Return the ``kind`` document of ``path``; a problem (and ``None``) if it is not one."""
    if not path.is_file():
        problems.add("plans", path.name, "missing file", examples=[show(str(path))])
        return None
    try:
        return kind.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.add("plans", path.name, f"not valid JSON ({exc})")
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        problems.add("plans", path.name, f"not a {kind.__name__} ({exc})")
    return None


def read_plans(directory: Path) -> tuple[CitySummary, list[CommunityPlan]]:
    """Return the summary and the plans (in the summary's order) of a ``masrisk plan`` directory."""
    problems = Problems(source=str(directory))
    if not directory.is_dir():
        problems.add("plans", None, "no such directory", examples=[show(str(directory))])
        problems.raise_if_any()
    summary = _load(CitySummary, directory / "summary.json", problems)
    problems.raise_if_any()
    plans = []
    for territory_id, _ in summary.territories:
        expected = (territory_id, summary.outcome)
        name = f"{territory_id}.json"
        plan = _load(CommunityPlan, directory / name, problems)
        if plan is not None and (plan.territory_id, plan.outcome) != expected:
            rule = "territory_id or outcome differs from summary.json"
            problems.add("plans", name, rule, rows=1, examples=[show(plan.territory_id)])
        plans.append(plan)
    problems.raise_if_any()
    return summary, plans


@dataclass(frozen=True)
class ModelIdentity:
    """Who made the scores: a bundle's name, outcome, horizon, choice and manifest SHA-256."""

    name: str
    outcome: str
    description: str | None
    horizon_days: int | None
    chosen_model: str | None
    masrisk_version: str | None
    train_as_of: str | None
    sha256: str

    def display(self) -> str:
        """Return a one-line description of the model, for ``Reference.display``."""
        facts = [
            self.outcome,
            self.chosen_model,
            self.train_as_of and f"trained as of {self.train_as_of}",
            self.masrisk_version and f"masrisk {self.masrisk_version}",
        ]
        return f"masrisk model {self.name} ({', '.join(f for f in facts if f)})"


def model_identity(bundle: str | os.PathLike) -> ModelIdentity:
    """Load a bundle (checking every checksum) and return its identity (:mod:`masrisk.io.fhir`)."""
    from masrisk.bundle import load_bundle

    directory = Path(bundle)
    metadata = load_bundle(directory).metadata
    definition = metadata.outcome_definition
    return ModelIdentity(
        name=directory.resolve().name,
        outcome=metadata.outcome,
        description=definition.description if definition else None,
        horizon_days=definition.horizon_days if definition else None,
        chosen_model=metadata.chosen_model,
        masrisk_version=metadata.packages.get("masrisk"),
        train_as_of=metadata.train_as_of,
        sha256=hashlib.sha256((directory / "manifest.json").read_bytes()).hexdigest(),
    )
