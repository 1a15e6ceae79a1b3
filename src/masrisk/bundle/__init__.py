"""Model bundles: a trained model as a directory of text files, checked on load.

A bundle holds the booster in LightGBM's own text format (``booster.txt``, absent when the
logistic baseline was chosen), the baseline and the calibrator as JSON (``baseline.json``,
``calibrator.json``), everything else about the model in ``metadata.json`` (features with
dtypes and categories, outcome definition, cut-offs, metrics, package versions, data
fingerprint), the evaluation report (``report.json``), a model card (``model_card.md``) and
``manifest.json``: the SHA-256 of every other file. Nothing is pickled, so loading a bundle
never executes code from it. A bundle is written under the output policy
(:func:`masrisk.outputs.output_directory`): it appears, or replaces an older bundle, in one step.

A bundle is data, not instructions: :func:`load_bundle` reads one from an untrusted source as
such, each file once, through the opened directory and never through a symbolic link, its size
capped (:data:`MAX_BYTES`) and its SHA-256 checked, and refuses what it cannot trust with a
:class:`~masrisk.BundleError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from masrisk.bundle.files import BOOSTER, MANIFEST, MAX_BYTES, read_json, snapshot, text
from masrisk.config import BUNDLED_CONFIGS
from masrisk.exceptions import BundleError, BundleExistsError, OutputExistsError
from masrisk.models import (
    BundleMetadata,
    Calibrator,
    LogisticBaseline,
    RiskModel,
    TrainingFacts,
    UnseenCategoryWarning,
    feature_specs,
)
from masrisk.models.booster_text import check_booster_text
from masrisk.models.facts import FORMAT_VERSION
from masrisk.outputs import output_directory

__all__ = [
    "FORMAT_VERSION",
    "MAX_BYTES",
    "Bundle",
    "BundleMetadata",
    "UnseenCategoryWarning",
    "data_fingerprint",
    "feature_specs",
    "load_bundle",
    "save_bundle",
]

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
        """Return the model's features of ``features``, checked (:meth:`RiskModel.select_features`).

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
    """Write a fitted model as a bundle directory, under the output policy.

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
        Replace a bundle masrisk wrote at ``path``; anything else there is never replaced.

    Raises
    ------
    masrisk.BundleError
        If ``path`` exists and may not be replaced (also an ``OutputExistsError``).
    """
    target = Path(path)
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
            "packages": {package: _version(package) for package in _PACKAGES},
        }
    )
    if model_card is None:
        from masrisk.model_card import render_model_card

        model_card = render_model_card(meta, report or {})
    files = {
        "metadata.json": _json(meta.to_dict()),
        "calibrator.json": _json(model.calibrator_.to_dict()),
        "baseline.json": _json(model.baseline_.to_dict()),
        "report.json": _json(report or {}),
        "model_card.md": model_card,
    }
    if model.booster_ is not None:
        files[BOOSTER] = model.booster_.model_to_string()
    encoded = {name: content.encode("utf-8") for name, content in sorted(files.items())}
    manifest = {name: hashlib.sha256(data).hexdigest() for name, data in encoded.items()}
    encoded[MANIFEST] = _json({"sha256": manifest}).encode("utf-8")
    try:
        with output_directory(target, kind="bundle", overwrite=overwrite) as staging:
            for name, data in encoded.items():
                (staging / name).write_bytes(data)
    except OutputExistsError as exc:
        raise BundleExistsError(str(exc)) from None
    return target


def load_bundle(path: str | os.PathLike) -> Bundle:
    """Read a bundle after checking every file against its manifest.

    The files are read once into memory and the checks run on the bytes read, so a bundle
    rewritten meanwhile by another process gives its old or its new version, never a mix.

    Raises
    ------
    masrisk.BundleError
        Naming the file (and the field): a directory or file missing; a file not in the
        manifest, not a plain file (a symbolic link), larger than :data:`MAX_BYTES`, or whose
        checksum differs; a manifest entry that is not the plain name of a bundle file;
        JSON malformed, nested too deeply or holding numbers that are not finite;
        ``metadata.json`` breaking its schema (a field of the wrong type or out of bounds, a
        profile masrisk does not ship, another format version); a booster whose structure
        is not LightGBM's text format for the bundle's features; a calibrator that does not
        map scores to probabilities in increasing order.
    """
    import lightgbm as lgb

    directory = Path(path)
    files = snapshot(directory)

    def parse(name: str, how: Any) -> Any:
        return read_json(directory / name, files[name], how)

    meta = parse("metadata.json", BundleMetadata.model_validate)
    booster_file, booster = directory / BOOSTER, None
    if BOOSTER in files:
        model_text = text(booster_file, files[BOOSTER])
        check_booster_text(booster_file, model_text, meta.feature_names)
        try:
            booster = lgb.Booster(model_str=model_text)
        except (lgb.basic.LightGBMError, ValueError, RecursionError) as exc:
            raise BundleError(f"{booster_file}: LightGBM cannot read it ({exc})") from None
    if meta.chosen_model == "lightgbm" and booster is None:
        raise BundleError(f"{booster_file}: missing, but the bundle's model is LightGBM")
    model = RiskModel.restore(
        features=meta.features,
        booster=booster,
        calibrator=parse("calibrator.json", Calibrator.from_dict),  # read before the baseline
        baseline=parse("baseline.json", LogisticBaseline.from_dict),
        chosen=meta.chosen_model,
        choice_reason=meta.choice_reason,
        search=pd.DataFrame([row.to_dict() for row in meta.search]),
        outcome=meta.outcome,
        **meta.params.to_dict(),
    )
    return Bundle(model=model, metadata=meta, report=parse("report.json", dict))


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
