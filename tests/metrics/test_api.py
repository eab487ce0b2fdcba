"""/api/v1/metrics: answers, drill-down, scorecards, exports, bad input and jurisdiction."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from server.domain import metric_definitions as md
from server.domain import scorecards as scoring
from tests import factories
from tests.metrics.support import World, session
from tests.metrics.test_worked_examples import EXPECTED_TOTAL, build_example

BASE = "/api/v1/metrics"
Q = "from=2026-11-01&to=2026-11-30&as_of=2026-11-20T12:00:00%2B08:00"


@pytest.fixture
def example(sapp: Flask, world: World) -> dict[str, int]:
    return build_example(sapp, world)


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    factories.login(client, username)
    return client


def _get(client: FlaskClient, path: str, status: int = 200) -> Any:
    resp = client.get(path)
    assert resp.status_code == status, (path, resp.status_code, resp.get_data(as_text=True))
    return resp.get_json()


def test_signed_out_is_401(sapp: Flask) -> None:
    assert sapp.test_client().get(f"{BASE}?{Q}").status_code == 401


def test_the_answer(sapp: Flask, world: World, example: dict[str, int]) -> None:
    body = _get(_client(sapp, "supervisor"), f"{BASE}?{Q}&by=town")
    assert body["period"] == {"from": "2026-11-01", "to": "2026-11-30"}
    assert body["as_of"] == "2026-11-20T04:00:00Z"
    assert body["scope"][0]["kind"] == "region" and body["scope"][0]["name"] == "灵武市"
    assert set(body["total"]) == set(md.METRIC_KEYS)
    for key, value in EXPECTED_TOTAL.items():
        assert body["total"][key] == pytest.approx(value, abs=1e-12)
    names = [g["label"]["name"] for g in body["groups"]]
    assert names == ["城区街道", "东塔镇"]
    assert body["groups"][0]["values"]["accepted"] == 8


def test_period_shortcut_and_date_as_of(sapp: Flask, world: World, example: dict[str, int]) -> None:
    c = _client(sapp, "supervisor")
    a = _get(c, f"{BASE}?period=2026-11&as_of=2026-11-20T12:00:00%2B08:00")
    b = _get(c, f"{BASE}?{Q}")
    assert a["total"] == b["total"]
    day = _get(c, f"{BASE}?period=2026-11&as_of=2026-11-19")  # the end of 11-19
    assert day["as_of"] == "2026-11-19T16:00:00Z"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("from=2026-11-30&to=2026-11-01", "invalid_period"),
        ("from=2026-11-01&to=2026-11-30&as_of=2999-01-01T00:00:00Z", "as_of_in_future"),
        ("from=2026-11-01&to=2026-11-30&as_of=yesterday", "invalid_as_of"),
        ("from=2026-13-01&to=2026-11-30", "invalid_date"),
        ("from=2026-11-01", "invalid_period"),
        ("period=2026-11&as_of=2026-10-15", "period_after_as_of"),
        ("period=2026-11&by=district", "invalid_by"),
        ("period=2026-11&scope=county:640181", "invalid_scope"),
        ("period=2026-11&scope=department:abc", "invalid_scope"),
        ("period=2026-11&group=5", "group_without_by"),
        ("from=2010-01-01&to=2026-11-20&by=week", "period_too_long"),
    ],
)
def test_bad_input_is_a_clear_400(sapp: Flask, world: World, query: str, code: str) -> None:
    body = _get(_client(sapp, "supervisor"), f"{BASE}?{query}", 400)
    assert body["error"] == code
    assert body["message"] and body["fields"]


def test_unknown_metric_and_parts(sapp: Flask, world: World) -> None:
    c = _client(sapp, "supervisor")
    assert _get(c, f"{BASE}/cases?{Q}&metric=happiness", 400)["error"] == "unknown_metric"
    assert _get(c, f"{BASE}/cases?{Q}", 400)["error"] == "unknown_metric"
    assert _get(c, f"{BASE}/cases?{Q}&metric=closed&part=denominator", 400)["error"] == (
        "invalid_part"
    )
    assert _get(c, f"{BASE}/cases?{Q}&metric=closed&limit=0", 400)["error"] == "validation_failed"


def test_drilldown_counts_are_the_numbers(
    sapp: Flask, world: World, example: dict[str, int]
) -> None:
    c = _client(sapp, "supervisor")
    body = _get(c, f"{BASE}?{Q}&by=department")
    for metric in ("closed", "dispatches", "overdue_open", "verified_on_time", "reworks"):
        d = _get(c, f"{BASE}/cases?{Q}&metric={metric}")
        assert d["count"] == body["total"][metric]
        assert all(i["number"] for i in d["items"])
    d = _get(c, f"{BASE}/cases?{Q}&metric=closure_rate&part=denominator")
    assert (d["counted"], d["count"]) == ("due", 7)
    cg = next(g for g in body["groups"] if g["label"].get("name") == "城管局")
    d = _get(c, f"{BASE}/cases?{Q}&metric=dispatches&by=department&group={cg['key']}")
    assert d["count"] == cg["values"]["dispatches"] == 6
    d = _get(c, f"{BASE}/cases?{Q}&metric=closed&by=department&group=none")
    assert d["count"] == 1  # F: self-handled, never dispatched
    page = _get(c, f"{BASE}/cases?{Q}&metric=accepted&limit=3&offset=3")
    assert page["total_items"] == 8 and len(page["items"]) == 3


def test_definitions(sapp: Flask, world: World) -> None:
    body = _get(_client(sapp, "supervisor"), f"{BASE}/definitions")
    assert [m["key"] for m in body["metrics"]] == list(md.METRIC_KEYS)
    assert {g["key"] for g in body["groupings"]} == set(md.GROUP_BYS)


# --- jurisdiction -----------------------------------------------------------------------------


def test_town_supervisor_sees_only_the_town(
    sapp: Flask, world: World, example: dict[str, int]
) -> None:
    c = _client(sapp, "town_sup")
    body = _get(c, f"{BASE}?{Q}")
    assert {s["code"] for s in body["scope"]} == {world.towns[0].code}
    assert body["total"]["accepted"] == 8  # every example case is in this town
    for scope in (
        f"region:{world.county.code}",
        f"region:{world.towns[1].code}",
        f"grid:{world.grids[-1]}",
        f"worker:{world.workers[-1].id}",
    ):
        assert _get(c, f"{BASE}?{Q}&scope={scope}", 403)["error"] == "outside_jurisdiction"
    assert _get(c, f"{BASE}?{Q}&scope=grid:{world.grids[0]}")["total"]["accepted"] == 8
    assert (
        _get(c, f"{BASE}?{Q}&scope=department:{world.departments['CG'].id}")["total"]["dispatches"]
        == 6
    )


def test_other_county_is_forbidden(sapp: Flask, world: World) -> None:
    c = _client(sapp, "other_sup")
    assert _get(c, f"{BASE}?{Q}&scope=region:{world.county.code}", 403)["error"] == (
        "outside_jurisdiction"
    )
    body = _get(c, f"{BASE}?{Q}")
    assert body["total"]["accepted"] == 0  # its own county, where nothing happened


def test_handler_sees_own_department_only(
    sapp: Flask, world: World, example: dict[str, int]
) -> None:
    c = _client(sapp, "handler")  # 城管局
    body = _get(c, f"{BASE}?{Q}")
    assert body["total"]["dispatches"] == 6 and body["total"]["reported"] is None
    other = world.departments["JT"].id
    assert _get(c, f"{BASE}?{Q}&scope=department:{other}", 403)["error"] == "outside_jurisdiction"
    assert _get(c, f"{BASE}?{Q}&scope=worker:{world.workers[0].id}", 403)["error"] == (
        "outside_jurisdiction"
    )
    assert _get(c, f"{BASE}/cases?{Q}&metric=dispatches")["count"] == 6


def test_grid_worker_sees_only_themselves(
    sapp: Flask, world: World, example: dict[str, int]
) -> None:
    me, other = world.workers[0], world.workers[1]
    c = _client(sapp, me.username)
    body = _get(c, f"{BASE}?{Q}")
    assert body["total"]["reported"] == 9 and body["total"]["verifications"] == 6
    assert _get(c, f"{BASE}?{Q}&scope=worker:{other.id}", 403)["error"] == "outside_jurisdiction"
    c2 = _client(sapp, other.username)
    assert _get(c2, f"{BASE}?{Q}")["total"]["reported"] == 0


def test_accounts_without_jurisdiction(sapp: Flask, world: World, example: dict[str, int]) -> None:
    db = session(sapp)
    factories.user(db, "lost_sup", "supervisor")
    factories.user(db, "lost_handler", "handler")
    db.commit()
    db.close()
    assert _get(_client(sapp, "lost_sup"), f"{BASE}?{Q}", 403)["error"] == "outside_jurisdiction"
    assert _get(_client(sapp, "lost_handler"), f"{BASE}?{Q}", 403)["error"] == (
        "outside_jurisdiction"
    )
    # an admin without a region sees everything
    assert _get(_client(sapp, "admin"), f"{BASE}?{Q}")["total"]["accepted"] == 8


# --- scorecards --------------------------------------------------------------------------------


def test_scorecards(sapp: Flask, world: World, example: dict[str, int]) -> None:
    c = _client(sapp, "supervisor")
    body = _get(c, f"{BASE}/scorecards?{Q}&kind=department")
    cg = next(i for i in body["items"] if i["subject"]["name"] == "城管局")
    assert (cg["score"], cg["grade"]) == (69.17, "C")
    ranks = [i["rank"] for i in body["items"]]
    ranked = [r for r in ranks if r is not None]
    assert ranked == sorted(ranked) and ranks[: len(ranked)] == ranked
    workers = _get(c, f"{BASE}/scorecards?{Q}&kind=worker")["items"]
    assert len(workers) == len(world.workers)  # every grid worker of the county has a card
    first = next(i for i in workers if i["subject"]["id"] == world.workers[0].id)
    assert first["figures"]["reported"] == 9 and first["rank"] == 1
    idle = next(i for i in workers if i["subject"]["id"] == world.workers[1].id)
    assert idle["score"] == 0 and idle["grade"] == "E"
    assert _get(c, f"{BASE}/scorecards?{Q}&kind=county", 400)["error"] == "invalid_kind"


def test_scorecard_config(sapp: Flask, world: World, example: dict[str, int]) -> None:
    sup, admin = _client(sapp, "supervisor"), _client(sapp, "admin")
    default = _get(sup, f"{BASE}/scorecards/config?kind=department")
    assert default == scoring.default_scorecard("department").to_json()
    new = {
        "indicators": [{"metric": "on_time_handling_rate", "mode": "rate", "weight": 1}],
        "grades": [{"grade": "优", "min": 80}, {"grade": "良", "min": 50}],
        "lowest": "差",
    }
    assert sup.put(f"{BASE}/scorecards/config?kind=department", json=new).status_code == 403
    resp = admin.put(f"{BASE}/scorecards/config?kind=department", json=new)
    assert resp.status_code == 200, resp.get_json()
    body = _get(sup, f"{BASE}/scorecards?{Q}&kind=department")
    cg = next(i for i in body["items"] if i["subject"]["name"] == "城管局")
    assert (cg["score"], cg["grade"]) == (50.0, "良")
    bad = {
        "indicators": [{"metric": "closure_rate", "mode": "target", "weight": -1}],
        "grades": [{"grade": "A", "min": 50}, {"grade": "B", "min": 70}],
    }
    resp = admin.put(f"{BASE}/scorecards/config?kind=department", json=bad)
    assert resp.status_code == 400
    fields = resp.get_json()["fields"]
    assert {"indicators[0].mode", "indicators[0].weight", "grades"} <= set(fields)
    # A weight past the sane range (0, or 0.01–100) is refused too: 1e308 made every
    # department score 0.00, grade E, all ranked 1.
    huge = {"indicators": [{"metric": "closure_rate", "mode": "rate", "weight": 1e308},
                           {"metric": "return_rate", "mode": "inverse", "weight": 1}]}  # fmt: skip
    resp = admin.put(f"{BASE}/scorecards/config?kind=department", json=huge)
    assert resp.status_code == 400 and "indicators[0].weight" in resp.get_json()["fields"]
    kept = _get(sup, f"{BASE}/scorecards/config?kind=department")["indicators"]
    assert [(i["metric"], i["weight"]) for i in kept] == [("on_time_handling_rate", 1)]
    assert admin.delete(f"{BASE}/scorecards/config?kind=department").status_code == 200
    assert _get(sup, f"{BASE}/scorecards/config?kind=department") == default


# --- exports -------------------------------------------------------------------------------------


def test_xlsx_export(sapp: Flask, world: World, example: dict[str, int]) -> None:
    resp = _client(sapp, "supervisor").get(f"{BASE}/export.xlsx?{Q}&by=town")
    assert resp.status_code == 200
    assert "spreadsheetml" in str(resp.mimetype)
    assert (
        'filename="wangge-metrics-2026-11-01-2026-11-30-by-town.xlsx"'
        in resp.headers["Content-Disposition"]
    )
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["指标", "指标口径"]
    ws = wb["指标"]
    rows = list(ws.iter_rows(values_only=True))
    header_i = next(n for n, r in enumerate(rows) if r[0] == "乡镇/街道")
    header = rows[header_i]
    assert "结案率(%)" in header and "平均处置时长(小时)" in header and "上报数" in header
    total = rows[-1]
    assert total[0] == "合计"
    assert total[header.index("结案率(%)")] == pytest.approx(5 / 7)
    assert total[header.index("立案数")] == 8
    defs = [r[0] for r in wb["指标口径"].iter_rows(min_row=2, values_only=True) if r[0]]
    assert [m.zh for m in md.METRICS] == defs[: len(md.METRICS)]
    # the scope in Chinese, not the API's kind name (issue 14 §3: "灵武市（region）")
    scope = next(r[1] for r in rows if r[0] == "统计范围")
    assert "（行政区划）" in scope and "region" not in scope, scope


def test_csv_export_has_a_bom(sapp: Flask, world: World, example: dict[str, int]) -> None:
    resp = _client(sapp, "supervisor").get(f"{BASE}/export.csv?{Q}&by=town")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    # one charset (an outside audit: "text/csv; charset=utf-8; charset=utf-8")
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["乡镇/街道", "编码", "上报数"]
    assert rows[-1][0] == "合计"
    assert rows[-1][rows[0].index("结案率(%)")] == "71.43"


def test_scorecard_export(sapp: Flask, world: World, example: dict[str, int]) -> None:
    resp = _client(sapp, "supervisor").get(f"{BASE}/export.xlsx?{Q}&report=department")
    wb = load_workbook(io.BytesIO(resp.data))
    rows = list(wb.active.iter_rows(values_only=True))  # type: ignore[union-attr]
    header = next(r for r in rows if r[0] == "排名")
    assert header[:4] == ("排名", "部门", "得分", "等级")
    assert any(r[1] == "城管局" and r[2] == 69.17 for r in rows)
    bad = _client(sapp, "supervisor").get(f"{BASE}/export.csv?{Q}&report=nope")
    assert bad.status_code == 400
