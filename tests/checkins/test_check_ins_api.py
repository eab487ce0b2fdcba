"""POST/GET /api/v1/check-ins and the decision on a 补签 (docs/field-work.md, "Check-ins"): worked
examples, bad input, replays, jurisdiction and every role."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from server.models import CheckIn
from tests.checkins.conftest import CW, check_in, days_ago, moment, today
from tests.workflow.world import G1, G3, GB, IN_G1, IN_G3, IN_GB, OUTSIDE

M_PER_DEG_LON = 87_800.0  # at 38° N, roughly


def _count(cw: CW) -> int:
    with cw.w.session() as db:
        return int(db.scalar(select(func.count()).select_from(CheckIn)) or 0)


def _makeup(cw: CW, who: str = "wg1", back: int = 1, reason: str = "手机没电了") -> dict:
    r = check_in(cw.client(who), at=moment(days_ago(back)), reason=reason)
    assert r.status_code == 201, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


# --- 签到 on the day ------------------------------------------------------------------------


def test_check_in_today_inside_my_grid_on_time_and_late(any_cw: CW) -> None:
    cw = any_cw
    cw.set_deadline("23:59")
    c = cw.client("wg1")
    body = {"uuid": str(uuid.uuid4()), "at": moment(today(), 0, 1),
            "lon": IN_G1[0], "lat": IN_G1[1], "accuracy_m": 12.5}  # fmt: skip
    r = c.post("/api/v1/check-ins", json=body)
    assert r.status_code == 201, r.get_json()
    got = r.get_json()
    assert got["status"] == "accepted" and got["status_label"]["zh"] == "已签到"
    assert (got["day"], got["grid_code"], got["late"], got["makeup"]) == (
        today().isoformat(), G1, False, False)  # fmt: skip
    assert got["worker"] == {"id": cw.id("wg1"), "name": "wg1"}
    assert got["at"].endswith("Z") and got["accuracy_m"] == 12.5
    # the outbox sends it again: the first answer, nothing new
    again = c.post("/api/v1/check-ins", json=body)
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
    assert again.get_json()["id"] == got["id"]
    # same uuid, other content: a conflict; another user with that uuid too
    other = c.post("/api/v1/check-ins", json={**body, "accuracy_m": 13})
    assert other.status_code == 409 and other.get_json()["error"] == "idempotency_conflict"
    stolen = cw.client("wg2").post("/api/v1/check-ins", json=body)
    assert stolen.status_code == 409 and "existing" not in stolen.get_json()
    # after the deadline: late (wg2, in G2)
    cw.set_deadline("00:00")
    from tests.workflow.world import IN_G2

    late = check_in(cw.client("wg2"), at=moment(today(), 0, 1), lon=IN_G2[0], lat=IN_G2[1])
    assert late.status_code == 201 and late.get_json()["late"] is True
    assert _count(cw) == 2


def test_outside_my_grids_is_422_with_the_nearest_grid_and_the_distance(cw: CW) -> None:
    c = cw.client("wg1")
    r = check_in(c, at=moment(today()), lon=IN_G3[0], lat=IN_G3[1], accuracy_m=10)
    assert r.status_code == 422
    err = r.get_json()
    assert err["error"] == "outside_grid"
    assert err["nearest_grid"]["code"] == G1
    # IN_G3 is 106.45; G1's east edge 106.325: ~0.125° of longitude ≈ 11 km
    assert 10_000 < err["distance_m"] < 12_000
    assert err["tolerance_m"] == 10 and set(err["fields"]) == {"lon", "lat"}
    # in another county entirely, or far outside every grid
    for where in (IN_GB, OUTSIDE):
        r = check_in(c, at=moment(today()), lon=where[0], lat=where[1])
        assert r.status_code == 422 and r.get_json()["nearest_grid"]["code"] == G1
    assert _count(cw) == 0


def test_the_fixs_accuracy_widens_the_grid_up_to_fifty_metres(cw: CW) -> None:
    c = cw.client("wg1")
    lon = 106.25 - 40 / M_PER_DEG_LON  # 40 m west of G1's west edge
    r = check_in(c, at=moment(today()), lon=lon, lat=38.05, accuracy_m=30)
    assert r.status_code == 422 and 35 < r.get_json()["distance_m"] < 45
    r = check_in(c, at=moment(today()), lon=lon, lat=38.05, accuracy_m=5000)
    assert r.status_code == 201 and r.get_json()["grid_code"] == G1


def test_today_needs_a_position(cw: CW) -> None:
    r = check_in(cw.client("wg1"), at=moment(today()), reason="忘了带手机")
    assert r.status_code == 400
    assert r.get_json()["error"] == "position_required" and "lon" in r.get_json()["fields"]
    half = check_in(cw.client("wg1"), at=moment(today()), lon=IN_G1[0])
    assert half.status_code == 400 and set(half.get_json()["fields"]) == {"lat"}


def test_a_worker_without_a_grid_cannot_check_in(cw: CW) -> None:
    r = check_in(cw.client("wg0"), at=moment(today()), lon=IN_G1[0], lat=IN_G1[1])
    assert r.status_code == 422 and r.get_json()["error"] == "no_grid"


def test_a_second_check_in_for_the_day_is_409_with_the_existing_one(any_cw: CW) -> None:
    c = any_cw.client("wg1")
    first = check_in(c, at=moment(today(), 7, 0), lon=IN_G1[0], lat=IN_G1[1]).get_json()
    r = check_in(c, at=moment(today(), 7, 5), lon=IN_G1[0], lat=IN_G1[1])
    assert r.status_code == 409 and r.get_json()["error"] == "already_checked_in"
    assert r.get_json()["existing"]["id"] == first["id"]
    # a 补签 for today is the same day
    r = check_in(c, at=moment(today(), 6, 0), reason="补一下")
    assert r.status_code == 409
    assert _count(any_cw) == 1


# --- 补签 -------------------------------------------------------------------------------------


def test_makeup_for_a_past_day_needs_a_reason_and_waits(any_cw: CW) -> None:
    c = any_cw.client("wg1")
    for reason in (None, "", "。。", "病", "\u200b\u200b", "  \n "):
        body = {"at": moment(days_ago(2))} | ({} if reason is None else {"reason": reason})
        r = check_in(c, **body)
        assert r.status_code == 400, (reason, r.get_json())
        assert r.get_json()["error"] == "reason_required" and "reason" in r.get_json()["fields"]
    got = _makeup(any_cw, back=2)
    assert (got["status"], got["makeup"], got["late"]) == ("pending", True, False)
    assert got["grid_code"] is None and got["reason"] == "手机没电了"
    assert got["day"] == days_ago(2).isoformat()
    assert _count(any_cw) == 1


def test_makeup_with_a_position_keeps_the_grid_it_is_in(cw: CW) -> None:
    r = check_in(cw.client("wg1"), at=moment(days_ago(1)), reason="信号不好",
                 lon=IN_G1[0], lat=IN_G1[1])  # fmt: skip
    assert r.status_code == 201 and r.get_json()["grid_code"] == G1
    # and a position elsewhere is kept, the 补签 is still the worker's to ask for
    r = check_in(cw.client("wg1"), at=moment(days_ago(2)), reason="信号不好",
                 lon=IN_G3[0], lat=IN_G3[1])  # fmt: skip
    assert r.status_code == 201 and r.get_json()["grid_code"] is None


def test_seven_days_back_is_the_limit_and_the_future_is_refused(cw: CW) -> None:
    c = cw.client("wg1")
    assert check_in(c, at=moment(days_ago(7), 12), reason="出差回来").status_code == 201
    r = check_in(c, at=moment(days_ago(8), 12), reason="出差回来")
    assert r.status_code == 400 and r.get_json()["error"] == "too_old"
    assert "at" in r.get_json()["fields"]
    tomorrow = days_ago(-1)
    r = check_in(c, at=moment(tomorrow, 0, 1), lon=IN_G1[0], lat=IN_G1[1])
    assert r.status_code == 400 and r.get_json()["error"] == "future_day"
    assert _count(cw) == 1


BAD_CHECK_INS = [
    ({"at": "yesterday"}, "at"),
    ({"at": "2026-11-20T08:00:00"}, "at"),  # no offset
    ({"at": "1999-01-01T08:00:00+08:00"}, "at"),
    ({"lon": 200.0, "lat": 38.0}, "lon"),
    ({"lon": "106.3", "lat": 38.0}, "lon"),
    ({"lon": 106.3, "lat": 38.0, "accuracy_m": -1}, "accuracy_m"),
    ({"lon": 106.3, "lat": 38.0, "accuracy_m": True}, "accuracy_m"),
    ({"uuid": "not-a-uuid"}, "uuid"),
    ({"reason": "a" * 501}, "reason"),
    ({"reason": "手机\u202e没电"}, "reason"),  # bidi override
    ({"reason": "手机\u2067没电"}, "reason"),  # bidi isolate
    ({"reason": "手机\x1b[31m没电"}, "reason"),  # ESC
    ({"reason": "手机\x00没电"}, "reason"),
    ({"reason": "手机\ud800没电"}, "reason"),  # a lone surrogate
    ({"reason": "长" * 100_000}, "reason"),
    ({"reason": 42}, "reason"),
]


def test_bad_input_is_400_naming_the_field_and_nothing_is_saved(cw: CW) -> None:
    c = cw.client("wg1")
    for body, field in BAD_CHECK_INS:
        full = {"uuid": str(uuid.uuid4()), "at": moment(days_ago(1)), "reason": "手机没电"} | body
        # as JSON text (escapes: a lone surrogate is "\\ud800" on the wire)
        r = c.post("/api/v1/check-ins", data=json.dumps(full), content_type="application/json")
        assert r.status_code == 400, (body, r.get_json())
        assert field in (r.get_json().get("fields") or {}), (body, r.get_json())
    assert _count(cw) == 0


def test_a_reason_may_have_lines_and_tabs(cw: CW) -> None:
    got = _makeup(cw, reason="上午开会\n下午走访\t补签")
    assert got["reason"] == "上午开会\n下午走访\t补签"


def test_only_grid_workers_check_in(cw: CW) -> None:
    for who in ("disp", "dispt", "sup", "supc", "h1", "admin"):
        r = check_in(cw.client(who), at=moment(today()), lon=IN_G1[0], lat=IN_G1[1])
        assert r.status_code == 403, who
    assert check_in(cw.client("anon"), at=moment(today())).status_code in (400, 401)
    assert _count(cw) == 0


# --- the decision -----------------------------------------------------------------------------


def _decide(cw: CW, who: str, ident: int, decision: str = "approve", **extra: object):  # type: ignore[no-untyped-def]
    return cw.client(who).post(
        f"/api/v1/check-ins/{ident}/decision", json={"decision": decision, **extra}
    )


def test_a_supervisor_of_the_community_approves_once(any_cw: CW) -> None:
    cw = any_cw
    pending = _makeup(cw)
    r = _decide(cw, "supc", pending["id"], note="同意")
    assert r.status_code == 200, r.get_json()
    got = r.get_json()
    assert got["status"] == "approved" and got["decided_by"]["id"] == cw.id("supc")
    assert got["decision_note"] == "同意" and got["decided_at"]
    again = _decide(cw, "sup", pending["id"], "reject")
    assert again.status_code == 409 and again.get_json()["error"] == "not_pending"
    assert again.get_json()["existing"]["status"] == "approved"


def test_a_rejected_day_may_be_asked_for_again(cw: CW) -> None:
    first = _makeup(cw)
    assert _decide(cw, "supt", first["id"], "reject", note="理由不充分").status_code == 200
    second = _makeup(cw, reason="手机坏了，附维修单")
    assert second["id"] != first["id"] and second["status"] == "pending"
    assert _makeup_conflict(cw) == 409


def _makeup_conflict(cw: CW) -> int:
    return int(check_in(cw.client("wg1"), at=moment(days_ago(1)), reason="再补一次").status_code)


def test_who_decides(cw: CW) -> None:
    mine = _makeup(cw, "wg1")  # community C, town T, county A
    t2 = _makeup(cw, "wg3")  # town T2, county A
    b = _makeup(cw, "wgb")  # county B
    # not supervisors: refused by role, whatever the check-in
    for who in ("wg1", "wg2", "disp", "dispt", "h1", "admin", "adminb"):
        assert _decide(cw, who, mine["id"]).status_code == 403, who
    # supervisors outside its jurisdiction: as if it did not exist
    for who, row in (("supb", mine), ("supt2", mine), ("supc", t2), ("supt", t2), ("sup", b)):
        assert _decide(cw, who, row["id"]).status_code == 404, (who, row)
    assert _decide(cw, "supb", 99_999).status_code == 404
    assert _decide(cw, "sup", t2["id"]).status_code == 200
    assert _decide(cw, "supb", b["id"], "reject").status_code == 200
    # an ordinary check-in is not decided
    today_one = check_in(cw.client("wg2"), at=moment(today()), lon=106.35, lat=38.05).get_json()
    r = _decide(cw, "sup", today_one["id"])
    assert r.status_code == 409 and r.get_json()["error"] == "not_pending"


def test_bad_decisions_are_400_and_change_nothing(cw: CW) -> None:
    pending = _makeup(cw)
    c = cw.client("sup")
    for body, field in [
        ({"decision": "maybe"}, "decision"),
        ({"decision": "approve", "note": "好\u202e"}, "note"),
        ({"decision": "approve", "note": "\x07"}, "note"),
        ({"decision": "approve", "note": "长" * 100_000}, "note"),
        ({}, "decision"),
    ]:
        r = c.post(f"/api/v1/check-ins/{pending['id']}/decision", json=body)
        assert r.status_code == 400 and field in r.get_json()["fields"], (body, r.get_json())
    with cw.w.session() as db:
        row = db.get(CheckIn, pending["id"])
        assert row is not None and row.status == "pending" and row.decided_by_id is None


# --- the list ---------------------------------------------------------------------------------


def test_who_sees_which_check_ins(any_cw: CW) -> None:
    cw = any_cw
    ids = {
        "wg1": _makeup(cw, "wg1")["id"],
        "wg2": check_in(cw.client("wg2"), at=moment(today()), lon=106.35, lat=38.05)
        .get_json()["id"],
        "wg3": _makeup(cw, "wg3")["id"],
        "wgb": _makeup(cw, "wgb")["id"],
    }  # fmt: skip

    def seen(who: str, **params: str) -> set[int]:
        r = cw.client(who).get("/api/v1/check-ins", query_string=params)
        assert r.status_code == 200, r.get_json()
        return {item["id"] for item in r.get_json()["items"]}

    assert seen("wg1") == {ids["wg1"]}
    assert seen("wg0") == set()
    assert seen("sup") == {ids["wg1"], ids["wg2"], ids["wg3"]}
    assert seen("supt") == seen("supc") == {ids["wg1"], ids["wg2"]}
    assert seen("supt2") == {ids["wg3"]}
    assert seen("supb") == {ids["wgb"]}
    assert seen("sup", status="pending") == {ids["wg1"], ids["wg3"]}
    assert seen("sup", date=today().isoformat()) == {ids["wg2"]}
    assert seen("sup", worker_id=str(cw.id("wg3"))) == {ids["wg3"]}
    assert seen("wg1", worker_id=str(cw.id("wg3"))) == set()
    for who in ("disp", "dispt", "h1", "admin", "adminb"):
        assert cw.client(who).get("/api/v1/check-ins").status_code == 403, who
    assert cw.client("anon").get("/api/v1/check-ins").status_code == 401
    bad = cw.client("sup").get("/api/v1/check-ins", query_string={"status": "late"})
    assert bad.status_code == 400 and "status" in bad.get_json()["fields"]


def test_pages_of_the_list(cw: CW) -> None:
    for back in range(1, 6):
        _makeup(cw, back=back)
    c = cw.client("sup")
    first = c.get("/api/v1/check-ins", query_string={"limit": 2}).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    more = {"limit": 10, "cursor": first["next_cursor"]}
    rest = c.get("/api/v1/check-ins", query_string=more).get_json()
    assert len(rest["items"]) == 3 and rest["next_cursor"] is None
    days = [i["day"] for i in first["items"] + rest["items"]]
    assert len(set(days)) == 5


def test_grid_codes_elsewhere_do_not_leak(cw: CW) -> None:
    """A 补签 of county B, listed by its own supervisor, names its community only."""
    b = _makeup(cw, "wgb")
    with cw.w.session() as db:
        row = db.get(CheckIn, b["id"])
        assert row is not None and row.grid_code is None and row.county_id is not None
    assert GB and G3  # the grids of the other places exist (tests/workflow/world.py)


def test_a_check_in_made_offline_yesterday_is_that_days_check_in(any_cw: CW) -> None:
    """The phone checked in yesterday at 08:30 inside its grid with no signal; the outbox sends
    it today. It is yesterday's ordinary check-in (no reason asked, nothing to approve), held to
    the same rules: outside the grids it is refused as on the day."""
    c = any_cw.client("wg1")
    made = moment(days_ago(1), 8, 30)
    far = check_in(c, at=made, lon=IN_G3[0], lat=IN_G3[1])
    assert far.status_code == 422 and far.get_json()["error"] == "outside_grid"
    r = check_in(c, at=made, lon=IN_G1[0], lat=IN_G1[1], accuracy_m=10)
    assert r.status_code == 201, r.get_json()
    got = r.get_json()
    assert (got["status"], got["makeup"], got["late"]) == ("accepted", False, False)
    assert (got["day"], got["grid_code"]) == (days_ago(1).isoformat(), G1)
    assert got["received_at"] > got["at"]
    late = check_in(c, at=moment(days_ago(2), 9, 40), lon=IN_G1[0], lat=IN_G1[1])
    assert late.status_code == 201 and late.get_json()["late"] is True
