"""Package faces that import their names on first use (PEP 562).

Examples
--------
>>> import masrisk.io
>>> "from_rips" in dir(masrisk.io), masrisk.io.from_rips.__name__
(True, 'from_rips')
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return the module ``__getattr__`` and ``__dir__`` of a package with lazy names.

    ``exports`` maps each public name to the module that defines it. Assign both in the
    package's ``__init__`` (``__getattr__, __dir__ = lazy_exports(__name__, exports)``): a
    name is imported on first access and kept; ``dir()`` lists the public names only.
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 - the PEP 562 hook
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807 - the PEP 562 hook
        return sorted({*getattr(sys.modules[package], "__all__", ()), *exports})

    return __getattr__, __dir__
