"""Model bundles: text and JSON only, identical predictions after a round trip, tamper-proof."""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np
import pytest

import masrisk
from masrisk.bundle import (
    UnseenCategoryWarning,
    data_fingerprint,
    feature_specs,
    load_bundle,
    save_bundle,
)
from masrisk.features import lab_codes_in
from masrisk.models import RiskModel
from masrisk.outputs import MARKER

CONFIG = masrisk.load_config("bogota")

OUTCOME = "hospitalization_12m"


@pytest.fixture(scope="module")
def trained():
    tables = masrisk.synthesize("bogota", persons=3000, seed=4).tables
    X = masrisk.build_features(tables, as_of="2023-01-01", config=CONFIG)
    y = masrisk.build_labels(tables, as_of="2023-01-01", outcome=OUTCOME, config=CONFIG)
    X_valid = masrisk.build_features(
        tables, as_of="2024-01-01", lab_codes=lab_codes_in(X.columns), config=CONFIG
    )[X.columns]
    y_valid = masrisk.build_labels(tables, as_of="2024-01-01", outcome=OUTCOME, config=CONFIG)
    model = RiskModel(OUTCOME).fit(X, y, eval_set=(X_valid, y_valid))
    metadata = {"features": feature_specs(X), "data_fingerprint": data_fingerprint(X, y)}
    return model, metadata, X_valid


@pytest.fixture
def bundle_dir(trained, tmp_path):
    model, metadata, _ = trained
    return save_bundle(model, tmp_path / "bundle", metadata=metadata, model_card="# card\n")


def test_bundle_holds_only_text_and_json(bundle_dir):
    names = sorted(p.name for p in bundle_dir.iterdir())
    assert names == [
        MARKER,  # the output policy's: masrisk wrote this directory
        "baseline.json",
        "booster.txt",
        "calibrator.json",
        "manifest.json",
        "metadata.json",
        "model_card.md",
        "report.json",
    ]
    for file in bundle_dir.iterdir():
        text = file.read_text(encoding="utf-8")  # every file is UTF-8 text
        assert not file.read_bytes().startswith(b"\x80")  # no pickle protocol header
        if file.suffix == ".json":
            json.loads(text)
    assert (bundle_dir / "booster.txt").read_text().startswith("tree\n")


def test_round_trip_gives_identical_predictions(trained, bundle_dir):
    model, _, X_valid = trained
    bundle = load_bundle(bundle_dir)
    np.testing.assert_array_equal(bundle.predict_risk(X_valid), model.predict_risk(X_valid))
    assert bundle.model.chosen_ == model.chosen_
    assert bundle.features == list(X_valid.columns)


def test_categories_survive_the_round_trip(trained, bundle_dir):
    _, _, X_valid = trained
    metadata = load_bundle(bundle_dir).metadata
    sex = next(f for f in metadata.features if f.name == "ind_sex")
    assert sex.to_dict() == {"name": "ind_sex", "dtype": "category", "categories": ["F", "M"]}
    written = json.loads((bundle_dir / "metadata.json").read_text(encoding="utf-8"))
    assert {"name": "ind_age", "dtype": "float32"} in written["features"]  # no categories key
    # Parquet (or a CSV) can hand categoricals back as plain strings: still the same risks.
    as_text = X_valid.astype(dict.fromkeys(X_valid.select_dtypes("category").columns, "str"))
    bundle = load_bundle(bundle_dir)
    np.testing.assert_array_equal(bundle.predict_risk(as_text), bundle.predict_risk(X_valid))


def test_unseen_category_is_scored_as_missing_with_a_warning(bundle_dir, trained):
    _, _, X_valid = trained
    X = X_valid.copy()
    X["ind_insurer"] = X["ind_insurer"].astype("str")
    X.iloc[:7, X.columns.get_loc("ind_insurer")] = "Brand New EPS"
    bundle = load_bundle(bundle_dir)
    with pytest.warns(UnseenCategoryWarning, match="ind_insurer: 7"):
        risk = bundle.predict_risk(X)
    missing = X_valid.copy()
    missing["ind_insurer"] = missing["ind_insurer"].astype("str")
    missing.iloc[:7, missing.columns.get_loc("ind_insurer")] = None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(risk, bundle.predict_risk(missing))


def test_flipped_byte_is_refused_naming_the_file(bundle_dir):
    file = bundle_dir / "calibrator.json"
    data = bytearray(file.read_bytes())
    data[10] ^= 0x01
    file.write_bytes(bytes(data))
    with pytest.raises(masrisk.BundleError, match=r"calibrator\.json: checksum mismatch"):
        load_bundle(bundle_dir)


def test_missing_file_is_refused_naming_the_file(bundle_dir):
    (bundle_dir / "booster.txt").unlink()
    with pytest.raises(masrisk.BundleError, match=r"booster\.txt: missing"):
        load_bundle(bundle_dir)


def test_extra_file_is_refused(bundle_dir):
    (bundle_dir / "payload.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(masrisk.BundleError, match=r"payload\.pkl: file not in the manifest"):
        load_bundle(bundle_dir)


def test_missing_manifest_and_directory_are_refused(bundle_dir, tmp_path):
    with pytest.raises(masrisk.BundleError, match="no bundle directory"):
        load_bundle(tmp_path / "nowhere")
    (bundle_dir / "manifest.json").unlink()
    with pytest.raises(masrisk.BundleError, match="manifest.json is missing"):
        load_bundle(bundle_dir)


def test_feature_mismatch_is_refused_naming_the_features(bundle_dir, trained):
    _, _, X_valid = trained
    with pytest.raises(masrisk.ValidationError, match="ind_charlson"):
        load_bundle(bundle_dir).predict_risk(X_valid.drop(columns=["ind_charlson", "ter_zone"]))


def test_existing_bundle_is_not_overwritten_by_default(trained, bundle_dir):
    model, metadata, _ = trained
    with pytest.raises(masrisk.BundleError, match="exists"):
        save_bundle(model, bundle_dir, metadata=metadata)
    save_bundle(model, bundle_dir, metadata=metadata, overwrite=True)
    load_bundle(bundle_dir)


def test_failed_write_leaves_nothing_behind(trained, tmp_path):
    model, metadata, _ = trained
    with pytest.raises(TypeError):
        save_bundle(model, tmp_path / "b", metadata={**metadata, "bad": object()})
    assert list(tmp_path.iterdir()) == []


def test_baseline_bundle_has_no_booster(trained, tmp_path):
    model, metadata, X_valid = trained
    tables = masrisk.synthesize("bogota", persons=3000, seed=4).tables
    X = masrisk.build_features(tables, as_of="2023-01-01", config=CONFIG)
    y = masrisk.build_labels(tables, as_of="2023-01-01", outcome=OUTCOME, config=CONFIG)
    y_valid = masrisk.build_labels(tables, as_of="2024-01-01", outcome=OUTCOME, config=CONFIG)
    weak = RiskModel(OUTCOME, params={"min_data_in_leaf": 10**7}).fit(
        X, y, eval_set=(X_valid, y_valid)
    )
    path = save_bundle(weak, tmp_path / "b", metadata=metadata)
    assert not (path / "booster.txt").exists()
    np.testing.assert_array_equal(
        load_bundle(path).predict_risk(X_valid), weak.predict_risk(X_valid)
    )


def test_fingerprint_changes_with_the_data(trained):
    _, _, X_valid = trained
    y = np.zeros(len(X_valid), dtype="int8")
    first = data_fingerprint(X_valid, y)
    assert first == data_fingerprint(X_valid.copy(), y.copy())
    changed = X_valid.copy()
    changed.iloc[0, changed.columns.get_loc("ind_age")] += 1
    assert data_fingerprint(changed, y) != first


def _rewrite(bundle_dir, name, change):
    """Change a JSON file of a bundle and recompute the manifest, as a crafted bundle would."""
    file = bundle_dir / name
    data = json.loads(file.read_text(encoding="utf-8"))
    change(data)
    file.write_text(json.dumps(data), encoding="utf-8")  # NaN is written as NaN
    manifest = bundle_dir / "manifest.json"
    sums = json.loads(manifest.read_text(encoding="utf-8"))
    sums["sha256"][name] = hashlib.sha256(file.read_bytes()).hexdigest()
    manifest.write_text(json.dumps(sums), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(profile="/etc/shadow"), r"profile: Input should be 'bogota' or"),
        (
            lambda m: m["params"].update(n_jobs=10**9),
            r"params\.n_jobs: n_jobs must be an int in \[1, 64\], got 1000000000",
        ),
        (lambda m: m["params"].update(code="rm -rf /"), r"params\.code: Extra inputs"),
        (lambda m: m["search"][0].update(num_leaves=-5), r"search\.0\.num_leaves: num_leaves must"),
        (lambda m: m.update(format_version=2), r"format_version: bundle format 2 is not 1"),
        (lambda m: m.pop("features"), r"features: Field required"),
    ],
)
def test_crafted_metadata_is_refused_naming_the_file_and_field(bundle_dir, change, message):
    _rewrite(bundle_dir, "metadata.json", change)
    with pytest.raises(masrisk.BundleError, match=r"metadata\.json: .*" + message):
        load_bundle(bundle_dir)


def test_metadata_is_typed_and_written_with_the_keys_given(trained, bundle_dir):
    model, metadata, _ = trained
    meta = load_bundle(bundle_dir).metadata
    assert meta.chosen_model == model.chosen_
    assert meta.params.calibration == "sigmoid"
    assert meta.profile is None  # not given, not invented
    assert meta.train_as_of is None
    written = json.loads((bundle_dir / "metadata.json").read_text(encoding="utf-8"))
    assert "train_as_of" not in written
    assert set(written) == set(metadata) | {
        "format_version", "outcome", "chosen_model", "choice_reason", "search", "params",
        "packages", "profile",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(method="pickle"), r"calibration must be one of"),
        (lambda c: c.update(slope=float("nan")), r"numbers must be finite"),
        (lambda c: c.update(method="sigmoid", slope=-1.0), r"risk falls as the score rises"),
    ],
)
def test_crafted_calibrator_is_refused_naming_the_file(bundle_dir, change, message):
    _rewrite(bundle_dir, "calibrator.json", change)
    with pytest.raises(masrisk.BundleError, match=r"calibrator\.json: .*" + message):
        load_bundle(bundle_dir)
