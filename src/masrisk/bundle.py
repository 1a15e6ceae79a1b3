"""Model bundles: a trained model as a directory of text files, checked on load.

A bundle holds the booster in LightGBM's own text format (``booster.txt``, absent when the
logistic baseline was chosen), the baseline and the calibrator as JSON (``baseline.json``,
``calibrator.json``), everything else about the model in ``metadata.json`` (features with
dtypes and categories, outcome definition, cut-offs, metrics, package versions, data
fingerprint), the evaluation report (``report.json``), a model card (``model_card.md``) and
``manifest.json``: the SHA-256 of every other file. Nothing is pickled, so loading a bundle
never executes code from it. A bundle is written under the output policy
(:func:`masrisk.outputs.output_directory`): it appears, or replaces an older bundle, in one step.

A bundle is data, not instructions, and :func:`load_bundle` reads one from an untrusted source
as such: each file once, into memory, through the opened directory and never through a symbolic
link, its size capped before it is read (:data:`MAX_BYTES`), its SHA-256 checked against the
bytes read; JSON nested too deeply, numbers that are not finite, a profile masrisk does not
ship, options out of bounds, a booster whose structure LightGBM's text format does not allow,
a calibrator that does not give probabilities are each a :class:`~masrisk.BundleError` naming
the file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydantic

from masrisk.config import BUNDLED_CONFIGS
from masrisk.exceptions import BundleError, OutputExistsError
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
from masrisk.models.facts import FORMAT_VERSION, describe_problems
from masrisk.outputs import MARKER, output_directory

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

_MANIFEST = "manifest.json"
#: The files a bundle may hold besides its manifest; the booster is absent for the baseline.
_FILES = frozenset(
    {"metadata.json", "calibrator.json", "baseline.json", "report.json", "model_card.md"}
)
_BOOSTER = "booster.txt"
#: The most bytes a bundle's file may hold, by suffix; a larger one is refused unread.
MAX_BYTES: dict[str, int] = {".json": 16 * 2**20, ".md": 16 * 2**20, ".txt": 2**30}
#: Reads of a bundle that another process replaced meanwhile, before giving up.
_ATTEMPTS = 10
_SHA256 = re.compile(r"[0-9a-f]{64}")
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


class BundleExistsError(BundleError, OutputExistsError):
    """A bundle's path is taken: a BundleError, as before the output policy, and its error."""


class _Changed(BundleError):
    """A file missing or changed: final, unless another process replaced the bundle meanwhile."""


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
            "packages": _versions(),
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
        files[_BOOSTER] = model.booster_.model_to_string()
    encoded = {name: text.encode("utf-8") for name, text in sorted(files.items())}
    manifest = {name: hashlib.sha256(data).hexdigest() for name, data in encoded.items()}
    encoded[_MANIFEST] = _json({"sha256": manifest}).encode("utf-8")
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
    files = _snapshot(directory)
    meta = _read(directory / "metadata.json", files["metadata.json"], BundleMetadata.model_validate)
    booster_file, booster = directory / _BOOSTER, None
    if _BOOSTER in files:
        text = _text(booster_file, files[_BOOSTER])
        check_booster_text(booster_file, text, meta.feature_names)
        try:
            booster = lgb.Booster(model_str=text)
        except (lgb.basic.LightGBMError, ValueError, RecursionError) as exc:
            raise BundleError(f"{booster_file}: LightGBM cannot read it ({exc})") from None
    if meta.chosen_model == "lightgbm" and booster is None:
        raise BundleError(f"{booster_file}: missing, but the bundle's model is LightGBM")
    calibrator_file = directory / "calibrator.json"
    calibrator = _read(calibrator_file, files["calibrator.json"], Calibrator.from_dict)
    _check_calibrator(calibrator_file, calibrator)
    model = RiskModel.restore(
        features=meta.features,
        booster=booster,
        baseline=_read(
            directory / "baseline.json", files["baseline.json"], LogisticBaseline.from_dict
        ),
        calibrator=calibrator,
        chosen=meta.chosen_model,
        choice_reason=meta.choice_reason,
        search=pd.DataFrame([row.to_dict() for row in meta.search]),
        outcome=meta.outcome,
        **meta.params.to_dict(),
    )
    report = _read(directory / "report.json", files["report.json"], dict)
    return Bundle(model=model, metadata=meta, report=report)


# --------------------------------------------------------------------------- reading


def _snapshot(directory: Path) -> dict[str, bytes]:
    """Read every file of the manifest once, checked; again if the bundle was replaced meanwhile.

    The directory is opened once and its files read through it, so a bundle swapped or
    renamed over while it is read is read whole from the tree that was opened, or fails as
    :class:`_Changed` and is read again from the new one.
    """
    for attempt in range(_ATTEMPTS):
        try:
            handle = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            if attempt == 0:  # later, the directory may be between two renames
                raise BundleError(f"no bundle directory at {directory}") from None
            time.sleep(0.01 * attempt)
            continue
        try:
            return _read_files(directory, handle)
        except _Changed as exc:
            if attempt + 1 == _ATTEMPTS or _still_there(directory, handle):
                raise BundleError(str(exc)) from None
        finally:
            os.close(handle)
        time.sleep(0.01 * attempt)
    raise BundleError(f"no bundle directory at {directory}")  # gone while it was read


def _still_there(directory: Path, handle: int) -> bool:
    """Whether ``directory`` is still the directory opened as ``handle``."""
    try:
        now, opened = os.stat(directory), os.fstat(handle)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (opened.st_dev, opened.st_ino)


def _read_files(directory: Path, handle: int) -> dict[str, bytes]:
    """Read the manifest's files of the directory opened as ``handle``, checked, by name."""
    try:
        sums = _manifest(directory, _read_at(directory, handle, _MANIFEST))
    except _Changed:
        message = f"{directory}: {_MANIFEST} is missing; this is not a masrisk bundle"
        raise _Changed(message) from None
    present = set(os.listdir(handle)) - {_MANIFEST, MARKER}
    for name in sorted(present - set(sums)):
        raise BundleError(f"{directory / name}: file not in the manifest; the bundle was altered")
    for name in sorted(_FILES - {"model_card.md"} - set(sums)):
        raise BundleError(f"{directory / name}: missing from the bundle's manifest")
    files = {}
    for name, expected in sorted(sums.items()):
        files[name] = _read_at(directory, handle, name)
        if hashlib.sha256(files[name]).hexdigest() != expected:
            raise _Changed(
                f"{directory / name}: checksum mismatch; the file was changed after the bundle "
                "was written"
            )
    return files


def _manifest(directory: Path, raw: bytes) -> dict[str, str]:
    """Return the manifest's checksums by file name: plain names of bundle files only."""
    file = directory / _MANIFEST
    sums = _read(file, raw, lambda data: data["sha256"])
    if not isinstance(sums, dict):
        raise BundleError(f"{file}: unreadable manifest (sha256 is not a mapping)")
    for name, expected in sums.items():
        if name in ("", ".", "..") or name != os.path.basename(name) or "\0" in name:
            raise BundleError(f"{file}: entry {name!r} is not a plain file name inside the bundle")
        if name not in _FILES | {_BOOSTER}:
            raise BundleError(f"{file}: entry {name!r} is not a file of a masrisk bundle")
        if not (isinstance(expected, str) and _SHA256.fullmatch(expected)):
            raise BundleError(f"{file}: entry {name!r} has no SHA-256 ({expected!r:.80})")
    return sums


def _read_at(directory: Path, handle: int, name: str) -> bytes:
    """Read the plain file ``name`` of the directory opened as ``handle``, its size capped."""
    file = directory / name
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=handle)
    except FileNotFoundError:
        raise _Changed(f"{file}: missing from the bundle") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BundleError(f"{file}: a symbolic link; a bundle holds plain files only") from None
        raise BundleError(f"{file}: cannot be read ({exc.strerror})") from None
    limit = MAX_BYTES[Path(name).suffix]
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BundleError(f"{file}: not a regular file; a bundle holds plain files only")
        data = stream.read(limit + 1) if info.st_size <= limit else b""
    if info.st_size > limit or len(data) > limit:
        raise BundleError(
            f"{file}: larger than the {limit:,} bytes a bundle's {Path(name).suffix} file may hold"
        )
    return data


def _text(file: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"{file}: not UTF-8 text ({exc})") from None


def _finite_float(text: str) -> float:
    number = float(text)
    if not np.isfinite(number):
        raise ValueError(f"{text}: numbers must be finite")
    return number


def _not_a_number(text: str) -> None:
    raise ValueError(f"{text}: numbers must be finite")


def _read(file: Path, data: bytes, parse: Callable[[Any], Any]) -> Any:
    """Parse a JSON file of the bundle, or raise a BundleError naming it and the field."""
    try:
        document = json.loads(
            _text(file, data), parse_float=_finite_float, parse_constant=_not_a_number
        )
    except RecursionError:
        raise BundleError(f"{file}: unreadable (JSON nested too deeply)") from None
    except ValueError as exc:
        raise BundleError(f"{file}: unreadable ({exc})") from None
    try:
        return parse(document)
    except pydantic.ValidationError as exc:
        raise BundleError(f"{file}: {describe_problems(exc)}") from None
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise BundleError(f"{file}: unreadable ({type(exc).__name__}: {exc})") from None


def _check_calibrator(file: Path, calibrator: Calibrator) -> None:
    """Refuse a calibrator whose risks are not probabilities increasing with the score."""
    with np.errstate(all="ignore"):
        risk = calibrator(np.linspace(-50.0, 50.0, 201))
    if not (np.isfinite(risk).all() and risk.min() >= 0 and risk.max() <= 1):
        raise BundleError(f"{file}: the calibrator gives risks that are not finite probabilities")
    if (np.diff(risk) < 0).any():
        raise BundleError(f"{file}: the calibrator's risk falls as the score rises")


# --------------------------------------------------------------------------- writing


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
