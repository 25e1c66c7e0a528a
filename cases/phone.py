"""Phone numbers: stored normalised (E.164), shown masked. Pure functions."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d+")


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str | None, country_code: str = "86") -> str | None:
    """'138 0013 8000', '+86 138-0013-8000', '008613800138000' → '+8613800138000'. Empty → None.

    Chinese mobile (11 digits starting 1) and fixed-line numbers with a trunk 0 get +86."""
    if raw is None or not raw.strip():
        return None
    s = raw.strip()
    digits = "".join(_DIGITS.findall(s))
    if s.startswith("+"):
        e164 = "+" + digits
    elif digits.startswith("00"):
        e164 = "+" + digits[2:]
    elif digits.startswith(country_code) and len(digits) == len(country_code) + 11:
        e164 = "+" + digits
    elif len(digits) == 11 and digits.startswith("1"):
        e164 = f"+{country_code}{digits}"
    elif digits.startswith("0") and 10 <= len(digits) <= 12:
        e164 = f"+{country_code}{digits[1:]}"
    else:
        raise InvalidPhone(f"not a phone number: {raw!r}")
    if not 8 <= len(e164) - 1 <= 15:
        raise InvalidPhone(f"not a phone number: {raw!r}")
    return e164


def mask_phone(e164: str | None) -> str | None:
    """+8613800138000 → 138****8000 (national form, middle hidden)."""
    if not e164:
        return None
    national = e164[3:] if e164.startswith("+86") else e164
    if len(national) <= 7:
        return national[:2] + "*" * (len(national) - 2)
    return national[:3] + "****" + national[-4:]
