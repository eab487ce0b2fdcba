"""A live app full of hostile strings, for the browser test of stored XSS (issue 11).

A private copy of the seeded app (tests/live.py), in the session's one Chromium. ``hostile`` stores
a payload in every field a user, an admin, a plan file or an Open311 client can write, through
the same APIs they use (plan upload, admin PATCHes, case reports and actions, Open311 POST), plus
region names (which come from imported boundary files) in the database.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import shapely

from server.demo import COUNTY
from tests.e2e_admin.plans import active_grids
from tests.live import Api, LiveServer


def payload(tag: str, *, short: bool = False, tiny: bool = False) -> str:
    """Markup that runs script if it is ever parsed as HTML (sets ``window.__xss`` to ``tag``),
    and a Vue expression that shows ``XSS49`` if it is ever compiled as a template. ``short``
    (≤ 100 characters) for names, ``tiny`` (≤ 50) for holiday names."""
    run = f"__xss='{tag}'"
    parts = [f"<img src=x onerror={run}>", "{{'XSS'+7*7}}"]
    if tiny:
        out = tag + "".join(parts)
        assert len(out) <= 50, len(out)
        return out
    parts.insert(1, f'"><svg onload="{run}">')
    if not short:
        parts += [
            f"'><script>{run}</script>",
            f"javascript:{run}//",
            f"<a href=javascript:{run}>a</a>",
        ]
    out = tag + "".join(parts)
    assert not short or len(out) <= 100, len(out)
    return out


@pytest.fixture(scope="session")
def live(e2e_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A private copy of the seeded app: ``hostile`` rewrites every name in it."""
    srv = LiveServer.copy_of(e2e_template, tmp_path_factory.mktemp("e2e") / "hostile").start()
    yield srv
    srv.stop()


@dataclass
class Hostile:
    live: LiveServer
    cases: dict[str, int] = field(default_factory=dict)  # what it is → case id
    open311_id: str = ""


def _sql(live: LiveServer, *statements: tuple[str, dict[str, Any]]) -> None:
    from sqlalchemy import text

    from server.db import make_engine

    engine = make_engine(live.database_url)
    try:
        with engine.begin() as conn:
            for sql, params in statements:
                conn.execute(text(sql), params)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def hostile(live: LiveServer, playwright: Any) -> Iterator[Hostile]:
    pw = playwright
    world = Hostile(live)
    admin = Api(pw, live.url, "admin")
    clients = [admin]
    try:
        # -- region names (from boundary files; no API writes them): towns and communities
        _sql(
            live,
            (
                "UPDATE regions SET name = :p || substr(code, -3)"
                " WHERE level IN ('town', 'community')",
                {"p": payload("region", short=True)[:90]},
            ),
        )
        # -- a plan file whose every grid name is hostile, uploaded and published by the admin
        grids = active_grids(live.database_url)
        features = [
            {
                "type": "Feature",
                "properties": {
                    "code": g["code"],
                    "name": payload("grid", short=True),
                    "kind": g["kind"],
                    "households": g["households"],
                },
                "geometry": json.loads(shapely.to_geojson(g["geom"])),
            }
            for g in grids
        ]
        plan = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
        admin.call(
            "POST",
            "/admin/plans",
            multipart={
                "file": {
                    "name": "hostile.geojson",
                    "mimeType": "application/geo+json",
                    "buffer": plan.encode(),
                },
                "publish": "1",
            },
        )
        # -- department, category and user names
        for d in admin.call("GET", "/admin/departments")["items"]:
            admin.call(
                "PATCH", f"/admin/departments/{d['id']}", {"name": payload("dep", short=True)}
            )
        for c in admin.call("GET", "/admin/categories")["items"]:
            admin.call(
                "PATCH", f"/admin/categories/{c['id']}", {"name": payload("cat", short=True)}
            )
        users = admin.call("GET", "/admin/users", params={"limit": 200})["items"]
        for u in users:
            admin.call(
                "PATCH", f"/admin/users/{u['id']}", {"display_name": payload("user", short=True)}
            )

        # -- the statutory calendar (names of holidays and adjusted working days, the reason)
        admin.call(
            "PUT",
            "/calendar/2027",
            {
                "holidays": [
                    {"date": "2027-01-01", "name": payload("hol1", tiny=True)},
                    {"date": "2027-02-08", "name": payload("hol2", tiny=True)},
                ],
                "workdays": [{"date": "2027-01-09", "name": payload("wday", tiny=True)}],
                "reason": payload("cal-reason"),
            },
        )

        # -- cases: a worker's report, a hotline call, actions with notes and reasons
        wgy = Api(pw, live.url, "wgy")
        ddy = Api(pw, live.url, "ddy")
        czry = Api(pw, live.url, "czry")
        clients += [wgy, ddy, czry]
        mine = wgy.call("GET", "/grids.geojson", params={"mine": 1})
        point = shapely.geometry.shape(mine["features"][0]["geometry"]).representative_point()
        report = wgy.call(
            "POST",
            "/cases",
            {
                "uuid": str(uuid.uuid4()),
                "category_code": "0101",
                "description": payload("desc"),
                "address": payload("addr"),
                "lon": round(point.x, 6),
                "lat": round(point.y, 6),
                "accuracy_m": 8,
            },
        )["case"]
        report = wgy.act(report, "comment", note=payload("comment"))
        report = ddy.act(report, "accept", note=payload("accept-note"))
        dep = next(
            d for d in admin.call("GET", "/admin/departments")["items"] if d.get("code") == "CGJ"
        )
        report = ddy.act(report, "dispatch", department_id=dep["id"], note=payload("dispatch"))
        report = czry.act(report, "sign", note=payload("sign-note"))
        report = czry.act(report, "request_extension", days=2, reason=payload("ext-reason"))
        czry.act(report, "comment", note=payload("handler-comment"))
        world.cases["dispatched"] = report["id"]

        call = ddy.call(
            "POST",
            "/cases",
            {
                "uuid": str(uuid.uuid4()),
                "category_code": "0101",
                "description": payload("hotline"),
                "address": payload("hotline-addr"),
                "caller_name": payload("caller", short=True),
                "caller_phone": "13800009999",
                "source": "hotline",
                "lon": round(point.x + 0.0001, 6),
                "lat": round(point.y, 6),
            },
        )["case"]
        ddy.act(call, "reject", reason=payload("reject"), note=payload("reject-note"))
        world.cases["rejected"] = call["id"]

        # -- Open311: a key from the CLI, a request with every free-text field hostile
        key = live.flask("open311", "create-key", "hostile-test", "--region", COUNTY[0])
        anon = pw.request.new_context(base_url=live.url)
        resp = anon.post(
            "/open311/v2/requests.json",
            form={
                "api_key": key,
                "service_code": "0101",
                "lat": str(round(point.y, 6)),
                "long": str(round(point.x - 0.0001, 6)),
                "address_string": payload("o311-addr"),
                "description": payload("o311-desc"),
                "first_name": payload("o311fn", short=True)[:50],
                "last_name": "<b onmouseover=__xss='o311ln'>ln</b>",
                "media_url": "https://example.cn/p.jpg?<img src=x onerror=__xss='media'>",
                "phone": "13812345678",
                "email": "x@example.cn",
                "account_id": "acct-1",
                "device_id": "dev-1",
            },
        )
        assert resp.ok, resp.text()
        world.open311_id = str(resp.json()[0].get("service_request_id") or "")
        anon.dispose()

        # -- every other case's description too, so any marker on a map is a hostile one
        _sql(
            live,
            (
                "UPDATE incidents SET description = :p || description",
                {"p": payload("old-desc")},
            ),
        )
        yield world
    finally:
        for c in clients:
            c.close()
