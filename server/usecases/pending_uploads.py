"""Unfinished photo uploads: a cap per user, and the expiry of abandoned ones (an outside audit:
any signed-in user could fill the server's disk with uploads begun and never finished).

- **Cap.** A user has at most ``WANGGE_PENDING_UPLOADS_PER_USER`` unfinished uploads open (50)
  and declares at most ``WANGGE_PENDING_UPLOAD_BYTES_PER_USER`` in all (``total_bytes``, 500
  MiB). A begin beyond either is refused, 429 ``too_many_pending_uploads``: nothing of what the
  user has is touched, and a resume of an upload already begun is always answered. The field app
  sends one photo at a time (at most 6 of ~450 KB to a report), so only abandoned uploads (an
  item discarded, a phone lost) come near the cap; its outbox waits and retries on a 429. The
  count is taken under the lock of the user's row (``locks.hold_user``): two begins at once
  count one after the other. Admins are capped too (the disk is the same).
- **Expiry.** An unfinished upload that took neither a piece nor a resume for
  ``WANGGE_UPLOAD_EXPIRY_DAYS`` (7) is deleted with its piece file (:func:`expire`: the app's
  sweep, hourly per process, and ``flask uploads expire``). The phone keeps the photo until the
  report that carries it is confirmed (DESIGN §5), and every send begins with ``POST /uploads``:
  for an expired upload that begin answers 201 at 0 bytes and the phone sends it again from the
  start. The delete re-checks the upload's idleness in its own statement, so an upload resumed
  meanwhile stays; piece files with no unfinished upload and as old are deleted too (a crash
  between a delete and its file).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select

from server.models import Attachment
from server.usecases import locks
from server.usecases.context import Actor, Context
from server.usecases.errors import TooMany

log = logging.getLogger("wangge.uploads")

UNFINISHED = "uploading"
#: What a refused begin tells the phone to wait (seconds) before it asks again: an upload of
#: the user's may finish meanwhile (the outbox's own backoff grows to 5 minutes).
RETRY_SECONDS = 60
#: The app's own sweep expires uploads at most this often per process.
EXPIRE_EVERY_SECONDS = 3600.0
#: At most this many uploads one statement deletes (a backlog drains over several).
BATCH = 1000


def unfinished_of(ctx: Context, user_id: int) -> tuple[int, int]:
    """How many unfinished uploads ``user_id`` has open, and the bytes they declared."""
    count, declared = ctx.db.execute(
        select(func.count(), func.coalesce(func.sum(Attachment.total_bytes), 0)).where(
            Attachment.uploader_id == user_id, Attachment.status == UNFINISHED
        )
    ).one()
    return int(count), int(declared)


def guard(ctx: Context, actor: Actor, total_bytes: int) -> None:
    """Before a new upload of ``total_bytes`` is stored: refuse (429) a user whose unfinished
    uploads would then pass either cap. The caller holds the user's row
    (``locks.hold_user``) until it has stored the upload."""
    assert actor.id is not None
    count, declared = unfinished_of(ctx, actor.id)
    most, most_bytes = ctx.pending_uploads_per_user, ctx.pending_upload_bytes_per_user
    if count + 1 <= most and declared + total_bytes <= most_bytes:
        return
    mib = math.ceil(most_bytes / 2**20)
    days = ctx.upload_expiry_days
    log.warning(
        "user %s refused a new upload: %s unfinished of %s bytes (caps %s, %s bytes)",
        actor.id, count, declared, most, most_bytes,
    )  # fmt: skip
    raise TooMany(
        f"未完成的上传过多（每人最多 {most} 个、共 {mib} MB），请等已开始的照片传完；"
        f"{days} 天未续传的会自动清除 / too many unfinished uploads (at most {most}, {mib} MiB "
        f"in all, per user): let the ones begun finish; those idle for {days} days are removed",
        code="too_many_pending_uploads",
        pending=count,
        pending_bytes=declared,
        limit=most,
        limit_bytes=most_bytes,
        retry_after=RETRY_SECONDS,
    )


def hold(ctx: Context, actor: Actor) -> None:
    """Hold the user's row until the transaction ends (two begins of one user count in turn)."""
    if actor.id is not None:
        locks.hold_user(ctx.db, actor.id)


@dataclass
class Expired:
    uploads: int = 0
    #: bytes of pieces received by the uploads deleted
    received_bytes: int = 0
    #: piece files deleted that no unfinished upload had (a crash between a delete and its file)
    stray_files: int = 0
    before: datetime | None = None


def expire(ctx: Context, days: int | None = None) -> Expired:
    """Delete the unfinished uploads idle for ``days`` (default ``ctx.upload_expiry_days``) and
    their piece files; then the piece files as old that no unfinished upload has."""
    cutoff = ctx.now() - timedelta(days=days or ctx.upload_expiry_days)
    done = Expired(before=cutoff)
    idle = (Attachment.status == UNFINISHED, Attachment.touched_at < cutoff)
    while True:
        batch = select(Attachment.id).where(*idle).order_by(Attachment.touched_at).limit(BATCH)
        # the conditions again on the rows deleted: PostgreSQL checks them on a row a piece or a
        # resume changed meanwhile (it waits for that commit), so a live upload is never taken
        gone = ctx.db.execute(
            delete(Attachment)
            .where(Attachment.id.in_(batch), *idle)
            .returning(Attachment.uuid, Attachment.received_bytes),
            execution_options={"synchronize_session": False},
        ).all()
        ctx.db.commit()
        for key, received in gone:
            _part(ctx, key).unlink(missing_ok=True)
            done.uploads += 1
            done.received_bytes += int(received or 0)
        if len(gone) < BATCH:
            break
    done.stray_files = _stray_files(ctx, cutoff)
    if done.uploads or done.stray_files:
        log.info(
            "expired %s unfinished upload(s) idle since %s (%s bytes received), %s stray file(s)",
            done.uploads, cutoff.isoformat(), done.received_bytes, done.stray_files,
        )  # fmt: skip
    return done


def _part(ctx: Context, key: str) -> Path:
    from server.usecases.photos import part_path  # photos begins through this module

    return part_path(ctx, key)


def _stray_files(ctx: Context, cutoff: datetime) -> int:
    folder = ctx.upload_dir / "parts"
    if not folder.is_dir():
        return 0
    old: dict[str, str] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_file() and entry.name.endswith(".part"):
                try:
                    if entry.stat().st_mtime < cutoff.timestamp():
                        old[entry.name.removesuffix(".part")] = entry.path
                except FileNotFoundError:
                    continue
    if not old:
        return 0
    keys = list(old)
    live: set[str] = set()
    for i in range(0, len(keys), 500):
        live.update(
            ctx.db.scalars(
                select(Attachment.uuid).where(
                    Attachment.uuid.in_(keys[i : i + 500]), Attachment.status == UNFINISHED
                )
            )
        )
    ctx.db.rollback()
    removed = 0
    for key, path in old.items():
        if key not in live:
            try:
                os.unlink(path)
                removed += 1
            except FileNotFoundError:
                pass
    return removed


_last = -math.inf
_lock = threading.Lock()


def maybe_expire(make_ctx: Callable[[], Context], every: float = EXPIRE_EVERY_SECONDS) -> None:
    """Expire unless this process did within ``every`` seconds or is expiring now (the app's
    sweep, ``server.app.install_sweep``); a failure is logged and the next sweep tries again."""
    global _last
    if not _lock.acquire(blocking=False):
        return
    try:
        if time.monotonic() - _last < every:
            return
        _last = time.monotonic()
        expire(make_ctx())
    except Exception:
        log.exception("upload expiry failed")
    finally:
        _lock.release()
