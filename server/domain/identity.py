"""Check characters of Chinese identifiers, as plain functions (no Flask, no SQL).

- 公民身份号码 (GB 11643-1999): 17 digits (6 address, 8 birth date YYYYMMDD, 3 sequence whose
  last digit is odd for men, even for women) and a check character computed with ISO 7064
  MOD 11-2 (0-9 or X). :func:`parse_id_number` validates one and derives birth date and sex.
- 统一社会信用代码 (GB 32100-2015): 17 characters from the 31-character alphabet
  ``0-9 A-H J-N P-R T-U W-Y`` (no I, O, Z, S, V) and a check character MOD 31.
  :func:`check_credit_code` validates one.

Masks for display: :func:`mask_id_number` (6401**********1234).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from server.domain.errors import DomainError


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


SEX_LABELS = {Sex.MALE: ("男", "male"), Sex.FEMALE: ("女", "female")}

# ISO 7064 MOD 11-2 weights 2^(17-i) mod 11 for positions 1..17, and the check characters.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# The earliest birth year accepted: older residents do not exist; later than today neither.
EARLIEST_BIRTH = date(1890, 1, 1)


class IdentityError(DomainError):
    code = "bad_id_number"


@dataclass(frozen=True)
class IdNumber:
    """A valid 18-character identity number and what it tells."""

    value: str  # upper case (x → X)
    birth_date: date
    sex: Sex
    region_code: str  # the 6-digit address code of first registration


def id_check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of 17 digits."""
    total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalise_id_number(value: str) -> str:
    """Strip spaces; a lower-case x is an X. (Nothing else is changed.)"""
    return value.strip().replace(" ", "").upper()


def parse_id_number(value: str, *, today: date | None = None, field: str = "id_number") -> IdNumber:
    """A valid identity number, or :class:`IdentityError` naming ``field``:

    ``bad_id_number`` (not 17 digits and a check character), ``bad_birth_date`` (no such day,
    in the future or before 1890), ``bad_check_digit`` (the check character does not match).
    """
    text = normalise_id_number(value)
    if len(text) != 18 or not text[:17].isascii() or not text[:17].isdigit():
        raise IdentityError(
            "公民身份号码应为 18 位（17 位数字加校验码）",
            "an identity number has 18 characters: 17 digits and a check character",
            field=field,
        )
    if text[17] not in "0123456789X":
        raise IdentityError(
            "公民身份号码最后一位应为数字或 X",
            "the last character of an identity number is a digit or X",
            field=field,
        )
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise IdentityError(
            "公民身份号码中的出生日期不存在",
            "the birth date in the identity number does not exist",
            field=field,
            code="bad_birth_date",
        ) from None
    if born < EARLIEST_BIRTH or born > (today or date.today()):
        raise IdentityError(
            "公民身份号码中的出生日期不可能",
            "the birth date in the identity number is impossible",
            field=field,
            code="bad_birth_date",
        )
    if id_check_character(text[:17]) != text[17]:
        raise IdentityError(
            "公民身份号码校验码错误，请核对",
            "the identity number's check digit is wrong: check the number",
            field=field,
            code="bad_check_digit",
        )
    sex = Sex.MALE if int(text[16]) % 2 == 1 else Sex.FEMALE
    return IdNumber(text, born, sex, text[:6])


def make_id_number(region: str, born: date, sequence: int) -> str:
    """A valid identity number for ``region`` (6 digits), ``born`` and a 3-digit sequence
    (odd: male): for demo data and tests (fictitious people)."""
    first17 = f"{region}{born:%Y%m%d}{sequence % 1000:03d}"
    return first17 + id_check_character(first17)


def mask_id_number(value: str) -> str:
    """6401**********1234: the first 4 and the last 4 characters, whatever the length (an
    identifier shorter than 9 is hidden entirely)."""
    if len(value) < 9:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def age_on(born: date, day: date) -> int:
    """Whole years of age on ``day``."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


# --- 统一社会信用代码 ---------------------------------------------------------------------------

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


class CreditCodeError(DomainError):
    code = "bad_credit_code"


def credit_check_character(first17: str) -> str:
    """The GB 32100 check character of 17 characters of the code alphabet."""
    total = sum(
        CREDIT_ALPHABET.index(ch) * w for ch, w in zip(first17, _CREDIT_WEIGHTS, strict=True)
    )
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def check_credit_code(value: str, *, field: str = "credit_code") -> str:
    """A valid 统一社会信用代码 (upper case), or :class:`CreditCodeError` naming ``field``."""
    text = value.strip().replace(" ", "").upper()
    if len(text) != 18 or any(ch not in CREDIT_ALPHABET for ch in text):
        raise CreditCodeError(
            "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、Z、S、V）",
            "a unified social credit code has 18 digits or capital letters (no I, O, Z, S, V)",
            field=field,
        )
    if credit_check_character(text[:17]) != text[17]:
        raise CreditCodeError(
            "统一社会信用代码校验码错误，请核对",
            "the credit code's check character is wrong: check the code",
            field=field,
            code="bad_check_character",
        )
    return text


def make_credit_code(first17: str) -> str:
    """A valid credit code from its first 17 characters (demo data and tests)."""
    return first17 + credit_check_character(first17)
