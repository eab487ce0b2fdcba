"""What an outside tester found in the patrols API (build debc846), each pinned: a track's
privacy decided per patrol (a worker with grids in two towns), backdated and overlapping
starts, positions for a purged patrol, and whose track a read-log row is about."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from server.models import GridAssignment, PersonalDataRead
from tests.fieldwork.test_patrols_api import chunk, client, count, iso, start, walk
from tests.workflow.world import G1, G3, IN_G3, World

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
