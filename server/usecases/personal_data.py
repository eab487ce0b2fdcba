"""Personal data at rest and in sight: encryption, keyed hashes, masks, and the read log.

- **Encryption at rest.** Identity numbers and phones are stored as AES-256-GCM ciphertext
  (``b"\\x01" + 12-byte random nonce + ciphertext and tag``; the column's name is the
  associated data, so a value copied into another column does not decrypt). The key comes from
  the environment (``WANGGE_DATA_KEY``, ``server/config.py``), never from the database.
- **Exact search.** Each such value also gets an HMAC-SHA256 of its normalised form under a
  second key derived from the same secret (``*_hash``): "find the resident with this identity
  number" is an indexed equality on the hash; the database never sees the number.
- **Masks.** Answers carry masks (``6401**********1234``, ``138****5678``); a clear value only
  through :func:`reveal`-style use cases that name a reason, and every read of a person's
  record is logged (:func:`log_reads`) in ``personal_data_reads`` (append-only).

No Flask here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert

from server.domain.identity import mask_id_number
from server.models import Organisation, PersonalDataRead, Resident
from server.usecases.context import Actor, Context
from server.usecases.scope import mask_phone

_FORMAT = b"\x01"
#: The development key: a fixed, public derivation. It keeps `make run`, the demo and the tests
#: working without configuration and MUST NOT protect real data (docs/security.md, "Keys").
DEV_SECRET = b"wangge development data key - NOT FOR PRODUCTION"


class KeyError_(ValueError):
    """A ``WANGGE_DATA_KEY`` that is not 32 bytes in hex or base64."""


@dataclass(frozen=True)
class DataKey:
    """The two subkeys derived from one 32-byte secret: ``enc`` (AES-GCM) and ``mac`` (HMAC)."""

    enc: bytes
    mac: bytes
    dev: bool = False

    @classmethod
    def from_secret(cls, secret: bytes, *, dev: bool = False) -> DataKey:
        enc = hmac.new(secret, b"wangge/enc/v1", hashlib.sha256).digest()
        mac = hmac.new(secret, b"wangge/mac/v1", hashlib.sha256).digest()
        return cls(enc, mac, dev)

    @classmethod
    def development(cls) -> DataKey:
        return cls.from_secret(hashlib.sha256(DEV_SECRET).digest(), dev=True)


def parse_key(text: str) -> bytes:
    """32 bytes from 64 hex characters or base64 (standard or URL-safe); else KeyError_."""
    value = text.strip()
    try:
        if len(value) == 64:
            raw = bytes.fromhex(value)
        else:
            raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_")
    except (ValueError, binascii.Error):
        raise KeyError_("WANGGE_DATA_KEY: 64 hex characters or base64 of 32 bytes") from None
    if len(raw) != 32:
        raise KeyError_("WANGGE_DATA_KEY: the key must be 32 bytes (256 bits)")
    return raw


@lru_cache(maxsize=4)
def data_key(text: str) -> DataKey:
    """The data key of a setting ("" → the development key)."""
    return DataKey.from_secret(parse_key(text)) if text else DataKey.development()


def encrypt(key: DataKey, column: str, value: str) -> bytes:
    nonce = os.urandom(12)
    return _FORMAT + nonce + AESGCM(key.enc).encrypt(nonce, value.encode(), column.encode())


def decrypt(key: DataKey, column: str, blob: bytes | None) -> str:
    """The clear value ("" for none). A blob that does not decrypt (another key, tampered) is
    an error: it must not pass silently as empty."""
    if not blob:
        return ""
    data = bytes(blob)
    if data[:1] != _FORMAT:
        raise ValueError(f"{column}: unknown ciphertext format")
    try:
        return AESGCM(key.enc).decrypt(data[1:13], data[13:], column.encode()).decode()
    except InvalidTag:
        raise ValueError(f"{column}: does not decrypt with this data key") from None


def digest(key: DataKey, kind: str, value: str) -> str:
    """The keyed hash of a normalised value (``kind`` separates identity numbers from phones)."""
    return hmac.new(key.mac, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def normalise_phone(value: str) -> str:
    """Digits only, the same on store and on search: "+86 139-0000-0785", "0086 13900000785"
    and "139 0000 0785" are all "13900000785" (China's country code is dropped); a number of
    another country keeps its "+" and code ("+44 20 7946 0000" → "+442079460000")."""
    text = value.strip()
    digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
    international = text.startswith("+") or digits.startswith("00")
    if digits.startswith("00"):
        digits = digits[2:]
    if international and digits.startswith("86"):
        return digits[2:]
    return ("+" if international and digits else "") + digits


_ID_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]){8}(?![0-9])")


def mask_free_text(value: str | None) -> str | None:
    """Free text as answered (notes, findings, reasons): identity-number-shaped substrings (17
    digits and a check character) and mobile-shaped ones (11 digits from 13…–19…, with or
    without +86, spaces or dashes) masked as the fields are. Stored as written; a landline or a
    number spelt in words passes (docs/security.md, "Masks")."""
    if not value:
        return value
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), value)
    return _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)


# --- the read log ------------------------------------------------------------------------------


class Purpose(StrEnum):
    VIEW = "view"
    LIST = "list"
    SEARCH = "search"
    REVEAL = "reveal"
    BUNDLE = "bundle"
    EXPORT = "export"
    #: a grid worker's patrol track (GPS positions) was read (``subject_user_id``)
    TRACK = "track"


PURPOSE_LABELS = {
    Purpose.VIEW: ("查看", "view"),
    Purpose.LIST: ("列表", "list"),
    Purpose.SEARCH: ("检索", "search"),
    Purpose.REVEAL: ("查看明文", "reveal"),
    Purpose.BUNDLE: ("离线下载", "offline bundle"),
    Purpose.EXPORT: ("导出", "export"),
    Purpose.TRACK: ("查看轨迹", "track"),
}


def log_reads(
    ctx: Context,
    actor: Actor,
    residents: Iterable[Resident],
    purpose: Purpose,
    endpoint: str,
    *,
    reason: str = "",
    fields: str = "",
) -> int:
    """One log row per resident read (in the caller's transaction: the read and its log are
    committed together). Returns how many."""
    return _log(ctx, actor, "resident_id", residents, purpose, endpoint, reason, fields)


def log_organisation_reads(
    ctx: Context,
    actor: Actor,
    organisations: Iterable[Organisation],
    purpose: Purpose,
    endpoint: str,
    *,
    reason: str = "",
    fields: str = "",
) -> int:
    """One log row per organisation read (its contact's phone), as :func:`log_reads`."""
    return _log(ctx, actor, "organisation_id", organisations, purpose, endpoint, reason, fields)


def log_search(
    ctx: Context,
    actor: Actor,
    where: Any,
    endpoint: str,
    *,
    fields: str,
    found: int,
) -> None:
    """One log row for a search by number itself, hit or miss: no resident (a miss has
    none; the residents found have their own rows, :func:`log_reads`), ``fields`` the numbers
    searched by, ``count`` how many residents it found (0: none), located at ``where`` (the
    searcher's jurisdiction: a ``base_data.common.Location``)."""
    ctx.db.execute(
        insert(PersonalDataRead),
        [
            {
                "at": ctx.now(),
                "actor_id": actor.id,
                "actor_role": actor.role,
                "purpose": Purpose.SEARCH.value,
                "endpoint": endpoint,
                "reason": "",
                "fields": fields,
                "count": found,
                "grid_code": where.grid_code,
                "community_id": where.community_id,
                "town_id": where.town_id,
                "county_id": where.county_id,
            }
        ],
    )


_LOG_CHUNK = 5000


def _log(
    ctx: Context,
    actor: Actor,
    subject: str,
    read: Iterable[Resident | Organisation],
    purpose: Purpose,
    endpoint: str,
    reason: str,
    fields: str,
) -> int:
    now = ctx.now()
    rows = [
        {
            "at": now,
            "actor_id": actor.id,
            "actor_role": actor.role,
            subject: r.id,
            "purpose": purpose.value,
            "endpoint": endpoint,
            "reason": reason,
            "fields": fields,
            "count": 1,
            "grid_code": r.grid_code,
            "community_id": r.community_id,
            "town_id": r.town_id,
            "county_id": r.county_id,
        }
        for r in read
    ]
    for start in range(0, len(rows), _LOG_CHUNK):
        ctx.db.execute(insert(PersonalDataRead), rows[start : start + _LOG_CHUNK])
    return len(rows)
