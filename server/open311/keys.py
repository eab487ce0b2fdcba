"""Open311 API keys: made at random, shown once, stored as SHA-256, checked on every POST."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain.names import name_problem
from server.models.geography import Region
from server.models.open311 import ApiKey
from server.models.types import utcnow

PREFIX = "wg311_"


class KeyProblem(Exception):
    """A key cannot be made or changed (the message says why)."""


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A new key: a recognisable prefix and 256 random bits (URL-safe base64)."""
    return PREFIX + secrets.token_urlsafe(32)


def create(
    db: Session, name: str, created_by: str = "", region: Region | None = None
) -> tuple[ApiKey, str]:
    """Make a key named ``name``; answer the row and the key itself (never stored)."""
    name = name.strip()
    if not name or len(name) > 64:
        raise KeyProblem("the name must be 1–64 characters")
    if bad := name_problem(name, 64):
        raise KeyProblem(f"the name: {bad}")
    if db.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise KeyProblem(f"a key named {name!r} exists already (names are never reused)")
    raw = new_key()
    row = ApiKey(
        name=name,
        key_hash=hash_key(raw),
        region_id=region.id if region else None,
        created_at=utcnow(),
        created_by=created_by[:100],
    )
    db.add(row)
    db.flush()
    return row, raw


def revoke(db: Session, name: str, when: datetime | None = None) -> ApiKey:
    row = db.scalar(select(ApiKey).where(ApiKey.name == name))
    if row is None:
        raise KeyProblem(f"no key named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = when or utcnow()
    return row


def lookup(db: Session, raw: str) -> ApiKey | None:
    """The key row for the key ``raw`` (revoked or not), or None."""
    if not raw or len(raw) > 200:
        return None
    return db.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(raw)))
