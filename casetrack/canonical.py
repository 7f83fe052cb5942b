"""Canonical JSON: the one text of a value that is hashed or signed (webhook bodies, the audit
chain's events and case seals), so that equal values always give equal bytes: keys sorted, no
spaces, non-ASCII as is. A receiver or a verifier that re-serialises must get the same text, so
it is defined once, here, on json's public API."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

OPTIONS: dict[str, Any] = {"sort_keys": True, "ensure_ascii": False, "separators": (",", ":")}
# Built once: json.dumps builds an encoder per call when given options (the sweep hashes up to a
# million events a run).
_ENCODER = json.JSONEncoder(**OPTIONS)


def canonical_json(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """`value` as canonical JSON; `default` converts what JSON cannot hold (as json.dumps)."""
    if default is None:
        return _ENCODER.encode(value)
    return json.dumps(value, default=default, **OPTIONS)
