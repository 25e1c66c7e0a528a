"""How numbers are spoken to a caller."""

from __future__ import annotations

_DIGITS = {"0": "零", "1": "幺", "2": "二", "3": "三", "4": "四", "5": "五", "6": "六", "7": "七", "8": "八", "9": "九"}


def digits_zh(value: str) -> str:
    """'12319-20261125-000123' -> '幺 二 三 幺 九，二 零 二 六 …': one digit at a time, as operators read
    numbers (幺 for 1, so it is not mistaken for 七), a pause at each dash."""
    groups = [g for g in value.replace(" ", "").split("-") if g]
    return "，".join(" ".join(_DIGITS.get(ch, ch) for ch in g) for g in groups)


def case_number_from_keys(digits: str, prefix: str) -> str | None:
    """Keypad entry → case number. Accepts the full 17 digits after the prefix (YYYYMMDD + 6) or all of it
    with the prefix; returns None when it cannot be a case number."""
    d = "".join(ch for ch in digits if ch.isdigit())
    if d.startswith(prefix) and len(d) == len(prefix) + 14:
        d = d[len(prefix):]
    if len(d) != 14:
        return None
    return f"{prefix}-{d[:8]}-{d[8:]}"
