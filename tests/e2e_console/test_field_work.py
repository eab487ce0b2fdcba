"""外勤 / Field work in the console (issue 17, docs/field-work.md).

Everything is made through the API on the shared app: a new grid worker with a grid of one
community and a supervisor of that community (so no demo or other test's data is in their day);
the worker checks in, patrols with a track, reports a case and records a visit during the
patrol, and asks for a 补签 of yesterday. Then the supervisor's work log lists the worker, the
day page shows the track, the markers and the figures the server computed, a comment is added,
and the 补签 is approved from the approvals tab. The county's supervisor opening the same day is
told the track is not theirs to see (the work log is), and gets no map; a dispatcher is told
field work is the supervisors', and gets no map either.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e_console.conftest import PASSWORD, jpeg_bytes
from tests.e2e_console.english import EnglishGuard

pytestmark = pytest.mark.browser

COUNTY_TZ = ZoneInfo("Asia/Shanghai")


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def km(metres: float) -> str:
    """As the console writes it (format.ts kmText)."""
    k = max(0.0, metres) / 1000
    return f"{k:.2f}" if k < 10 else f"{k:.1f}"


def make_people(api_as: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A new grid worker on one grid of 网格员03's community, and a supervisor of that
    community. Returns (worker user, supervisor user, the grid's GeoJSON feature)."""
    grids = api_as("wgy03").get("/grids.geojson", mine=1)
    feature = grids["features"][0]
    code = feature["properties"]["code"]
    community = code[:12]
    county = code[:6] + "000000"
    admin = api_as("admin")
    tag = uuid.uuid4().hex[:6]
    worker = admin.post(
        "/admin/users",
        {
            "username": f"fw{tag}",
            "display_name": f"外勤测试{tag}",
            "role": "grid_worker",
            "password": PASSWORD,
            "region_code": county,
        },
    )["user"]
    admin.call(
        "PUT",
        f"/admin/users/{worker['id']}/grids",
        {"duties": [{"grid_code": code, "duty": "part_time"}]},
    )
    boss = admin.post(
        "/admin/users",
        {
            "username": f"fs{tag}",
            "display_name": f"社区督查{tag}",
            "role": "supervisor",
            "password": PASSWORD,
            "region_code": community,
        },
    )["user"]
    return worker, boss, feature


def watermarked_photo(api: Any, taken: datetime, lon: float, lat: float) -> str:
    """A photo uploaded as the field app does now: the capture moment and place stated, the
    watermark drawn on the phone."""
    key = str(uuid.uuid4())
    data = jpeg_bytes((200, 90, 40))
    api.post(
        "/uploads",
        {
            "uuid": key,
            "total_bytes": len(data),
            "filename": "p.jpg",
            "captured_at": iso(taken),
            "lon": round(lon, 6),
            "lat": round(lat, 6),
            "accuracy_m": 8,
            "watermarked": True,
        },
    )
    r = api.ctx.put(
        f"/api/v1/uploads/{key}?offset=0",
        data=data,
        headers={"X-CSRFToken": api.csrf, "Content-Type": "application/octet-stream"},
    )
    assert r.ok and r.json()["status"] == "ready", r.text()
    return key


def field_day(api_as: Any) -> dict[str, Any]:
    """A worker's day made through the API: a check-in, a patrol with a track round their grid,
    a case and a visit during it, the patrol ended, and a pending 补签 for yesterday."""
    from shapely.geometry import shape

    worker, boss, feature = make_people(api_as)
    me = api_as(worker["username"])
    poly = shape(feature["geometry"])
    if poly.geom_type == "MultiPolygon":  # a grid in pieces: walk round its largest
        poly = max(poly.geoms, key=lambda g: g.area)
    inside = poly.representative_point()
    c = poly.centroid
    now = datetime.now(UTC)
    today = now.astimezone(COUNTY_TZ).date().isoformat()
    start = now - timedelta(minutes=40)
    if start.astimezone(COUNTY_TZ).date().isoformat() != today:  # just after midnight
        start = now - timedelta(minutes=2)

    # check-in (today, inside the grid) and a 补签 for yesterday
    me.post(
        "/check-ins",
        {
            "uuid": str(uuid.uuid4()),
            "at": iso(start - timedelta(minutes=1)),
            "lon": round(inside.x, 6),
            "lat": round(inside.y, 6),
            "accuracy_m": 8,
        },
    )
    makeup = me.post(
        "/check-ins",
        {
            "uuid": str(uuid.uuid4()),
            "at": iso(now - timedelta(days=1)),
            "lon": round(inside.x, 6),
            "lat": round(inside.y, 6),
            "accuracy_m": 8,
            "reason": "手机没电，昨天未能签到",
        },
    )
    makeup = makeup.get("check_in", makeup)
    assert makeup["status"] == "pending", makeup

    # a patrol with a track: round the grid (its ring drawn in towards the centre), a point
    # every 30 s
    patrol_uuid = str(uuid.uuid4())
    me.post(
        "/patrols",
        {"uuid": patrol_uuid, "started_at": iso(start), "lon": inside.x, "lat": inside.y},
    )
    ring = poly.exterior
    span = (now - timedelta(seconds=30) - start).total_seconds()
    n = max(2, min(80, int(span // 30)))
    points = []
    for i in range(n):
        p = ring.interpolate(i / n, normalized=True)
        lon, lat = c.x + 0.8 * (p.x - c.x), c.y + 0.8 * (p.y - c.y)
        t = start + timedelta(seconds=10 + i * span / n)
        points.append([int(t.timestamp() * 1000), round(lon, 6), round(lat, 6), 8])
    chunk = me.post(
        f"/patrols/{patrol_uuid}/track",
        {"uuid": str(uuid.uuid4()), "seq": 0, "points": points},
    )
    assert chunk["accepted"] == n, chunk

    # a case and a visit during the patrol
    taken = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    case = me.post(
        "/cases",
        {
            "uuid": str(uuid.uuid4()),
            "category_code": "0101",
            "description": f"外勤测试 {worker['username']}：井盖缺失",
            "lon": round(inside.x, 6),
            "lat": round(inside.y, 6),
            "accuracy_m": 8,
            # one photo as today's app sends it (capture time, watermark drawn), one as an
            # old app did (neither)
            "photos": [watermarked_photo(me, taken, inside.x, inside.y), me.photo()],
            "device_time": iso(datetime.now(UTC)),
        },
    )["case"]
    residents = me.get("/base/residents", grid=feature["properties"]["code"], limit=1)["items"]
    assert residents, "the demo grid has residents"
    visit = me.post(
        "/base/visits",
        {
            "uuid": str(uuid.uuid4()),
            "resident_id": residents[0]["id"],
            "visited_at": iso(datetime.now(UTC)),
            "lon": round(inside.x + 0.0001, 6),
            "lat": round(inside.y + 0.0001, 6),
            "note": "走访测试",
        },
    )["visit"]
    ended = me.post(f"/patrols/{patrol_uuid}/end", {"ended_at": iso(datetime.now(UTC))})
    patrol = ended.get("patrol", ended)
    assert patrol["distance_m"] > 0, patrol

    return {
        "worker": worker,
        "boss": boss,
        "me": me,
        "today": today,
        "patrol": patrol,
        "patrol_uuid": patrol_uuid,
        "case": case,
        "visit": visit,
        "makeup": makeup,
        "taken": taken,
    }


def test_a_supervisor_sees_the_day_on_the_map_and_approves_a_late_check_in(
    console: Any, api_as: Any
) -> None:
    f = field_day(api_as)
    worker, boss, me, today = f["worker"], f["boss"], f["me"], f["today"]
    patrol, patrol_uuid, case, visit, makeup = (
        f["patrol"],
        f["patrol_uuid"],
        f["case"],
        f["visit"],
        f["makeup"],
    )

    # the work log of the day: the worker's row opens their day
    page = console(boss["username"], f"/console/field/logs?date={today}")
    guard = EnglishGuard(page)
    row = page.locator(f"[data-test=work-logs] tbody tr[data-worker='{worker['id']}']")
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    assert cells[2].strip() == "1", cells  # one patrol
    assert cells[3].strip() == km(patrol["distance_m"]), cells
    assert [x.strip() for x in cells[5:7]] == ["1", "1"], cells  # a visit, a report
    row.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/console/field/workers/{worker['id']}/{today}")

    # the map: one track, the case and the visit on the patrol, the check-in point
    page.wait_for_selector("[data-test=day-map][data-ready='1']")
    assert page.locator(".leaflet-overlay-pane path.wg-track-0").count() == 1
    d = page.locator(".leaflet-overlay-pane path.wg-track-0").get_attribute("d") or ""
    assert d.count("L") >= 2, d  # a polyline, not a dot
    assert page.locator(".leaflet-overlay-pane path.wg-day-case.wg-on").count() == 1
    assert page.locator(".leaflet-marker-pane .wg-visit.wg-on").count() == 1
    assert page.locator(".leaflet-marker-pane .wg-checkin").count() == 1

    # the figures are the server's: distance, duration, coverage
    prow = page.locator(f"[data-test=patrols] tr[data-patrol='{patrol_uuid}']")
    assert prow.locator("[data-test=patrol-km]").inner_text().strip() == km(patrol["distance_m"])
    minutes = patrol["duration_s"] // 60
    want = f"{minutes // 60} 小时 {minutes % 60:02d} 分" if minutes >= 60 else f"{minutes} 分"
    assert prow.locator("[data-test=patrol-duration]").inner_text().strip() == want
    if patrol.get("coverage") is not None:
        pct = f"{round(min(1.0, patrol['coverage']) * 1000) / 10:.1f} %"
        assert prow.locator("[data-test=patrol-coverage]").inner_text().strip() == pct
    assert (
        page.locator(f"[data-test=day-cases] li[data-case='{case['id']}']").get_attribute(
            "data-on-patrol"
        )
        == "1"
    )
    assert (
        page.locator(f"[data-test=day-visits] li[data-visit='{visit['id']}']").get_attribute(
            "data-on-patrol"
        )
        == "1"
    )

    # the timeline and a comment
    page.wait_for_selector("[data-test=timeline] li[data-kind]")
    line = page.locator("[data-test=timeline] li[data-kind=report]").inner_text()
    assert case["number"] in line and "reported" not in line, line  # Chinese, with the data
    note = f"巡查认真，注意井盖 {uuid.uuid4().hex[:4]}"
    page.fill("[data-test=comment-form] textarea", note)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(f"[data-test=log-comment]:has-text('{note}')")

    # the case's photos: the capture time of the watermarked one, 无水印 on the old app's
    page.locator(f"[data-test=day-cases] li[data-case='{case['id']}'] a").click()
    page.wait_for_selector("[data-test=case-page] [data-test=photos] .photo")
    local = f["taken"].astimezone(COUNTY_TZ)
    assert page.locator("[data-test=photos] [data-test=photo-taken]").all_inner_texts() == [
        f"拍摄 {local:%m-%d %H:%M}"
    ]
    flag = page.locator("[data-test=photos] [data-test=photo-no-watermark]")
    assert flag.inner_text() == "无水印 (旧版应用)"  # one, on the photo without a capture time
    assert flag.locator("xpath=..").locator("[data-test=photo-taken]").count() == 0

    # the 补签 approval
    page.goto("/console/field/check-ins")
    crow = page.locator(f"[data-test=check-ins] tr[data-check-in='{makeup['id']}']")
    crow.wait_for()
    crow.locator("[data-test=decision-note]").fill("情况属实")
    crow.locator("[data-test=approve]").click()
    crow.wait_for(state="detached")
    mine = me.get("/check-ins", worker_id=worker["id"])["items"]
    decided = next(x for x in mine if x["id"] == makeup["id"])
    assert decided["status"] == "approved", decided
    assert decided["decision_note"] == "情况属实"
    guard.assert_clean()
    assert not page.js_errors, page.js_errors

    # a county supervisor reads the work log but not the track: told so, no map
    county = console("dcy", f"/console/field/workers/{worker['id']}/{today}")
    county.wait_for_selector("[data-test=track-denied]")
    assert county.locator("[data-test=day-map], .leaflet-container").count() == 0
    county.wait_for_selector("[data-test=timeline] li[data-kind]")
    assert not county.js_errors, county.js_errors

    # a dispatcher: field work is not theirs at all (no nav entry, the section says so, no map)
    ddy = console("ddy", f"/console/field/workers/{worker['id']}/{today}")
    ddy.wait_for_selector("[data-test=field-tabs] ~ .page .notice.conflict")
    assert "仅督查人员" in ddy.locator(".notice.conflict").inner_text()
    assert ddy.locator("[data-nav=field]").count() == 0
    assert ddy.locator("[data-test=day-map], .leaflet-container").count() == 0
    assert not ddy.js_errors, ddy.js_errors
