"""The ``masrisk`` command line: thin wiring of the pipeline's stages, no logic of its own.

Exit status: 0 success; 2 invalid input or arguments (stderr says what and where, without a
traceback); 1 anything else.

One module per group of commands: ``data`` (synth, validate), ``modelling`` (train, score,
explain), ``planning`` (plan, demo) and ``interop`` (import rips, import omop, export fhir);
``_common`` holds the root app, the consoles and what the commands share (the engine options).
"""

from __future__ import annotations

# Importing a module registers its commands on ``app``; ``masrisk --help`` lists them in the
# order they are registered (the interop groups come after the commands whatever the order).
from masrisk.cli import data, interop, modelling, planning  # noqa: F401
from masrisk.cli._common import app, report_unexpected

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``masrisk`` console script.

    A masrisk error is exit 2 with its message (each command's ``_stage``); anything else is
    exit 1 with one line, and the traceback only with ``--debug``.
    """
    try:
        app(prog_name="masrisk")
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:  # noqa: BLE001 - the one place that turns a fault into exit 1
        raise SystemExit(report_unexpected(exc)) from None
