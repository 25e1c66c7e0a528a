from __future__ import annotations

import pytest

from cases.phone import InvalidPhone, mask_phone, normalize_phone


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("0713-8000101", "+867138000101"),
        ("+1 415 555 0100", "+14155550100"),
        ("", None),
        (None, None),
    ],
)
def test_normalize(raw: str | None, e164: str | None) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12", "abc", "99999"])
def test_invalid(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(raw)


def test_mask() -> None:
    assert mask_phone("+8613800138000") == "138****8000"
    assert mask_phone(None) is None
