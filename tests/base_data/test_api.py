"""Base data over HTTP: masking and reveal for every role, the read log, encryption at rest,
versions and conflicts, idempotent replays, clear 4xx naming the field, life events, level
requests, visits due, the offline bundle. The two-county world with base data in every grid
(tests/base_data/world.py)."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from server.models import (
    Attachment,
    Incident,
    IncidentEvent,
    PersonalDataRead,
    Region,
    Resident,
    Visit,
)
from server.usecases import policy
from tests import factories as f
from tests.base_data.world import Base, credit_code, id_number
from tests.workflow.world import G1, G2, G3, GB, IN_G1, World

ROLES = ("wg1", "wg2", "disp", "dispt", "sup", "h1", "admin", "wgb", "dispb", "supb")
BW = tuple[World, Base]


def client(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def reads(w: World, **where: Any) -> int:
    with w.session() as db:
        stmt = select(func.count()).select_from(PersonalDataRead)
        for k, v in where.items():
            stmt = stmt.where(getattr(PersonalDataRead, k) == v)
        return int(db.scalar(stmt) or 0)


def _resident(w: World, rid: int) -> Resident:
    with w.session() as db:
        r = db.get(Resident, rid)
        assert r is not None
        db.expunge(r)
        return r


@pytest.mark.parametrize("who", ROLES)
def test_masking_and_reveal_for_every_role(bw: BW, who: str) -> None:
    w, base = bw
    rid, number, phone = base.residents["G1"], base.id_numbers["G1"], base.phones["G1"]
    with w.session() as db:
        actor = w.actor(db, who)
    row = _resident(w, rid)
    c = client(w, who)
    resp = c.get(f"/api/v1/base/residents/{rid}")
    if actor.role == "handler":
        assert resp.status_code == 403
        return
    if not policy.may_see_base(actor, row):
        assert resp.status_code == 404, resp.get_json()
        assert (
            c.post(
                f"/api/v1/base/residents/{rid}/reveal",
                json={"reason": "核实身份", "fields": ["id_number"]},
            ).status_code
            == 404
        )
        return
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()["resident"]
    raw = resp.get_data(as_text=True)
    assert number not in raw and phone not in raw
    assert body["id_number"] == number[:4] + "*" * 10 + number[-4:]
    assert body["phone"] == phone[:3] + "****" + phone[-4:]
    assert body["sex"] == "male" and body["birth_year"] == 1950 and "birth_date" not in body
    kinds = {t["kind_code"] for t in body["tags"]}
    assert ("community_correction" in kinds) == policy.sees_sensitive(actor, row), kinds
    assert "elderly_alone" in kinds
    # No reason: refused, naming the field; nothing revealed, nothing logged as revealed.
    bad = c.post(
        f"/api/v1/base/residents/{rid}/reveal", json={"reason": "", "fields": ["id_number"]}
    )
    assert bad.status_code == 400 and "reason" in bad.get_json()["fields"]
    before = reads(w, purpose="reveal", resident_id=rid)
    ok = c.post(
        f"/api/v1/base/residents/{rid}/reveal",
        json={"reason": "核实身份", "fields": ["id_number", "phone"]},
    )
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json() == {"id_number": number, "phone": phone}
    assert reads(w, purpose="reveal", resident_id=rid) == before + 1
    with w.session() as db:
        last = db.scalars(select(PersonalDataRead).order_by(PersonalDataRead.id.desc())).first()
        assert last is not None
        assert (last.actor_id, last.reason, last.fields) == (
            actor.id,
            "核实身份",
            "id_number,phone",
        )


def test_every_read_of_a_person_is_logged(bw: BW) -> None:
    w, base = bw
    rid, hid = base.residents["G1"], base.households["G1"]
    wg1 = client(w, "wg1")
    start = reads(w, resident_id=rid)
    calls = [
        f"/api/v1/base/residents/{rid}",
        "/api/v1/base/residents",
        f"/api/v1/base/residents?id_number={base.id_numbers['G1']}",
        f"/api/v1/base/residents?phone={base.phones['G1']}",
        f"/api/v1/base/households/{hid}",
        "/api/v1/base/offline",
    ]
    for n, path in enumerate(calls, 1):
        resp = wg1.get(path)
        assert resp.status_code == 200, (path, resp.get_json())
        assert reads(w, resident_id=rid) == start + n, path
    with w.session() as db:
        purposes = list(
            db.scalars(
                select(PersonalDataRead.purpose)
                .where(PersonalDataRead.resident_id == rid)
                .order_by(PersonalDataRead.id)
            )
        )
    assert purposes[-6:] == ["view", "list", "search", "search", "list", "bundle"]
    # The supervisor reads the log of their county; another county's supervisor sees none of it.
    log = client(w, "sup").get(f"/api/v1/base/reads?resident={rid}")
    assert log.status_code == 200
    items = log.get_json()["items"]
    assert len(items) >= 6 and items[0]["actor"]["display_name"] == "wg1"
    assert client(w, "supb").get(f"/api/v1/base/reads?resident={rid}").get_json()["items"] == []
    assert client(w, "wg1").get("/api/v1/base/reads").status_code == 403
    assert client(w, "disp").get("/api/v1/base/reads").status_code == 403


def test_the_database_file_holds_no_identity_number_in_clear(bw: BW) -> None:
    w, base = bw
    url = w.app.extensions["wangge.settings"].database_url
    path = Path(url.removeprefix("sqlite:///"))
    with w.session() as db:
        db.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        assert db.scalar(select(func.count()).select_from(Resident)) == 4
    blob = path.read_bytes()
    wal = Path(str(path) + "-wal")
    if wal.exists():
        blob += wal.read_bytes()
    for name in base.id_numbers:
        number, phone = base.id_numbers[name], base.phones[name]
        assert number.encode() not in blob, name
        assert number[6:14].encode() + number[14:].encode() not in blob
        assert phone.encode() not in blob, name
    # ...and the records are there, found by their keyed hash.
    hit = client(w, "wg1").get(f"/api/v1/base/residents?id_number={base.id_numbers['G1']}")
    assert [r["id"] for r in hit.get_json()["items"]] == [base.residents["G1"]]


def test_a_stale_edit_is_a_conflict_with_the_current_record(any_bw: BW) -> None:
    w, base = any_bw
    rid = base.residents["G1"]
    phone, console = client(w, "wg1"), client(w, "disp")
    v = phone.get(f"/api/v1/base/residents/{rid}").get_json()["resident"]["version"]
    first = console.patch(f"/api/v1/base/residents/{rid}", json={"base_version": v, "name": "张三"})
    assert first.status_code == 200 and first.get_json()["resident"]["version"] == v + 1
    second = phone.patch(f"/api/v1/base/residents/{rid}", json={"base_version": v, "name": "张四"})
    assert second.status_code == 409
    body = second.get_json()
    assert body["error"] == "version_conflict"
    assert body["current"]["name"] == "张三" and body["current"]["version"] == v + 1
    assert base.id_numbers["G1"] not in second.get_data(as_text=True)
    # The same edit sent again (the outbox retried after a lost answer): nothing to settle.
    same = phone.patch(f"/api/v1/base/residents/{rid}", json={"base_version": v, "name": "张三"})
    assert same.status_code == 200 and same.get_json()["resident"]["version"] == v + 1
    missing = phone.patch(f"/api/v1/base/residents/{rid}", json={"name": "张五"})
    assert missing.status_code == 400 and "base_version" in missing.get_json()["fields"]


def test_creates_replay_by_uuid(any_bw: BW) -> None:
    w, base = any_bw
    wg1 = client(w, "wg1")
    body = {
        "uuid": str(uuid.uuid4()),
        "name": "新生儿",
        "id_number": id_number(901),
        "household_id": base.households["G1"],
        "relation": "grandchild",
    }
    first = wg1.post("/api/v1/base/residents", json=body)
    assert first.status_code == 201, first.get_json()
    again = wg1.post("/api/v1/base/residents", json=body)
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
    assert again.get_json()["resident"]["id"] == first.get_json()["resident"]["id"]
    other = wg1.post("/api/v1/base/residents", json={**body, "name": "别人"})
    assert other.status_code == 409 and other.get_json()["error"] == "idempotency_conflict"
    assert client(w, "disp").post("/api/v1/base/residents", json=body).status_code == 409
    with w.session() as db:
        assert db.scalar(select(func.count()).where(Resident.name == "新生儿")) == 1
    visit = {"uuid": str(uuid.uuid4()), "household_id": base.households["G1"], "note": "入户"}
    assert wg1.post("/api/v1/base/visits", json=visit).status_code == 201
    assert wg1.post("/api/v1/base/visits", json=visit).status_code == 200
    event = {"uuid": str(uuid.uuid4()), "kind": "move_out", "occurred_on": "2026-01-02"}
    rid = first.get_json()["resident"]["id"]
    assert wg1.post(f"/api/v1/base/residents/{rid}/events", json=event).status_code == 201
    replayed = wg1.post(f"/api/v1/base/residents/{rid}/events", json=event)
    assert replayed.status_code == 200 and replayed.get_json()["resident"]["status"] == "moved_out"


@pytest.mark.parametrize(
    ("path", "body", "field", "code"),
    [
        (
            "/api/v1/base/residents",
            {"id_number": "640181195003041016"},
            "id_number",
            "bad_check_digit",
        ),
        (
            "/api/v1/base/residents",
            {"id_number": "640181195002301011"},
            "id_number",
            "bad_birth_date",
        ),
        ("/api/v1/base/residents", {"id_number": "64018119500304"}, "id_number", "bad_id_number"),
        ("/api/v1/base/residents", {"household_id": 99999}, "household_id", "unknown_household"),
        ("/api/v1/base/residents", {"registration": "visitor"}, "registration", None),
        (
            "/api/v1/base/organisations",
            {"credit_code": "91350100M000100Y44"},
            "credit_code",
            "bad_check_character",
        ),
    ],
)
def test_bad_input_names_the_field(
    bw: BW, path: str, body: dict[str, Any], field: str, code: str | None
) -> None:
    w, base = bw
    base_body: dict[str, Any] = {"uuid": str(uuid.uuid4()), "name": "某某"}
    if path.endswith("residents"):
        base_body.update(id_number=id_number(777), household_id=base.households["G1"])
    else:
        base_body.update(lon=IN_G1[0], lat=IN_G1[1])
    resp = client(w, "wg1").post(path, json={**base_body, **body})
    assert resp.status_code == 400, resp.get_json()
    got = resp.get_json()
    assert field in (got.get("fields") or {}), got
    if code:
        assert got["error"] == code


def test_one_person_one_record_and_no_foreign_places(bw: BW) -> None:
    w, base = bw
    wg1 = client(w, "wg1")
    dup = wg1.post(
        "/api/v1/base/residents",
        json={
            "uuid": str(uuid.uuid4()),
            "name": "重复",
            "id_number": base.id_numbers["G1"].lower(),
            "household_id": base.households["G1"],
        },
    )
    assert dup.status_code == 409 and dup.get_json()["error"] == "duplicate_id_number"
    assert dup.get_json()["resident_id"] == base.residents["G1"]
    # Someone registered in county B: the conflict does not say who.
    dup_b = wg1.post(
        "/api/v1/base/residents",
        json={
            "uuid": str(uuid.uuid4()),
            "name": "重复",
            "id_number": base.id_numbers["GB"],
            "household_id": base.households["G1"],
        },
    )
    assert dup_b.status_code == 409 and "resident_id" not in dup_b.get_json()
    # A household in another grid (wg2's) is unknown to wg1; a room in county B as well.
    other = wg1.post(
        "/api/v1/base/residents",
        json={
            "uuid": str(uuid.uuid4()),
            "name": "某",
            "id_number": id_number(555),
            "household_id": base.households["G2"],
        },
    )
    assert other.status_code == 400 and "household_id" in other.get_json()["fields"]
    room = wg1.post(
        "/api/v1/base/households", json={"uuid": str(uuid.uuid4()), "place_id": base.rooms["GB"]}
    )
    assert room.status_code == 400 and "place_id" in room.get_json()["fields"]
    # A visit to a person outside one's grids: refused, naming the person.
    visit = wg1.post(
        "/api/v1/base/visits", json={"uuid": str(uuid.uuid4()), "resident_id": base.residents["G2"]}
    )
    assert visit.status_code == 400 and "resident_id" in visit.get_json()["fields"]


def test_second_county_sees_nothing_of_the_first(bw: BW) -> None:
    w, base = bw
    for who in ("wgb", "dispb", "supb"):
        c = client(w, who)
        for kind in ("places", "households", "residents", "organisations", "visits"):
            items = c.get(f"/api/v1/base/{kind}?limit=200").get_json()["items"]
            assert all(i.get("grid_code") == GB for i in items), (who, kind)
        for name in ("G1", "G2", "G3"):
            assert c.get(f"/api/v1/base/residents/{base.residents[name]}").status_code == 404
            assert c.get(f"/api/v1/base/places/{base.rooms[name]}").status_code == 404
            assert c.get(f"/api/v1/base/households/{base.households[name]}").status_code == 404
            assert (
                c.get(f"/api/v1/base/organisations/{base.organisations[name]}").status_code == 404
            )
        due = c.get("/api/v1/base/visits/due").get_json()
        assert {i["resident_id"] for i in due["items"]} <= {base.residents["GB"]}
    # A town dispatcher (town T) sees G1 and G2, not G3 (town T2).
    dispt = client(w, "dispt")
    got = {r["id"] for r in dispt.get("/api/v1/base/residents").get_json()["items"]}
    assert got == {base.residents["G1"], base.residents["G2"]}


def test_life_events_move_a_person_and_keep_the_history(bw: BW) -> None:
    w, base = bw
    disp = client(w, "disp")
    rid = base.residents["G1"]
    move = disp.post(
        f"/api/v1/base/residents/{rid}/events",
        json={
            "uuid": str(uuid.uuid4()),
            "kind": "move_in",
            "household_id": base.households["G2"],
            "occurred_on": "2026-11-01",
        },
    )
    assert move.status_code == 201, move.get_json()
    assert move.get_json()["resident"]["household_id"] == base.households["G2"]
    record = disp.get(f"/api/v1/base/residents/{rid}").get_json()
    assert [x["current"] for x in record["residences"]] == [False, True]
    assert [e["kind"] for e in record["events"]] == ["move_in", "move_in"]
    # wg1 no longer sees the person (they live in G2 now); wg2 does.
    assert client(w, "wg1").get(f"/api/v1/base/residents/{rid}").status_code == 404
    assert client(w, "wg2").get(f"/api/v1/base/residents/{rid}").status_code == 200
    death = disp.post(
        f"/api/v1/base/residents/{rid}/events", json={"uuid": str(uuid.uuid4()), "kind": "death"}
    )
    assert death.status_code == 201
    again = disp.post(
        f"/api/v1/base/residents/{rid}/events",
        json={"uuid": str(uuid.uuid4()), "kind": "move_in", "household_id": base.households["G1"]},
    )
    assert again.status_code == 409 and again.get_json()["error"] == "event_not_allowed"


def test_a_refused_registration_says_nothing_of_the_number(bw: BW) -> None:
    """A registration refused for another field (a move-in date in the future) was refused
    after the number was looked up: a right guess answered 409 naming the holder, a wrong one
    400 with nothing logged — 34 requests found a resident's clear number from its mask. Now
    every other check comes first, and both answer the same."""
    w, base = bw
    wg1 = client(w, "wg1")
    right, wrong = base.id_numbers["G1"], id_number(977)

    def probe(number: str) -> Any:
        return wg1.post("/api/v1/base/residents", json={"uuid": str(uuid.uuid4()),
            "name": "探针", "id_number": number, "household_id": base.households["G1"],
            "moved_in_on": "2099-01-01"})  # fmt: skip

    answers = [probe(right), probe(wrong)]
    assert [a.status_code for a in answers] == [400, 400]
    assert [a.get_json()["error"] for a in answers] == ["bad_date", "bad_date"]
    assert "resident_id" not in answers[0].get_json()
    assert reads(w, resident_id=base.residents["G1"], purpose="search") == 0
    with w.session() as db:
        assert db.scalar(select(func.count()).where(Resident.name == "探针")) == 0


def test_a_create_sent_again_shows_no_more_than_a_read_would(bw: BW) -> None:
    """A create sent again answers the record as it stands: it is a read, logged as one, and
    once the record is outside the author's jurisdiction it is a 404 as a GET is (it showed the
    resident's new grid, household and name to the worker they had moved away from)."""
    w, base = bw
    wg1, disp = client(w, "wg1"), client(w, "disp")
    body = {
        "uuid": str(uuid.uuid4()),
        "name": "赵小宝",
        "born_on": (date.today() - timedelta(days=20)).isoformat(),
        "sex": "male",
        "household_id": base.households["G1"],
        "relation": "grandchild",
    }
    first = wg1.post("/api/v1/base/residents", json=body)
    assert first.status_code == 201, first.get_json()
    rid = first.get_json()["resident"]["id"]
    tag = {"uuid": str(uuid.uuid4()), "kind_code": "elderly_alone", "level": 3}
    assert wg1.post(f"/api/v1/base/residents/{rid}/tags", json=tag).status_code == 201
    viewed = reads(w, resident_id=rid, purpose="view")
    again = wg1.post("/api/v1/base/residents", json=body)
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
    assert reads(w, resident_id=rid, purpose="view") == viewed + 1
    moved = disp.post(
        f"/api/v1/base/residents/{rid}/events",
        json={"uuid": str(uuid.uuid4()), "kind": "move_in", "household_id": base.households["G2"]},
    )
    assert moved.status_code == 201, moved.get_json()
    assert wg1.get(f"/api/v1/base/residents/{rid}").status_code == 404
    gone = wg1.post("/api/v1/base/residents", json=body)
    assert gone.status_code == 404 and "赵小宝" not in gone.get_data(as_text=True)
    assert wg1.post(f"/api/v1/base/residents/{rid}/tags", json=tag).status_code == 404
    # the worker of the new grid sees them
    assert client(w, "wg2").get(f"/api/v1/base/residents/{rid}").status_code == 200


def test_a_level_change_needs_the_community_or_town(bw: BW) -> None:
    w, base = bw
    wg1, dispt = client(w, "wg1"), client(w, "dispt")
    tag = base.tags["G1"]
    asked = wg1.post(
        f"/api/v1/base/tags/{tag}/level-requests", json={"to_level": 1, "reason": "独居且患病"}
    )
    assert asked.status_code == 201, asked.get_json()
    rq = asked.get_json()["request"]["id"]
    twice = wg1.post(
        f"/api/v1/base/tags/{tag}/level-requests", json={"to_level": 3, "reason": "再次"}
    )
    assert twice.status_code == 409
    assert (
        wg1.post(f"/api/v1/base/level-requests/{rq}/decide", json={"approve": True}).status_code
        == 403
    )
    assert (
        client(w, "dispb")
        .post(f"/api/v1/base/level-requests/{rq}/decide", json={"approve": True})
        .status_code
        == 404
    )
    pending = dispt.get("/api/v1/base/level-requests?status=pending").get_json()["items"]
    assert [p["id"] for p in pending] == [rq]
    ok = dispt.post(
        f"/api/v1/base/level-requests/{rq}/decide", json={"approve": True, "note": "同意"}
    )
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["tag"]["level"] == 1 and ok.get_json()["request"]["status"] == "approved"
    assert (
        dispt.post(f"/api/v1/base/level-requests/{rq}/decide", json={"approve": False}).status_code
        == 409
    )


def test_visits_due_this_week_and_a_visit_that_raises_a_case(bw: BW) -> None:
    w, base = bw
    wg1 = client(w, "wg1")
    due = wg1.get("/api/v1/base/visits/due").get_json()
    # Both of the G1 resident's tags were visited this week (the seed's visit).
    assert due["counts"] == {"due": 2, "done": 2, "overdue": 0}
    assert {i["status"] for i in due["items"]} == {"done"}
    resp = wg1.post(
        "/api/v1/base/visits",
        json={
            "uuid": str(uuid.uuid4()),
            "resident_id": base.residents["G1"],
            "lon": IN_G1[0],
            "lat": IN_G1[1],
            "findings": "楼道堆物",
            "raise_case": {
                "uuid": str(uuid.uuid4()),
                "category_code": "0101",
                "description": "楼道堆物",
            },
        },
    )
    assert resp.status_code == 201, resp.get_json()
    case_id = resp.get_json()["visit"]["case_id"]
    assert case_id and wg1.get(f"/api/v1/cases/{case_id}").get_json()["case"]["grid"]["code"] == G1


@pytest.mark.parametrize(
    "bad",
    [
        {"visited_at": "2026-11-30T10:00:00"},  # no offset
        {"findings": "堆" * 4001},
        {"photos": [str(uuid.uuid4())]},  # never uploaded
    ],
    ids=["visited_at", "findings", "photo"],
)
def test_a_refused_visit_raises_no_case(bw: BW, bad: dict[str, Any]) -> None:
    """The case a visit raises is reported (and committed) on its way: a visit refused for its
    own fields must be refused before that, or the worker's refused visit leaves a case."""
    w, base = bw
    wg1 = client(w, "wg1")
    case_uuid = str(uuid.uuid4())
    body = {
        "uuid": str(uuid.uuid4()),
        "resident_id": base.residents["G1"],
        "lon": IN_G1[0],
        "lat": IN_G1[1],
        "raise_case": {"uuid": case_uuid, "category_code": "0101", "description": "楼道堆物"},
    }
    resp = wg1.post("/api/v1/base/visits", json={**body, **bad})
    assert resp.status_code == 400, resp.get_json()
    with w.session() as db:
        assert db.scalar(select(func.count()).where(Incident.uuid == case_uuid)) == 0
    # sent again, mended, the visit and its case go in
    resp = wg1.post("/api/v1/base/visits", json={**body, "uuid": str(uuid.uuid4())})
    assert resp.status_code == 201, resp.get_json()
    with w.session() as db:
        assert db.scalar(select(func.count()).where(Incident.uuid == case_uuid)) == 1


def test_a_visit_raising_a_case_with_an_actions_uuid_is_a_conflict(any_bw: BW) -> None:
    """The case's UUID already names an action (events and cases share one UUID space): a
    409 the worker can act on, not a 500 the outbox retries for ever; nothing is written."""
    w, base = any_bw
    cid = w.report("wg1")
    taken = str(uuid.uuid4())
    answer = client(w, "disp").post(
        f"/api/v1/cases/{cid}/actions", json={"uuid": taken, "action": "accept"}
    )
    assert answer.status_code == 200, answer.get_json()
    visit = str(uuid.uuid4())
    resp = client(w, "wg1").post(
        "/api/v1/base/visits",
        json={
            "uuid": visit,
            "resident_id": base.residents["G1"],
            "lon": IN_G1[0],
            "lat": IN_G1[1],
            "raise_case": {"uuid": taken, "category_code": "0101", "description": "楼道堆物"},
        },
    )
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["error"] == "idempotency_conflict"
    with w.session() as db:
        assert db.scalar(select(func.count()).where(Visit.uuid == visit)) == 0
        assert db.scalar(select(func.count()).select_from(Incident)) == 1


def test_the_offline_bundle_is_minimised(bw: BW) -> None:
    w, base = bw
    resp = client(w, "wg1").get("/api/v1/base/offline")
    assert resp.status_code == 200
    body = resp.get_json()
    raw = resp.get_data(as_text=True)
    assert body["grids"] == [G1]
    assert [r["id"] for r in body["residents"]] == [base.residents["G1"]]
    person = body["residents"][0]
    assert "birth_date" not in person and person["birth_year"] == 1950
    assert base.id_numbers["G1"] not in raw and base.phones["G1"] not in raw
    assert {t["kind_code"] for t in person["tags"]} == {"elderly_alone", "community_correction"}
    assert {p["id"] for p in body["places"]} >= {base.rooms["G1"], base.estates["G1"]}
    assert all(p["grid_code"] == G1 for p in body["places"])
    assert client(w, "disp").get("/api/v1/base/offline").status_code == 403
    # gzipped for a client that takes it (the phone's largest download)
    packed = client(w, "wg1").get("/api/v1/base/offline", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    again = json.loads(gzip.decompress(packed.get_data()))
    assert [r["id"] for r in again["residents"]] == [base.residents["G1"]]


def test_places_search_and_organisations(bw: BW) -> None:
    w, base = bw
    disp = client(w, "disp")
    hits = disp.get("/api/v1/base/places", query_string={"q": "幸福路 1 号"}).get_json()["items"]
    assert base.estates["G1"] in {p["id"] for p in hits}
    assert all(p["grid_code"] != GB for p in hits)
    org = disp.get(f"/api/v1/base/organisations?credit_code={credit_code(1)}").get_json()["items"]
    assert [o["id"] for o in org] == [base.organisations["G1"]]
    assert org[0]["contact_phone"] == "138****0001"
    made = client(w, "wg1").post(
        "/api/v1/base/places",
        json={
            "uuid": str(uuid.uuid4()),
            "kind": "building",
            "name": "2号楼",
            "footprint": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [106.30, 38.05],
                        [106.301, 38.05],
                        [106.301, 38.051],
                        [106.30, 38.051],
                        [106.30, 38.05],
                    ]
                ],
            },
        },
    )
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["place"]["grid_code"] == G1
    assert made.get_json()["place"]["footprint"]["type"] in ("Polygon", "MultiPolygon")


def test_a_visit_photo_is_seen_by_whoever_sees_the_visit(bw: BW) -> None:
    w, base = bw
    key = w.photo("wg1")
    resp = client(w, "wg1").post("/api/v1/base/visits", json={"uuid": str(uuid.uuid4()),
        "household_id": base.households["G1"], "photos": [key]})  # fmt: skip
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["visit"]["photos"] == [key]
    # The household's G1 resident is in a sensitive key group (社区矫正): the county dispatcher
    # and the admin see the household but not its visits (policy.visits_clause), nor their
    # photos (they got them by uuid before).
    for who in ("wg1", "disp", "admin", "sup", "wg2", "wgb", "dispb"):
        with w.session() as db:
            actor = w.actor(db, who)
        assert policy.may_see_base(actor, _resident(w, base.residents["G1"])) == (
            who in ("wg1", "disp", "admin", "sup")
        )
        listed = client(w, who).get("/api/v1/base/visits").get_json().get("items", [])
        sees = who in ("wg1", "sup")
        assert any(key in v["photos"] for v in listed) == sees, who
        for path in (f"/api/v1/photos/{key}", f"/api/v1/photos/{key}/thumb"):
            assert client(w, who).get(path).status_code == (200 if sees else 404), (who, path)
    # The same photo twice is refused naming it (the visit listed it twice), nothing stored.
    other = w.photo("wg1")
    twice = client(w, "wg1").post("/api/v1/base/visits", json={"uuid": str(uuid.uuid4()),
        "household_id": base.households["G1"], "photos": [other, other.upper()]})  # fmt: skip
    assert twice.status_code == 400 and twice.get_json()["error"] == "photo_repeated"
    assert _photo_row(w, other) == (None, None, None)
    # A photo already used, or someone else's upload, is refused naming the field.
    again = client(w, "wg1").post("/api/v1/base/visits", json={"uuid": str(uuid.uuid4()),
        "household_id": base.households["G1"], "photos": [key]})  # fmt: skip
    assert again.status_code == 400 and "photos" in again.get_json()["fields"]


def _photo_row(w: World, key: str) -> tuple[int | None, int | None, int | None]:
    with w.session() as db:
        att = db.scalar(select(Attachment).where(Attachment.uuid == key))
        assert att is not None
        return att.incident_id, att.event_id, att.visit_id


def _counts(w: World) -> tuple[int, int, int]:
    with w.session() as db:
        return tuple(  # type: ignore[return-value]
            int(db.scalar(select(func.count()).select_from(m)) or 0)
            for m in (Incident, IncidentEvent, Visit)
        )


def test_a_photo_belongs_to_one_visit_or_one_case_event(any_bw: BW) -> None:
    """An upload is evidence of one thing: a visit's photo cannot also be a case's (it was
    attached to both), nor a case's photo a visit's; the refusal names the field and nothing
    already saved changes."""
    w, base = any_bw
    wg1 = client(w, "wg1")
    key = w.photo("wg1")
    visit = wg1.post("/api/v1/base/visits", json={"uuid": str(uuid.uuid4()),
        "household_id": base.households["G1"], "photos": [key]})  # fmt: skip
    assert visit.status_code == 201, visit.get_json()
    kept, before = _photo_row(w, key), _counts(w)
    report = {"uuid": str(uuid.uuid4()), "category_code": "0101", "description": "走访发现",
              "lon": IN_G1[0], "lat": IN_G1[1]}  # fmt: skip
    refused = wg1.post("/api/v1/cases", json={**report, "photos": [key]})
    assert refused.status_code == 400, refused.get_json()
    assert refused.get_json()["fields"] == {"photos": key}
    assert (_photo_row(w, key), _counts(w)) == (kept, before)
    # nor on an action of a case that exists
    cid = wg1.post("/api/v1/cases", json=report).get_json()["case"]["id"]
    before = _counts(w)
    comment = wg1.post(f"/api/v1/cases/{cid}/actions",
                       json={"uuid": str(uuid.uuid4()), "action": "comment", "note": "照片",
                             "photos": [key]})  # fmt: skip
    assert comment.status_code == 400 and comment.get_json()["fields"] == {"photos": key}
    assert (_photo_row(w, key), _counts(w)) == (kept, before)
    # The reverse: a case's photo is not a visit's.
    other = w.photo("wg1")
    made = wg1.post("/api/v1/cases", json={**report, "uuid": str(uuid.uuid4()), "photos": [other]})
    assert made.status_code == 201, made.get_json()
    kept, before = _photo_row(w, other), _counts(w)
    again = wg1.post("/api/v1/base/visits", json={"uuid": str(uuid.uuid4()),
        "household_id": base.households["G1"], "photos": [other]})  # fmt: skip
    assert again.status_code == 400 and again.get_json()["fields"] == {"photos": other}
    assert (_photo_row(w, other), _counts(w)) == (kept, before)


def test_the_overview_counts_per_grid(bw: BW) -> None:
    w, _base = bw
    sup = client(w, "sup").get("/api/v1/base/overview").get_json()
    by_grid = {i["grid_code"]: i for i in sup["items"]}
    assert set(by_grid) == {G1, G2, G3}
    g1 = by_grid[G1]
    assert (g1["households"], g1["residents"], g1["registered"], g1["floating"]) == (1, 1, 1, 0)
    assert g1["key_groups_by_kind"] == {"community_correction": {"1": 1}, "elderly_alone": {"2": 1}}
    assert (g1["visits_due"], g1["visits_done"], g1["visits_overdue"]) == (2, 2, 0)
    assert sup["totals"]["households"] == 3
    # A county dispatcher does not see sensitive kinds; a grid worker only their grid.
    disp = client(w, "disp").get(f"/api/v1/base/overview?grid={G1}").get_json()
    assert disp["items"][0]["key_groups_by_kind"] == {"elderly_alone": {"2": 1}}
    assert [
        i["grid_code"] for i in client(w, "wg1").get("/api/v1/base/overview").get_json()["items"]
    ] == [G1]
    assert client(w, "supb").get("/api/v1/base/overview").get_json()["totals"]["households"] == 1


def test_a_newborn_is_registered_without_an_identity_number_and_gets_one_later(
    any_bw: BW,
) -> None:
    """出生登记: a child at most a year old may be registered with a birth date and sex instead
    of a 公民身份号码; the number added later is checked (GB 11643, duplicates) as any other."""
    w, base = any_bw
    wg1 = client(w, "wg1")
    hid = base.households["G1"]
    born = date.today() - timedelta(days=30)
    body = {
        "uuid": str(uuid.uuid4()),
        "name": "刘小宝",
        "born_on": born.isoformat(),
        "sex": "female",
        "household_id": hid,
        "relation": "grandchild",
    }
    first = wg1.post("/api/v1/base/residents", json=body)
    assert first.status_code == 201, first.get_json()
    baby = first.get_json()["resident"]
    assert baby["id_number"] is None and baby["sex"] == "female"
    assert baby["birth_year"] == born.year and baby["household_id"] == hid
    again = wg1.post("/api/v1/base/residents", json=body)
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
    assert again.get_json()["resident"]["id"] == baby["id"]
    # twins: two people without a number are two records (no unique clash on "no number")
    twin = wg1.post(
        "/api/v1/base/residents", json={**body, "uuid": str(uuid.uuid4()), "name": "刘小贝"}
    )
    assert twin.status_code == 201, twin.get_json()
    record = wg1.get(f"/api/v1/base/residents/{baby['id']}").get_json()
    assert [(e["kind"], e["occurred_on"]) for e in record["events"]] == [
        ("move_in", born.isoformat())
    ]
    assert record["residences"][0]["started_on"] == born.isoformat()
    bundle = wg1.get("/api/v1/base/offline").get_json()
    assert [r["id_number"] for r in bundle["residents"] if r["id"] == baby["id"]] == [None]
    shown = wg1.post(
        f"/api/v1/base/residents/{baby['id']}/reveal",
        json={"reason": "核对出生登记", "fields": ["id_number"]},
    )
    assert shown.status_code == 200 and shown.get_json()["id_number"] == ""
    export = client(w, "disp").get("/api/v1/base/exports/residents")
    assert export.status_code == 200

    def refused(change: dict[str, Any]) -> dict[str, Any]:
        payload = {k: v for k, v in {**body, **change}.items() if v is not None}
        resp = wg1.post("/api/v1/base/residents", json={**payload, "uuid": str(uuid.uuid4())})
        assert resp.status_code == 400, resp.get_json()
        return dict(resp.get_json())

    # Anyone older than a year is registered with their number; no number, no date: the number.
    old = refused({"born_on": (date.today() - timedelta(days=400)).isoformat()})
    assert old["error"] == "id_number_required" and "id_number" in old["fields"]
    none = refused({"born_on": None})
    assert none["error"] == "id_number_required" and "id_number" in none["fields"]
    future = refused({"born_on": (date.today() + timedelta(days=3)).isoformat()})
    assert future["error"] == "bad_birth_date" and "born_on" in future["fields"]
    assert "sex" in refused({"sex": None})["fields"]
    # With a number, the birth date and sex come from it: typing them beside it is refused.
    both = refused({"id_number": id_number(703, born)})
    assert "born_on" in both["fields"] and "sex" in both["fields"]

    # The number comes later: checked, a duplicate refused, then derived facts replace typed ones.
    url = f"/api/v1/base/residents/{baby['id']}"
    v = baby["version"]
    bad = wg1.patch(url, json={"base_version": v, "id_number": "640181195003041016"})
    assert bad.status_code == 400 and bad.get_json()["error"] == "bad_check_digit"
    # an adult's number (here someone's on record) does not turn the newborn into that adult;
    # a newborn's number already taken is a duplicate (the twin, below)
    for adult_number in (base.id_numbers["G1"], "640181198001011115"):
        adult = wg1.patch(url, json={"base_version": v, "id_number": adult_number})
        assert adult.status_code == 400 and adult.get_json()["error"] == "id_number_mismatch"
    number = id_number(702, born - timedelta(days=1))  # even: a woman; a day earlier
    ok = wg1.patch(url, json={"base_version": v, "id_number": number})
    assert ok.status_code == 200, ok.get_json()
    got = ok.get_json()["resident"]
    assert got["id_number"] == f"{number[:4]}**********{number[-4:]}"
    assert got["version"] == v + 1
    with w.session() as db:
        row = db.get(Resident, baby["id"])
        assert row is not None and row.id_cipher and number.encode() not in row.id_cipher
        assert row.birth_date == born - timedelta(days=1)
    found = wg1.get("/api/v1/base/residents", query_string={"id_number": number}).get_json()
    assert [r["id"] for r in found["items"]] == [baby["id"]]
    taken = wg1.patch(
        f"/api/v1/base/residents/{twin.get_json()['resident']['id']}",
        json={"base_version": twin.get_json()["resident"]["version"], "id_number": number},
    )
    assert taken.status_code == 409 and taken.get_json()["error"] == "duplicate_id_number"


def test_life_event_days_lie_between_the_birth_and_today(any_bw: BW) -> None:
    """A move-in before the birth or a move-out in 2099 is a 400 naming the field, and nothing
    is written (an outside tester registered a newborn as moved in on 2000-01-01 and 2099-01-01)."""
    w, base = any_bw
    wg1 = client(w, "wg1")
    born = date.today() - timedelta(days=10)
    body = {
        "name": "日期测试",
        "born_on": born.isoformat(),
        "sex": "male",
        "household_id": base.households["G1"],
    }
    for moved_in in ((born - timedelta(days=1)).isoformat(), "2099-01-01"):
        resp = wg1.post(
            "/api/v1/base/residents",
            json={**body, "uuid": str(uuid.uuid4()), "moved_in_on": moved_in},
        )
        assert resp.status_code == 400, resp.get_json()
        assert resp.get_json()["error"] == "bad_date" and "moved_in_on" in resp.get_json()["fields"]
    with w.session() as db:
        assert db.scalar(select(func.count()).where(Resident.name == "日期测试")) == 0
    made = wg1.post("/api/v1/base/residents", json={**body, "uuid": str(uuid.uuid4())})
    assert made.status_code == 201, made.get_json()
    rid = made.get_json()["resident"]["id"]
    late = {"uuid": str(uuid.uuid4()), "kind": "move_out", "occurred_on": "2099-01-02"}
    resp = wg1.post(f"/api/v1/base/residents/{rid}/events", json=late)
    assert resp.status_code == 400 and "occurred_on" in resp.get_json()["fields"]
    assert wg1.get(f"/api/v1/base/residents/{rid}").get_json()["resident"]["status"] != "moved_out"


def test_where_a_visit_was_made_is_shown_as_a_check_in_is(any_bw: BW) -> None:
    """A visit's lon/lat is where its worker stood: like a check-in's position, only the visitor
    and the supervisors in jurisdiction see it (policy.may_see_visit_position). A colleague on
    the same grid, dispatchers (county or town) and admins see the visit, with lon/lat null."""
    w, base = any_bw
    with w.session() as db:
        county = db.scalar(select(Region).where(Region.code == "640181000000"))
        f.user(db, "wg1b", "grid_worker", region=county, grids=(G1,))
        db.commit()
    # someone in no sensitive group: a visit to a member's household is not listed to
    # dispatchers and admins at all (policy.visits_clause)
    person = {"uuid": str(uuid.uuid4()), "name": "普通", "id_number": id_number(952),
              "household_id": base.households["G1"], "relation": "other"}  # fmt: skip
    plain = client(w, "wg1").post("/api/v1/base/residents", json=person)
    assert plain.status_code == 201, plain.get_json()
    made = client(w, "wg1").post("/api/v1/base/visits", json={"uuid": str(uuid.uuid4()),
        "resident_id": plain.get_json()["resident"]["id"], "lon": IN_G1[0],
        "lat": IN_G1[1]})  # fmt: skip
    assert made.status_code == 201, made.get_json()
    vid = made.get_json()["visit"]["id"]
    assert (made.get_json()["visit"]["lon"], made.get_json()["visit"]["lat"]) == IN_G1
    for who, sees in (("wg1", True), ("sup", True), ("wg1b", False), ("disp", False),
                      ("dispt", False), ("admin", False)):  # fmt: skip
        resp = client(w, who).get("/api/v1/base/visits")
        assert resp.status_code == 200, (who, resp.get_json())
        visit = next(v for v in resp.get_json()["items"] if v["id"] == vid)
        assert (visit["lon"], visit["lat"]) == (IN_G1 if sees else (None, None)), who
        assert visit["visited_at"] and visit["resident_id"] == plain.get_json()["resident"]["id"]
    with w.session() as db:
        stored = db.get(Visit, vid)
        assert stored is not None and (stored.lon, stored.lat) == IN_G1
