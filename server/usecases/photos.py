"""Photo uploads: in pieces of at most 1 MiB, resumable, checked by content, re-encoded.

The server never keeps the bytes a phone sent: Pillow must open them as an image within the
size and pixel caps; the picture is turned upright, its pixels are copied into a new image that
carries nothing else, and that is re-encoded as JPEG, given a thumbnail and stored once under its
SHA-256. The stored file holds only pixels: no EXIF, no comment (COM), no XMP, ICC or IPTC
(APP1-APP15) segment survives. Capture time and GPS are read first and kept as fields (who may
see the GPS: ``server.api.serialize.photo_json`` and docs/security.md "Photos").
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import uuid as uuidlib
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pillow_heif
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError

from server.domain import workflow as wf
from server.models import Attachment
from server.usecases import pending_uploads, policy
from server.usecases.context import Actor, Context
from server.usecases.errors import Conflict, Forbidden, NotFound, Unprocessable, ValidationFailed
from server.usecases.idempotency import client_uuid

T = TypeVar("T")

PIECE_MAX = 2**20
# Who sees where a photo was taken (its EXIF GPS, kept as a field): the command centre and its
# leaders (evidence: was the picture taken at the case?), admins, and the person who took it.
# Handlers and other grid workers see the picture and the case's location, not the capture
# point; Open311 never (its media are the stored, pixel-only files). docs/security.md "Photos".
GPS_ROLES = frozenset({wf.Role.DISPATCHER, wf.Role.SUPERVISOR, wf.Role.ADMIN})
FULL_EDGE = 2048
THUMB_EDGE = 320
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "HEIF", "MPO", "GIF", "BMP"}

# iPhones shoot HEIF (.heic) by default and the field app accepts it: Pillow opens it through
# pillow-heif. Only the primary image is read (no thumbnails, depth maps or bursts), the
# orientation (irot/imir) is applied by the decoder, and the pixels then go through the same
# re-encode as every other format.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


def sees_gps(actor: Actor, att: Attachment) -> bool:
    """May ``actor`` see the capture position of ``att``?"""
    return actor.role in GPS_ROLES or (actor.id is not None and att.uploader_id == actor.id)


def part_path(ctx: Context, upload_uuid: str) -> Path:
    return ctx.upload_dir / "parts" / f"{upload_uuid}.part"


def stored_path(ctx: Context, sha256: str, thumb: bool = False) -> Path:
    suffix = "_t.jpg" if thumb else ".jpg"
    return ctx.upload_dir / sha256[:2] / sha256[2:4] / f"{sha256}{suffix}"


@dataclass(frozen=True)
class Evidence:
    """What the phone states about a field photo (docs/field-work.md, "Photo evidence"): the
    moment and place of capture, and whether the app drew its watermark on the pixels. Kept as
    fields of the attachment (the stored file holds pixels only). An old app states nothing:
    ``watermarked`` false, the console marks it 无水印."""

    captured_at: datetime | None = None
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    watermarked: bool = False
    #: ``field`` (the phone) or ``desk`` (the console): no phone took a desk upload, so it has no
    #: watermark for a reason other than an old app; None: not stated
    source: str | None = None

    @classmethod
    def of(cls, body: dict[str, Any]) -> Evidence:
        """From a checked upload body (server/api/inputs.py ``UploadBody``)."""
        moment = body.get("captured_at")
        return cls(
            datetime.fromisoformat(moment.strip().replace("Z", "+00:00")) if moment else None,
            body.get("lon"),
            body.get("lat"),
            body.get("accuracy_m"),
            bool(body.get("watermarked")),
            body.get("source"),
        )


#: A capture moment this far after the server's clock is a phone's wrong clock, not a photo.
CAPTURE_SKEW = timedelta(minutes=10)


def _check_evidence(ctx: Context, actor: Actor, evidence: Evidence) -> None:
    if evidence.source == "desk" and actor.role == wf.Role.GRID_WORKER:
        raise ValidationFailed(
            "网格员只在手机上上传照片 / grid workers upload from the field app",
            fields={"source": "grid workers upload from the field app"},
        )
    if evidence.captured_at is not None and evidence.captured_at > ctx.now() + CAPTURE_SKEW:
        raise ValidationFailed(
            "拍摄时间在将来 / the capture time is in the future",
            fields={"captured_at": "in the future"},
        )


@dataclass(frozen=True)
class Begun:
    att: Attachment
    #: this begin stored it (201); else it was there: a resume, or the same begin sent twice
    created: bool


def begin(
    ctx: Context,
    actor: Actor,
    upload_uuid: Any,
    total_bytes: Any,
    evidence: Evidence | None = None,
) -> Attachment:
    """Start (or look up, to resume) an upload. Idempotent by UUID (a resume's evidence is
    that of the first begin)."""
    return start(ctx, actor, upload_uuid, total_bytes, evidence).att


def start(
    ctx: Context,
    actor: Actor,
    upload_uuid: Any,
    total_bytes: Any,
    evidence: Evidence | None = None,
) -> Begun:
    """:func:`begin`, saying whether this request stored the upload."""
    key = client_uuid(upload_uuid)
    if not isinstance(total_bytes, int) or isinstance(total_bytes, bool) or total_bytes <= 0:
        raise ValidationFailed(
            "需要文件大小 / total_bytes must be a positive integer",
            fields={"total_bytes": "positive integer"},
        )
    if total_bytes > ctx.max_upload_bytes:
        raise ValidationFailed(
            f"照片过大（上限 {ctx.max_upload_bytes // 2**20} MB）/ photo too large",
            code="too_large",
            fields={"total_bytes": f"at most {ctx.max_upload_bytes}"},
        )
    existing = ctx.db.scalar(select(Attachment).where(Attachment.uuid == key))
    if existing is not None:
        att = _own(actor, existing, total_bytes)
        if _resumed(ctx, att):
            return Begun(att, created=False)
        # expired (server/usecases/pending_uploads.py) since it was read: it begins again
    evidence = evidence or Evidence()
    _check_evidence(ctx, actor, evidence)
    # the cap on unfinished uploads, counted under the user's lock (two begins at once count
    # one after the other); the same upload begun twice at once is found again under it
    pending_uploads.hold(ctx, actor)
    again = ctx.db.scalar(select(Attachment).where(Attachment.uuid == key))
    if again is not None:
        ctx.db.rollback()
        return Begun(_own(actor, again, total_bytes), created=False)
    pending_uploads.guard(ctx, actor, total_bytes)
    att = Attachment(
        uuid=key,
        uploader_id=actor.id,
        total_bytes=total_bytes,
        created_at=ctx.now(),
        touched_at=ctx.now(),
        captured_at=evidence.captured_at.astimezone(UTC) if evidence.captured_at else None,
        captured_lon=evidence.lon,
        captured_lat=evidence.lat,
        captured_accuracy_m=evidence.accuracy_m,
        watermarked=evidence.watermarked,
        source=evidence.source,
    )
    ctx.db.add(att)
    try:
        ctx.db.commit()
    except IntegrityError:
        ctx.db.rollback()
        again = ctx.db.scalar(select(Attachment).where(Attachment.uuid == key))
        assert again is not None
        return Begun(_own(actor, again, total_bytes), created=False)
    return Begun(att, created=True)


def _resumed(ctx: Context, att: Attachment) -> bool:
    """A begin of an upload there is: a finished one is answered as it is; an unfinished one is
    marked alive (its expiry counts from now). False: the expiry deleted it meanwhile (the
    conditional update found no unfinished row)."""
    if att.status == "ready":
        return True
    done = ctx.db.execute(
        update(Attachment)
        .where(Attachment.id == att.id, Attachment.status == pending_uploads.UNFINISHED)
        .values(touched_at=ctx.now()),
        execution_options={"synchronize_session": False},
    )
    ctx.db.commit()
    if done.rowcount == 1:  # type: ignore[attr-defined]
        return True
    ctx.db.expunge(att)
    return False


def _own(actor: Actor, att: Attachment, total_bytes: int | None = None) -> Attachment:
    if not policy.may_use_upload(actor, att.uploader_id):
        raise Forbidden("不是你的上传 / not your upload")
    if total_bytes is not None and att.total_bytes != total_bytes:
        raise Conflict(
            "同一 UUID 的文件大小不同 / same upload UUID with a different size",
            code="idempotency_conflict",
        )
    return att


def get(ctx: Context, actor: Actor, upload_uuid: str) -> Attachment:
    """An upload of the actor's; another user's answers as an unknown one (404), so that its
    existence is not revealed."""
    att = ctx.db.scalar(select(Attachment).where(Attachment.uuid == client_uuid(upload_uuid)))
    if att is None or not policy.may_use_upload(actor, att.uploader_id):
        raise NotFound("没有这个上传 / no such upload")
    return _own(actor, att)


def put_piece(ctx: Context, actor: Actor, upload_uuid: str, offset: int, data: bytes) -> Attachment:
    """Append one piece at ``offset``; the last piece finishes the upload."""
    att = get(ctx, actor, upload_uuid)
    if att.status == "ready":
        return att
    if len(data) > PIECE_MAX:
        raise ValidationFailed(
            "每片最多 1 MB / a piece may hold at most 1 MiB", code="piece_too_large"
        )
    if offset < 0 or offset > att.received_bytes:
        raise Conflict(
            "分片位置不对，请从已收到的位置续传 / wrong offset: resume from received_bytes",
            code="bad_offset",
            received_bytes=att.received_bytes,
        )
    end = offset + len(data)
    if end > att.total_bytes:
        raise ValidationFailed("超出声明的文件大小 / more bytes than total_bytes", code="too_large")
    if end > att.received_bytes:
        path = part_path(ctx, att.uuid)
        path.parent.mkdir(parents=True, exist_ok=True)
        # opened without truncating: the same piece written again at once (a phone's resend)
        # overwrites its bytes with the same bytes, and a finish reading meanwhile reads them
        with os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+b") as fh:
            fh.seek(offset)
            fh.write(data)
            fh.truncate(end)
            fh.flush()
            os.fsync(fh.fileno())
        att.received_bytes = end
        att.touched_at = ctx.now()
        ctx.db.commit()
    if att.received_bytes == att.total_bytes:
        return finish(ctx, att)
    return att


@dataclass
class Processed:
    full: bytes
    thumb: bytes
    width: int
    height: int
    taken_at: datetime | None
    gps: tuple[float, float] | None


def _exif_fields(img: Image.Image) -> tuple[datetime | None, tuple[float, float] | None]:
    try:
        exif = img.getexif()
    except Exception:  # noqa: BLE001 - broken EXIF must not refuse a good picture
        return None, None
    taken: datetime | None = None
    raw = exif.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.DateTimeOriginal) or exif.get(
        ExifTags.Base.DateTime
    )
    if isinstance(raw, str):
        try:
            # EXIF has no zone; phones write local time (Asia/Shanghai for our users).
            from zoneinfo import ZoneInfo

            taken = datetime.strptime(raw.strip(), "%Y:%m:%d %H:%M:%S").replace(
                tzinfo=ZoneInfo("Asia/Shanghai")
            )
        except ValueError:
            taken = None
    gps: tuple[float, float] | None = None
    info = exif.get_ifd(ExifTags.IFD.GPSInfo)
    try:
        if info and 2 in info and 4 in info:

            def deg(v: Any) -> float:
                return float(v[0]) + float(v[1]) / 60 + float(v[2]) / 3600

            lat = deg(info[2]) * (-1 if info.get(1) == "S" else 1)
            lon = deg(info[4]) * (-1 if info.get(3) == "W" else 1)
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                gps = (lon, lat)
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        gps = None
    return taken, gps


def _pixels_only(img: Image.Image) -> Image.Image:
    """A new RGB image with ``img``'s pixels and an empty ``info``.

    Pillow's JPEG writer copies ``info["comment"]`` (a COM segment, e.g. HTML) of the image it
    saves; ICC, XMP and EXIF ride along whenever ``info`` is passed on. Nothing of the sender's
    file but its pixels may reach the stored one.
    """
    clean = Image.new("RGB", img.size)
    clean.paste(img)
    clean.info = {}
    return clean


def _reduced(opened: Image.Image) -> Image.Image:
    """``opened`` at the stored size (FULL_EDGE), upright, RGB, with as few full-size copies as
    possible: a JPEG is decoded at a reduced scale (draft), anything else is decoded once and
    reduced in place before it is turned and converted (a 116 KB PNG of 6300x6300 black pixels
    used to cost ~450 MB in three full-size copies)."""
    if opened.format == "JPEG":
        opened.draft("RGB", (FULL_EDGE, FULL_EDGE))
    img = opened
    if img.mode not in ("L", "RGB", "RGBA"):
        img = img.convert("RGBA" if "transparency" in img.info or "A" in img.mode else "RGB")
    img.thumbnail((FULL_EDGE, FULL_EDGE))  # in place
    img = ImageOps.exif_transpose(img)  # a copy, at the reduced size
    return img.convert("RGB") if img.mode != "RGB" else img


_gates: dict[int, threading.BoundedSemaphore] = {}
_gates_lock = threading.Lock()
#: Per user: [their semaphore of one, how many of their decodes hold or wait for it].
_turns: dict[int, list[Any]] = {}


@contextmanager
def _users_turn(user_id: int | None) -> Iterator[None]:
    """One image of a user at a time (an entry lives while any of theirs holds or waits)."""
    if user_id is None:
        yield
        return
    with _gates_lock:
        turn = _turns.setdefault(user_id, [threading.BoundedSemaphore(1), 0])
        turn[1] += 1
    try:
        with turn[0]:
            yield
    finally:
        with _gates_lock:
            turn[1] -= 1
            if turn[1] == 0:
                del _turns[user_id]


@contextmanager
def decoding(workers: int, user_id: int | None = None) -> Iterator[None]:
    """At most ``workers`` images decoded at once in this process (``WANGGE_IMAGE_WORKERS``):
    each holds tens of MB while it is decoded; eight at once took a worker to 3 GB. And one
    image of ``user_id`` at a time, waited for before the process's turn: one account sending
    60 photos at once held every other user's photo behind all of them (an outside audit:
    another worker's 1 KB photo took 10 s); now it waits for at most one of theirs."""
    with _users_turn(user_id):
        with _gates_lock:
            gate = _gates.setdefault(workers, threading.BoundedSemaphore(workers))
        with gate:
            yield


def off_the_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run CPU-heavy work where it does not stop the other requests of this process.

    Under gunicorn's gevent worker (gunicorn.conf.py) every request of a process shares one
    loop: a photo decoded on it (up to a second for 12 Mpx) held every waiting console and
    every report behind it. There the work runs in a real thread of gevent's pool (Pillow lets
    go of the GIL while it decodes and encodes); elsewhere (gthread, tests, the CLI) it runs
    in the calling thread as before."""
    try:
        from gevent import get_hub, monkey
    except ImportError:  # pragma: no cover - gevent is a dependency; a trimmed install
        return fn(*args)
    if not monkey.is_module_patched("threading"):
        return fn(*args)
    return get_hub().threadpool.apply(fn, args)  # type: ignore[no-any-return]


def process_image(data: bytes, max_pixels: int) -> Processed:
    """Open, check and re-encode an image; raise Unprocessable for anything else."""
    bad = Unprocessable(
        "不是有效的图片 / not a valid image (JPEG, PNG, WebP or HEIC expected)", code="bad_image"
    )
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ALLOWED_FORMATS:
                    raise bad
                w, h = probe.size
                if w * h > max_pixels:
                    raise Unprocessable(
                        f"图片像素过多（上限 {max_pixels} 像素）/ too many pixels",
                        code="too_many_pixels",
                    )
                probe.verify()
            with Image.open(io.BytesIO(data)) as opened:
                taken, gps = _exif_fields(opened)
                img: Image.Image = _reduced(opened)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Unprocessable(
            "图片像素过多（疑似压缩炸弹）/ too many pixels (decompression bomb)",
            code="too_many_pixels",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise bad from None
    img = _pixels_only(img)
    full = io.BytesIO()
    img.save(full, "JPEG", quality=85, optimize=True)
    thumb_img = img.copy()
    thumb_img.thumbnail((THUMB_EDGE, THUMB_EDGE))
    thumb = io.BytesIO()
    thumb_img.save(thumb, "JPEG", quality=75)
    return Processed(full.getvalue(), thumb.getvalue(), img.width, img.height, taken, gps)


def _write_once(path: Path, data: bytes) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".{uuidlib.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def finish(ctx: Context, att: Attachment) -> Attachment:
    path = part_path(ctx, att.uuid)
    try:
        with decoding(ctx.image_workers, att.uploader_id):
            data = path.read_bytes()
            processed = off_the_loop(process_image, data, ctx.max_image_pixels)
    except FileNotFoundError:
        # the same last piece sent again at once: the other request finished the upload and
        # removed its pieces (an outside audit: 41 of 80 such sends were 500s)
        ctx.db.refresh(att)
        if att.status == "ready":
            return att
        raise Conflict(
            "上传正在处理，请从已收到的位置续传 / the upload is being stored: resume from "
            "received_bytes",
            code="bad_offset",
            received_bytes=att.received_bytes,
        ) from None
    except Unprocessable:
        # Discard the bytes and the upload: the client must send a proper picture.
        path.unlink(missing_ok=True)
        ctx.db.delete(att)
        ctx.db.commit()
        raise
    sha = hashlib.sha256(processed.full).hexdigest()
    _write_once(stored_path(ctx, sha), processed.full)
    _write_once(stored_path(ctx, sha, thumb=True), processed.thumb)
    att.sha256 = sha
    att.status = "ready"
    att.mime = "image/jpeg"
    att.width, att.height = processed.width, processed.height
    att.bytes = len(processed.full)
    att.taken_at = processed.taken_at.astimezone(UTC) if processed.taken_at else None
    if processed.gps:
        att.gps_lon, att.gps_lat = processed.gps
    ctx.db.commit()
    path.unlink(missing_ok=True)
    return att


def photo_keys(uuids: list[Any]) -> list[str]:
    """The uploads a case action or a visit names (``photos``), each once: a 400 naming the
    first given twice (a visit listed it twice; a case action called it "already used")."""
    keys = [client_uuid(u, "photos") for u in uuids]
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValidationFailed(
                "同一张照片重复 / the same photo is given twice",
                code="photo_repeated",
                fields={"photos": key},
            )
        seen.add(key)
    return keys


def unclaimed(actor: Actor, keys: list[str]) -> tuple[ColumnElement[bool], ...]:
    """What an upload named by ``keys`` must be for ``actor`` to attach it: their own, ready,
    and on nothing yet, neither a case event nor a visit (the conditions of an UPDATE that
    claims it; a photo is the evidence of one thing)."""
    return (
        Attachment.uuid.in_(keys),
        Attachment.uploader_id == actor.id,
        Attachment.status == "ready",
        Attachment.event_id.is_(None),
        Attachment.visit_id.is_(None),
    )


def attach(
    ctx: Context, actor: Actor, uuids: list[Any], incident_id: int, event_id: int
) -> list[Attachment]:
    """Attach the ready uploads of ``actor`` named by ``uuids`` to an event, in one statement;
    answers them in the order given, or a clear 400 (the caller rolls back)."""
    keys = photo_keys(uuids)
    if not keys:
        return []
    attached = {
        a.uuid: a
        for a in ctx.db.scalars(
            update(Attachment)
            .where(*unclaimed(actor, keys))
            .values(incident_id=incident_id, event_id=event_id)
            .returning(Attachment),
            execution_options={"synchronize_session": False},
        )
    }
    if len(attached) == len(keys):
        return [attached[k] for k in keys]
    # Some photo could not be attached: say which and why (a second look, on failure only).
    rows = {a.uuid: a for a in ctx.db.scalars(select(Attachment).where(Attachment.uuid.in_(keys)))}
    seen: set[str] = set()
    for key in keys:
        att = rows.get(key)
        if att is None or att.uploader_id != actor.id:
            raise ValidationFailed(
                "照片未上传 / photo not uploaded", code="photo_missing", fields={"photos": key}
            )
        if att.status != "ready":
            raise ValidationFailed(
                "照片尚未上传完成 / photo upload not finished",
                code="photo_incomplete",
                fields={"photos": key},
            )
        if key in seen or key not in attached:
            raise ValidationFailed(
                "照片已用于其他记录 / photo already used", fields={"photos": key}
            )
        seen.add(key)
    raise ValidationFailed("照片已用于其他记录 / photo already used", fields={"photos": keys[-1]})
