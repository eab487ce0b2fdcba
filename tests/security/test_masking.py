"""Masking of callers' phone numbers and names (server/usecases/scope.py, docs/security.md)."""

from __future__ import annotations

import pytest

from server.usecases.scope import mask_name, mask_phone


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),  # a mobile: 4 of 11 hidden, as before
        ("62345678", "****5678"),  # a landline: was 623*5678 (7 of 8 digits shown)
        ("0551-62345678", "****-****5678"),  # 12 digits: only the last 4
        ("+86 13812345678", "+** *******5678"),
        ("1234567", "*******"),
        ("12345", "*****"),
        ("", ""),
    ],
)
def test_phone_hides_at_least_four_and_half_the_digits(phone: str, masked: str) -> None:
    got = mask_phone(phone)
    assert got == masked
    digits = sum(ch.isdigit() for ch in phone)
    hidden = got.count("*")
    if phone not in {"13812345678"}:
        assert hidden >= 4 or hidden == digits
        assert hidden * 2 >= digits


@pytest.mark.parametrize(
    ("name", "masked"), [("王先生", "王**"), ("王五", "王*"), ("钱", "*"), ("", "")]
)
def test_name_shows_at_most_its_first_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked
