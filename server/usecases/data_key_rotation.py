"""Re-encrypt personal data under a new data key (``WANGGE_DATA_KEY`` rotation).

Every value encrypted or hashed with the data key — residents' identity numbers and phones,
organisations' contact phones — is decrypted with the old key, encrypted with the new one, and
its keyed hash made again under the new key (exact search finds it again). Masks do not depend
on the key and stay. All of it in the caller's transaction: the caller commits once, so a
failure (a value the old key does not open: the wrong old key, or a tampered row) changes
nothing. Run with the app stopped (docs/operations.md, "Data key"): a request served meanwhile
with either key would see half of the rows in the other one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from server.models import Organisation, Resident
from server.usecases.base_data.organisations import PHONE_COLUMN as ORG_PHONE_COLUMN
from server.usecases.base_data.residents import ID_COLUMN, PHONE_COLUMN
from server.usecases.personal_data import DataKey, decrypt, digest, encrypt

BATCH = 2_000


class WrongOldKey(ValueError):
    """A stored value the old key does not open."""


@dataclass
class Rotated:
    """How many rows and values were re-encrypted, per table."""

    rows: dict[str, int] = field(default_factory=dict)
    values: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Secret:
    cipher: str  # the cipher column
    hash: str  # the keyed-hash column
    column: str  # the associated data (the value's column name, as the use cases encrypt it)
    kind: str  # the keyed-hash kind


_TABLES: list[tuple[Any, list[_Secret]]] = [
    (
        Resident,
        [
            _Secret("id_cipher", "id_hash", ID_COLUMN, "id"),
            _Secret("phone_cipher", "phone_hash", PHONE_COLUMN, "phone"),
        ],
    ),
    (
        Organisation,
        [_Secret("contact_phone_cipher", "contact_phone_hash", ORG_PHONE_COLUMN, "phone")],
    ),
]


def rotate(
    db: Session,
    old: DataKey,
    new: DataKey,
    *,
    dry_run: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> Rotated:
    """Re-encrypt and re-hash every secret value from ``old`` to ``new`` (see the module);
    ``dry_run`` only checks that ``old`` opens every value. Raises :class:`WrongOldKey` (the
    caller rolls back) naming the first row the old key does not open."""
    if old.enc == new.enc:
        raise ValueError("the new key is the old key")
    out = Rotated()
    for model, secrets in _TABLES:
        table: Table = model.__table__
        name = table.name
        out.rows[name], out.values[name] = 0, 0
        cols = [table.c.id] + [table.c[s.cipher] for s in secrets]
        after = 0
        while True:
            rows = db.execute(
                select(*cols).where(table.c.id > after).order_by(table.c.id).limit(BATCH)
            ).all()
            if not rows:
                break
            after = rows[-1][0]
            changes: list[dict[str, Any]] = []
            for row in rows:
                change: dict[str, Any] = {"_id": row[0]}
                for i, s in enumerate(secrets, start=1):
                    blob = row[i]
                    if not blob:
                        continue
                    try:
                        clear = decrypt(old, s.column, blob)
                    except ValueError:
                        raise WrongOldKey(
                            f"{name}.{s.cipher} of row {row[0]}: the old key does not open it"
                        ) from None
                    change[s.cipher] = encrypt(new, s.column, clear)
                    change[s.hash] = digest(new, s.kind, clear)
                    out.values[name] += 1
                if len(change) > 1:
                    changes.append(change)
            out.rows[name] += len(changes)
            if changes and not dry_run:
                _update(db, table, changes)
            if progress:
                progress(name, out.rows[name])
    return out


def _update(db: Session, table: Table, changes: list[dict[str, Any]]) -> None:
    # One UPDATE per shape of change (which of the values the rows hold), executemany.
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for ch in changes:
        shapes.setdefault(tuple(sorted(k for k in ch if k != "_id")), []).append(ch)
    for keys, group in shapes.items():
        stmt = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({k: bindparam(k) for k in keys})
        )
        db.connection().execute(stmt, group)
