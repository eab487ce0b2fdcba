"""Reporting through the API: location, idempotency and bad input."""

from __future__ import annotations

import json
import uuid

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.models import Incident, IncidentEvent
from tests import factories as f
from tests.workflow.world import G1, IN_G1, IN_G2, OUTSIDE, World


def _client(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def _report(c: FlaskClient, **body: object) -> tuple[int, dict]:
    payload = {
        "uuid": str(uuid.uuid4()),
        "category_code": "0101",
        "description": "垃圾满溢",
        "lon": IN_G1[0],
        "lat": IN_G1[1],
    } | body
    r = c.post("/api/v1/cases", json=payload)
    return r.status_code, r.get_json()


def _count(w: World) -> tuple[int, int]:
    with w.session() as db:
        return (
            db.scalar(select(func.count(Incident.id))) or 0,
            db.scalar(select(func.count(IncidentEvent.id))) or 0,
        )


def test_report_locates_grid_and_replays(any_world: World) -> None:
    w = any_world
    c = _client(w, "wg1")
    key = str(uuid.uuid4())
    status, body = _report(c, uuid=key, accuracy_m=8)
    assert status == 201, body
    case = body["case"]
    assert case["grid"]["code"] == G1 and case["location_status"] == "inside"
    assert case["community"]["code"] == "640181001001" and case["state"] == "reported"
    assert case["number"].endswith(f"{case['id']:06d}")
    # The same UUID again (a retry from the outbox): same case, nothing new.
    same = {
        "uuid": key,
        "category_code": "0101",
        "description": "垃圾满溢",
        "lon": IN_G1[0],
        "lat": IN_G1[1],
        "accuracy_m": 8,
    }
    again = c.post("/api/v1/cases", json=same)
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
    assert again.get_json()["case"]["id"] == case["id"]
    assert _count(w) == (1, 1)
    # The same UUID with different content is a conflict.
    status, body = _report(c, uuid=key, description="另一件事")
    assert status == 409 and body["error"] == "idempotency_conflict"
    assert _count(w) == (1, 1)


@pytest.mark.parametrize(
    "changed",
    [
        {"accuracy_m": 80},
        {"device_time": "2026-11-01T08:00:00+08:00"},
        {"caller_name": "另一个人"},
        {"contact_email": "x@example.cn"},
        {"source": "console"},
    ],
)
def test_a_uuid_sent_with_other_stored_fields_is_a_conflict(
    world: World, changed: dict[str, object]
) -> None:
    """Every field the case stores tells a replay from a conflict: these five were left out,
    and another value under the same UUID was answered as the replay, the new value lost."""
    c = _client(world, "disp")
    first = {"uuid": str(uuid.uuid4()), "accuracy_m": 8, "source": "hotline",
             "device_time": "2026-11-01T09:00:00+08:00",
             "caller_name": "张先生", "contact_email": "z@example.cn"}  # fmt: skip
    status, body = _report(c, **first)
    assert status == 201, body
    assert _report(c, **first)[0] == 200
    status, body = _report(c, **(first | changed))
    assert status == 409 and body["error"] == "idempotency_conflict", body
    assert _count(world) == (1, 1)


def test_a_case_stored_under_the_first_content_rule_still_replays(world: World) -> None:
    """A case stored before the rule took in every field keeps the digest of the first rule; the
    phone sending it again gets its replay, not a 409."""
    from server.usecases.cases import REPORT_CONTENT_FIRST
    from server.usecases.idempotency import content_hash

    c = _client(world, "wg1")
    body = {"uuid": str(uuid.uuid4()), "category_code": "0101", "description": "垃圾满溢",
            "lon": IN_G1[0], "lat": IN_G1[1], "accuracy_m": 8}  # fmt: skip
    status, answer = _report(c, **body)
    assert status == 201
    with world.session() as db:
        case = db.get(Incident, answer["case"]["id"])
        assert case is not None
        case.content_hash = content_hash({k: body.get(k) for k in REPORT_CONTENT_FIRST})
        db.commit()
    status, again = _report(c, **body)
    assert status == 200 and again["case"]["id"] == answer["case"]["id"]
    assert _report(c, **(body | {"description": "另一件事"}))[0] == 409


def test_point_outside_every_grid_is_kept_and_flagged(world: World) -> None:
    c = _client(world, "wg1")
    status, body = _report(c, lon=OUTSIDE[0], lat=OUTSIDE[1])
    assert status == 201
    case = body["case"]
    assert case["location_status"] == "outside" and case["grid"] is None
    # It stays in the reporter's county, so the command centre sees it.
    d = _client(world, "disp")
    ids = [x["id"] for x in d.get("/api/v1/cases").get_json()["items"]]
    assert case["id"] in ids


def test_point_near_a_grid_goes_to_the_nearest(world: World) -> None:
    c = _client(world, "wg1")
    # 0.0002° of latitude ≈ 22 m south of G1's southern edge.
    status, body = _report(c, lon=IN_G1[0], lat=38.0 - 0.0002)
    assert status == 201
    assert body["case"]["location_status"] == "nearest" and body["case"]["grid"]["code"] == G1


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"category_code": "9999"}, "category_id", "unknown_category"),
        ({"category_code": None, "category_id": None}, "category_id", "validation_failed"),
        ({"lon": 2.35, "lat": 48.85}, "lon", "outside_china"),
        ({"lon": "east"}, "lon", "validation_failed"),
        ({"lon": None}, "lat", "validation_failed"),
        ({"description": "x" * 1_000_000}, "description", "too_long"),
        ({"uuid": "not-a-uuid"}, "uuid", "validation_failed"),
        ({"urgency": "now"}, "urgency", "validation_failed"),
        ({"photos": [str(uuid.uuid4())]}, "photos", "photo_missing"),
        ({"device_time": "yesterday"}, "device_time", "validation_failed"),
    ],
)
def test_bad_reports_are_clear_400s_and_store_nothing(
    world: World, body: dict, field: str, code: str
) -> None:
    c = _client(world, "wg1")
    status, answer = _report(c, **body)
    assert status == 400, answer
    assert answer["error"] == code
    assert field in answer.get("fields", {}), answer
    assert _count(world) == (0, 0)


def test_nan_coordinates_are_refused(world: World) -> None:
    c = _client(world, "wg1")
    raw = json.dumps(
        {"uuid": str(uuid.uuid4()), "category_code": "0101", "lon": float("nan"), "lat": 38.0}
    )
    r = c.post("/api/v1/cases", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "lon" in r.get_json()["fields"]
    assert _count(world) == (0, 0)


def test_retired_category_is_refused_with_a_clear_message(world: World) -> None:
    from server.models import Category

    with world.session() as db:
        cat = db.scalar(select(Category).where(Category.code == "0101"))
        assert cat is not None
        cat.active = False
        db.commit()
    status, body = _report(_client(world, "wg1"))
    assert status == 400 and body["error"] == "category_retired"


def test_roles_that_may_not_report(world: World) -> None:
    for who in ("h1", "sup"):
        status, body = _report(_client(world, who))
        assert status == 403, (who, body)
    assert _count(world) == (0, 0)


def test_each_role_files_with_its_own_sources_only(world: World) -> None:
    """A grid worker labelled a report "open311" (or "hotline"), skewing the by-source figures;
    the allowed sources per role are the table in server/domain/sources.py."""
    wg1, disp, admin = (_client(world, who) for who in ("wg1", "disp", "admin"))
    for c, source in (
        (wg1, "open311"),
        (wg1, "hotline"),
        (wg1, "console"),
        (disp, "open311"),
        (disp, "field"),
        (admin, "open311"),
    ):
        status, body = _report(c, source=source)
        assert status == 400, (source, body)
        assert body["error"] == "invalid_source" and "source" in body["fields"], body
        assert " / " in body["message"]
    assert _count(world) == (0, 0)
    for c, source, stored in (
        (wg1, None, "field"),
        (wg1, "field", "field"),
        (disp, None, "hotline"),
        (disp, "console", "console"),
        (admin, None, "console"),
    ):
        extra = {} if source is None else {"source": source}
        status, body = _report(c, **extra)
        assert status == 201 and body["case"]["source"] == stored, (source, body)


def test_hotline_intake_keeps_caller_and_masks_phone_for_others(world: World) -> None:
    d = _client(world, "disp")
    status, body = _report(
        d, caller_name="王先生", caller_phone="13812345678", lon=IN_G2[0], lat=IN_G2[1]
    )
    assert status == 201
    case = body["case"]
    assert case["source"] == "hotline" and case["caller_phone"] == "13812345678"
    sup = _client(world, "sup").get(f"/api/v1/cases/{case['id']}").get_json()["case"]
    assert sup["caller_phone"] == "138****5678" and sup["caller_name"] == "王**"


def test_self_handle_needs_a_photo_and_closes(world: World) -> None:
    c = _client(world, "wg1")
    status, body = _report(c, self_handle=True)
    assert status == 400 and body["fields"].keys() == {"photos"}
    status, body = _report(c, self_handle=True, photos=[world.photo("wg1")])
    assert status == 201 and body["case"]["state"] == "closed" and body["case"]["self_handled"]
    assert len(c.get(f"/api/v1/cases/{body['case']['id']}").get_json()["photos"]) == 1


def test_possible_duplicates_are_suggested_to_the_dispatcher(world: World) -> None:
    a = world.report(where=(106.3000, 38.0500))
    b = world.report(where=(106.3002, 38.0501))  # ~20 m away, same category
    far = world.report(where=(106.3100, 38.0500))  # ~900 m away
    other = world.report(where=(106.3001, 38.0500), category_code="0301")
    d = _client(world, "disp")
    dups = [x["id"] for x in d.get(f"/api/v1/cases/{b}").get_json()["duplicates"]]
    assert dups == [a]
    assert far not in dups and other not in dups
    # Merge: reject as a duplicate of the first.
    r = d.post(
        f"/api/v1/cases/{b}/actions",
        json={
            "uuid": str(uuid.uuid4()),
            "action": "reject",
            "reason": "重复上报",
            "duplicate_of": a,
        },
    )
    assert r.status_code == 200 and r.get_json()["case"]["duplicate_of"] == a
    # The merged case is no target: merging into it (a chain) or back (a cycle: b into a, then
    # a into b, left both rejected) would leave nothing open for the incident.
    c = world.report(where=(106.3001, 38.0501))
    for case_id, target in ((a, b), (c, b)):
        r = d.post(
            f"/api/v1/cases/{case_id}/actions",
            json={"uuid": str(uuid.uuid4()), "action": "reject", "reason": "重复",
                  "duplicate_of": target},
        )  # fmt: skip
        assert r.status_code == 400, r.get_json()
        assert r.get_json()["fields"] == {"duplicate_of": "not_open"}
    assert d.get(f"/api/v1/cases/{a}").get_json()["case"]["state"] != "rejected"
    # Grid workers are not shown the suggestions.
    assert _client(world, "wg1").get(f"/api/v1/cases/{b}").get_json()["duplicates"] == []


def test_two_cases_merged_into_each_other_at_once_leave_one_open(any_world: World) -> None:
    """A into B and B into A at the same moment (two dispatchers, or two tabs): one merge
    wins, the other is 400 ``not_open``, and one case stays open for the incident. Before,
    each request saw the other case open and both were rejected (an outside audit: 8 of 8
    pairs), nothing left to handle."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    w = any_world

    def merge(client: FlaskClient, gate: Barrier, case_id: int, into: int) -> int:
        body = {"uuid": str(uuid.uuid4()), "action": "reject", "reason": "重复",
                "duplicate_of": into}  # fmt: skip
        gate.wait()
        return client.post(f"/api/v1/cases/{case_id}/actions", json=body).status_code

    for _ in range(4):
        a = w.report(where=(106.3000, 38.0500))
        b = w.report(where=(106.3002, 38.0501))
        gate = Barrier(2)
        with ThreadPoolExecutor(2) as pool:
            runs = [pool.submit(merge, _client(w, "disp"), gate, x, y) for x, y in ((a, b), (b, a))]
            codes = sorted(r.result() for r in runs)
        assert codes == [200, 400]
        with w.session() as db:
            states = [db.get(Incident, x).state for x in (a, b)]  # type: ignore[union-attr]
        assert states.count("rejected") == 1, states


def test_case_keeps_its_grid_when_a_new_plan_is_published(world: World) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    from geo.problems import ValidationReport
    from server.models import Grid
    from server.usecases.grid_plan_versions import PlanCheck, publish, store_plan

    cid = world.report()
    with world.session() as db:
        old_grid = db.get(Incident, cid).grid_id  # type: ignore[union-attr]
        # Version 2: the community is one grid now.
        grids = gpd.GeoDataFrame(
            {"code": ["640181001001003"]},
            geometry=[box(106.25, 38.0, 106.40, 38.10)],
            crs="EPSG:4326",
        )
        publish(db, store_plan(db, PlanCheck(grids, None, ValidationReport(1), "v2")))
        db.commit()
        assert db.get(Incident, cid).grid_id == old_grid  # type: ignore[union-attr]
        assert db.get(Grid, old_grid).valid_to is not None  # type: ignore[union-attr]
    new = world.report()
    with world.session() as db:
        assert db.get(Incident, new).grid_code == "640181001001003"  # type: ignore[union-attr]


def test_a_report_with_an_actions_uuid_is_a_conflict(any_world: World) -> None:
    """Reports and actions share one UUID space (a report's event carries the case's UUID;
    ``incident_events.uuid`` is unique): a report sent with an action's UUID is the UUID reused
    for other content, a 409, not a 500 the field app would retry for ever."""
    w = any_world
    cid = w.report("wg1")
    c = _client(w, "disp")
    taken = str(uuid.uuid4())
    r = c.post(f"/api/v1/cases/{cid}/actions", json={"uuid": taken, "action": "accept"})
    assert r.status_code == 200, r.get_json()
    before = _count(w)
    for who in ("disp", "wg1"):  # the action's author, and someone else
        status, body = _report(_client(w, who), uuid=taken)
        assert status == 409, (who, body)
        assert body["error"] == "idempotency_conflict" and "case" not in body, body
    assert _count(w) == before
