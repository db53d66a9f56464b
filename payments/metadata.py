"""Object metadata: at most 50 keys, keys up to 40 characters (no brackets), string values up
to 500 characters (Stripe's limits). Anything else is refused with `metadata_invalid`."""

from __future__ import annotations

from typing import Any

from ops.jsonbody import unstorable_text
from payments.errors import PaymentsError

MAX_KEYS, MAX_KEY_LENGTH, MAX_VALUE_LENGTH = 50, 40, 500


def _printable(key: str) -> str:
    # the key goes back in the error body: JSON cannot carry a lone surrogate either
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def metadata_clean(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PaymentsError("metadata_invalid", "metadata is an object of strings", param="metadata")
    if len(value) > MAX_KEYS:
        raise PaymentsError("metadata_invalid", f"metadata has at most {MAX_KEYS} keys", param="metadata")
    for key, item in value.items():
        if (not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH or "[" in key or "]" in key
                or unstorable_text(key) is not None):
            raise PaymentsError("metadata_invalid",
                                f"metadata keys are 1..{MAX_KEY_LENGTH} characters without brackets",
                                param=f"metadata[{_printable(str(key)[:MAX_KEY_LENGTH])}]")
        if not isinstance(item, str) or len(item) > MAX_VALUE_LENGTH or unstorable_text(item) is not None:
            raise PaymentsError("metadata_invalid",
                                f"metadata values are strings of at most {MAX_VALUE_LENGTH} characters",
                                param=f"metadata[{_printable(key)}]")
    return dict(value)
