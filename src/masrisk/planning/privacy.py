"""What keeps public pages from identifying anyone: small-cell suppression and pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
import numbers
from typing import Any

from masrisk.exceptions import ParameterError
from masrisk.planning import _document_values as field

__all__ = ["pseudonymize", "suppress"]


def suppress(count: float, threshold: int = 5) -> str:
    """Format a count for a public page, hiding small cells.

    Parameters
    ----------
    count : int or float
        A count of persons, households or events (a float for expected events), ``>= 0``.
    threshold : int
        Counts with ``0 < count < threshold`` are shown as ``f"<{threshold}"``; must be ``>= 1``.
        Zero is shown as ``"0"``: a true zero identifies nobody. Other counts are shown with
        thousands separators (floats with one decimal).
    """
    threshold = field.threshold(threshold)
    value = field.amount("count", count)
    if 0 < value < threshold:
        return f"<{threshold}"
    if isinstance(count, numbers.Integral):
        return f"{int(count):,}"
    return f"{value:,.1f}"


def pseudonymize(value: Any, key: str | bytes, *, prefix: str = "h_") -> str:
    """Return a keyed pseudonym of an id: ``prefix`` + 16 hex digits of HMAC-SHA256.

    The id's string form is hashed (``123`` and ``"123"`` give the same pseudonym; ``123.0``
    does not). Without the key the ids cannot be recovered by hashing guesses; keep the key
    secret and the same across runs so that pseudonyms stay stable.

    Raises ``ValueError`` if the key is empty.

    Examples
    --------
    >>> pseudonymize("H001", "secret") == pseudonymize("H001", b"secret")
    True
    >>> pseudonymize("H001", "secret") != pseudonymize("H001", "other")
    True
    >>> len(pseudonymize(42, "secret"))
    18
    """
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"the pseudonym key must be str or bytes, got {type(key).__name__}")
    if not key:
        raise ParameterError("the pseudonym key is empty; give a secret key")
    digest = hmac.new(bytes(key), str(value).encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{prefix}{digest[:16]}"
