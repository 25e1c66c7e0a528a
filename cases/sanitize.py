"""Text every store and every output format can hold. Pure functions, used by every door.

PostgreSQL refuses NUL in `text` and `\\u0000` in JSON; a lone surrogate cannot be encoded as UTF-8 by
any driver; XML 1.0 forbids the other C0 controls (except tab, LF, CR) and U+FFFE/U+FFFF. One set of
characters covers all three, so what passes here can be stored and rendered as JSON or XML.

Two policies, chosen per field by the door: what a resident wrote (an SMS body, speech, form text) is
*cleaned* so it is still stored; an identifier (external_id, a case number, a query parameter) that
contains such a character is *refused* with a 4xx, since no stored row can match it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator

# XML 1.0 `Char` minus what it allows; Python strings can hold lone surrogates (from JSON "\ud800"
# or a path with invalid UTF-8), which no database driver can encode.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# The `id` columns are INTEGER: 32-bit on PostgreSQL; SQLite's 64-bit range is wider, so this bound
# holds on both. Every integer taken from a URL is bounded by it (FastAPI Path/Query `le=`).
DB_INT_MAX = 2**31 - 1


def clean_text(value: str) -> str:
    """`value` without the characters no store or format can hold (see module docstring)."""
    return _UNSAFE.sub("", value)


def has_unsafe(value: str) -> bool:
    return _UNSAFE.search(value) is not None


def clean_data(value: Any) -> Any:
    """`clean_text` over every string in a JSON-like value (dict keys too)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_data(k): clean_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_data(v) for v in value]
    return value


def refuse_unsafe(value: str) -> str:
    """For identifiers: raise ValueError (a 422 through pydantic) rather than change what was sent."""
    if has_unsafe(value):
        raise ValueError("must not contain control characters (NUL, U+0001–U+001F except tab/newline)")
    return value


# Annotated types for pydantic models: `text: CleanStr`, `external_id: SafeIdentifier | None`.
CleanStr = Annotated[str, AfterValidator(clean_text)]
SafeIdentifier = Annotated[str, AfterValidator(refuse_unsafe)]
