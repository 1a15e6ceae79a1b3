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

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Bundle": "masrisk.bundle",
    "BundleError": "masrisk.exceptions",
    "EvaluationReport": "masrisk.evaluate",
    "Explanation": "masrisk.explanations",
    "explain": "masrisk.explanations",
    "RiskModel": "masrisk.models",
    "load_bundle": "masrisk.bundle",
    "save_bundle": "masrisk.bundle",
    "score": "masrisk.scoring",
    "plan": "masrisk.planning.planner",
    "Plans": "masrisk.planning.planner",
    "load_catalog": "masrisk.planning.catalog",
    "train": "masrisk.training",
    "CONTRACT": "masrisk.tables",
    "Config": "masrisk.config",
    "ConfigError": "masrisk.exceptions",
    "MasriskError": "masrisk.exceptions",
    "OutcomeConfig": "masrisk.config",
    "OutputExistsError": "masrisk.exceptions",
    "ParameterError": "masrisk.exceptions",
    "Problem": "masrisk.exceptions",
    "SyntheticPopulation": "masrisk.synth",
    "Tables": "masrisk.tables",
    "build_features": "masrisk.features",
    "build_labels": "masrisk.features",
    "feature_catalog": "masrisk.features",
    "ValidationError": "masrisk.exceptions",
    "load_config": "masrisk.config",
    "load_tables": "masrisk.schema",
    "synthesize": "masrisk.synth",
    "validate": "masrisk.schema",
}

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
