"""The demo city 银川市 (640100): 灵武市 (640181) with four towns, sixteen communities and ~320
grids, and a second, smaller county, 永宁县 (640121), with two towns and a dozen grids.

The county is drawn from its real boundary when the public data set beside the project has it
(``../shared/data/boundaries/county_640181.json``: Alibaba DataV GeoAtlas, GCJ-02, converted to
WGS84 here; it is read, never copied into the product); without it, from the union of the towns.
The towns, communities and grids are synthetic, around the county seat (no public town- or
grid-level polygons exist); towns carry their real 统计用区划代码. The county area outside them is
outside every grid, as in life. Grids are a Voronoi partition built with ``geo.synthetic`` and
go through the same validation, coding and publishing as an imported plan. Cases are made
through the use cases with a clock set in the past, so their trails are real. 永宁县's outline
is its feature in the city's boundary file (``city_640100.json``), its towns a small area
around its seat.
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from pathlib import Path

import geopandas as gpd
import shapely
from shapely import affinity
from shapely.geometry import MultiPolygon, Point, Polygon
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.synthetic import build_hierarchy
from geo.validate import validate_plan
from server.catalog_seed import seed_catalog
from server.demo_base import seed_base_data
from server.demo_fieldwork import seed_field_work
from server.demo_work_logs import seed_comments
from server.domain import workflow as wf
from server.domain.fields import Urgency
from server.models import Category, Department, Grid, GridAssignment, Region, User
from server.models.types import utcnow
from server.security import hash_password
from server.usecases import cases as uc
from server.usecases import photos
from server.usecases.context import Actor, Context
from server.usecases.grid_plan_versions import PlanCheck, publish, store_plan

DEMO_PASSWORD = "wangge-demo"
COUNTY = ("640181", "灵武市")
TOWNS = [("001", "城区街道"), ("100", "东塔镇"), ("101", "郝家桥镇"), ("102", "崇兴镇")]
CENTRE = (106.34, 38.10)
CITY = ("640100", "银川市")
#: the demo's town with its own command centre (综治中心): its cases go to it first
TOWN_CENTRE = ("640181100", "东塔镇")
#: the city's second county: its real towns' codes, grids around its seat (杨和镇), WGS84
SECOND_COUNTY = ("640121", "永宁县")
SECOND_TOWNS = [("100", "杨和镇"), ("101", "李俊镇")]
SECOND_SEAT = (106.2494, 38.2800)


def demo_outline() -> Polygon:
    """An irregular county outline about 14 km × 11 km around Lingwu's centre."""
    base = Point(*CENTRE).buffer(0.06, quad_segs=32)
    wobbly = affinity.scale(base, xfact=1.3, yfact=1.0)
    bump = Point(CENTRE[0] + 0.05, CENTRE[1] + 0.04).buffer(0.03, quad_segs=16)
    outline = shapely.union(wobbly, bump).simplify(0.0005)
    assert isinstance(outline, Polygon)
    return outline


BOUNDARY_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "boundaries"


def real_county_boundary(
    code: str = COUNTY[0], folder: Path | None = None, kind: str = "county"
) -> MultiPolygon | None:
    """The county's (or, with ``kind="city"``, the city's) real outline in WGS84 from the public
    boundary data set (a county without a file of its own: its feature in its city's file), or
    None when the file is not there (an installation without ``../shared/data``)."""
    import json

    import numpy as np

    from geo.crs import gcj02_to_wgs84

    path = (folder or BOUNDARY_FILE) / f"{kind}_{code}.json"
    wanted = None
    if not path.is_file() and kind == "county":
        # a county without a file of its own: its feature in its city's file
        path, wanted = (folder or BOUNDARY_FILE) / f"city_{code[:4]}00.json", int(code)
    if not path.is_file():
        return None
    features = json.loads(path.read_text(encoding="utf-8")).get("features") or []
    if wanted is not None:
        features = [f for f in features if (f.get("properties") or {}).get("adcode") == wanted]
    if not features:
        return None
    gcj = shapely.geometry.shape(features[0]["geometry"])

    def to_wgs84(coords: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    outline = shapely.make_valid(shapely.transform(gcj, to_wgs84))
    return _multi(outline) if outline.geom_type in ("Polygon", "MultiPolygon") else None


def _multi(g: object) -> MultiPolygon:
    return g if isinstance(g, MultiPolygon) else MultiPolygon([g])  # type: ignore[list-item]


def _region(
    db: Session, code: str, name: str, level: str, parent: Region | None, geom: object
) -> Region:
    r = Region(
        code=code.ljust(12, "0"),
        name=name,
        level=level,
        parent=parent,
        path="",
        boundary=_multi(geom),
    )
    db.add(r)
    db.flush()
    r.path = (parent.path if parent else "/") + f"{r.id}/"
    return r


def build_geography(db: Session, seed: int) -> Region:
    towns_gdf, comms_gdf, grids_gdf = build_hierarchy(
        demo_outline(), COUNTY[0], TOWNS, communities_per_town=4, grids_per_community=20, seed=seed
    )
    towns_union = shapely.union_all(towns_gdf.geometry.values)
    real = real_county_boundary()
    # the real outline when it holds every town (it does for 灵武市), else the towns' union
    outline = real if real is not None and real.buffer(1e-9).contains(towns_union) else towns_union
    return _store_county(db, COUNTY[0], COUNTY[1], None, outline, towns_gdf, comms_gdf, grids_gdf)


def _store_county(
    db: Session,
    code: str,
    name: str,
    parent: Region | None,
    outline: object,
    towns_gdf: gpd.GeoDataFrame,
    comms_gdf: gpd.GeoDataFrame,
    grids_gdf: gpd.GeoDataFrame,
) -> Region:
    """A county with its towns and communities (build_hierarchy's frames), and its grids as a
    published plan (named 第NNN网格)."""
    county = _region(db, code, name, "county", parent, outline)
    towns = {
        row.code: _region(db, row.code, row.name, "town", county, row.geometry)
        for row in towns_gdf.itertuples()
    }
    for row in comms_gdf.itertuples():
        _region(db, row.code, row.name, "community", towns[row.code[:9]], row.geometry)
    db.flush()
    parents = gpd.GeoDataFrame(
        comms_gdf[["code", "name"]], geometry=comms_gdf.geometry, crs="EPSG:4326"
    )
    grids_gdf = grids_gdf.copy()
    grids_gdf["name"] = [f"第{str(c)[-3:]}网格" for c in grids_gdf["code"]]
    report = validate_plan(grids_gdf, parents)
    if not report.valid:
        raise RuntimeError(f"demo grids of {name} invalid: {report.kinds()[:5]}")
    publish(db, store_plan(db, PlanCheck(grids_gdf, None, report, "demo")))
    return county


def _user(
    db: Session,
    username: str,
    name: str,
    role: str,
    *,
    region: Region | None = None,
    department: Department | None = None,
    grids: list[str] | None = None,
    phone: str = "",
) -> User:
    u = User(
        username=username,
        display_name=name,
        password_hash=hash_password(DEMO_PASSWORD),
        role=role,
        region=region,
        department=department,
        phone=phone,
    )
    u.assignments = [GridAssignment(grid_code=g, duty="full_time") for g in grids or []]
    db.add(u)
    return u


STORIES = [
    ("0101", "小区门口垃圾桶满溢，垃圾散落在人行道上"),
    ("0201", "早市摊贩占用人行道经营，行人只能走机动车道"),
    ("0301", "路面出现约一平方米坑洞，电动车经过有危险"),
    ("0302", "人行道井盖破损下陷，已用锥桶临时围挡"),
    ("0303", "小区东侧三盏路灯连续两晚不亮"),
    ("0402", "大风刮断行道树树枝，压在非机动车道上"),
    ("0502", "工地未覆盖裸土，起风时扬尘严重"),
    ("0601", "居民楼消防通道被私家车堵塞"),
    ("0701", "楼上漏水引发邻里纠纷，双方情绪激动"),
    ("0903", "老人咨询高龄津贴申领流程"),
    ("0203", "路口机动车乱停放影响通行"),
    ("0104", "公交站牌被贴满小广告"),
]


def _photo(ctx: Context, who: Actor, rng: random.Random) -> str:
    """A small generated picture, uploaded through the same path as a phone's."""
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (800, 600), (rng.randrange(60, 200), rng.randrange(90, 200), 120))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = rng.randrange(0, 760), rng.randrange(0, 560)
        draw.rectangle(
            (x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 120)),
            fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)),
        )
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    data = buf.getvalue()
    key = str(uuid.uuid4())
    photos.begin(ctx, who, key, len(data))
    for offset in range(0, len(data), photos.PIECE_MAX):
        photos.put_piece(ctx, who, key, offset, data[offset : offset + photos.PIECE_MAX])
    return key


def seed_demo(
    db: Session,
    *,
    if_empty: bool = False,
    seed: int = 20261123,
    upload_dir: Path | None = None,
    data_key_text: str = "",
) -> str:
    if db.scalar(select(func.count(User.id))):
        if if_empty:
            return "demo: the database has users already; nothing seeded"
        raise RuntimeError("the database is not empty: demo seed needs a fresh database")
    rng = random.Random(seed)
    county = build_geography(db, seed)
    seed_catalog(db)
    deps = {d.code: d for d in db.scalars(select(Department))}
    for d in deps.values():
        d.region = county
    grids = list(db.scalars(select(Grid).order_by(Grid.code)))
    communities = sorted({g.code[:12] for g in grids})
    first = [g.code for g in grids if g.code.startswith(communities[0])]
    _user(db, "admin", "系统管理员", wf.Role.ADMIN, region=county)
    _user(db, "ddy", "指挥中心 李调度", wf.Role.DISPATCHER, region=county, phone="13800000001")
    _user(db, "dcy", "督查室 王督查", wf.Role.SUPERVISOR, region=county)
    _user(db, "czry", "综合执法局 赵处置", wf.Role.HANDLER, region=county, department=deps["CGJ"])
    _user(db, "jtry", "交通运输局 钱处置", wf.Role.HANDLER, region=county, department=deps["JTJ"])
    _user(db, "zjry", "住建局 孙处置", wf.Role.HANDLER, region=county, department=deps["ZJJ"])
    _user(db, "wgy", "网格员 张秀兰", wf.Role.GRID_WORKER, region=county, grids=first[:6])
    for i, community in enumerate(communities[1:], start=2):
        codes = [g.code for g in grids if g.code.startswith(community)]
        _user(db, f"wgy{i:02d}", f"网格员{i:02d}", wf.Role.GRID_WORKER, region=county, grids=codes)
    db.commit()
    _seed_cases(db, rng, grids, upload_dir)
    _seed_calls(db, random.Random(f"{seed}-hotline"), grids, upload_dir)
    base = seed_base_data(db, rng, data_key_text)
    city = _levels(db, county, deps)
    second = _second_county(db, city, rng, upload_dir)
    # the second county's grids, from a random stream of their own (the first's stay as they were)
    seed_base_data(db, random.Random(f"{seed}-second-county-base"), data_key_text)
    field = seed_field_work(db, random.Random(f"{seed}-field-work"))
    field += ", " + seed_comments(db, random.Random(f"{seed}-work-log-comments"))
    return (
        f"demo county {COUNTY[1]} ({COUNTY[0]}) of {CITY[1]}: {len(grids)} grids in "
        f"{len(communities)} communities; users admin, ddy (dispatcher), dcy (supervisor), "
        f"czry/jtry/zjry (handlers), wgy (grid worker); {TOWN_CENTRE[1]}'s centre: dtdy "
        f"(dispatcher), dtcz (town office), dtdc (supervisor: its workers' patrols), wgy05 (its "
        f"grid worker); {second}; sdy (city "
        f"dispatcher, both counties) — password {DEMO_PASSWORD!r}; {base}; {field}"
    )


def _levels(db: Session, county: Region, deps: dict[str, Department]) -> Region:
    """Levels of command (DESIGN §9), set up after the seeded cases (which the county's centre
    handled, as before): the city above the county, a town with its own 综治中心, its town
    office (派驻机构), and a skip-level rule (燃气安全隐患 goes straight to the county)."""
    from server.models import RoutingRule

    assert county.boundary is not None
    outline = real_county_boundary(CITY[0], kind="city")
    if outline is None or not outline.buffer(1e-9).contains(county.boundary):
        outline = _multi(shapely.union(county.boundary, county.boundary.buffer(0.05)))
    city = Region(
        code=CITY[0].ljust(12, "0"), name=CITY[1], level="city", path="", boundary=outline
    )
    db.add(city)
    db.flush()
    city.path = f"/{city.id}/"
    old = county.path
    for region in db.scalars(select(Region).where(Region.path.startswith(old))):
        region.path = city.path + region.path[1:]
    county.parent = city
    town = db.scalar(select(Region).where(Region.code == TOWN_CENTRE[0].ljust(12, "0")))
    assert town is not None
    town.centre = True
    office = Department(code="DTZD", name=f"{TOWN_CENTRE[1]}综合执法中队", region=town)
    db.add(office)
    db.flush()
    _user(db, "dtdy", f"{TOWN_CENTRE[1]}综治中心 周调度", wf.Role.DISPATCHER, region=town,
          phone="13800000011")  # fmt: skip
    _user(db, "dtcz", f"{TOWN_CENTRE[1]}执法中队 吴处置", wf.Role.HANDLER, region=town,
          department=office)  # fmt: skip
    # a town's supervisor sees its grid workers' patrol tracks (a county's does not: DESIGN §11)
    _user(db, "dtdc", f"{TOWN_CENTRE[1]}综治中心 陈督查", wf.Role.SUPERVISOR, region=town)
    _user(db, "sdy", f"{CITY[1]}指挥中心 郑调度", wf.Role.DISPATCHER, region=city,
          phone="13800000021")  # fmt: skip
    gas = db.scalar(select(Category).where(Category.code == "0602"))
    assert gas is not None
    for urgency in Urgency:
        db.add(RoutingRule(category_id=gas.id, urgency=urgency.value, level="county",
                           copy_department_ids=[deps["ZJJ"].id], enabled=True))  # fmt: skip
    db.commit()
    return city


def _second_county(db: Session, city: Region, rng: random.Random, upload_dir: Path | None) -> str:
    """永宁县 under the city: its real outline, two towns of a dozen grids around its seat, its
    centre's dispatcher, a grid worker, a handler of its own 综合执法局 and a few cases (the
    county's centre holds them: its towns have no centre of their own)."""
    code, name = SECOND_COUNTY
    area = Point(*SECOND_SEAT).buffer(0.03, quad_segs=32)
    real = real_county_boundary(code)
    if real is not None and not real.buffer(1e-9).contains(area):
        area = shapely.intersection(area, real.buffer(-1e-6))
    towns_gdf, comms_gdf, grids_gdf = build_hierarchy(
        area,
        code,
        SECOND_TOWNS,
        communities_per_town=2,
        grids_per_community=3,
        seed=rng.randrange(10**6),
    )
    towns_union = shapely.union_all(towns_gdf.geometry.values)
    outline = real if real is not None and real.buffer(1e-9).contains(towns_union) else towns_union
    if city.boundary is not None and not city.boundary.buffer(1e-9).contains(outline):
        city.boundary = _multi(shapely.union(city.boundary, outline))
    county = _store_county(db, code, name, city, outline, towns_gdf, comms_gdf, grids_gdf)
    office = Department(code="YNCG", name=f"{name}综合执法局", region=county)
    db.add(office)
    db.flush()
    codes = sorted(str(c) for c in grids_gdf["code"])
    dispatcher = _user(db, "yndy", f"{name}指挥中心 冯调度", wf.Role.DISPATCHER, region=county,
                       phone="13800000031")  # fmt: skip
    worker = _user(db, "ynwgy", f"{name}网格员 马晓燕", wf.Role.GRID_WORKER, region=county,
                   grids=codes[:6])  # fmt: skip
    handler = _user(db, "yncz", f"{name}综合执法局 陈处置", wf.Role.HANDLER, region=county,
                    department=office)  # fmt: skip
    db.commit()
    grids = list(db.scalars(select(Grid).where(Grid.code.in_(codes[:6])).order_by(Grid.code)))
    now = utcnow()
    clock = {"t": now - timedelta(days=6)}
    ctx = Context(
        db=db, clock=lambda: clock["t"], upload_dir=upload_dir or Path("instance/uploads")
    )
    who = {u.username: Actor.of(db, u) for u in (dispatcher, worker, handler)}

    def do(user: str, case_id: int, action: str, **body: object) -> None:
        clock["t"] += timedelta(minutes=rng.uniform(20, 180))
        uc.act(ctx, who[user], case_id, {"uuid": str(uuid.uuid4()), "action": action, **body})

    # where each case ends: reported, accepted, dispatched, in progress, closed
    s = wf.State
    ends = [s.REPORTED, s.REPORTED, s.ACCEPTED, s.DISPATCHED, s.IN_PROGRESS, s.CLOSED, s.CLOSED]
    for n, end in enumerate(ends):
        clock["t"] = now - timedelta(days=6) + timedelta(hours=20 * n)
        grid = grids[n % len(grids)]
        p = grid.geom.representative_point()
        category, text = STORIES[(3 * n) % len(STORIES)]
        body = {"uuid": str(uuid.uuid4()), "category_code": category, "description": text,
                "lon": round(p.x, 6), "lat": round(p.y, 6), "accuracy_m": 8}  # fmt: skip
        cid = uc.report(ctx, who["ynwgy"], body).case.id
        if end == s.REPORTED:
            continue
        do("yndy", cid, wf.Action.ACCEPT)
        if end == s.ACCEPTED:
            continue
        do("yndy", cid, wf.Action.DISPATCH, department_id=office.id, urgency="normal")
        if end == s.DISPATCHED:
            continue
        do("yncz", cid, wf.Action.SIGN)
        if end == s.IN_PROGRESS:
            continue
        shot = _photo(ctx, who["yncz"], rng)
        do("yncz", cid, wf.Action.RESOLVE, note="已现场处置完毕", photos=[shot])
        do("ynwgy", cid, wf.Action.VERIFY, passed=True, note="现场核查已整改")
    return (
        f"{name} ({code}): {len(codes)} grids, yndy (its dispatcher), ynwgy (grid worker), "
        f"yncz (handler), {len(ends)} cases"
    )


def _seed_cases(
    db: Session, rng: random.Random, grids: list[Grid], upload_dir: Path | None
) -> None:
    """About 80 cases over the last 30 days, in every state."""
    users = {u.username: u for u in db.scalars(select(User))}
    cats = {c.code: c for c in db.scalars(select(Category))}
    workers = [u for u in users.values() if u.role == wf.Role.GRID_WORKER]
    handlers = {u.department_id: u for u in users.values() if u.role == wf.Role.HANDLER}
    now = utcnow()
    clock = {"t": now - timedelta(days=30)}
    ctx = Context(
        db=db, clock=lambda: clock["t"], upload_dir=upload_dir or Path("instance/uploads")
    )

    def actor(u: User) -> Actor:
        return Actor.of(db, u)

    def step(minutes: float) -> None:
        clock["t"] = min(clock["t"] + timedelta(minutes=minutes), now - timedelta(minutes=1))

    def do(u: User, case_id: int, action: str, **body: object) -> None:
        uc.act(ctx, actor(u), case_id, {"uuid": str(uuid.uuid4()), "action": action, **body})

    ddy = users["ddy"]
    # The end states, in proportions a real month would show.
    plan = (
        [wf.State.CLOSED] * 30
        + [wf.State.RESOLVED] * 6
        + [wf.State.IN_PROGRESS] * 8
        + [wf.State.DISPATCHED] * 8
        + [wf.State.ACCEPTED] * 5
        + [wf.State.REPORTED] * 8
        + [wf.State.REJECTED] * 4
        + [wf.State.SUSPENDED] * 3
        + ["self"] * 6
        + ["rework"] * 2
    )
    rng.shuffle(plan)
    for n, goal in enumerate(plan):
        clock["t"] = now - timedelta(days=30) + timedelta(hours=(30 * 24 - 6) * n / len(plan))
        worker = rng.choice(workers)
        own = {a.grid_code for a in worker.assignments}
        grid = rng.choice([g for g in grids if g.code in own])
        p = grid.geom.representative_point()
        code, text = rng.choice(STORIES)
        body = {
            "uuid": str(uuid.uuid4()),
            "category_code": code,
            "description": text,
            "lon": round(p.x, 6),
            "lat": round(p.y, 6),
            "accuracy_m": rng.choice([5, 8, 12, 20]),
        }
        if goal == "self":
            body.update(
                self_handle=True,
                description=f"{text}（已现场处理）",
                photos=[_photo(ctx, actor(worker), rng)],
            )
            uc.report(ctx, actor(worker), body)
            continue
        case = uc.report(ctx, actor(worker), body).case
        if goal == wf.State.REPORTED:
            continue
        step(rng.uniform(5, 90))
        if goal == wf.State.REJECTED:
            do(ddy, case.id, wf.Action.REJECT, reason="不属于网格化管理范围，已告知反映人")
            continue
        do(ddy, case.id, wf.Action.ACCEPT)
        if goal == wf.State.ACCEPTED:
            continue
        step(rng.uniform(5, 60))
        dep_id = cats[code].default_department_id
        urgent = code in {"0302", "0601"}
        do(
            ddy,
            case.id,
            wf.Action.DISPATCH,
            department_id=dep_id,
            urgency="urgent" if urgent else "normal",
        )
        if goal == wf.State.SUSPENDED:
            step(60)
            do(ddy, case.id, wf.Action.SUSPEND, reason="涉及多部门，待协调会确定责任单位")
            continue
        if goal == wf.State.DISPATCHED:
            continue
        handler = handlers.get(dep_id)
        if handler is None:
            handler = _user(
                db,
                f"hd{dep_id}",
                f"处置人员{dep_id}",
                wf.Role.HANDLER,
                region=db.get(Region, ddy.region_id),
                department=db.get(Department, dep_id),
            )
            db.commit()
            handlers[dep_id] = handler
        step(rng.uniform(10, 240))
        do(handler, case.id, wf.Action.SIGN)
        if goal == wf.State.IN_PROGRESS:
            continue
        step(rng.uniform(60, 60 * 30))
        do(
            handler,
            case.id,
            wf.Action.RESOLVE,
            note="已安排人员现场处置完毕",
            photos=[_photo(ctx, actor(handler), rng)],
        )
        if goal == wf.State.RESOLVED:
            continue
        step(rng.uniform(30, 300))
        reporter = db.get(User, case.reporter_id)
        assert reporter is not None
        if goal == "rework":
            do(reporter, case.id, wf.Action.VERIFY, passed=False, reason="现场仍有残留，未处理彻底")
            continue
        do(reporter, case.id, wf.Action.VERIFY, passed=True, note="现场核查已整改")
        if rng.random() < 0.6:
            step(rng.uniform(60, 600))
            do(
                reporter,
                case.id,
                wf.Action.RATE,
                rating=rng.choice(["satisfied", "satisfied", "basically_satisfied", "unsatisfied"]),
            )


def _seed_calls(
    db: Session, rng: random.Random, grids: list[Grid], upload_dir: Path | None
) -> None:
    """A dozen 12345 calls about problems in the grids over the month, taken by the county's
    call-taker, handled and checked on site by the grid's worker: the problems the grid workers
    did not report first (漏报率 in the assessment, docs/metrics.md)."""
    users = {u.username: u for u in db.scalars(select(User))}
    cats = {c.code: c for c in db.scalars(select(Category))}
    handlers = {u.department_id: u for u in users.values() if u.role == wf.Role.HANDLER}
    worker_of = {
        a.grid_code: u
        for u in users.values()
        if u.role == wf.Role.GRID_WORKER
        for a in u.assignments
    }
    now = utcnow()
    clock = {"t": now}
    ctx = Context(
        db=db, clock=lambda: clock["t"], upload_dir=upload_dir or Path("instance/uploads")
    )
    ddy = users["ddy"]
    county_grids = [g for g in grids if g.code in worker_of]

    def do(u: User, case_id: int, action: str, minutes: float, **more: object) -> None:
        clock["t"] = min(clock["t"] + timedelta(minutes=minutes), now - timedelta(minutes=1))
        uc.act(ctx, Actor.of(db, u), case_id, {"uuid": str(uuid.uuid4()), "action": action, **more})

    for n in range(12):
        clock["t"] = now - timedelta(days=28) + timedelta(hours=(26 * 24) * n / 12)
        grid = rng.choice(county_grids)
        p = grid.geom.representative_point()
        code, text = rng.choice(STORIES)
        if cats[code].default_department_id not in handlers:
            continue
        body = {
            "uuid": str(uuid.uuid4()),
            "source": "hotline",
            "category_code": code,
            "description": f"12345 来电：{text}",
            "lon": round(p.x, 6),
            "lat": round(p.y, 6),
            "caller_name": "市民" + rng.choice("王李张刘陈杨赵"),
            "caller_phone": f"1700000{rng.randint(1000, 9999)}",
        }
        case = uc.report(ctx, Actor.of(db, ddy), body).case

        do(ddy, case.id, wf.Action.ACCEPT, 10)
        handler = handlers[cats[code].default_department_id]
        do(ddy, case.id, wf.Action.DISPATCH, 20, department_id=handler.department_id,
           urgency="normal")  # fmt: skip
        do(handler, case.id, wf.Action.SIGN, 60)
        do(handler, case.id, wf.Action.RESOLVE, 600, note="已处置完毕",
           photos=[_photo(ctx, Actor.of(db, handler), rng)])  # fmt: skip
        do(worker_of[grid.code], case.id, wf.Action.VERIFY, 120, passed=True,
           note="现场核查已整改")  # fmt: skip


__all__ = ["DEMO_PASSWORD", "seed_demo"]
