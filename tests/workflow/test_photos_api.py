"""Photo uploads: pieces, resume, content checks, EXIF stripping, who may see them."""

from __future__ import annotations

import io
import uuid
from functools import partial
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from server.models import Attachment
from tests import factories as f
from tests.workflow.world import World, jpeg


def _client(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def _upload(c: FlaskClient, data: bytes, piece: int = 2**20) -> tuple[str, dict]:
    key = str(uuid.uuid4())
    r = c.post("/api/v1/uploads", json={"uuid": key, "total_bytes": len(data)})
    assert r.status_code == 201, r.get_json()
    last: dict = {}
    for off in range(0, len(data), piece):
        r = c.put(f"/api/v1/uploads/{key}?offset={off}", data=data[off : off + piece],
                  headers={"Content-Type": "application/octet-stream"})  # fmt: skip
        last = r.get_json()
        last["_status"] = r.status_code
    return key, last


def _exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x0132] = "2025:10:01 09:30:00"  # DateTime
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (38.0, 3.0, 0.0), 3: "E", 4: (106.0, 18.0, 0.0)})
    exif[0x010F] = "SecretCam"  # Make: must not survive
    return exif.tobytes()


def test_upload_in_pieces_strips_exif_and_keeps_fields(world: World) -> None:
    c = _client(world, "wg1")
    img = Image.effect_noise((1200, 900), 60).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, exif=_exif_with_gps())
    data = buf.getvalue()
    key, last = _upload(c, data, piece=100_000)
    assert last["_status"] == 200 and last["status"] == "ready", last
    stored = c.get(f"/api/v1/photos/{key}")
    assert stored.status_code == 200 and stored.mimetype == "image/jpeg"
    out = Image.open(io.BytesIO(stored.data))
    assert dict(out.getexif()) == {}
    assert c.get(f"/api/v1/photos/{key}/thumb").status_code == 200
    with world.session() as db:
        att = db.scalar(select(Attachment).where(Attachment.uuid == key))
        assert att is not None and att.gps_lat is not None and att.gps_lon is not None
        assert abs(att.gps_lat - 38.05) < 1e-6 and abs(att.gps_lon - 106.3) < 1e-6
        assert att.taken_at is not None
    # Before it is attached to a case, only the uploader may see it.
    assert _client(world, "disp").get(f"/api/v1/photos/{key}").status_code == 404


def test_resume_after_interruption(world: World) -> None:
    c = _client(world, "wg1")
    data = jpeg((400, 300))
    key = str(uuid.uuid4())
    assert (
        c.post("/api/v1/uploads", json={"uuid": key, "total_bytes": len(data)}).status_code == 201
    )
    half = len(data) // 2
    r = c.put(f"/api/v1/uploads/{key}?offset=0", data=data[:half])
    assert r.get_json()["received_bytes"] == half
    # The phone restarts: it asks where it was, a wrong offset is refused with the right one.
    again = c.post("/api/v1/uploads", json={"uuid": key, "total_bytes": len(data)})
    assert again.status_code == 200 and again.get_json()["received_bytes"] == half
    r = c.put(f"/api/v1/uploads/{key}?offset={half + 10}", data=data[half + 10 :])
    assert r.status_code == 409 and r.get_json()["received_bytes"] == half
    # A piece sent twice is acknowledged again without change.
    assert c.put(f"/api/v1/uploads/{key}?offset=0", data=data[:half]).status_code == 200
    r = c.put(f"/api/v1/uploads/{key}?offset={half}", data=data[half:])
    assert r.get_json()["status"] == "ready"


def _whole(c: FlaskClient, key: str, data: bytes) -> Any:
    return c.put(f"/api/v1/uploads/{key}?offset=0", data=data,
                 headers={"Content-Type": "application/octet-stream"})  # fmt: skip


def test_the_last_piece_sent_at_once_finishes_once_and_answers_each(any_world: World) -> None:
    """A phone that resends the whole photo while the first send is still being stored: every
    copy gets the upload (ready), none a 500, and the upload is kept. An outside audit's 8 at
    once: 41 of 80 were 500s (the second read the piece file the first had finished and
    removed)."""
    from tests.support import at_once

    w = any_world
    data = jpeg((800, 600))
    for _ in range(3):
        key = str(uuid.uuid4())
        c = _client(w, "wg1")
        assert (
            c.post("/api/v1/uploads", json={"uuid": key, "total_bytes": len(data)}).status_code
            == 201
        )
        clients = [_client(w, "wg1") for _ in range(6)]
        answers = at_once([partial(_whole, c, key, data) for c in clients])
        codes = [a.status_code for a in answers]
        assert set(codes) <= {200, 409}, [a.get_json() for a in answers]
        assert 200 in codes
        for a in answers:
            if a.status_code == 409:  # told to resume from what is received: all of it
                assert a.get_json()["received_bytes"] == len(data)
        again = c.post("/api/v1/uploads", json={"uuid": key, "total_bytes": len(data)})
        assert again.get_json()["status"] == "ready", again.get_json()


def test_forged_photo_is_refused(world: World) -> None:
    c = _client(world, "wg1")
    html = b"<html><script>alert(1)</script></html>" * 10
    key, last = _upload(c, html)
    assert last["_status"] == 422 and last["error"] == "bad_image"
    with world.session() as db:
        assert db.scalar(select(func.count(Attachment.id))) == 0
    assert c.get(f"/api/v1/uploads/{key}").status_code == 404


def test_decompression_bomb_is_refused(world: World) -> None:
    c = _client(world, "wg1")
    buf = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(buf, "PNG")  # 144 Mpx, a few KB on the wire
    _key, last = _upload(c, buf.getvalue())
    assert last["_status"] == 422 and last["error"] == "too_many_pixels"


def test_size_and_piece_limits(world: World) -> None:
    c = _client(world, "wg1")
    r = c.post("/api/v1/uploads", json={"uuid": str(uuid.uuid4()), "total_bytes": 50 * 2**20})
    assert r.status_code == 400 and r.get_json()["error"] == "too_large"
    key = str(uuid.uuid4())
    c.post("/api/v1/uploads", json={"uuid": key, "total_bytes": 3 * 2**20})
    r = c.put(f"/api/v1/uploads/{key}?offset=0", data=b"x" * (2**20 + 1))
    assert r.status_code == 400 and r.get_json()["error"] == "piece_too_large"
    r = c.post("/api/v1/uploads", json={"uuid": "nope", "total_bytes": 10})
    assert r.status_code == 400


def test_someone_elses_upload_cannot_be_used_or_continued(world: World) -> None:
    key, _ = _upload(_client(world, "wg1"), jpeg())
    other = _client(world, "wg2")
    # answered as an unknown upload (404, as for a random UUID): its existence is not revealed
    unknown = other.get(f"/api/v1/uploads/{uuid.uuid4()}")
    assert unknown.status_code == 404
    r = other.get(f"/api/v1/uploads/{key}")
    assert r.status_code == 404 and r.get_json()["error"] == unknown.get_json()["error"]
    assert other.put(f"/api/v1/uploads/{key}?offset=0", data=b"x").status_code == 404
    r = other.post("/api/v1/cases", json={"uuid": str(uuid.uuid4()), "category_code": "0101",
                   "lon": 106.35, "lat": 38.05, "photos": [key]})  # fmt: skip
    assert r.status_code == 400 and r.get_json()["error"] == "photo_missing"


def _segments(data: bytes) -> list[int]:
    """The JPEG markers before the image data (SOS), in order."""
    assert data[:2] == b"\xff\xd8"
    markers, i = [], 2
    while i < len(data):
        assert data[i] == 0xFF, i
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:  # SOS: entropy-coded data follows
            return markers
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return markers


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def _hostile_jpeg() -> bytes:
    """A JPEG carrying a COM with HTML, EXIF (with GPS), XMP, ICC and IPTC (APP13) segments."""
    img = Image.effect_noise((640, 480), 60).convert("RGB")
    buf = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>SecretXMP</rdf:RDF></x:xmpmeta>'
    img.save(
        buf,
        "JPEG",
        quality=90,
        exif=_exif_with_gps(),
        comment=b"<script>alert('com')</script>",
        xmp=xmp,
        icc_profile=b"SecretICC" * 20,
    )
    data = buf.getvalue()
    iptc = _segment(
        0xED, b"Photoshop 3.0\x00" + b"8BIM\x04\x04\x00\x00\x00\x00\x00\x10SecretIPTC......"
    )
    app15 = _segment(0xEF, b"<img src=x onerror=alert(1)>")
    return data[:2] + iptc + app15 + data[2:]


def test_only_pixels_survive_reencoding(world: World) -> None:
    """COM (HTML), EXIF, XMP, ICC, IPTC and other APPn segments never reach the stored files."""
    data = _hostile_jpeg()
    sent = _segments(data)
    assert {0xFE, 0xE1, 0xE2, 0xED, 0xEF} <= set(sent)  # the crafted file has them all
    c = _client(world, "wg1")
    key, last = _upload(c, data)
    assert last["status"] == "ready", last
    with world.session() as db:
        att = db.scalar(select(Attachment).where(Attachment.uuid == key))
        assert att is not None and att.sha256 is not None
        assert att.gps_lat is not None and att.taken_at is not None  # still read, as fields
        sha = att.sha256
    upload_dir = world.app.extensions["wangge.settings"].upload_dir
    files = [p.read_bytes() for p in sorted(upload_dir.rglob(f"{sha}*.jpg"))]
    assert len(files) == 2  # the picture and its thumbnail, as stored on disk
    assert c.get(f"/api/v1/photos/{key}").data in files
    for stored in files:
        markers = _segments(stored)
        # SOI is implied; APP0 (JFIF), DQT, SOF, DHT, DRI and SOS only.
        assert set(markers) <= {0xE0, 0xDB, 0xC0, 0xC2, 0xC4, 0xDD, 0xDA}, [hex(m) for m in markers]
        for secret in (b"<script>", b"SecretCam", b"SecretXMP", b"SecretICC", b"SecretIPTC",
                       b"onerror", b"Exif\x00"):  # fmt: skip
            assert secret not in stored, secret


def _gps_photo(c: FlaskClient) -> str:
    key, last = _upload(c, jpeg((80, 60), exif=_exif_with_gps()))
    assert last["status"] == "ready", last
    return key


def _gps_seen(world: World, who: str, case_id: int) -> dict[str, object]:
    body = _client(world, who).get(f"/api/v1/cases/{case_id}").get_json()
    seen = {p["uuid"]: p["gps"] for p in body["photos"]}
    for event in body["events"]:  # the photos of each event say the same
        for p in event["photos"]:
            assert p["gps"] == seen[p["uuid"]]
    return seen


def test_photo_gps_only_for_command_centre_admins_and_the_uploader(world: World) -> None:
    """The capture point is evidence for the command centre; handlers and workers do without."""
    wg1 = _client(world, "wg1")
    before = _gps_photo(wg1)
    r = wg1.post("/api/v1/cases", json={"uuid": str(uuid.uuid4()), "category_code": "0101",
                 "lon": 106.30, "lat": 38.05, "photos": [before]})  # fmt: skip
    assert r.status_code == 201, r.get_json()
    cid = r.get_json()["case"]["id"]
    world.act("disp", cid, "accept")
    world.act("disp", cid, "dispatch", department_id=world.departments["D1"])
    world.act("h1", cid, "sign")
    h1 = _client(world, "h1")
    after = _gps_photo(h1)
    r = h1.post(f"/api/v1/cases/{cid}/actions", json={"uuid": str(uuid.uuid4()),
                "action": "resolve", "note": "done", "photos": [after]})  # fmt: skip
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["event"]["photos"][0]["gps"] is not None  # the uploader's own photo
    point = [106.3, 38.05]
    for who in ("disp", "sup", "admin"):
        seen = _gps_seen(world, who, cid)
        assert seen[before] == pytest.approx(point) and seen[after] == pytest.approx(point), who
    mine = _gps_seen(world, "wg1", cid)
    assert mine[before] == pytest.approx(point) and mine[after] is None
    theirs = _gps_seen(world, "h1", cid)
    assert theirs[before] is None and theirs[after] == pytest.approx(point)


def test_upload_accepts_what_the_apps_send(world: World) -> None:
    """The field app and the console send the file's name with the upload (webapp/src/shared/
    api.ts createUpload); a queued upload from a phone must not be refused for it, nor for a
    field a newer app version adds."""
    c = _client(world, "wg1")
    key = str(uuid.uuid4())
    body = {"uuid": key, "total_bytes": 10, "filename": "IMG_0001.jpg", "added_later": 1}
    r = c.post("/api/v1/uploads", json=body)
    assert r.status_code == 201, r.get_json()
    r = c.post("/api/v1/uploads", json={**body, "filename": 5})
    assert r.status_code == 400 and "filename" in r.get_json()["fields"]
