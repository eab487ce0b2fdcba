"""GET /api/v1/work-logs, GET /work-logs/<worker>/<date> and comments (docs/field-work.md, "Work
log"): a worker's day compiled from the trail, who reads it, who comments, bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from server.models import Patrol, Region, WorkLogComment
from server.usecases.grid_locator import region_chain
from server.usecases.patrols import grid_community
from tests.checkins.conftest import CW, SH, check_in, days_ago, moment, today
from tests.workflow.world import G1, IN_G1


def _patrol(cw: CW, who: str, start: datetime, minutes: int, metres: float) -> str:
    key = str(uuid.uuid4())
    with cw.w.session() as db:
        # located as a patrol started in G1 is (server/usecases/patrols.py: _home)
        community, town, county = region_chain(db, grid_community(db, G1))
        db.add(
            Patrol(
                uuid=key,
                content_hash="-",
                worker_id=cw.id(who),
                grid_code=G1,
                community_id=community,
                town_id=town,
                county_id=county,
                started_at=start.astimezone(UTC),
                ended_at=(start + timedelta(minutes=minutes)).astimezone(UTC),
                points=minutes * 6,
                distance_m=metres,
                duration_s=minutes * 60,
            )
        )
        db.commit()
    return key


def _day_of_wg1(cw: CW) -> dict[str, Any]:
    """wg1's day: a check-in, a patrol of an hour (3.2 km), a visit (the seed's), two reports
    and one verification (a case taken to closed), and a patrol of yesterday."""
    w = cw.w
    cw.set_deadline("23:59")
    ci = check_in(cw.client("wg1"), at=moment(today(), 0, 5), lon=IN_G1[0], lat=IN_G1[1])
    assert ci.status_code == 201
    start = datetime.now(SH).replace(hour=0, minute=10, second=0, microsecond=0)
    patrol = _patrol(cw, "wg1", start, 60, 3200.0)
    midnight = datetime.combine(today(), datetime.min.time(), tzinfo=SH)
    _patrol(cw, "wg1", midnight - timedelta(minutes=30), 20, 999.0)  # yesterday's
    closed = w.case_in("closed")  # reported by wg1, verified by wg1
    other = w.report()
    return {"check_in": ci.get_json()["id"], "patrol": patrol, "cases": (closed, other)}


def _list(cw: CW, who: str, **params: Any) -> Any:
    params.setdefault("date", today().isoformat())
    return cw.client(who).get("/api/v1/work-logs", query_string=params)


def test_the_list_of_a_day_in_figures(any_cwb: CW) -> None:
    cw = any_cwb
    _day_of_wg1(cw)
    r = _list(cw, "sup")
    assert r.status_code == 200, r.get_json()
    items = {i["worker"]["name"]: i for i in r.get_json()["items"]}
    assert {"wg1", "wg2", "wg3", "wg0"} <= set(items) and "wgb" not in items
    wg1 = items["wg1"]
    assert wg1 == {
        "worker": {"id": cw.id("wg1"), "name": "wg1"},
        "date": today().isoformat(),
        "check_in_status": "accepted",
        "patrols": 1,
        "distance_m": 3200.0,
        "duration_s": 3600,
        "visits": 1,
        "reports": 2,
        "verifications": 1,
        "comments": 0,
    }
    wg2 = items["wg2"]
    assert (wg2["check_in_status"], wg2["patrols"], wg2["visits"], wg2["reports"]) == (
        None, 0, 1, 0)  # fmt: skip
    # yesterday: the other patrol, nothing else
    yesterday = {i["worker"]["name"]: i for i in
                 _list(cw, "sup", date=days_ago(1).isoformat()).get_json()["items"]}  # fmt: skip
    assert (yesterday["wg1"]["patrols"], yesterday["wg1"]["distance_m"]) == (1, 999.0)
    assert yesterday["wg1"]["reports"] == yesterday["wg1"]["visits"] == 0


def test_who_reads_which_work_logs(cwb: CW) -> None:
    cw = cwb
    names = lambda who, **p: {i["worker"]["name"] for i in _list(cw, who, **p).get_json()["items"]}  # noqa: E731
    assert names("wg1") == {"wg1"}
    assert names("supt2") == {"wg3"}
    assert names("supc") == names("supt") == {"wg1", "wg2"}
    assert names("supb") == {"wgb"}
    with cw.w.session() as db:
        t2 = db.scalar(select(Region.id).where(Region.code == "640181002000"))
        county_b = db.scalar(select(Region.id).where(Region.code == "640104000000"))
    assert names("sup", region_id=str(t2)) == {"wg3"}
    r = _list(cw, "supt2", region_id=str(county_b))
    assert r.status_code == 400 and "region_id" in r.get_json()["fields"]
    for who in ("disp", "dispt", "h1", "admin", "adminb"):
        assert _list(cw, who).status_code == 403, who
        assert cw.client(who).get(f"/api/v1/work-logs/{cw.id('wg1')}/{today()}").status_code == 403
    assert _list(cw, "anon").status_code == 401


def test_one_workers_day_in_time_order(cwb: CW) -> None:
    cw = cwb
    made = _day_of_wg1(cw)
    r = cw.client("supc").get(f"/api/v1/work-logs/{cw.id('wg1')}/{today()}")
    assert r.status_code == 200, r.get_json()
    day = r.get_json()
    kinds = [e["kind"] for e in day["entries"]]
    assert kinds[:3] == ["check_in", "patrol_start", "patrol_end"]
    assert sorted(kinds[3:]) == ["report", "report", "verify", "visit"]
    moments = [e["at"] for e in day["entries"]]
    assert moments == sorted(moments)
    assert day["entries"][0]["ref"]["id"] == made["check_in"]
    assert day["entries"][1]["ref"] == {"uuid": made["patrol"]}
    assert "3.2 km" in day["entries"][2]["text"] and "1 h 00 min" in day["entries"][2]["text"]
    assert day["entries"][0]["label"] == {"zh": "签到", "en": "Check-in"}
    verify = next(e for e in day["entries"] if e["kind"] == "verify")
    assert verify["ref"]["case_id"] == made["cases"][0] and verify["ref"]["passed"] is True
    reports = {e["ref"]["case_id"] for e in day["entries"] if e["kind"] == "report"}
    assert reports == set(made["cases"])
    assert day["totals"]["verifications"] == 1 and day["totals"]["comments"] == 0
    # the worker reads their own; others of the same role do not
    assert cw.client("wg1").get(f"/api/v1/work-logs/{cw.id('wg1')}/{today()}").status_code == 200
    for who in ("wg2", "supb", "supt2"):
        got = cw.client(who).get(f"/api/v1/work-logs/{cw.id('wg1')}/{today()}")
        assert got.status_code == 404, who
    assert cw.client("sup").get(f"/api/v1/work-logs/99999/{today()}").status_code == 404


def test_bad_days(cw: CW) -> None:
    c = cw.client("sup")
    wid = cw.id("wg1")
    for day in ("2026-13-01", "tomorrow", "1999-01-01", "２０２６-01-01"):
        assert c.get(f"/api/v1/work-logs/{wid}/{day}").status_code == 400, day
    future = (today() + timedelta(days=1)).isoformat()
    r = c.get(f"/api/v1/work-logs/{wid}/{future}")
    assert r.status_code == 400 and r.get_json()["error"] == "future_day"
    assert _list(cw, "sup", date=future).status_code == 400
    assert _list(cw, "sup", date="2026-02-30").status_code == 400
    assert c.get("/api/v1/work-logs").status_code == 400  # the date is required


# --- comments ---------------------------------------------------------------------------------


def _comment(cw: CW, who: str, worker: str = "wg1", **body: Any) -> Any:
    body.setdefault("uuid", str(uuid.uuid4()))
    body.setdefault("text", "巡查认真，注意补签")
    return cw.client(who).post(f"/api/v1/work-logs/{cw.id(worker)}/{today()}/comments", json=body)


def _comments(cw: CW) -> int:
    with cw.w.session() as db:
        return int(db.scalar(select(func.count()).select_from(WorkLogComment)) or 0)


def test_a_supervisor_comments_append_only_and_replays(any_cw: CW) -> None:
    cw = any_cw
    body = {"uuid": str(uuid.uuid4()), "text": "巡查认真\n明天去3号楼"}
    r = _comment(cw, "supc", **body)
    assert r.status_code == 201, r.get_json()
    got = r.get_json()
    assert got["author"] == {"id": cw.id("supc"), "name": "supc"} and got["text"] == body["text"]
    again = _comment(cw, "supc", **body)
    assert again.status_code == 200 and again.get_json()["id"] == got["id"]
    assert _comment(cw, "supc", uuid=body["uuid"], text="改了").status_code == 409
    assert _comment(cw, "sup", uuid=body["uuid"], text=body["text"]).status_code == 409
    assert _comment(cw, "sup", text="同意").status_code == 201
    day = cw.client("wg1").get(f"/api/v1/work-logs/{cw.id('wg1')}/{today()}").get_json()
    assert [c["text"] for c in day["comments"]] == [body["text"], "同意"]
    assert day["totals"]["comments"] == 2
    listed = {i["worker"]["name"]: i for i in _list(cw, "sup").get_json()["items"]}
    assert listed["wg1"]["comments"] == 2
    assert _comments(cw) == 2


def test_who_comments(cw: CW) -> None:
    for who in ("wg1", "wg2", "disp", "h1", "admin"):
        assert _comment(cw, who).status_code == 403, who
    for who in ("supb", "supt2"):
        assert _comment(cw, who).status_code == 404, who
    assert _comment(cw, "supb", worker="wgb").status_code == 201
    assert _comments(cw) == 1


def test_hostile_comments_are_400_and_not_kept(cw: CW) -> None:
    for text in ("", "   ", "\u200b", "好\u202e评", "\x1b[2J", "长" * 2001, "长" * 100_000, 7):
        r = _comment(cw, "sup", text=text)
        assert r.status_code == 400 and "text" in r.get_json()["fields"], (text, r.get_json())
    r = _comment(cw, "sup", worker="wg1", uuid="x")
    assert r.status_code == 400 and "uuid" in r.get_json()["fields"]
    assert _comments(cw) == 0


def test_only_grid_workers_have_a_work_log(cw: CW) -> None:
    """A supervisor asking for the "work log" of a dispatcher, a handler, an admin, another
    supervisor or themself gets 404 as for a missing id (it answered 200 with the person's name,
    a staff directory), and cannot comment on one."""
    sup = cw.client("sup")
    for who in ("disp", "h1", "admin", "supc", "sup"):
        r = sup.get(f"/api/v1/work-logs/{cw.id(who)}/{today()}")
        assert r.status_code == 404, (who, r.get_json())
        assert _comment(cw, "sup", worker=who).status_code == 404, who
    assert sup.get(f"/api/v1/work-logs/{cw.id('wg1')}/{today()}").status_code == 200
    assert _comments(cw) == 0


def test_console_bodies_refuse_unknown_fields(cw: CW) -> None:
    """A decision and a comment come from the console, online: a field it does not know is a
    typo and is refused (400 naming it), nothing kept; the phone's bodies (check-ins, patrols)
    ignore the fields of another app version instead, as reports do."""
    r = _comment(cw, "sup", zzz=1)
    assert r.status_code == 400 and "zzz" in r.get_json()["fields"], r.get_json()
    assert _comments(cw) == 0
    pending = check_in(cw.client("wg1"), at=moment(days_ago(1)), reason="手机没电了").get_json()
    r = cw.client("supc").post(
        f"/api/v1/check-ins/{pending['id']}/decision", json={"decision": "approve", "nte": "好"}
    )
    assert r.status_code == 400 and "nte" in r.get_json()["fields"], r.get_json()
    got = check_in(cw.client("wg1"), at=moment(today()), lon=IN_G1[0], lat=IN_G1[1], zzz=1)
    assert got.status_code == 201, got.get_json()


# --- jurisdiction of what a day shows ----------------------------------------------------------


def _worker_of_two_towns(cw: CW) -> dict[str, Any]:
    """wg13, a grid worker of G1 (town T) and G3 (town T2): today a report and a visit in
    each grid, and a verification of a case in G3 (its own report, taken to resolved)."""
    from server.usecases.base_data import visits
    from tests import factories as f
    from tests.workflow.world import G3, IN_G3

    w = cw.w
    with w.session() as db:
        a = db.scalar(select(Region).where(Region.code == "640181000000"))
        w.users["wg13"] = f.user(db, "wg13", "grid_worker", region=a, grids=(G1, G3)).id
        db.commit()
    made: dict[str, Any] = {"visits": {}}
    for grid, where in (("G1", IN_G1), ("G3", IN_G3)):
        made[grid] = w.report("wg13", where)
        with w.session() as db:
            body = {"uuid": str(uuid.uuid4()), "resident_id": cw.base.residents[grid],
                    "note": "走访", "lon": where[0], "lat": where[1]}  # fmt: skip
            made["visits"][grid] = visits.create(w.ctx(db), w.actor(db, "wg13"), body).visit.id
    verified = w.report("wg13", IN_G3)
    w.act("disp", verified, "accept")
    w.act("disp", verified, "dispatch", department_id=w.departments["D1"])
    w.act("h1", verified, "sign")
    w.act("h1", verified, "resolve", note="done", photos=[w.photo("h1")])
    w.act("wg13", verified, "verify", passed=True)
    made["verified"] = verified
    return made


def test_a_supervisor_sees_only_what_lies_in_their_jurisdiction(any_cwb: CW) -> None:
    """A worker reports wherever they pass in their county (and visits and verifies in each of
    their grids), but a supervisor reads of the worker's day only what lies in their own
    jurisdiction, by the rule that decides who sees a case (``policy.cases_clause``) and a
    visit (``policy.base_clause``): town T's supervisors were shown wg13's report, visit and
    verification in town T2 (case numbers and all), and the list counted them."""
    cw = any_cwb
    made = _worker_of_two_towns(cw)
    g1, g3, verified = made["G1"], made["G3"], made["verified"]
    visit1, visit3 = made["visits"]["G1"], made["visits"]["G3"]

    def shown(who: str) -> tuple[set[int], set[int], set[int]]:
        r = cw.client(who).get(f"/api/v1/work-logs/{cw.id('wg13')}/{today()}")
        assert r.status_code == 200, (who, r.get_json())
        day = r.get_json()
        of = lambda kind, key: {e["ref"][key] for e in day["entries"] if e["kind"] == kind}  # noqa: E731
        reports, checks, seen = of("report", "case_id"), of("verify", "case_id"), of("visit", "id")
        t = day["totals"]
        assert (t["reports"], t["verifications"], t["visits"]) == (
            len(reports), len(checks), len(seen)), who  # fmt: skip
        listed = {i["worker"]["name"]: i for i in _list(cw, who).get_json()["items"]}["wg13"]
        assert (listed["reports"], listed["verifications"], listed["visits"]) == (
            len(reports), len(checks), len(seen)), who  # fmt: skip
        return reports, checks, seen

    for who in ("wg13", "sup"):  # the worker, and the county's supervisor: everything
        assert shown(who) == ({g1, g3, verified}, {verified}, {visit1, visit3}), who
    for who in ("supt", "supc"):  # town T and its community C: G1 only
        assert shown(who) == ({g1}, set(), {visit1}), who
    assert shown("supt2") == ({g3, verified}, {verified}, {visit3})  # town T2: G3 only


def test_check_ins_and_patrols_are_shown_by_where_they_were_made(any_cwb: CW) -> None:
    """A worker's check-ins and patrols, with their distance and time, are read by the
    supervisors of where they were made, as reports and visits are: an outside audit moved a
    worker to another town, and the new town's supervisor read their past days in the first
    (check-in times, patrols with distance and duration)."""
    from tests.workflow.world import IN_G3

    cw = any_cwb
    _worker_of_two_towns(cw)
    cw.set_deadline("23:59")
    worker = cw.client("wg13")
    assert check_in(worker, at=moment(today(), 0, 5), lon=IN_G3[0], lat=IN_G3[1]).status_code == 201
    started = datetime.now(UTC) - timedelta(minutes=1)
    body = {"uuid": str(uuid.uuid4()), "started_at": started.isoformat(), "lon": IN_G3[0],
            "lat": IN_G3[1]}  # fmt: skip
    assert worker.post("/api/v1/patrols", json=body).status_code == 201

    def shown(who: str) -> tuple[set[str], tuple[int, str | None]]:
        r = cw.client(who).get(f"/api/v1/work-logs/{cw.id('wg13')}/{today()}")
        assert r.status_code == 200, (who, r.get_json())
        day = r.get_json()
        kinds = {e["kind"] for e in day["entries"]} & {"check_in", "patrol_start"}
        listed = {i["worker"]["name"]: i for i in _list(cw, who).get_json()["items"]}["wg13"]
        assert (listed["patrols"], listed["check_in_status"]) == (
            day["totals"]["patrols"], day["totals"]["check_in_status"]), who  # fmt: skip
        return kinds, (day["totals"]["patrols"], day["totals"]["check_in_status"])

    assert shown("wg13")[0] == {"check_in", "patrol_start"}
    assert shown("supt2")[0] == {"check_in", "patrol_start"}  # town T2, where they were made
    assert shown("supt") == (set(), (0, None))  # town T: the worker's other town
