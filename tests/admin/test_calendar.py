"""The statutory calendar API, CLI and cache (issue 11): admins enter a year, every console role
reads it, bad input is a 400 naming the field, every change is in the trail, and deadlines and
metrics use the entered year. The 2027 dates are an invented example."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select, text

from server.domain.worktime import TimeLimit, deadline
from server.extensions import settings
from server.models import CalendarChange
from server.usecases import calendar as uc
from server.usecases.context import calendar_from
from tests import factories as f
from tests.admin.conftest import client_for
from tests.support import at_once
from tests.workflow.world import World

SH = ZoneInfo("Asia/Shanghai")
P = "/api/v1/calendar/2027"
YEAR_2027 = {
    "holidays": [{"date": f"2027-02-{d:02d}", "name": "春节"} for d in range(6, 13)]
    + [{"date": "2027-01-01", "name": "元旦"}],
    "workdays": [{"date": "2027-02-20", "name": "春节调休"}],
    "reason": "国办发明电〔2026〕X号 (example)",
}


def test_admin_enters_a_year_and_every_console_role_reads_it(any_world: World) -> None:
    admin = client_for(any_world, "admin")
    r = admin.get("/api/v1/calendar/2027")
    assert r.status_code == 200 and r.get_json()["source"] == "unknown"
    r = admin.put("/api/v1/calendar/2027", json=YEAR_2027)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["source"] == "database" and body["known"] is True
    assert body["holidays"][0] == {"date": "2027-01-01", "name": "元旦"}
    assert body["workdays"] == [{"date": "2027-02-20", "name": "春节调休"}]
    for who in ("disp", "sup", "h1"):
        r = client_for(any_world, who).get("/api/v1/calendar/2027")
        assert r.status_code == 200 and r.get_json()["holidays"] == body["holidays"], who
    r = client_for(any_world, "disp").get("/api/v1/calendar/2025")
    assert r.get_json()["source"] == "package"
    assert {"date": "2025-10-01", "name": "国庆节"} in r.get_json()["holidays"]


@pytest.mark.parametrize("who", ["wg1", "disp", "sup", "h1"])
def test_only_admins_change_it(any_world: World, who: str) -> None:
    c = client_for(any_world, who)
    assert c.put("/api/v1/calendar/2027", json=YEAR_2027).status_code == 403
    assert c.put("/api/v1/calendar/2027", json={"bad": 1}).status_code == 403  # role first
    data = {"file": (io.BytesIO(b"date,kind,name\n2027-01-01,holiday,x\n"), "y.csv"), "reason": "r"}
    assert c.post("/api/v1/calendar/2027/import", data=data).status_code == 403
    assert c.delete("/api/v1/calendar/2027", json={"reason": "r"}).status_code == 403


def test_grid_workers_and_strangers_do_not_read_it(any_world: World) -> None:
    assert client_for(any_world, "wg1").get("/api/v1/calendar/2027").status_code == 403
    assert client_for(any_world, "wg1").get("/api/v1/calendar").status_code == 403
    out = client_for(any_world, None)
    assert out.get("/api/v1/calendar/2027").status_code == 401
    assert out.get("/api/v1/calendar").status_code == 401
    assert out.put("/api/v1/calendar/2027", json=YEAR_2027).status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (P, {**YEAR_2027, "reason": ""}, "reason"),
        (P, {k: v for k, v in YEAR_2027.items() if k != "reason"}, "reason"),
        (P, {**YEAR_2027, "holidays": [{"date": "2028-01-01", "name": "元旦"}]},
         "holidays[0].date"),
        (P, {**YEAR_2027, "holidays": [{"date": "2027-13-01", "name": "x"}]},
         "holidays[0].date"),
        (P, {**YEAR_2027, "holidays": [{"date": 1800000000, "name": "x"}]},
         "holidays[0].date"),
        (P, {**YEAR_2027, "holidays": [{"date": "2027-02-20", "name": "x"}]},
         "workdays[0].date"),
        (P, {**YEAR_2027, "workdays": [{"date": "2027-02-08", "name": "x"}]},
         "workdays[0].date"),
        (P, {**YEAR_2027, "holidays": [{"date": "2027-02-08"}]},
         "holidays[0].name"),
        (P, {**YEAR_2027, "holidays": "2027-02-08"}, "holidays"),
        (P, {**YEAR_2027, "surprise": 1}, "surprise"),
        ("/api/v1/calendar/1999", YEAR_2027, "year"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field(
    any_world: World, path: str, body: object, field: str
) -> None:
    admin = client_for(any_world, "admin")
    r = admin.put(path, json=body)
    assert r.status_code == 400, r.get_json()
    assert field in r.get_json()["fields"], r.get_json()
    assert " / " in r.get_json()["message"]
    assert admin.get("/api/v1/calendar/2027").get_json()["source"] == "unknown"  # nothing saved


def test_a_year_beyond_any_id_is_not_found(any_world: World) -> None:
    admin = client_for(any_world, "admin")
    assert admin.get("/api/v1/calendar/99999999999999999999").status_code == 404
    r = admin.put("/api/v1/calendar/99999999999999999999", json=YEAR_2027)
    assert r.status_code in (404, 405) and r.is_json  # no such resource, never a 500


def test_malformed_json_is_a_400(any_world: World) -> None:
    admin = client_for(any_world, "admin")
    r = admin.put("/api/v1/calendar/2027", data="{", content_type="application/json")
    assert r.status_code == 400 and r.get_json()["error"] == "malformed_json"


def test_import_csv_and_json(any_world: World) -> None:
    admin = client_for(any_world, "admin")
    csv_file = "date,kind,name\n2027-02-06,holiday,春节\n2027-02-20,workday,春节调休\n"
    data = {"file": (io.BytesIO(csv_file.encode("utf-8-sig")), "2027.csv"), "reason": "通知"}
    r = admin.post("/api/v1/calendar/2027/import", data=data)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["workdays"] == [{"date": "2027-02-20", "name": "春节调休"}]
    days = [{"date": "2027-10-01", "kind": "holiday", "name": "国庆节"}]
    data = {"file": (io.BytesIO(json.dumps(days).encode()), "2027.json"), "reason": "更正"}
    r = admin.post("/api/v1/calendar/2027/import", data=data)
    assert r.status_code == 200 and r.get_json()["holidays"] == [
        {"date": "2027-10-01", "name": "国庆节"}
    ]
    bad = "date,kind,name\n2027-02-06,vacation,春节\n"
    data = {"file": (io.BytesIO(bad.encode()), "bad.csv"), "reason": "x"}
    r = admin.post("/api/v1/calendar/2027/import", data=data)
    assert r.status_code == 400 and "days[0].kind" in r.get_json()["fields"]
    data = {"file": (io.BytesIO(b"when,what\n"), "bad.csv"), "reason": "x"}
    r = admin.post("/api/v1/calendar/2027/import", data=data)
    assert r.status_code == 400 and "file" in r.get_json()["fields"]
    r = admin.post("/api/v1/calendar/2027/import", data={"reason": "x"})
    assert r.status_code == 400 and "file" in r.get_json()["fields"]
    data = {"file": (io.BytesIO(csv_file.encode()), "2027.csv")}
    r = admin.post("/api/v1/calendar/2027/import", data=data)
    assert r.status_code == 400 and "reason" in r.get_json()["fields"]


def test_every_change_is_in_the_trail(any_world: World) -> None:
    admin = client_for(any_world, "admin")
    assert admin.put("/api/v1/calendar/2027", json=YEAR_2027).status_code == 200
    second = {**YEAR_2027, "workdays": [], "reason": "调休取消 (example)"}
    assert admin.put("/api/v1/calendar/2027", json=second).status_code == 200
    r = admin.delete("/api/v1/calendar/2027", json={"reason": "录错了"})
    assert r.status_code == 200 and r.get_json()["source"] == "unknown"
    assert admin.delete("/api/v1/calendar/2027", json={"reason": "again"}).status_code == 404
    r = admin.delete("/api/v1/calendar/2025", json={"reason": "x"})
    assert r.status_code == 404  # a package year cannot be deleted, only replaced
    items = client_for(any_world, "disp").get("/api/v1/calendar/2027/changes").get_json()["items"]
    assert [i["action"] for i in items] == ["delete", "replace", "replace"]
    assert [i["reason"] for i in items] == ["录错了", "调休取消 (example)", YEAR_2027["reason"]]
    assert {i["actor_id"] for i in items} == {any_world.users["admin"]}
    assert items[1]["removed"] == ["2027-02-20 workday 春节调休"]
    assert items[2]["before"] is None and len(items[2]["added"]) == 9
    assert items[0]["after"] is None


def test_the_trail_is_append_only(any_world: World) -> None:
    admin = client_for(any_world, "admin")
    assert admin.put("/api/v1/calendar/2027", json=YEAR_2027).status_code == 200
    engine = any_world.app.extensions["wangge.engine"]
    for sql in ("UPDATE calendar_changes SET reason = 'forged'", "DELETE FROM calendar_changes"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    with f.session(any_world.app) as db:
        assert db.scalar(select(CalendarChange.reason)) == YEAR_2027["reason"]


def test_deadlines_and_metrics_use_the_entered_year(any_world: World) -> None:
    app = any_world.app
    start = datetime(2027, 2, 4, 10, tzinfo=SH)
    with app.app_context():
        cfg = settings()
        with f.session(app) as db:
            before = deadline(start, TimeLimit(2, "work_days"), calendar_from(
                cfg.office_hours, cfg.timezone, db))  # fmt: skip
        assert before == datetime(2027, 2, 8, 10, tzinfo=SH)  # Mon-Fri fallback
        assert (
            client_for(any_world, "admin").put("/api/v1/calendar/2027", json=YEAR_2027).status_code
            == 200
        )
        with f.session(app) as db:
            cal = calendar_from(cfg.office_hours, cfg.timezone, db)
            assert calendar_from(cfg.office_hours, cfg.timezone, db.connection()) is cal
            after = deadline(start, TimeLimit(2, "work_days"), cal)
        assert after == datetime(2027, 2, 15, 10, tzinfo=SH)


def test_a_change_by_another_process_is_seen_at_the_next_use(
    any_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No time-to-live: the calendar's cache epoch (moved by a trigger on any write to the
    calendar tables) tells every process, by session or by bare connection, at its next use."""
    app = any_world.app
    with f.session(app) as db:
        assert not uc.statutory_for(db).knows(2027)
        assert not uc.statutory_for(db.connection()).knows(2027)
    # Another process enters 2027: this one has not been told (no forget()).
    with f.session(app) as db:
        from server.domain.worktime import CalendarDay

        monkeypatch.setattr(uc, "forget", lambda: None)
        uc.replace_year(db, 2027, [CalendarDay(date(2027, 1, 1), "holiday", "元旦")],
                        reason="r", actor_name="other")  # fmt: skip
    with f.session(app) as db:
        assert uc.statutory_for(db).knows(2027)
    with f.session(app) as db:
        assert uc.statutory_for(db.connection()).knows(2027)


def test_overview_warns_from_november(any_world: World) -> None:
    app = any_world.app
    app.extensions["wangge.clock"] = lambda: datetime(2026, 10, 31, 12, tzinfo=UTC)
    disp = client_for(any_world, "disp")
    assert disp.get("/api/v1/calendar").get_json()["warnings"] == []
    app.extensions["wangge.clock"] = lambda: datetime(2026, 10, 31, 16, 30, tzinfo=UTC)  # 11-01 SH
    body = disp.get("/api/v1/calendar").get_json()
    assert body["today"] == "2026-11-01" and body["warnings"] == ["calendar: 2027 unknown"]
    assert {"year": 2027, "source": "unknown"} in body["years"]
    client_for(any_world, "admin").put("/api/v1/calendar/2027", json=YEAR_2027)
    body = disp.get("/api/v1/calendar").get_json()
    assert body["warnings"] == [] and {"year": 2027, "source": "database"} in body["years"]


def test_cli_show_import_status(app: Flask, tmp_path: object, world: World) -> None:
    from pathlib import Path

    runner = app.test_cli_runner()
    app.extensions["wangge.clock"] = lambda: datetime(2026, 11, 29, tzinfo=UTC)
    r = runner.invoke(args=["calendar", "status"])
    assert r.exit_code == 1 and "calendar: 2027 unknown" in r.output
    path = Path(str(tmp_path)) / "2027.csv"
    path.write_text("date,kind,name\n2027-02-06,holiday,春节\n2027-02-20,workday,调休\n")
    r = runner.invoke(args=["calendar", "import", "2027", str(path), "--reason", "通知"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(args=["calendar", "show", "2027"])
    assert "2027-02-06  holiday  春节" in r.output and "entered by an admin" in r.output
    assert runner.invoke(args=["calendar", "status"]).exit_code == 0
    path.write_text("date,kind,name\n2028-02-06,holiday,春节\n")
    r = runner.invoke(args=["calendar", "import", "2027", str(path), "--reason", "x"])
    assert r.exit_code == 1 and "holidays[0].date" in r.output
    with f.session(app) as db:
        assert db.scalar(select(CalendarChange.actor_name)).startswith("cli:")


NUL_YEAR = {
    "holidays": [{"date": "2030-01-01", "name": "元\u0000旦"}],
    "workdays": [],
    "reason": "a\u0000b",
}


def test_nul_characters_are_refused_by_json_and_by_file(any_world: World) -> None:
    """NUL (PostgreSQL refuses it in text: a 500 there) and unpaired surrogates are a 400
    naming the field, by the JSON body, an imported file and the import's reason."""
    admin = client_for(any_world, "admin")
    r = admin.put("/api/v1/calendar/2030", json=NUL_YEAR)
    assert r.status_code == 400, r.get_json()
    assert {"holidays[0].name", "reason"} <= set(r.get_json()["fields"]), r.get_json()
    for name in ("元\u0000旦", "元\ud800旦"):
        days = [{"date": "2030-01-01", "kind": "holiday", "name": name}]
        raw = json.dumps(days).encode()  # ASCII escapes: the file is valid UTF-8
        data = {"file": (io.BytesIO(raw), "c.json"), "reason": "通知"}
        r = admin.post("/api/v1/calendar/2030/import", data=data)
        assert r.status_code == 400, r.get_json()
        assert "days[0].name" in r.get_json()["fields"], r.get_json()
    days = [{"date": "2030-01-01", "kind": "holiday", "name": "元旦"}]
    data = {"file": (io.BytesIO(json.dumps(days).encode()), "c.json"), "reason": "a\u0000b"}
    r = admin.post("/api/v1/calendar/2030/import", data=data)
    assert r.status_code == 400 and "reason" in r.get_json()["fields"], r.get_json()
    assert admin.get("/api/v1/calendar/2030").get_json()["source"] == "unknown"  # nothing saved


@pytest.mark.parametrize("content", [b"[" * 100_000, b"{" * 100_000, b'{"days":' * 30_000])
def test_a_deeply_nested_file_is_a_400_naming_the_file(any_world: World, content: bytes) -> None:
    admin = client_for(any_world, "admin")
    data = {"file": (io.BytesIO(content), "c.json"), "reason": "通知"}
    r = admin.post("/api/v1/calendar/2030/import", data=data)
    assert r.status_code == 400, r.data[:300]
    assert "file" in r.get_json()["fields"] and "c.json" in r.get_json()["message"]


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"date,kind,name\n", "header.csv"),
        (b'"date","kind', "broken.csv"),
        (b"date,kind,name\n\n,,\n", "blank.csv"),
        (b"[]", "empty.json"),
        (b'{"days": []}', "days.json"),
    ],
)
def test_a_file_listing_no_day_is_a_400_and_changes_nothing(
    any_world: World, content: bytes, name: str
) -> None:
    """A header alone or a broken first line made the year `known` with no holidays: every day
    of it Monday to Friday, the unknown-year warning silenced. Now a 400 naming the file."""
    admin = client_for(any_world, "admin")
    data = {"file": (io.BytesIO(content), name), "reason": "通知"}
    r = admin.post("/api/v1/calendar/2027/import", data=data)
    assert r.status_code == 400, r.get_json()
    assert "file" in r.get_json()["fields"] and name in r.get_json()["message"], r.get_json()
    year = admin.get("/api/v1/calendar/2027").get_json()
    assert year["source"] == "unknown" and year["known"] is False
    assert admin.get("/api/v1/calendar/2027/changes").get_json()["items"] == []


def test_a_new_year_entered_by_several_requests_at_once_keeps_the_last(any_world: World) -> None:
    """Four PUTs of a year not entered yet, at the same moment: all 200, one after the other,
    the year as the last left it and four changes in the trail. Before, each saw no year and
    inserted it: a 500 on the duplicate key (an outside audit: 23 of 40)."""
    clients = [client_for(any_world, "admin") for _ in range(4)]
    for year in (2031, 2032, 2033):
        bodies = [
            {
                "holidays": [{"date": f"{year}-01-01", "name": f"元旦{i}"}],
                "workdays": [],
                "reason": f"通知{i}",
            }
            for i in range(4)
        ]
        answers = at_once(
            [
                partial(c.put, f"/api/v1/calendar/{year}", json=b)
                for c, b in zip(clients, bodies, strict=True)
            ]
        )
        assert [r.status_code for r in answers] == [200] * 4, [r.get_json() for r in answers]
        trail = clients[0].get(f"/api/v1/calendar/{year}/changes").get_json()["items"]
        assert len(trail) == 4
        # the year is what the last change (the trail's newest) entered
        shown = clients[0].get(f"/api/v1/calendar/{year}").get_json()
        assert shown["holidays"] == trail[0]["after"]["holidays"]
