"""A rule's `notify` entries: each is a department code (its duty contacts get the 派遣 notice too) or a
phone number (an SMS to that number). Pure; the numbers are shown masked, never written to a log."""

from __future__ import annotations

from collections.abc import Iterable

from cases.phone import InvalidPhone, mask_phone, normalize_phone


def phone_of(entry: str) -> str | None:
    """The entry as an E.164 number when it is one (no letters, a number normalize_phone accepts)."""
    if any(ch.isalpha() for ch in entry):
        return None
    try:
        return normalize_phone(entry)
    except InvalidPhone:
        return None


def looks_like_phone(entry: str) -> bool:
    """Digits and phone punctuation only: meant as a number, even if it is not a valid one."""
    return bool(entry) and all(ch.isdigit() or ch in "+-() " for ch in entry) and any(ch.isdigit() for ch in entry)


def notify_departments(entries: Iterable[str]) -> list[str]:
    return [e for e in entries if not looks_like_phone(e)]


def notify_phones(entries: Iterable[str]) -> list[tuple[int, str]]:
    """(index in the rule's list, E.164) of the phone entries; the index names the number in a notice."""
    return [(i, phone) for i, e in enumerate(entries) if (phone := phone_of(e)) is not None]


def shown(entry: str) -> str:
    phone = phone_of(entry)
    return (mask_phone(phone) or entry) if phone else entry


RULE_TARGET = "rule"


def rule_target(version: int, key: str, index: int) -> str:
    """How a notice names a phone number of a rule's notify list: by the published version (which never
    changes), the rule and the entry's place, so the number itself is kept only in the rule."""
    return f"{RULE_TARGET}:{version}:{key}:{index}"


def parse_rule_target(target: str) -> tuple[int, str, int] | None:
    parts = target.split(":")
    if len(parts) != 4 or parts[0] != RULE_TARGET or not parts[1].isdigit() or not parts[3].isdigit():
        return None
    return int(parts[1]), parts[2], int(parts[3])
