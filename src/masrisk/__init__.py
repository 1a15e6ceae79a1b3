"""masrisk: predictive health-risk modelling for population health management.

Predict the health risk of every person, family and territory, explain each prediction,
and turn the scores into an integral risk-management plan per community.

The public API is listed in ``__all__``. Importing the package does no work: each name is
loaded on first use, so ``import masrisk`` (and ``masrisk --version``) stays fast.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from masrisk._lazy import lazy_exports

try:
    __version__ = version("masrisk")
except PackageNotFoundError:  # a source tree that was not installed
    from masrisk._version import __version__

if TYPE_CHECKING:
    from masrisk.bundle import Bundle, load_bundle, save_bundle
    from masrisk.config import Config, OutcomeConfig, load_config
    from masrisk.evaluate import EvaluationReport
    from masrisk.exceptions import (
        BundleError,
        ConfigError,
        MasriskError,
        OutputExistsError,
        ParameterError,
        Problem,
        ValidationError,
    )
    from masrisk.explanations import Explanation, explain
    from masrisk.features import build_features, build_labels, feature_catalog
    from masrisk.models import RiskModel
    from masrisk.planning.catalog import load_catalog
    from masrisk.planning.planner import Plans, plan
    from masrisk.schema import load_tables, validate
    from masrisk.scoring import score
    from masrisk.synth import SyntheticPopulation, synthesize
    from masrisk.tables import CONTRACT, Tables
    from masrisk.training import train

#: Each module and the public names it defines.
_MODULES: dict[str, tuple[str, ...]] = {
    "masrisk.bundle": ("Bundle", "load_bundle", "save_bundle"),
    "masrisk.config": ("Config", "OutcomeConfig", "load_config"),
    "masrisk.evaluate": ("EvaluationReport",),
    "masrisk.exceptions": (
        "BundleError",
        "ConfigError",
        "MasriskError",
        "OutputExistsError",
        "ParameterError",
        "Problem",
        "ValidationError",
    ),
    "masrisk.explanations": ("Explanation", "explain"),
    "masrisk.features": ("build_features", "build_labels", "feature_catalog"),
    "masrisk.models": ("RiskModel",),
    "masrisk.planning.catalog": ("load_catalog",),
    "masrisk.planning.planner": ("Plans", "plan"),
    "masrisk.schema": ("load_tables", "validate"),
    "masrisk.scoring": ("score",),
    "masrisk.synth": ("SyntheticPopulation", "synthesize"),
    "masrisk.tables": ("CONTRACT", "Tables"),
    "masrisk.training": ("train",),
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}
__all__ = [
    "CONTRACT",
    "Bundle",
    "BundleError",
    "EvaluationReport",
    "Explanation",
    "RiskModel",
    "Config",
    "ConfigError",
    "MasriskError",
    "OutcomeConfig",
    "OutputExistsError",
    "ParameterError",
    "Plans",
    "Problem",
    "SyntheticPopulation",
    "Tables",
    "ValidationError",
    "__version__",
    "build_features",
    "build_labels",
    "explain",
    "feature_catalog",
    "load_bundle",
    "load_catalog",
    "load_config",
    "load_tables",
    "plan",
    "save_bundle",
    "score",
    "synthesize",
    "train",
    "validate",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
