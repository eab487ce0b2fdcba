"""What an outside tester found in the patrols API (build debc846), each pinned: a track's
privacy decided per patrol (a worker with grids in two towns), backdated and overlapping
starts, positions for a purged patrol, and whose track a read-log row is about."""

from __future__ import annotations

import uuid
import zoneinfo
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from server.models import GridAssignment, PersonalDataRead
from server.models.fieldwork import Patrol, TrackChunk, TrackPoint
from server.usecases import patrols as uc
from tests.fieldwork.test_patrols_api import chunk, client, count, iso, start, walk
from tests.workflow.world import G1, G3, IN_G1, IN_G3, World

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def _two_towns(w: World) -> tuple[str, str, str]:
    """wg1 also holds G3 (town T2) and patrols today in G1 (town T), then in G3: the day,
    the G1 patrol's uuid and the G3 one's."""
    with w.session() as db:
        db.add(GridAssignment(user_id=w.users["wg1"], grid_code=G3, duty="full_time"))
        db.commit()
    c = client(w, "wg1")
    t0 = datetime.now(UTC) - timedelta(minutes=50)
    in_t, resp = start(c, t0)
    assert resp.status_code == 201, resp.get_json()
    chunk(c, in_t, 0, walk(t0, 30))
    c.post(f"/api/v1/patrols/{in_t}/end", json={"ended_at": iso(t0 + timedelta(minutes=10))})
    t1 = t0 + timedelta(minutes=20)
    in_t2, resp = start(c, t1, lon=IN_G3[0], lat=IN_G3[1], grid_code=G3)
    assert resp.status_code == 201, resp.get_json()
    chunk(c, in_t2, 0, walk(t1, 30, start=IN_G3))
    c.post(f"/api/v1/patrols/{in_t2}/end", json={"ended_at": iso(t1 + timedelta(minutes=10))})
    return t1.astimezone(TZ).date().isoformat(), in_t, in_t2


def test_a_track_is_shown_per_patrol_by_the_town_it_was_walked_in(any_fw: World) -> None:
    w = any_fw
    day, in_t, in_t2 = _two_towns(w)
    url = f"/api/v1/workers/{w.users['wg1']}/day?date={day}"
    seen = {"supc": {in_t}, "supt": {in_t}, "supt2": {in_t2}, "supc2": {in_t2},
            "wg1": {in_t, in_t2}}  # fmt: skip
    for who, mine in seen.items():
        before = count(w, PersonalDataRead)
        resp = client(w, who).get(url)
        assert resp.status_code == 200, (who, resp.get_json())
        patrols = {p["uuid"]: p for p in resp.get_json()["patrols"]}
        assert set(patrols) == {in_t, in_t2}  # the summaries are the worker's day
        for key, p in patrols.items():
            if key in mine:
                assert p["track"]["type"] == "LineString", who
                assert p["track_hidden"] is False
            else:
                assert p["track"] is None, (who, key)
                assert p["track_hidden"] is True
        if who == "wg1":
            assert count(w, PersonalDataRead) == before
            continue
        assert count(w, PersonalDataRead) == before + 1
        with w.session() as db:
            row = db.scalars(select(PersonalDataRead).order_by(PersonalDataRead.id.desc())).first()
            assert row is not None
            assert row.count == 1, who  # only the patrol shown is logged as read
            assert row.grid_code == (G3 if in_t2 in mine else G1)
    # the county's supervisor still sees no track at all
    resp = client(w, "sup").get(url)
    assert resp.status_code == 403
    assert resp.get_json()["error"] == "track_private"


def test_a_day_with_only_another_towns_patrol_is_still_private(fw: World) -> None:
    with fw.session() as db:
        db.add(GridAssignment(user_id=fw.users["wg1"], grid_code=G3, duty="full_time"))
        db.commit()
    c = client(fw, "wg1")
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    key, _ = start(c, t0)  # in G1, town T
    chunk(c, key, 0, walk(t0, 20))
    day = t0.astimezone(TZ).date().isoformat()
    before = count(fw, PersonalDataRead)
    resp = client(fw, "supt2").get(f"/api/v1/workers/{fw.users['wg1']}/day?date={day}")
    assert resp.status_code == 403, resp.get_json()
    assert resp.get_json()["error"] == "track_private"
    assert "patrols" not in resp.get_json()
    assert count(fw, PersonalDataRead) == before


def test_the_read_log_names_whose_track_and_which_day(any_fw: World) -> None:
    w = any_fw
    day, _in_t, _in_t2 = _two_towns(w)
    assert (
        client(w, "supt").get(f"/api/v1/workers/{w.users['wg1']}/day?date={day}").status_code == 200
    )
    page = client(w, "sup").get("/api/v1/base/reads").get_json()
    [row] = [r for r in page["items"] if r["purpose"] == "track"]
    assert row["subject"] == {"id": w.users["wg1"], "display_name": "wg1"}
    assert row["fields"] == f"track {day}"
    assert row["actor"]["id"] == w.users["supt"]


def test_a_patrol_starts_at_most_7_days_back(fw: World) -> None:
    c = client(fw, "wg1")
    now = datetime.now(UTC)
    for back in (timedelta(days=400), timedelta(days=9)):
        key, resp = start(c, now - back)
        assert resp.status_code == 400, resp.get_json()
        assert resp.get_json()["error"] == "too_old"
        assert "started_at" in resp.get_json()["fields"]
        # nothing to fill with positions
        assert chunk(c, key, 0, walk(now - back, 10)).status_code == 404
    _, ok = start(c, now - timedelta(days=6))
    assert ok.status_code == 201, ok.get_json()
    _, future = start(c, now + timedelta(minutes=10))  # beyond the clock skew allowed
    assert future.status_code == 400
    assert count(fw, Patrol) == 1


def test_a_start_inside_another_patrol_is_409_naming_it(any_fw: World) -> None:
    w = any_fw
    c = client(w, "wg1")
    t0 = datetime.now(UTC) - timedelta(hours=3)
    first, resp = start(c, t0)
    assert resp.status_code == 201
    assert chunk(c, first, 0, walk(t0, 300)).get_json()["accepted"] == 300  # 50 minutes
    # the same instant, twice: refused, nothing to count the positions again in
    for _ in range(2):
        key, again = start(c, t0)
        assert again.status_code == 409, again.get_json()
        assert again.get_json()["error"] == "patrol_overlap"
        assert again.get_json()["patrol"] == first
        assert "started_at" in again.get_json()["fields"]
        assert chunk(c, key, 0, walk(t0, 300)).status_code == 404
    # inside the open one's positions
    _, inside = start(c, t0 + timedelta(minutes=20))
    assert inside.status_code == 409
    # after its last position: ends it there, as before
    second, after = start(c, t0 + timedelta(minutes=55))
    assert after.status_code == 201
    assert after.get_json()["ended_previous"]["uuid"] == first
    assert "ended_also" not in after.get_json()
    c.post(f"/api/v1/patrols/{second}/end", json={"ended_at": iso(t0 + timedelta(minutes=80))})
    # inside an ended one (the first's end was its last position, 49:50)
    for at, other in ((t0 + timedelta(minutes=30), first), (t0 + timedelta(minutes=70), second)):
        _, resp = start(c, at)
        assert resp.status_code == 409
        assert resp.get_json()["patrol"] == other
    _, later = start(c, t0 + timedelta(minutes=80))  # at the end of the last: not inside
    assert later.status_code == 201
    with w.session() as db:
        assert db.scalar(select(func.count()).select_from(Patrol)) == 3
        assert db.scalar(select(func.count()).select_from(TrackPoint)) == 300


def test_parallel_starts_leave_one_patrol_open(any_fw: World) -> None:
    """Six starts of one worker at once (PostgreSQL: six connections) run one after the other:
    one that comes after a later start is refused (it would run into the open one), each other
    one ends the one before. One patrol stays open; each ended one is named once."""
    w = any_fw
    t0 = datetime.now(UTC) - timedelta(hours=2)

    def go(i: int) -> Any:
        return start(client(w, "wg1"), t0 + timedelta(minutes=i))[1]

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(go, range(6)))
    codes = [a.status_code for a in answers]
    assert set(codes) <= {201, 409}, [a.get_json() for a in answers]
    assert all(a.get_json()["error"] == "patrol_overlap" for a in answers if a.status_code == 409)
    ended = [e["uuid"] for a in answers for e in [a.get_json().get("ended_previous")] if e]
    with w.session() as db:
        rows = db.scalars(select(Patrol)).all()
        assert len(rows) == codes.count(201)
        assert sum(p.ended_at is None for p in rows) == 1
        assert sorted(ended) == sorted(p.uuid for p in rows if p.ended_at is not None)


def test_the_same_start_sent_at_once_is_one_patrol_and_replays(any_fw: World) -> None:
    """A phone that retries a start after a timeout may send it while the first is still being
    stored: each copy is answered as the start (one 201, the rest 200 replays), never as a
    start inside itself (an outside audit: 10 pairs out of 10 gave 409 ``patrol_overlap``
    naming the patrol's own uuid, and the field app then held back its track)."""
    w = any_fw
    key = str(uuid.uuid4())
    body = {"uuid": key, "started_at": iso(datetime.now(UTC) - timedelta(minutes=5))}
    body |= {"lon": IN_G1[0], "lat": IN_G1[1]}
    clients = [client(w, "wg1") for _ in range(6)]

    def go(c: Any) -> Any:
        return c.post("/api/v1/patrols", json=body)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(go, clients))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 5 + [201], [a.get_json() for a in answers]
    assert {a.get_json()["patrol"]["uuid"] for a in answers} == {key}
    with w.session() as db:
        assert db.scalar(select(func.count()).select_from(Patrol)) == 1


def test_a_start_before_an_open_patrol_is_409(fw: World) -> None:
    c = client(fw, "wg1")
    t0 = datetime.now(UTC) - timedelta(hours=1)
    later, _ = start(c, t0)
    _, earlier = start(c, t0 - timedelta(minutes=10))
    assert earlier.status_code == 409
    assert earlier.get_json()["patrol"] == later


def test_a_purged_patrol_takes_no_positions_and_no_end(fw: World) -> None:
    key = str(uuid.uuid4())
    now = datetime.now(UTC)
    started = now - timedelta(days=200)
    with fw.session() as db:
        ctx, actor = fw.ctx(db), fw.actor(db, "wg1")
        ctx.clock = lambda: started + timedelta(hours=1)
        uc.start(ctx, actor, {"uuid": key, "started_at": started.isoformat()})
        t = round(started.timestamp() * 1000)
        pts = [[t + i * 10_000, IN_G1[0], IN_G1[1] + i * 1e-3, 5.0] for i in range(100)]
        uc.add_chunk(ctx, actor, key, {"uuid": str(uuid.uuid4()), "seq": 0, "points": pts})
    with fw.session() as db:
        p = db.scalar(select(Patrol).where(Patrol.uuid == key))
        assert p is not None
        kept = (p.points, p.distance_m, p.duration_s)
    assert fw.app.test_cli_runner().invoke(args=["fieldwork", "purge"]).exit_code == 0
    c = client(fw, "wg1")
    late = [[round(now.timestamp() * 1000) - 60_000, IN_G1[0], IN_G1[1], 5.0]]
    for resp in (
        chunk(c, key, 1, walk(started, 50)),
        chunk(c, key, 2, late),
        c.post(f"/api/v1/patrols/{key}/end", json={"ended_at": iso(started + timedelta(hours=1))}),
    ):
        assert resp.status_code == 409, resp.get_json()
        assert resp.get_json()["error"] == "patrol_expired"
    # a new start ends it, its summary kept
    _, fresh = start(c, now - timedelta(minutes=5))
    assert fresh.status_code == 201
    assert fresh.get_json()["ended_previous"]["uuid"] == key
    with fw.session() as db:
        p = db.scalar(select(Patrol).where(Patrol.uuid == key))
        assert p is not None
        assert (p.points, p.distance_m, p.duration_s) == kept
        assert p.ended_at == p.started_at + timedelta(seconds=kept[2])
        assert db.scalar(select(func.count()).select_from(TrackChunk)) == 1


@pytest.mark.parametrize("days", ["99999999999999999999", "36501", "0", "-1", "x"])
def test_purge_refuses_absurd_days(fw: World, days: str) -> None:
    out = fw.app.test_cli_runner().invoke(args=["fieldwork", "purge", "--days", days])
    assert out.exit_code == 2, out.output
    assert "--days" in out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)


def _end(c: Any, key: str, at: datetime) -> Any:
    return c.post(f"/api/v1/patrols/{key}/end", json={"ended_at": iso(at)})


def test_a_patrol_delivered_late_may_not_run_into_a_later_one(any_fw: World) -> None:
    """A start earlier than a later patrol that has already ended is a patrol delivered late
    (the offline contract: a phone sends days after): taken while it stays before the later
    one. Its positions from the later one's start on are not its own (``outside_time``), and an
    end inside the later one is refused, 409 ``patrol_overlap`` naming it, nothing changed. It
    was accepted, and the two patrols counted the same walk twice."""
    w = any_fw
    c = client(w, "wg1")
    t0 = datetime.now(UTC) - timedelta(hours=5)
    later, resp = start(c, t0 + timedelta(minutes=60))
    assert resp.status_code == 201
    assert chunk(c, later, 0, walk(t0 + timedelta(minutes=60), 120)).get_json()["accepted"] == 120
    end = _end(c, later, t0 + timedelta(minutes=90))
    assert end.status_code == 200
    kept = end.get_json()["patrol"]

    # delivered late, before the later one: legitimate
    early, resp = start(c, t0)
    assert resp.status_code == 201, resp.get_json()
    assert chunk(c, early, 0, walk(t0, 60)).get_json()["accepted"] == 60
    fine = c.post(
        f"/api/v1/patrols/{early}/end", json={"ended_at": iso(t0 + timedelta(minutes=30))}
    )
    assert fine.status_code == 200, fine.get_json()

    # one that runs on into the later patrol: its positions there dropped, its end refused
    t1 = t0 + timedelta(minutes=40)
    runs_on, resp = start(c, t1)
    assert resp.status_code == 201, resp.get_json()
    answer = chunk(c, runs_on, 0, walk(t1, 210)).get_json()  # 40:00 … 74:50
    assert answer["accepted"] == 121  # up to 60:00, the later one's start
    assert {d["reason"] for d in answer["dropped"]} == {"outside_time"}
    assert len(answer["dropped"]) == 89
    with w.session() as db:
        before = db.scalar(select(Patrol).where(Patrol.uuid == runs_on))
        assert before is not None and before.ended_at is None
        shown_before = uc.patrol_json(before, "wg1")
    for at in (t0 + timedelta(minutes=75), t0 + timedelta(minutes=60, seconds=1)):
        refused = _end(c, runs_on, at)
        assert refused.status_code == 409, refused.get_json()
        body = refused.get_json()
        assert body["error"] == "patrol_overlap" and body["patrol"] == later
        assert "ended_at" in body["fields"]
    with w.session() as db:
        p = db.scalar(select(Patrol).where(Patrol.uuid == runs_on))
        assert p is not None and uc.patrol_json(p, "wg1") == shown_before  # nothing changed
        q = db.scalar(select(Patrol).where(Patrol.uuid == later))
        assert q is not None and uc.patrol_json(q, "wg1") == kept
    ok = c.post(
        f"/api/v1/patrols/{runs_on}/end", json={"ended_at": iso(t0 + timedelta(minutes=60))}
    )
    assert ok.status_code == 200, ok.get_json()  # up to the later one's start: [start, end)


def test_the_late_end_of_a_superseded_patrol_may_not_run_into_the_next(fw: World) -> None:
    """A patrol whose end never came is ended at its last position by the next start; its end,
    arriving later, is taken if it lies before that start, and refused (409) if it would run
    into the next patrol."""
    c = client(fw, "wg1")
    t0 = datetime.now(UTC) - timedelta(hours=2)
    first, _ = start(c, t0)
    chunk(c, first, 0, walk(t0, 30))  # last position at 4:50
    second, resp = start(c, t0 + timedelta(minutes=10))
    assert resp.status_code == 201 and resp.get_json()["ended_previous"]["uuid"] == first
    late = c.post(
        f"/api/v1/patrols/{first}/end", json={"ended_at": iso(t0 + timedelta(minutes=15))}
    )
    assert late.status_code == 409, late.get_json()
    assert late.get_json()["error"] == "patrol_overlap"
    assert late.get_json()["patrol"] == second
    with fw.session() as db:
        p = db.scalar(select(Patrol).where(Patrol.uuid == first))
        assert p is not None and p.end_hash is None and p.duration_s == 290


def test_a_workers_day_shows_a_supervisor_only_the_cases_and_visits_in_their_jurisdiction(
    any_fw: World,
) -> None:
    """The map of a worker's day lists the cases they reported and the visits they made, with
    their places: a town's supervisor was shown those in the other town too (the worker has
    grids in both), by the rule of the work log (``policy.work_log_cases_clause``,
    ``work_log_visits_clause``). The worker sees all of theirs."""
    from server.usecases.base_data import visits
    from tests.base_data.world import seed

    w = any_fw
    base = seed(w)
    day, _in_t, _in_t2 = _two_towns(w)
    in_g1, in_g3 = w.report("wg1", IN_G1), w.report("wg1", IN_G3)
    made = {}
    for grid, where in (("G1", IN_G1), ("G3", IN_G3)):
        with w.session() as db:
            body = {"uuid": str(uuid.uuid4()), "resident_id": base.residents[grid],
                    "note": "走访", "lon": where[0], "lat": where[1]}  # fmt: skip
            made[grid] = visits.create(w.ctx(db), w.actor(db, "wg1"), body).visit.id
    url = f"/api/v1/workers/{w.users['wg1']}/day?date={day}"
    seen = {"wg1": ({in_g1, in_g3}, {made["G1"], made["G3"]}),
            "supt": ({in_g1}, {made["G1"]}), "supc": ({in_g1}, {made["G1"]}),
            "supt2": ({in_g3}, {made["G3"]}), "supc2": ({in_g3}, {made["G3"]})}  # fmt: skip
    for who, (cases, visited) in seen.items():
        got = client(w, who).get(url)
        assert got.status_code == 200, (who, got.get_json())
        body = got.get_json()
        assert {c["id"] for c in body["cases"]} == cases, who
        assert {v["id"] for v in body["visits"]} & {made["G1"], made["G3"]} == visited, who
        assert body["totals"]["cases"] == len(body["cases"]), who
