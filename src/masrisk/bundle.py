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
import warnings
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from masrisk.exceptions import BundleError
from masrisk.models import Calibrator, LogisticBaseline, RiskModel
from masrisk.outputs import replace_directory, share

__all__ = [
    "FORMAT_VERSION",
    "Bundle",
    "UnseenCategoryWarning",
    "data_fingerprint",
    "feature_specs",
    "load_bundle",
    "save_bundle",
]

#: Version of the bundle layout; a bundle of another version is refused.
FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
_PACKAGES = ("masrisk", "lightgbm", "scikit-learn", "numpy", "pandas", "pyarrow")


class UnseenCategoryWarning(UserWarning):
    """Categorical values unseen in training were scored as missing."""


@dataclass(frozen=True)
class Bundle:
    """A loaded bundle: the model, its metadata and its evaluation report (a dict)."""

    model: RiskModel
    metadata: dict[str, Any]
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        """The model's feature columns, in order."""
        return [f["name"] for f in self.metadata["features"]]

    @property
    def lab_codes(self) -> list[str]:
        """The lab codes the model's features describe (build the features with them)."""
        return list(self.metadata.get("lab_codes") or [])

    @property
    def profile(self) -> str | None:
        """The name of the configuration profile the model was trained with, if recorded."""
        return self.metadata.get("profile")

    @property
    def outcome(self) -> str:
        """The outcome the model predicts."""
        return self.model.outcome

    def prepare(self, features: pd.DataFrame) -> pd.DataFrame:
        """Select the model's columns and give categoricals their training categories.

        Raises
        ------
        masrisk.ValidationError
            Naming the features the data cannot produce.
        """
        X = self.model.select_features(features).copy()
        unseen: dict[str, int] = {}
        for spec in self.metadata["features"]:
            categories = spec.get("categories")
            if categories is None:
                continue
            values = X[spec["name"]].astype("str").where(X[spec["name"]].notna())
            known = values.isna() | values.isin(categories)
            if not known.all():
                unseen[spec["name"]] = int((~known).sum())
            X[spec["name"]] = pd.Categorical(values.where(known), categories=categories)
        if unseen:
            counts = ", ".join(f"{name}: {n:,}" for name, n in unseen.items())
            warnings.warn(
                f"categories unseen in training were scored as missing ({counts})",
                UnseenCategoryWarning,
                stacklevel=2,
            )
        return X

    def predict_risk(self, features: pd.DataFrame) -> np.ndarray:
        """Return calibrated risks for a frame of features (``build_features`` output)."""
        return self.model.predict_risk(self.prepare(features))


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
    metadata: dict[str, Any] | None = None,
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
    metadata : dict, optional
        JSON-safe facts about the model, at least ``features`` (list of ``{name, dtype,
        categories}``); by default the ``training_`` facts :func:`masrisk.train` records.
        masrisk adds the format version, package versions, the choice and the calibration.
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
    if metadata is None:
        metadata = getattr(model, "training_", None)
        if metadata is None:
            raise BundleError("give metadata, or save a model trained by masrisk.train()")
    meta = {
        **metadata,
        "format_version": FORMAT_VERSION,
        "outcome": model.outcome,
        "chosen_model": model.chosen_,
        "choice_reason": model.choice_reason_,
        "search": json.loads(model.search_.to_json(orient="records")),
        "params": {"calibration": model.calibration, "random_state": model.random_state},
        "packages": _versions(),
    }
    if model_card is None:
        from masrisk.model_card import render_model_card

        model_card = render_model_card(meta, report or {})
    files: dict[str, str] = {
        "metadata.json": _json(meta),
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
        differs, or the bundle's format version is not this masrisk's.
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
    metadata = json.loads((directory / "metadata.json").read_text(encoding="utf-8"))
    if metadata.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"{directory}: bundle format {metadata.get('format_version')} is not {FORMAT_VERSION}"
        )
    model = RiskModel(metadata["outcome"], **metadata["params"])
    model.features_ = [f["name"] for f in metadata["features"]]
    model.chosen_ = metadata["chosen_model"]
    model.choice_reason_ = metadata["choice_reason"]
    model.search_ = pd.DataFrame(metadata["search"])
    model.calibrator_ = Calibrator.from_dict(_read_json(directory / "calibrator.json"))
    model.baseline_ = LogisticBaseline.from_dict(_read_json(directory / "baseline.json"))
    booster_file = directory / "booster.txt"
    model.booster_ = (
        lgb.Booster(model_str=booster_file.read_text(encoding="utf-8"))
        if "booster.txt" in manifest
        else None
    )
    if model.chosen_ == "lightgbm" and model.booster_ is None:
        raise BundleError(f"{booster_file}: missing, but the bundle's model is LightGBM")
    return Bundle(model=model, metadata=metadata, report=_read_json(directory / "report.json"))


def feature_specs(X: pd.DataFrame) -> list[dict[str, Any]]:
    """Describe each feature column: name, dtype and, for categoricals, the categories."""
    specs = []
    for name, dtype in X.dtypes.items():
        spec: dict[str, Any] = {"name": name, "dtype": str(dtype)}
        if isinstance(dtype, pd.CategoricalDtype):
            spec = {
                "name": name,
                "dtype": "category",
                "categories": [str(c) for c in dtype.categories],
            }
        specs.append(spec)
    return specs


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


def _read_json(file: Path) -> Any:
    return json.loads(file.read_text(encoding="utf-8"))


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
