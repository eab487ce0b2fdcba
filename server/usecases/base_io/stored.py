"""How identity numbers and phones are stored, as the base-data use cases store them, for the
bulk paths (import, demo, bench) that write rows without going through them one by one.

The column names (the encryption's associated data) come from ``server.usecases.base_data``;
the keyed-hash kinds are theirs too (``tests/base_io/test_imports.py`` checks that a number
imported here is found by ``residents.id_hash`` and the API's exact search)."""

from __future__ import annotations

from typing import Any

from server.domain.identity import mask_id_number
from server.usecases.base_data.organisations import PHONE_COLUMN as ORG_PHONE_COLUMN
from server.usecases.base_data.residents import ID_COLUMN, PHONE_COLUMN
from server.usecases.personal_data import DataKey, decrypt, digest, encrypt
from server.usecases.scope import mask_phone

ID_HASH = "id"  # the keyed-hash kind of identity numbers (residents.id_hash)
PHONE_HASH = "phone"

__all__ = ["ID_COLUMN", "ORG_PHONE_COLUMN", "PHONE_COLUMN", "decrypt"]


def id_hash(key: DataKey, number: str) -> str:
    """The keyed hash of a valid, normalised identity number."""
    return digest(key, ID_HASH, number)


def identity_columns(key: DataKey, number: str, hashed: str | None = None) -> dict[str, Any]:
    """``id_cipher``, ``id_hash``, ``id_mask`` of a valid, normalised identity number (its
    keyed hash ``hashed`` when the caller has it already)."""
    return {
        "id_cipher": encrypt(key, ID_COLUMN, number),
        "id_hash": hashed or id_hash(key, number),
        "id_mask": mask_id_number(number),
    }


def phone_columns(
    key: DataKey, phone: str, prefix: str = "phone", column: str = PHONE_COLUMN
) -> dict[str, Any]:
    """``phone_cipher``, ``phone_hash``, ``phone_mask`` (or with ``prefix``) of a normalised
    phone; all empty for none."""
    if not phone:
        return {f"{prefix}_cipher": None, f"{prefix}_hash": None, f"{prefix}_mask": ""}
    return {
        f"{prefix}_cipher": encrypt(key, column, phone),
        f"{prefix}_hash": digest(key, PHONE_HASH, phone),
        f"{prefix}_mask": mask_phone(phone),
    }
