"""Patrols and GPS tracks over HTTP (docs/field-work.md, "Patrols and tracks"): start, chunks,
end; replays and conflicts; positions out of order, teleporting, duplicated, outside the time;
malformed and huge bodies; every role and the second county; the privacy of tracks and the read
log of a worker's day."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.models import PersonalDataRead
from server.models.fieldwork import Patrol, TrackChunk, TrackPoint
from tests import factories as f
from tests.workflow.world import G1, IN_G1, World

#: 10 m north at 38° N, in degrees
D10 = 10 / 111_050
ROLES = ("wg1", "wg2", "wg3", "disp", "dispt", "sup", "supc", "supt", "supt2", "supc2", "h1",
         "admin", "wgb", "dispb", "supb", "adminb")  # fmt: skip
MAY_SEE_WG1 = {"wg1", "supc", "supt"}


def client(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ms(t: datetime) -> int:
    return round(t.timestamp() * 1000)


def walk(t0: datetime, n: int, *, step_s: int = 10, start: tuple[float, float] = IN_G1,
         offset: int = 0) -> list[list[float]]:  # fmt: skip
    """n positions 10 m apart northwards, ``step_s`` seconds apart, from the offset-th one."""
    lon, lat = start
    return [
        [ms(t0) + (offset + i) * step_s * 1000, lon, lat + (offset + i) * D10, 5.0]
        for i in range(n)
    ]


def start(c: FlaskClient, t0: datetime, **extra: Any) -> tuple[str, Any]:
    key = str(uuid.uuid4())
    body = {"uuid": key, "started_at": iso(t0), "lon": IN_G1[0], "lat": IN_G1[1], **extra}
    resp = c.post("/api/v1/patrols", json=body)
    return key, resp


def chunk(c: FlaskClient, patrol: str, seq: int, points: Any, key: str | None = None) -> Any:
    return c.post(
        f"/api/v1/patrols/{patrol}/track",
        json={"uuid": key or str(uuid.uuid4()), "seq": seq, "points": points},
    )


def count(w: World, model: Any, *where: Any) -> int:
    with w.session() as db:
        return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_a_patrol_from_start_to_end(any_fw: World) -> None:
    w = any_fw
    c = client(w, "wg1")
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    key, resp = start(c, t0)
    assert resp.status_code == 201, resp.get_json()
    p = resp.get_json()["patrol"]
    assert p["uuid"] == key
    assert p["worker"] == {"id": w.users["wg1"], "name": "wg1"}
    assert p["grid_code"] == G1
    assert p["ended_at"] is None
    assert (p["points"], p["distance_m"], p["duration_s"], p["coverage"]) == (0, 0.0, 0, None)

    r1 = chunk(c, key, 0, walk(t0, 60))
    assert r1.status_code == 200, r1.get_json()
    a1 = r1.get_json()
    assert (a1["seq"], a1["accepted"], a1["dropped"]) == (0, 60, [])
    assert a1["patrol"]["points"] == 60
    assert a1["patrol"]["distance_m"] == pytest.approx(590, rel=0.005)
    assert a1["patrol"]["duration_s"] == 590
    a2 = chunk(c, key, 1, walk(t0, 60, offset=60)).get_json()
    assert a2["patrol"]["points"] == 120
    assert a2["patrol"]["distance_m"] == pytest.approx(1190, rel=0.005)  # joined to the first

    end_at = t0 + timedelta(minutes=25)
    e = c.post(f"/api/v1/patrols/{key}/end", json={"ended_at": iso(end_at)})
    assert e.status_code == 200, e.get_json()
    done = e.get_json()["patrol"]
    assert datetime.fromisoformat(done["ended_at"]) == end_at
    assert done["duration_s"] == 1500
    assert done["distance_m"] == pytest.approx(1190, rel=0.005)
    # a 1,190 m line through G1 (0.075° × 0.1°, ~6.6 km × 11 km): ~100 m × 1.2 km of 73 km²
    assert 0.001 < done["coverage"] < 0.003
    again = c.post(f"/api/v1/patrols/{key}/end", json={"ended_at": iso(end_at)})
    assert again.status_code == 200
    assert again.get_json() == e.get_json()
    other = c.post(f"/api/v1/patrols/{key}/end", json={"ended_at": iso(end_at + timedelta(1))})
    assert other.status_code == 409
    assert other.get_json()["error"] == "idempotency_conflict"


def test_start_replay_and_conflict(fw: World) -> None:
    c = client(fw, "wg1")
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    key, first = start(c, t0)
    body = {"uuid": key, "started_at": iso(t0), "lon": IN_G1[0], "lat": IN_G1[1]}
    replay = c.post("/api/v1/patrols", json=body)
    assert replay.status_code == 200
    assert replay.headers.get("Idempotent-Replay") == "true"
    assert replay.get_json() == first.get_json()
    clash = c.post("/api/v1/patrols", json={**body, "lon": IN_G1[0] + 0.001})
    assert clash.status_code == 409
    assert clash.get_json()["error"] == "idempotency_conflict"
    # another worker using the same uuid learns nothing about it
    theirs = client(fw, "wg2").post("/api/v1/patrols", json=body)
    assert theirs.status_code == 409
    assert "patrol" not in theirs.get_json()
    assert count(fw, Patrol) == 1


def test_chunk_replay_is_verbatim_and_conflicts_are_409(any_fw: World) -> None:
    w = any_fw
    c = client(w, "wg1")
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    key, _ = start(c, t0)
    ck = str(uuid.uuid4())
    points = walk(t0, 60)
    first = chunk(c, key, 0, points, ck)
    # later chunks move the summary; the replay still says what the first answer said
    chunk(c, key, 1, walk(t0, 60, offset=60))
    again = chunk(c, key, 0, points, ck)
    assert again.status_code == 200
    assert again.headers.get("Idempotent-Replay") == "true"
    assert again.data == first.data
    other = chunk(c, key, 0, walk(t0, 59), ck)
    assert other.status_code == 409
    assert other.get_json()["error"] == "idempotency_conflict"
    same_seq = chunk(c, key, 0, walk(t0, 3, offset=500))
    assert same_seq.status_code == 409
    assert same_seq.get_json()["error"] == "seq_conflict"
    assert count(w, TrackPoint) == 120
    assert count(w, TrackChunk) == 2


def test_a_duplicate_chunk_under_a_new_uuid_keeps_nothing_twice(fw: World) -> None:
    c = client(fw, "wg1")
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    key, _ = start(c, t0)
    chunk(c, key, 0, walk(t0, 60))
    dup = chunk(c, key, 1, walk(t0, 60)).get_json()
    assert dup["accepted"] == 0
    assert {d["reason"] for d in dup["dropped"]} == {"duplicate"}
    assert len(dup["dropped"]) == 60
    assert dup["patrol"]["points"] == 60
    assert count(fw, TrackPoint) == 60


def test_out_of_order_positions_and_chunks(fw: World) -> None:
    c = client(fw, "wg1")
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    key, _ = start(c, t0)
    late = walk(t0, 30, offset=30)
    early = walk(t0, 30)
    a = chunk(c, key, 1, list(reversed(late))).get_json()
    assert (a["accepted"], a["dropped"]) == (30, [])
    b = chunk(c, key, 0, early[::2] + early[1::2]).get_json()
    assert (b["accepted"], b["dropped"]) == (30, [])
    # the second chunk lies before the first: distance joined across, not double counted
    assert b["patrol"]["distance_m"] == pytest.approx(590, rel=0.005)
    with fw.session() as db:
        ats = db.scalars(select(TrackPoint.at).order_by(TrackPoint.id)).all()
    assert len(ats) == 60


def test_a_50_km_jump_in_a_second_is_dropped_and_explained(any_fw: World) -> None:
    w = any_fw
    c = client(w, "wg1")
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    key, _ = start(c, t0)
    pts = walk(t0, 10)
    jump = [pts[4][0] + 1000, IN_G1[0], IN_G1[1] + 50_000 / 111_050, 5.0]
    ans = chunk(c, key, 0, [*pts[:5], jump, *pts[5:]]).get_json()
    assert ans["dropped"] == [{"index": 5, "reason": "teleport"}]
    assert ans["accepted"] == 10
    assert ans["patrol"]["distance_m"] == pytest.approx(90, rel=0.005)
    # the next chunk is measured from the last kept position, so it is kept
    nxt = chunk(c, key, 1, walk(t0, 5, offset=10)).get_json()
    assert (nxt["accepted"], nxt["dropped"]) == (5, [])


def test_every_drop_reason_through_the_api(fw: World) -> None:
    c = client(fw, "wg1")
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    key, _ = start(c, t0)
    good = walk(t0, 3)
    body = json.dumps(
        {
            "uuid": str(uuid.uuid4()),
            "seq": 0,
            "points": [
                good[0],
                [ms(t0) + 1000, IN_G1[0], IN_G1[1], 250.0],  # inaccurate
                [ms(t0) - 120_000, IN_G1[0], IN_G1[1], 5.0],  # before the start
                [ms(datetime.now(UTC)) + 3_600_000, IN_G1[0], IN_G1[1], 5.0],  # the future
                [good[0][0], IN_G1[0], IN_G1[1] + D10, 5.0],  # same instant as index 0
                [ms(t0) + 2000, float("nan"), IN_G1[1], 5.0],  # NaN
                [ms(t0) + 3000, IN_G1[0], float("inf"), 5.0],  # Infinity
                [ms(t0) + 4000, IN_G1[0], 91.0, 5.0],  # out of range
                [ms(t0) + 5000, None, IN_G1[1], 5.0],
                [ms(t0) + 6000, "106.3", IN_G1[1], 5.0],
                [ms(t0) + 7000, IN_G1[0]],
                good[1],
            ],
        }
    )  # Python's json writes NaN and Infinity: what a broken client sends
    resp = c.post(f"/api/v1/patrols/{key}/track", data=body, content_type="application/json")
    assert resp.status_code == 200, resp.get_json()
    ans = resp.get_json()
    assert ans["accepted"] == 2
    assert {d["index"]: d["reason"] for d in ans["dropped"]} == {
        1: "inaccurate", 2: "outside_time", 3: "outside_time", 4: "duplicate",
        5: "bad_value", 6: "bad_value", 7: "bad_value", 8: "bad_value", 9: "bad_value",
        10: "bad_value",
    }  # fmt: skip


def test_chunks_for_an_ended_patrol_keep_what_lies_in_its_time(fw: World) -> None:
    c = client(fw, "wg1")
    t0 = datetime.now(UTC) - timedelta(minutes=60)
    key, _ = start(c, t0)
    c.post(f"/api/v1/patrols/{key}/end", json={"ended_at": iso(t0 + timedelta(seconds=295))})
    late = chunk(c, key, 0, walk(t0, 60)).get_json()  # the outbox delivers it after the end
    assert late["accepted"] == 30  # 0 … 290 s
    assert {d["reason"] for d in late["dropped"]} == {"outside_time"}
    assert late["patrol"]["points"] == 30
    assert late["patrol"]["distance_m"] == pytest.approx(290, rel=0.005)
    assert late["patrol"]["coverage"] is not None  # ended: coverage recomputed


def test_unknown_or_foreign_patrol_is_404(fw: World) -> None:
    c = client(fw, "wg1")
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    key, _ = start(c, t0)
    for who, patrol in (("wg1", str(uuid.uuid4())), ("wg1", "not-a-uuid"), ("wg2", key),
                        ("wgb", key)):  # fmt: skip
        resp = chunk(client(fw, who), patrol, 0, walk(t0, 2))
        assert resp.status_code == 404, (who, resp.get_json())
        assert resp.get_json()["error"] == "patrol_missing"
        end = client(fw, who).post(f"/api/v1/patrols/{patrol}/end", json={"ended_at": iso(t0)})
        assert end.status_code == 404
    assert count(fw, TrackPoint) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"seq": 0, "points": []}, "uuid"),
        ({"uuid": "x", "seq": 0, "points": []}, "uuid"),
        ({"uuid": str(uuid.uuid4()), "seq": "0", "points": []}, "seq"),
        ({"uuid": str(uuid.uuid4()), "seq": -1, "points": []}, "seq"),
        ({"uuid": str(uuid.uuid4()), "seq": 0, "points": "[]"}, "points"),
        ({"uuid": str(uuid.uuid4()), "seq": 0, "points": [1, 2]}, "points[0]"),
        ({"uuid": str(uuid.uuid4()), "seq": 0, "points": [[0, 0, 0, 0]] * 2001}, "points"),
    ],
)
def test_malformed_chunks_are_400_naming_the_field(fw: World, body: Any, field: str) -> None:
    c = client(fw, "wg1")
    key, _ = start(c, datetime.now(UTC) - timedelta(minutes=5))
    resp = c.post(f"/api/v1/patrols/{key}/track", json=body)
    assert resp.status_code == 400, resp.get_json()
    assert field in resp.get_json()["fields"]
    assert count(fw, TrackChunk) == 0


def test_huge_and_broken_bodies(fw: World) -> None:
    c = client(fw, "wg1")
    key, _ = start(c, datetime.now(UTC) - timedelta(minutes=5))
    huge = (
        b'{"uuid": "'
        + str(uuid.uuid4()).encode()
        + b'", "seq": 0, "points": ['
        + (b"[1780000000000, 106.3, 38.05, 5.0]," * 40_000)
        + b"[1780000000000, 106.3, 38.05, 5.0]]}"
    )
    resp = c.post(f"/api/v1/patrols/{key}/track", data=huge, content_type="application/json")
    assert resp.status_code == 413
    for raw in (b"{", b"[]", b"null", b'{"uuid": 1e999}', b"[" * 100_000):
        resp = c.post(f"/api/v1/patrols/{key}/track", data=raw, content_type="application/json")
        assert resp.status_code == 400, raw[:20]
    assert count(fw, TrackChunk) == 0


def test_start_refuses_bad_times_and_foreign_grids(fw: World) -> None:
    c = client(fw, "wg1")
    now = datetime.now(UTC)
    _, future = start(c, now + timedelta(hours=1))
    assert future.status_code == 400
    assert "started_at" in future.get_json()["fields"]
    _, bad = start(c, now, started_at="yesterday")
    assert bad.status_code == 400
    _, naive = start(c, now, started_at="2026-11-29T08:00:00")
    assert naive.status_code == 400
    _, foreign = start(c, now, grid_code="640104001001001")
    assert foreign.status_code == 422
    assert foreign.get_json()["error"] == "not_own_grid"
    key, ok = start(c, now)
    assert ok.status_code == 201
    before = c.post(f"/api/v1/patrols/{key}/end", json={"ended_at": iso(now - timedelta(1))})
    assert before.status_code == 400
    assert "ended_at" in before.get_json()["fields"]
    assert count(fw, Patrol) == 1


def test_a_new_start_ends_the_open_patrol_at_its_last_position(fw: World) -> None:
    c = client(fw, "wg1")
    t0 = datetime.now(UTC) - timedelta(minutes=60)
    first, _ = start(c, t0)
    chunk(c, first, 0, walk(t0, 30))  # last position at 290 s
    _, resp = start(c, t0 + timedelta(minutes=30))
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["ended_previous"]["uuid"] == first
    assert body["ended_previous"]["duration_s"] == 290
    assert body["ended_previous"]["coverage"] is not None
    assert "notice" in body
    # the end the phone sends later still counts, once
    late_end = t0 + timedelta(minutes=20)
    e = c.post(f"/api/v1/patrols/{first}/end", json={"ended_at": iso(late_end)})
    assert e.status_code == 200
    assert e.get_json()["patrol"]["duration_s"] == 1200
    assert c.post(f"/api/v1/patrols/{first}/end", json={"ended_at": iso(t0)}).status_code == 409


def test_only_grid_workers_patrol(fw: World) -> None:
    for who in ROLES:
        c = client(fw, who)
        before = count(fw, Patrol)
        _, resp = start(c, datetime.now(UTC) - timedelta(minutes=1))
        if who.startswith("wg"):
            assert resp.status_code == 201, (who, resp.get_json())
        else:
            assert resp.status_code == 403, who
            assert count(fw, Patrol) == before


def _day(w: World) -> tuple[str, str]:
    """wg1 patrols today; the day's date (the county's) and the patrol's uuid."""
    c = client(w, "wg1")
    t0 = datetime.now(UTC) - timedelta(minutes=40)
    key, _ = start(c, t0)
    chunk(c, key, 0, walk(t0, 60))
    c.post(f"/api/v1/patrols/{key}/end", json={"ended_at": iso(t0 + timedelta(minutes=10))})
    day = (t0 + timedelta(minutes=5)).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    return day.date().isoformat(), key


def test_who_sees_a_workers_day_and_track(any_fw: World) -> None:
    w = any_fw
    day, key = _day(w)
    for who in ROLES:
        before = count(w, PersonalDataRead)
        resp = client(w, who).get(f"/api/v1/workers/{w.users['wg1']}/day?date={day}")
        if who not in MAY_SEE_WG1:
            # county supervisors see the worker but not the track (403 track_private); other
            # roles are refused by role (403), other workers and counties learn nothing (404)
            expected = 403 if who in ("sup", "disp", "dispt", "h1", "admin", "dispb",
                                      "adminb") else 404  # fmt: skip
            assert resp.status_code == expected, (who, resp.status_code)
            assert "patrols" not in (resp.get_json() or {})
            assert count(w, PersonalDataRead) == before
            continue
        assert resp.status_code == 200, (who, resp.get_json())
        body = resp.get_json()
        assert body["worker"]["id"] == w.users["wg1"]
        [patrol] = body["patrols"]
        assert patrol["uuid"] == key
        assert patrol["track"]["type"] == "LineString"
        assert 2 <= len(patrol["track"]["coordinates"]) < 60  # a straight walk thins to its ends
        assert [f["properties"]["code"] for f in body["grids"]["features"]] == [G1]
        assert body["totals"]["patrols"] == 1
        assert count(w, PersonalDataRead) - before == (0 if who == "wg1" else 1), who
        if who != "wg1":
            with w.session() as db:
                row = db.scalars(
                    select(PersonalDataRead).order_by(PersonalDataRead.id.desc())
                ).first()
                assert row is not None
                assert (row.subject_user_id, row.purpose, row.actor_id) == (
                    w.users["wg1"], "track", w.users[who],
                )  # fmt: skip
    # the county supervisor is told why
    resp = client(w, "sup").get(f"/api/v1/workers/{w.users['wg1']}/day?date={day}")
    assert resp.get_json()["error"] == "track_private"


def test_day_links_cases_and_visits_to_the_patrol(fw: World) -> None:
    day, _key = _day(fw)
    fw.report("wg1")  # now: after the patrol ended
    body = client(fw, "supc").get(f"/api/v1/workers/{fw.users['wg1']}/day?date={day}").get_json()
    [case] = body["cases"]
    assert case["patrol_uuid"] is None
    assert case["number"] and case["state"] == "reported"


def test_day_query_is_checked(fw: World) -> None:
    c = client(fw, "supc")
    uid = fw.users["wg1"]
    assert c.get(f"/api/v1/workers/{uid}/day").status_code == 400
    assert c.get(f"/api/v1/workers/{uid}/day?date=2026-13-01").status_code == 400
    assert c.get(f"/api/v1/workers/{uid}/day?date=1900-01-01").status_code == 400
    assert c.get("/api/v1/workers/99999/day?date=2026-01-01").status_code == 404
    # a user who is not a grid worker has no day
    assert c.get(f"/api/v1/workers/{fw.users['disp']}/day?date=2026-01-01").status_code == 404
