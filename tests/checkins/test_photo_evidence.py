"""Photo evidence (docs/field-work.md, "Photo evidence"): POST /api/v1/uploads takes what the
phone states about a field photo — capture time and position, whether the app drew its
watermark — keeps them as fields of the attachment, and shows them with the photo: the time and
the watermark flag to whoever sees the photo, the position only to those who see capture points
(``photos.sees_gps``). An old app states nothing: the photo is kept, ``watermarked`` false."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.models import Attachment
from tests import factories as f
from tests.checkins.conftest import CW
from tests.workflow.world import IN_G1, jpeg


def _client(cw: CW, who: str) -> FlaskClient:
    c = cw.app.test_client()
    f.login(c, who)
    return c


def _upload(c: FlaskClient, **evidence: Any) -> tuple[str, Any]:
    data = jpeg()
    key = str(uuid.uuid4())
    r = c.post("/api/v1/uploads", json={"uuid": key, "total_bytes": len(data), **evidence})
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    done = c.put(f"/api/v1/uploads/{key}?offset=0", data=data,
                 headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    assert done.status_code == 200 and done.get_json()["status"] == "ready"
    return key, first


def _report(c: FlaskClient, photos: list[str]) -> int:
    body = {"uuid": str(uuid.uuid4()), "category_code": "0101", "description": "占道经营",
            "lon": IN_G1[0], "lat": IN_G1[1], "photos": photos}  # fmt: skip
    r = c.post("/api/v1/cases", json=body)
    assert r.status_code == 201, r.get_json()
    return int(r.get_json()["case"]["id"])


def _photos(cw: CW, who: str, case_id: int) -> dict[str, Any]:
    r = _client(cw, who).get(f"/api/v1/cases/{case_id}")
    assert r.status_code == 200, (who, r.get_json())
    return {p["uuid"]: p for p in r.get_json()["photos"]}


def test_a_watermarked_field_photo_keeps_its_capture_fields(any_cw: CW) -> None:
    cw = any_cw
    wg1 = _client(cw, "wg1")
    taken = (datetime.now(UTC) - timedelta(minutes=3)).replace(microsecond=0)
    stated = {"captured_at": taken.astimezone().isoformat(), "lon": 106.301234,
              "lat": 38.051234, "accuracy_m": 8.0, "watermarked": True}  # fmt: skip
    new, begun = _upload(wg1, **stated)
    assert begun["watermarked"] is True and begun["captured_at"] == taken.isoformat().replace(
        "+00:00", "Z"
    )
    old, _ = _upload(wg1)  # an old app: nothing stated
    with cw.w.session() as db:
        att = db.scalar(select(Attachment).where(Attachment.uuid == new))
        assert att is not None
        assert (att.captured_lon, att.captured_lat, att.captured_accuracy_m) == (
            106.301234, 38.051234, 8.0)  # fmt: skip
        assert att.captured_at == taken and att.watermarked is True
        plain = db.scalar(select(Attachment).where(Attachment.uuid == old))
        assert plain is not None and plain.watermarked is False and plain.captured_at is None
    case_id = _report(wg1, [new, old])
    cw.w.act("disp", case_id, "accept")
    cw.w.act("disp", case_id, "dispatch", department_id=cw.w.departments["D1"])
    # the reporter and the command centre see where; the handler and other workers do not
    for who, sees in (("wg1", True), ("disp", True), ("sup", True), ("h1", False)):
        shown = _photos(cw, who, case_id)
        assert (
            shown[new]["watermarked"] is True and shown[new]["captured_at"] == begun["captured_at"]
        )
        assert (shown[new]["captured_lon"] is not None) is sees, who
        assert (shown[new]["captured_lat"] == 38.051234) is sees, who
        assert shown[old]["watermarked"] is False and shown[old]["captured_at"] is None
        assert shown[old]["captured_lon"] is None


def test_bad_evidence_is_400_naming_the_field_and_nothing_is_kept(cw: CW) -> None:
    c = _client(cw, "wg1")
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    for evidence, field in [
        ({"captured_at": "yesterday"}, "captured_at"),
        ({"captured_at": "2026-11-20T08:00:00"}, "captured_at"),  # no offset
        ({"captured_at": "1970-01-01T00:00:00Z"}, "captured_at"),
        ({"captured_at": future}, "captured_at"),
        ({"captured_at": "\u202e2026-11-20T08:00:00Z"}, "captured_at"),
        ({"lon": 181.0, "lat": 38.0}, "lon"),
        ({"lon": 106.3, "lat": -91.0}, "lat"),
        ({"lon": 106.3}, "lat"),
        ({"lat": 38.0}, "lon"),
        ({"lon": "106.3", "lat": 38.0}, "lon"),
        ({"lon": 106.3, "lat": 38.0, "accuracy_m": -3}, "accuracy_m"),
        ({"watermarked": "yes"}, "watermarked"),
        ({"watermarked": 1}, "watermarked"),
    ]:
        body = {"uuid": str(uuid.uuid4()), "total_bytes": 100, **evidence}
        r = c.post("/api/v1/uploads", data=json.dumps(body), content_type="application/json")
        assert r.status_code == 400, (evidence, r.get_json())
        assert field in (r.get_json().get("fields") or {}), (evidence, r.get_json())
    with cw.w.session() as db:
        assert db.scalar(select(func.count()).select_from(Attachment)) == 0
    # NaN and Infinity are not numbers (JSON text that Python's parser would take)
    for raw in ('{"lon": NaN, "lat": 38}', '{"lon": 106.3, "lat": 38, "accuracy_m": Infinity}'):
        text = raw[:-1] + f', "uuid": "{uuid.uuid4()}", "total_bytes": 100}}'
        r = c.post("/api/v1/uploads", data=text, content_type="application/json")
        assert r.status_code == 400, (raw, r.get_json())


def test_a_resumed_upload_keeps_the_first_statement(cw: CW) -> None:
    c = _client(cw, "wg1")
    key = str(uuid.uuid4())
    first = {"uuid": key, "total_bytes": 500, "watermarked": True, "lon": 106.3, "lat": 38.05}
    assert c.post("/api/v1/uploads", json=first).status_code == 201
    again = c.post("/api/v1/uploads", json={"uuid": key, "total_bytes": 500})
    assert again.status_code == 200 and again.get_json()["watermarked"] is True


def test_a_desk_upload_says_so_and_an_old_app_stays_unknown(any_cw: CW) -> None:
    """A photo uploaded at the desk (the console: a handler's resolution, a hotline photo) has
    no watermark because no phone took it, not because the app is old: the console states
    ``source: "desk"``, kept with the photo and shown (the console then writes 桌面上传 where it
    wrote 旧版应用 for every photo without a watermark). A phone's photo from an old app states
    nothing (``source`` null); a grid worker works on the phone only (400 naming ``source``)."""
    cw = any_cw
    h1 = _client(cw, "h1")
    wg1 = _client(cw, "wg1")
    old, begun_old = _upload(wg1)
    assert begun_old["source"] is None and begun_old["watermarked"] is False
    phone, begun_phone = _upload(wg1, source="field", watermarked=True)
    assert begun_phone["source"] == "field"
    body = {"uuid": str(uuid.uuid4()), "total_bytes": 100, "source": "desk"}
    refused = wg1.post("/api/v1/uploads", json=body)
    assert refused.status_code == 400 and "source" in refused.get_json()["fields"]
    for bad in ("phone", "", 1, True):
        r = h1.post("/api/v1/uploads", json={**body, "uuid": str(uuid.uuid4()), "source": bad})
        assert r.status_code == 400 and "source" in r.get_json()["fields"], bad
    case_id = _report(wg1, [old, phone])
    cw.w.act("disp", case_id, "accept")
    cw.w.act("disp", case_id, "dispatch", department_id=cw.w.departments["D1"])
    cw.w.act("h1", case_id, "sign")
    desk, begun_desk = _upload(h1, source="desk")
    assert begun_desk["source"] == "desk" and begun_desk["watermarked"] is False
    r = h1.post(f"/api/v1/cases/{case_id}/actions",
                json={"uuid": str(uuid.uuid4()), "action": "resolve", "note": "已清理",
                      "photos": [desk]})  # fmt: skip
    assert r.status_code in (200, 201), r.get_json()
    for who in ("wg1", "disp", "h1"):
        shown = _photos(cw, who, case_id)
        assert {k: shown[k]["source"] for k in (old, phone, desk)} == {
            old: None, phone: "field", desk: "desk"}, who  # fmt: skip
    with cw.w.session() as db:
        att = db.scalar(select(Attachment).where(Attachment.uuid == desk))
        assert att is not None and att.source == "desk"
