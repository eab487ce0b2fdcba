"""What an outside attacker found in base data, each kept fixed: a built-in sensitive kind made
plain, a stale edit as an oracle for the clear phone or identity number, a duplicate as an
existence oracle across counties, a full birth date beside the mask, invisible reasons, reads
that were not logged, concurrent life events, and the smaller ones (unknown fields, phones,
limits, bidi controls, numbers in free text)."""

from __future__ import annotations

import logging
import threading
import uuid
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select

from server.models import KeyGroupKindRow, LifeEvent, Resident
from server.usecases.personal_data import normalise_phone
from tests.base_data.test_api import BW, client, reads
from tests.base_data.world import credit_code, id_number, seed
from tests.support import at_once
from tests.workflow.world import G1, build, widen

K = "/api/v1/base/kinds"


def _kind(w: Any, code: str) -> tuple[int, int]:
    with w.session() as db:
        kind = db.scalar(select(KeyGroupKindRow).where(KeyGroupKindRow.code == code))
        assert kind is not None
        return kind.id, kind.version


def test_a_builtin_sensitive_kind_stays_sensitive_and_kind_changes_are_logged(
    any_bw: BW, caplog: pytest.LogCaptureFixture
) -> None:
    w, base = any_bw
    admin = client(w, "admin")
    kid, version = _kind(w, "community_correction")
    with caplog.at_level(logging.INFO, logger="wangge.admin"):
        lowered = admin.patch(f"{K}/{kid}", json={"base_version": version, "sensitive": False})
        assert lowered.status_code == 409, lowered.get_json()
        assert lowered.get_json()["error"] == "builtin_sensitive"
        assert "sensitive" in lowered.get_json()["fields"]
        assert _kind(w, "community_correction") == (kid, version)
        # County dispatchers still do not see the tag.
        seen = client(w, "disp").get(f"/api/v1/base/residents/{base.residents['G1']}")
        tags = {t["kind_code"] for t in seen.get_json()["resident"]["tags"]}
        assert "community_correction" not in tags
        renamed = admin.patch(f"{K}/{kid}", json={"base_version": version, "name": "社区矫正"})
        assert renamed.status_code == 200 and renamed.get_json()["kind"]["sensitive"] is True
    lines = [r.getMessage() for r in caplog.records if r.name == "wangge.admin"]
    assert any("community_correction" in m and "refused" in m for m in lines), lines
    assert any("updated key-group kind" in m and "社区矫正" in m for m in lines), lines


def test_a_stale_edit_is_no_oracle_for_the_phone_or_identity_number(
    any_bw: BW, caplog: pytest.LogCaptureFixture
) -> None:
    w, base = any_bw
    rid = base.residents["G1"]
    wg1 = client(w, "wg1")
    v = wg1.get(f"/api/v1/base/residents/{rid}").get_json()["resident"]["version"]
    moved = wg1.patch(f"/api/v1/base/residents/{rid}", json={"base_version": v, "name": "张改"})
    assert moved.status_code == 200
    path = f"/api/v1/base/residents/{rid}"
    with caplog.at_level(logging.WARNING, logger="wangge.base"):
        for field, true, false in (
            ("phone", base.phones["G1"], "13900000000"),
            ("id_number", base.id_numbers["G1"], id_number(333)),
        ):
            answers = {
                wg1.patch(path, json={"base_version": v, field: value}).status_code
                for value in (true, false)
            }
            assert answers == {409}, (field, answers)
    lines = [r.getMessage() for r in caplog.records if r.name == "wangge.base"]
    assert sum(f"resident {rid}" in m for m in lines) == 4, lines
    # A re-sent edit of plain fields only is still no conflict.
    same = wg1.patch(path, json={"base_version": v, "name": "张改"})
    assert same.status_code == 200 and same.get_json()["resident"]["version"] == v + 1


def _user_id(w: Any, who: str) -> int:
    with w.session() as db:
        return int(w.actor(db, who).id)


def test_a_duplicate_elsewhere_is_logged_and_says_nothing_of_the_other_record(
    any_bw: BW, caplog: pytest.LogCaptureFixture
) -> None:
    w, base = any_bw
    wg1, me = client(w, "wg1"), _user_id(w, "wg1")
    foreign, mine = base.residents["GB"], base.residents["G1"]
    body = {"uuid": str(uuid.uuid4()), "name": "某", "household_id": base.households["G1"]}
    before = reads(w, resident_id=foreign, purpose="search", actor_id=me)
    with caplog.at_level(logging.WARNING, logger="wangge.base"):
        dup = wg1.post("/api/v1/base/residents", json={**body, "id_number": base.id_numbers["GB"]})
        assert dup.status_code == 409 and dup.get_json()["error"] == "duplicate_id_number"
        patched = wg1.patch(
            f"/api/v1/base/residents/{mine}",
            json={"base_version": 1, "id_number": base.id_numbers["GB"]},
        )
        assert patched.status_code == 409 and patched.get_json()["error"] == "duplicate_id_number"
        org = wg1.post(
            "/api/v1/base/organisations",
            json={"uuid": str(uuid.uuid4()), "name": "某公司", "credit_code": credit_code(4),
                  "grid_code": G1},
        )  # fmt: skip
        assert org.status_code == 409, org.get_json()
    # The answers say nothing about the other record: no id, no place, no name.
    again = {**body, "uuid": str(uuid.uuid4()), "id_number": base.id_numbers["G1"]}
    local = wg1.post("/api/v1/base/residents", json=again)
    assert local.get_json()["resident_id"] == mine
    for answer in (dup, patched):
        got = answer.get_json()
        assert set(got) == set(local.get_json()) - {"resident_id"}, got
        assert got["message"] == local.get_json()["message"]
        text = answer.get_data(as_text=True)
        assert str(foreign) not in text.replace(str(mine), "") and "张GB" not in text
    assert set(org.get_json()) <= {"error", "message", "fields"}
    # Each attempt is a logged search that found the other county's resident.
    assert reads(w, resident_id=foreign, purpose="search", actor_id=me) == before + 2
    assert _resident_version(w, mine) == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "wangge.base"]
    assert sum(f"resident {foreign} outside" in m for m in lines) == 2, lines
    assert any(f"organisation {base.organisations['GB']} (outside" in m for m in lines), lines


def _resident_version(w: Any, rid: int) -> int:
    with w.session() as db:
        row = db.get(Resident, rid)
        assert row is not None
        return int(row.version)


def test_masked_answers_give_the_birth_year_not_the_date(bw: BW) -> None:
    w, base = bw
    rid, hid = base.residents["G1"], base.households["G1"]
    wg1 = client(w, "wg1")
    answers = [
        wg1.get(f"/api/v1/base/residents/{rid}"),
        wg1.get("/api/v1/base/residents?limit=50"),
        wg1.get(f"/api/v1/base/households/{hid}"),
        wg1.get("/api/v1/base/offline"),
        wg1.get("/api/v1/base/visits/due"),
        wg1.get("/api/v1/base/level-requests"),
        wg1.patch(f"/api/v1/base/residents/{rid}", json={"base_version": 0, "name": "某"}),
        wg1.post(
            "/api/v1/base/residents",
            json={
                "uuid": str(uuid.uuid4()),
                "name": "新",
                "id_number": id_number(919),
                "household_id": hid,
            },
        ),
    ]
    for resp in answers:
        assert resp.status_code in (200, 201, 409), resp.get_json()
        text = resp.get_data(as_text=True)
        assert "1950-03-04" not in text and "19500304" not in text, text[:300]
    assert answers[0].get_json()["resident"]["birth_year"] == 1950


@pytest.mark.parametrize(
    "why", ["\u200b\u200b", "\u00ad\u00ad", "..", " \u202e\u2066 ", "a\u200b", "\u3164\u3164"]
)
def test_a_reason_needs_two_visible_letters(bw: BW, why: str) -> None:
    w, base = bw
    rid = base.residents["G1"]
    wg1 = client(w, "wg1")
    before = reads(w, resident_id=rid, purpose="reveal")
    resp = wg1.post(
        f"/api/v1/base/residents/{rid}/reveal", json={"reason": why, "fields": ["phone"]}
    )
    # bidi controls are refused as such before their (lack of) letters are counted
    refused = {"reason_required"} if "\u202e" not in why else {"validation_failed"}
    assert resp.status_code == 400 and resp.get_json()["error"] in refused, resp.get_json()
    assert "reason" in resp.get_json()["fields"]
    assert base.phones["G1"] not in resp.get_data(as_text=True)
    assert reads(w, resident_id=rid, purpose="reveal") == before
    asked = wg1.post(
        f"/api/v1/base/tags/{base.tags['G1']}/level-requests", json={"to_level": 1, "reason": why}
    )
    assert asked.status_code == 400 and asked.get_json()["error"] in refused
    ok = wg1.post(
        f"/api/v1/base/residents/{rid}/reveal", json={"reason": "核对", "fields": ["phone"]}
    )
    assert ok.status_code == 200 and ok.get_json()["phone"] == base.phones["G1"]


def test_visits_due_and_level_requests_log_the_people_they_name(bw: BW) -> None:
    w, base = bw
    rid = base.residents["G1"]
    sup = client(w, "sup")
    asked = client(w, "wg1").post(
        f"/api/v1/base/tags/{base.tags['G1']}/level-requests",
        json={"to_level": 1, "reason": "独居且患病"},
    )
    assert asked.status_code == 201
    for path, endpoint in (
        ("/api/v1/base/visits/due", "base.visits_due"),
        ("/api/v1/base/level-requests", "base.list_level_requests"),
    ):
        before = reads(w, resident_id=rid, purpose="list", endpoint=endpoint)
        resp = sup.get(path)
        assert resp.status_code == 200 and "张G1" in resp.get_data(as_text=True)
        # One row per person named, however many of their tags are listed.
        assert reads(w, resident_id=rid, purpose="list", endpoint=endpoint) == before + 1, path
        assert reads(w, resident_id=base.residents["GB"], endpoint=endpoint) == 0


@pytest.mark.parametrize("kind", ["move_out", "death"])
def test_concurrent_life_events_on_postgres(pg_app: Any, kind: str) -> None:
    """A real race: ten events on one person at once; exactly one is recorded."""
    w = widen(build(pg_app))
    base = seed(w)
    rid = base.residents["G1"]
    clients = [client(w, "disp") for _ in range(10)]
    barrier = threading.Barrier(len(clients))
    results: list[tuple[int, str | None]] = []

    def go(c: Any) -> None:
        barrier.wait()
        resp = c.post(
            f"/api/v1/base/residents/{rid}/events", json={"uuid": str(uuid.uuid4()), "kind": kind}
        )
        results.append((resp.status_code, (resp.get_json() or {}).get("error")))

    threads = [threading.Thread(target=go, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str) == [(201, None)] + [(409, "event_not_allowed")] * 9, results
    with w.session() as db:
        n = db.scalar(
            select(func.count())
            .select_from(LifeEvent)
            .where(LifeEvent.resident_id == rid, LifeEvent.kind == kind)
        )
        assert n == 1
        row = db.get(Resident, rid)
        assert row is not None and row.version == 2


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("+86 139-0000-0785", "13900000785"),
        ("0086 13900000785", "13900000785"),
        ("139 0000 0785", "13900000785"),
        ("+44 20 7946 0000", "+442079460000"),
        ("0951-1234567", "09511234567"),
    ],
)
def test_phones_are_normalised_the_same_on_store_and_search(given: str, stored: str) -> None:
    assert normalise_phone(given) == stored


def test_a_phone_stored_with_86_is_found_without_and_limits_stop_at_200(any_bw: BW) -> None:
    w, base = any_bw
    rid = base.residents["G1"]
    wg1 = client(w, "wg1")
    saved = wg1.patch(
        f"/api/v1/base/residents/{rid}", json={"base_version": 1, "phone": "+86 139-0000-0785"}
    )
    assert saved.status_code == 200 and saved.get_json()["resident"]["phone"] == "139****0785"
    for asked in ("13900000785", "+8613900000785", "139 0000 0785"):
        found = wg1.get("/api/v1/base/residents", query_string={"phone": asked}).get_json()
        assert [r["id"] for r in found["items"]] == [rid], asked
    shown = wg1.post(
        f"/api/v1/base/residents/{rid}/reveal", json={"reason": "核对电话", "fields": ["phone"]}
    )
    assert shown.get_json()["phone"] == "13900000785"
    assert wg1.get("/api/v1/base/residents?limit=200").status_code == 200
    too_many = wg1.get("/api/v1/base/residents?limit=201")
    assert too_many.status_code == 400 and "limit" in too_many.get_json()["fields"]


def test_numbers_written_in_free_text_are_masked_in_answers(bw: BW) -> None:
    w, base = bw
    wg1 = client(w, "wg1")
    number, phone = base.id_numbers["G1"], "13900000785"
    note = f"其子身份证{number}，电话 +86 139-0000-0785 / {phone}；门牌 12345678901234567890"
    made = wg1.post(
        "/api/v1/base/visits",
        json={"uuid": str(uuid.uuid4()), "resident_id": base.residents["G1"], "note": note,
              "findings": f"联系 {phone}"},
    )  # fmt: skip
    assert made.status_code == 201, made.get_json()
    listed = wg1.get(f"/api/v1/base/visits?resident={base.residents['G1']}")
    for resp in (made, listed):
        text = resp.get_data(as_text=True)
        assert number not in text and phone not in text and "0000-0785" not in text
        assert number[:4] + "*" * 10 + number[-4:] in text and "139****0785" in text
        assert "12345678901234567890" in text  # not a number of a person: left alone


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/base/residents", {"uuid": "U", "name": "某", "id_number": "N"}),
        ("patch", "/api/v1/base/residents/R", {"base_version": 1}),
        ("post", "/api/v1/base/visits", {"uuid": "U", "resident_id": "R"}),
        ("post", "/api/v1/base/residents/R/events", {"uuid": "U", "kind": "move_out"}),
        ("patch", "/api/v1/base/households/H", {"base_version": 1}),
    ],
)
def test_unknown_fields_are_refused(bw: BW, method: str, path: str, body: dict[str, Any]) -> None:
    w, base = bw
    rid = base.residents["G1"]
    fill = {"U": str(uuid.uuid4()), "N": id_number(929), "R": rid}
    body = {k: fill.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    path = path.replace("/R", f"/{rid}").replace("/H", f"/{base.households['G1']}")
    resp = getattr(client(w, "wg1"), method)(path, json={**body, "is_admin": True})
    assert resp.status_code == 400, resp.get_json()
    assert "is_admin" in resp.get_json()["fields"]
    assert _resident_version(w, rid) == 1


@pytest.mark.parametrize(
    "bad", ["张三\u202emoc.live", "\u2066李四\u2069", "王\u200f五", "赵\t六", "钱\x1b七"]
)
def test_names_refuse_control_and_bidi_characters(bw: BW, bad: str) -> None:
    w, base = bw
    wg1 = client(w, "wg1")
    made = wg1.post(
        "/api/v1/base/residents",
        json={"uuid": str(uuid.uuid4()), "name": bad, "id_number": id_number(939),
              "household_id": base.households["G1"]},
    )  # fmt: skip
    assert made.status_code == 400 and "name" in made.get_json()["fields"], made.get_json()
    edit = wg1.patch(
        f"/api/v1/base/residents/{base.residents['G1']}", json={"base_version": 1, "name": bad}
    )
    assert edit.status_code == 400 and "name" in edit.get_json()["fields"]
    org = wg1.patch(
        f"/api/v1/base/organisations/{base.organisations['G1']}",
        json={"base_version": 1, "contact_name": bad},
    )
    assert org.status_code == 400 and "contact_name" in org.get_json()["fields"]


@pytest.mark.parametrize("why", ["\u202e核对电话", "核对\u001b[31m电话", "核对\u2066电话"])
def test_a_reason_with_control_characters_is_refused_and_logs_nothing(bw: BW, why: str) -> None:
    """A reason goes to the access log as written: a bidi override turns it around on screen,
    ESC colours a terminal. Refused, nothing revealed, nothing logged (outside tester)."""
    w, base = bw
    rid = base.residents["G1"]
    wg1 = client(w, "wg1")
    before = reads(w, resident_id=rid, purpose="reveal")
    resp = wg1.post(
        f"/api/v1/base/residents/{rid}/reveal", json={"reason": why, "fields": ["phone"]}
    )
    assert resp.status_code == 400 and "reason" in resp.get_json()["fields"], resp.get_json()
    assert base.phones["G1"] not in resp.get_data(as_text=True)
    assert reads(w, resident_id=rid, purpose="reveal") == before
    lines = wg1.post(
        f"/api/v1/base/residents/{rid}/reveal", json={"reason": "核对\n电话", "fields": ["phone"]}
    )
    assert lines.status_code == 200, lines.get_json()


def test_a_named_grid_and_a_point_in_another_town_are_refused(any_bw: BW) -> None:
    """An outside tester put a place in their own grid with its point in another town's grid
    (it was kept as given: on the map where it is not kept, outside the jurisdiction that may
    edit it there). A named grid and a point must agree on the town; a roster grid that differs
    from the polygon's within the town is kept (borders of plans are drawn roughly)."""
    from server.models import Organisation, Place
    from tests.workflow.world import G1, IN_G2, IN_G3, OUTSIDE

    w, _base = any_bw

    def rows() -> tuple[int, int]:
        with w.session() as db:
            return (
                db.scalar(select(func.count()).select_from(Place)) or 0,
                db.scalar(select(func.count()).select_from(Organisation)) or 0,
            )

    for who in ("wg1", "admin"):
        c = client(w, who)
        for path, key, kind in (
            ("/api/v1/base/places", "place", "estate"),
            ("/api/v1/base/organisations", "organisation", "enterprise"),
        ):
            before = rows()
            for lon, lat in (IN_G3, OUTSIDE):
                r = c.post(path, json={"uuid": str(uuid.uuid4()), "name": "错位", "kind": kind,
                                       "grid_code": G1, "lon": lon, "lat": lat})  # fmt: skip
                assert r.status_code == 400, (who, path, lon, r.get_json())
                assert r.get_json()["error"] == "point_elsewhere", r.get_json()
                assert "lon" in r.get_json()["fields"]
            assert rows() == before
            lon, lat = IN_G2  # the same town: the roster's grid is kept
            r = c.post(path, json={"uuid": str(uuid.uuid4()), "name": f"邻格{who}", "kind": kind,
                                   "grid_code": G1, "lon": lon, "lat": lat})  # fmt: skip
            assert r.status_code == 201, (who, path, r.get_json())
            assert r.get_json()[key]["grid_code"] == G1, r.get_json()


def test_visits_to_a_sensitive_group_member_are_not_listed_to_those_who_may_not_see_it(
    any_bw: BW,
) -> None:
    """An outside tester read the visits list as a county dispatcher and an admin: the visits of
    a 社区矫正对象 (resident id, times, findings), whose page hides the tag from them, gave the
    membership away (and, found next, the visits to their whole household). Those visits are
    not listed to them; the 综治 staff (grid worker, town dispatcher, supervisor) still see
    them; a visit to someone in no sensitive group is listed to all in jurisdiction."""
    w, base = any_bw
    wg1 = client(w, "wg1")
    person = {"uuid": str(uuid.uuid4()), "name": "普通", "id_number": id_number(951),
              "household_id": base.households["G1"], "relation": "other"}  # fmt: skip
    plain = wg1.post("/api/v1/base/residents", json=person)
    assert plain.status_code == 201, plain.get_json()
    made = wg1.post("/api/v1/base/visits", json={"uuid": str(uuid.uuid4()),
        "resident_id": plain.get_json()["resident"]["id"], "note": "走访"})  # fmt: skip
    assert made.status_code == 201, made.get_json()
    home = wg1.post("/api/v1/base/visits", json={"uuid": str(uuid.uuid4()),
        "household_id": base.households["G1"], "note": "入户"})  # fmt: skip
    assert home.status_code == 201, home.get_json()  # the household of a 社区矫正对象
    ordinary, sensitive = made.get_json()["visit"]["id"], base.visits["G1"]
    for who, sees_sensitive in (("wg1", True), ("dispt", True), ("sup", True),
                                ("disp", False), ("admin", False)):  # fmt: skip
        c = client(w, who)
        listed = {v["id"] for v in c.get("/api/v1/base/visits?limit=200").get_json()["items"]}
        assert ordinary in listed, who
        assert (sensitive in listed) is sees_sensitive, (who, listed)
        assert (home.get_json()["visit"]["id"] in listed) is sees_sensitive, (who, listed)
        rid = base.residents["G1"]
        by_resident = c.get(f"/api/v1/base/visits?resident={rid}").get_json()["items"]
        assert bool(by_resident) is sees_sensitive, (who, by_resident)


def test_a_footprint_in_another_town_is_refused_as_a_point_is(any_bw: BW) -> None:
    """Found next: only lon/lat were held to the grid's town; a footprint drawn in another
    county was kept, on create and on an edit of the footprint alone."""
    from tests.workflow.world import G1, IN_G1, IN_GB

    def square(lon: float, lat: float) -> dict[str, Any]:
        d = 0.0005
        ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
        return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}

    w, _base = any_bw
    c = client(w, "admin")
    far = c.post("/api/v1/base/places", json={"uuid": str(uuid.uuid4()), "kind": "estate",
        "name": "远处", "grid_code": G1, "footprint": square(*IN_GB)})  # fmt: skip
    assert far.status_code == 400 and far.get_json()["error"] == "point_elsewhere", far.get_json()
    made = c.post("/api/v1/base/places", json={"uuid": str(uuid.uuid4()), "kind": "estate",
        "name": "本地", "grid_code": G1, "footprint": square(*IN_G1)})  # fmt: skip
    assert made.status_code == 201, made.get_json()
    place = made.get_json()["place"]
    edit = {"base_version": place["version"], "footprint": square(*IN_GB)}
    moved = c.patch(f"/api/v1/base/places/{place['id']}", json=edit)
    assert moved.status_code == 400 and moved.get_json()["error"] == "point_elsewhere"
    again = c.get(f"/api/v1/base/places/{place['id']}").get_json()["place"]
    assert again["footprint"] == place["footprint"] and again["version"] == place["version"]


def test_a_kind_created_by_several_requests_at_once_is_created_once(any_bw: BW) -> None:
    """Six creations of one code at the same moment: one 201, the others the 409
    ``duplicate_code`` they get one after the other. Before, each saw the code free and the
    database's unique key answered a 500 (an outside audit: 14 of 30)."""
    w, _ = any_bw
    clients = [client(w, "admin") for _ in range(6)]
    for code in ("at_once_1", "at_once_2", "at_once_3"):
        body = {"code": code, "name": "同时", "levels": [{"level": 1, "cycle": "weekly"}]}
        answers = at_once([partial(c.post, K, json=body) for c in clients])
        codes = sorted((r.status_code, (r.get_json() or {}).get("error")) for r in answers)
        assert codes == [(201, None)] + [(409, "duplicate_code")] * 5, codes
