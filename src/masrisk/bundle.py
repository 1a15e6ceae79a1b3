"""Model bundles: a trained model as a directory of text files, checked on load.

A bundle holds the booster in LightGBM's own text format (``booster.txt``, absent when the
logistic baseline was chosen), the baseline and the calibrator as JSON (``baseline.json``,
``calibrator.json``), everything else about the model in ``metadata.json`` (features with
dtypes and categories, outcome definition, cut-offs, metrics, package versions, data
fingerprint), the evaluation report (``report.json``), a model card (``model_card.md``) and
``manifest.json``: the SHA-256 of every other file. Nothing is pickled, so loading a bundle
never executes code from it; :func:`load_bundle` refuses a missing, extra or changed file.
Writes are atomic: the bundle is built in a temporary directory that is then renamed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydantic

from masrisk.config import BUNDLED_CONFIGS
from masrisk.exceptions import BundleError
from masrisk.models import (
    BundleMetadata,
    Calibrator,
    LogisticBaseline,
    RiskModel,
    TrainingFacts,
    UnseenCategoryWarning,
    feature_specs,
)
from masrisk.models.facts import FORMAT_VERSION, describe_problems
from masrisk.outputs import replace_directory, share

__all__ = [
    "FORMAT_VERSION",
    "Bundle",
    "BundleMetadata",
    "UnseenCategoryWarning",
    "data_fingerprint",
    "feature_specs",
    "load_bundle",
    "save_bundle",
]

_MANIFEST = "manifest.json"
_PACKAGES = ("masrisk", "lightgbm", "scikit-learn", "numpy", "pandas", "pyarrow")


@dataclass(frozen=True)
class Bundle:
    """A loaded bundle: the model, its typed metadata and its evaluation report (a dict)."""

    model: RiskModel
    metadata: BundleMetadata
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        """The model's feature columns, in order."""
        return self.metadata.feature_names

    @property
    def lab_codes(self) -> list[str]:
        """The lab codes the model's features describe (build the features with them)."""
        return list(self.metadata.lab_codes)

    @property
    def profile(self) -> str | None:
        """The shipped configuration profile the model was trained with, if recorded."""
        return self.metadata.profile

    @property
    def outcome(self) -> str:
        """The outcome the model predicts."""
        return self.model.outcome

    def prepare(self, features: pd.DataFrame) -> pd.DataFrame:
        """Return the model's features of ``features``, checked by the model.

        See :meth:`RiskModel.select_features`: categoricals get their training categories,
        unseen ones are scored as missing with an :class:`UnseenCategoryWarning`.

        Raises
        ------
        masrisk.ValidationError
            Naming the features the data cannot produce.
        """
        return self.model.select_features(features)

    def predict_risk(self, features: pd.DataFrame) -> np.ndarray:
        """Return calibrated risks for a frame of features (``build_features`` output)."""
        return self.model.predict_risk(features)


def data_fingerprint(X: pd.DataFrame, y: Any) -> str:
    """Return the SHA-256 of the training features and labels (values, columns and index)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(list(map(str, X.columns))).encode())
    digest.update(pd.util.hash_pandas_object(X, index=True).to_numpy().tobytes())
    digest.update(np.asarray(y, dtype="int8").tobytes())
    return digest.hexdigest()


def save_bundle(
    model: RiskModel,
    path: str | os.PathLike,
    *,
    metadata: TrainingFacts | dict[str, Any] | None = None,
    report: dict[str, Any] | None = None,
    model_card: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a fitted model as a bundle directory, atomically.

    Parameters
    ----------
    model : RiskModel
        A fitted model.
    path : path-like
        The bundle directory to create.
    metadata : TrainingFacts or dict, optional
        Facts about the model, at least ``features`` (list of ``{name, dtype, categories}``);
        by default the model's ``training_``. masrisk adds the format version, package
        versions, the choice and the calibration. A profile that is not a shipped one is
        recorded as none: a bundle names only configurations masrisk ships.
    report : dict, optional
        The evaluation report (``EvaluationReport.to_dict()``).
    model_card : str, optional
        Markdown text of the model card; by default one is written from the metadata and
        the report (:func:`masrisk.model_card.render_model_card`).
    overwrite : bool
        Replace an existing bundle at ``path``.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise BundleError(f"{target} exists; remove it or pass overwrite=True")
    facts = metadata if metadata is not None else getattr(model, "training_", None)
    if facts is None:
        raise BundleError("give metadata, or save a model trained by masrisk.train()")
    facts = dict(facts)
    if facts.get("profile") not in BUNDLED_CONFIGS:
        facts["profile"] = None
    meta = BundleMetadata.model_validate(
        {
            **facts,
            "format_version": FORMAT_VERSION,
            "outcome": model.outcome,
            "chosen_model": model.chosen_,
            "choice_reason": model.choice_reason_,
            "search": json.loads(model.search_.to_json(orient="records")),
            "params": {"calibration": model.calibration, "random_state": model.random_state},
            "packages": _versions(),
        }
    )
    if model_card is None:
        from masrisk.model_card import render_model_card

        model_card = render_model_card(meta, report or {})
    files: dict[str, str] = {
        "metadata.json": _json(meta.to_dict()),
        "calibrator.json": _json(model.calibrator_.to_dict()),
        "baseline.json": _json(model.baseline_.to_dict()),
        "report.json": _json(report or {}),
        "model_card.md": model_card,
    }
    if model.booster_ is not None:
        files["booster.txt"] = model.booster_.model_to_string()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        manifest = {name: _sha256(staging / name) for name in sorted(files)}
        (staging / _MANIFEST).write_text(_json({"sha256": manifest}), encoding="utf-8")
        share(staging)  # mkdtemp makes it private; a bundle is meant to be shared
        replace_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def load_bundle(path: str | os.PathLike) -> Bundle:
    """Read a bundle after checking every file against its manifest.

    Raises
    ------
    masrisk.BundleError
        If the directory or a file is missing, a file is not in the manifest, a checksum
        differs, or ``metadata.json`` breaks its schema (a field of the wrong type or out of
        bounds, a profile masrisk does not ship, another format version), naming the file
        and the field.
    """
    import lightgbm as lgb

    directory = Path(path)
    if not directory.is_dir():
        raise BundleError(f"no bundle directory at {directory}")
    manifest_file = directory / _MANIFEST
    if not manifest_file.is_file():
        raise BundleError(f"{directory}: {_MANIFEST} is missing; this is not a masrisk bundle")
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))["sha256"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{manifest_file}: unreadable manifest ({exc})") from None
    present = {p.name for p in directory.iterdir() if p.is_file() and p.name != _MANIFEST}
    for name in sorted(present - set(manifest)):
        raise BundleError(f"{directory / name}: file not in the manifest; the bundle was altered")
    for name, expected in sorted(manifest.items()):
        file = directory / name
        if not file.is_file():
            raise BundleError(f"{file}: missing from the bundle")
        if _sha256(file) != expected:
            raise BundleError(
                f"{file}: checksum mismatch; the file was changed after the bundle was written"
            )
    meta = _read(directory / "metadata.json", BundleMetadata.model_validate)
    booster_file = directory / "booster.txt"
    booster = (
        lgb.Booster(model_str=booster_file.read_text(encoding="utf-8"))
        if "booster.txt" in manifest
        else None
    )
    if meta.chosen_model == "lightgbm" and booster is None:
        raise BundleError(f"{booster_file}: missing, but the bundle's model is LightGBM")
    model = RiskModel.restore(
        features=meta.features,
        booster=booster,
        baseline=_read(directory / "baseline.json", LogisticBaseline.from_dict),
        calibrator=_read(directory / "calibrator.json", Calibrator.from_dict),
        chosen=meta.chosen_model,
        choice_reason=meta.choice_reason,
        search=pd.DataFrame([row.to_dict() for row in meta.search]),
        outcome=meta.outcome,
        **meta.params.to_dict(),
    )
    return Bundle(model=model, metadata=meta, report=_read(directory / "report.json", dict))


def _versions() -> dict[str, str]:
    found = {}
    for package in _PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (pd.Timestamp,)):
        return value.strftime("%Y-%m-%d")
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _read(file: Path, parse: Callable[[Any], Any]) -> Any:
    """Parse a JSON file of the bundle, or raise a BundleError naming it and the field."""
    try:
        return parse(json.loads(file.read_text(encoding="utf-8")))
    except pydantic.ValidationError as exc:
        raise BundleError(f"{file}: {describe_problems(exc)}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{file}: unreadable ({type(exc).__name__}: {exc})") from None


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
