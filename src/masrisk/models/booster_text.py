"""Check a LightGBM text model before LightGBM's native parser, which trusts its input, reads it.

Each flaw is a :class:`~masrisk.exceptions.BundleError` naming the file and the place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from masrisk.exceptions import BundleError
from masrisk.models.facts import BOUNDS

__all__ = ["check_booster_text"]


#: Per tree, the arrays LightGBM reads and their lengths: one per split or one per leaf.
_SPLIT_ARRAYS = ("split_feature", "split_gain", "threshold", "decision_type", "left_child",
                 "right_child", "internal_value", "internal_weight", "internal_count")  # fmt: skip
_LEAF_ARRAYS = ("leaf_value", "leaf_weight", "leaf_count")
_REQUIRED = {"split_feature", "threshold", "decision_type", "left_child", "right_child",
             "leaf_value"}  # fmt: skip


def check_booster_text(file: Path, text: str, features: list[str]) -> None:
    """Check the structure of LightGBM's text model before its native parser reads it.

    LightGBM's parser trusts its input: an index out of range is read out of memory. What
    it indexes is checked here: the header, the trees' sizes, every array's length, feature
    and child indices in range, finite leaf values, the categorical splits' bounds.
    """
    head, trees_marker, tail = text.partition("\nend of trees\n")
    if not text.startswith("tree\n") or not trees_marker:
        raise BundleError(f"{file}: not a LightGBM text model ('tree' ... 'end of trees')")
    header_text, _, trees_text = head.partition("\nTree=")
    header = _fields(file, header_text.splitlines()[1:], "the header")
    for key in ("version", "num_class", "num_tree_per_iteration", "max_feature_idx",
                "feature_names", "tree_sizes"):  # fmt: skip
        if key not in header:
            raise BundleError(f"{file}: the header has no {key}=")
    if header["num_class"] != "1" or header["num_tree_per_iteration"] != "1":
        raise BundleError(f"{file}: not a binary model (num_class={header['num_class']})")
    names = header["feature_names"].split(" ")
    if len(names) != len(features) or header["max_feature_idx"] != str(len(features) - 1):
        raise BundleError(f"{file}: it has {len(names)} features, metadata.json {len(features)}")
    blocks = ("Tree=" + trees_text + "\n").split("\n\n\n") if trees_text else []
    blocks = [b for b in blocks if b.strip()]
    sizes = header["tree_sizes"].split()
    if len(blocks) != len(sizes) or len(blocks) > BOUNDS["trees"][2]:
        raise BundleError(f"{file}: {len(blocks)} trees, but tree_sizes gives {len(sizes)}")
    for number, (block, size) in enumerate(zip(blocks, sizes, strict=True)):
        if str(len((block + "\n\n\n").encode("utf-8"))) != size:
            raise BundleError(f"{file}: tree {number} is not of the size tree_sizes gives")
        _check_tree(file, number, block, len(features))


def _fields(file: Path, lines: list[str], where: str) -> dict[str, str]:
    found = {}
    for line in filter(None, lines):
        key, equals, value = line.partition("=")
        if not equals:
            raise BundleError(f"{file}: {where}: {line[:80]!r} is not key=value")
        found[key] = value
    return found


def _integers(file: Path, where: str, value: str, low: int, high: int) -> list[int]:
    try:
        numbers = [int(v) for v in value.split()]
    except ValueError:
        raise BundleError(f"{file}: {where} holds values that are not integers") from None
    if any(not low <= n <= high for n in numbers):
        raise BundleError(f"{file}: {where} holds values outside [{low}, {high}]")
    return numbers


def _finite(file: Path, where: str, value: str, *, infinite: bool = False) -> None:
    """Refuse values that are not numbers, NaN, and unless ``infinite`` also +-inf."""
    try:
        numbers = np.asarray(value.split(), dtype="float64")
    except ValueError:
        raise BundleError(f"{file}: {where} holds values that are not numbers") from None
    if np.isnan(numbers).any() or not (infinite or np.isfinite(numbers).all()):
        raise BundleError(f"{file}: {where} holds values that are not finite")


def _integer(file: Path, where: str, value: str, low: int, high: int) -> int:
    numbers = _integers(file, where, value, low, high)
    if len(numbers) != 1:
        raise BundleError(f"{file}: {where} is not one integer")
    return numbers[0]


def _check_tree(file: Path, number: int, block: str, n_features: int) -> None:
    """Check one ``Tree=`` block: lengths, indices, values (see :func:`check_booster_text`)."""
    where = f"tree {number}"
    tree = _fields(file, block.splitlines(), where)
    if tree.get("Tree") != str(number):
        raise BundleError(f"{file}: {where} is numbered {tree.get('Tree')!r}")
    if tree.get("is_linear", "0") != "0":
        raise BundleError(f"{file}: {where} is a linear tree, which masrisk never trains")
    most = BOUNDS["num_leaves"][2]
    leaves = _integer(file, f"{where}: num_leaves", tree.get("num_leaves", ""), 1, most)
    for key, length in [*((k, leaves - 1) for k in _SPLIT_ARRAYS),
                        *((k, leaves) for k in _LEAF_ARRAYS)]:  # fmt: skip
        if (key in tree or key in _REQUIRED) and len(tree.get(key, "").split()) != length:
            raise BundleError(f"{file}: {where}: {key} does not hold {length} values")
    for key in ("split_gain", "threshold", "leaf_value"):
        # LightGBM writes a threshold of inf for a split that sends every number one way
        _finite(file, f"{where}: {key}", tree.get(key, ""), infinite=key == "threshold")
    _integers(file, f"{where}: split_feature", tree.get("split_feature", ""), 0, n_features - 1)
    for key in ("left_child", "right_child"):
        _integers(file, f"{where}: {key}", tree.get(key, ""), -leaves, leaves - 2)
    decisions = _integers(file, f"{where}: decision_type", tree.get("decision_type", ""), 0, 15)
    categorical = _integer(file, f"{where}: num_cat", tree.get("num_cat", "0"), 0, leaves - 1)
    if categorical:
        _check_categorical(file, where, tree, categorical, decisions)


def _check_categorical(
    file: Path, where: str, tree: dict[str, str], categorical: int, decisions: list[int]
) -> None:
    """Check a tree's categorical splits: their bounds, and thresholds that index them."""
    bounds = _integers(file, f"{where}: cat_boundaries", tree.get("cat_boundaries", ""), 0, 2**31)
    words = tree.get("cat_threshold", "").split()
    if len(bounds) != categorical + 1 or bounds[0] != 0 or bounds != sorted(bounds):
        raise BundleError(f"{file}: {where}: cat_boundaries are not {categorical + 1} bounds")
    if bounds[-1] != len(words):
        raise BundleError(f"{file}: {where}: cat_boundaries do not bound cat_threshold")
    _integers(file, f"{where}: cat_threshold", " ".join(words), 0, 2**32 - 1)
    for decision, threshold in zip(decisions, tree["threshold"].split(), strict=True):
        if decision & 1 and not (
            float(threshold).is_integer() and 0 <= float(threshold) < categorical
        ):
            raise BundleError(f"{file}: {where}: a categorical split points past num_cat")
