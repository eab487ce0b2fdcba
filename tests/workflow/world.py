"""A small world for workflow tests: two counties, grids, departments, categories, users.

County A (640181) has town T, community C with grids G1 (west) and G2 (east); county B
(640104) has one grid GB. Users: a grid worker of G1 (wg1), one of G2 (wg2), a dispatcher and a
supervisor of A, a dispatcher of B, handlers of department D1 and D2, an admin.

:func:`widen` adds what the security tests need to have a foreign object of every kind: a second
town T2 in county A (community C2, grid G3, town office DT2 with handler ht2, worker wg3, a
dispatcher of town T only), a department DB of county B, and users of every role in county B.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
from flask import Flask
from shapely.geometry import box
from sqlalchemy.orm import Session

from geo.problems import ValidationReport
from server.catalog_seed import seed_catalog
from server.models import Category, Department, Region
from server.usecases import cases as uc
from server.usecases.context import Actor, Context
from server.usecases.grid_plan_versions import PlanCheck, publish, store_plan
from tests import factories as f

G1 = "640181001001001"
G2 = "640181001001002"
GB = "640104001001001"
G3 = "640181002001001"
IN_G1 = (106.30, 38.05)
IN_G2 = (106.35, 38.05)
IN_GB = (106.55, 38.45)
IN_G3 = (106.45, 38.05)
OUTSIDE = (106.90, 38.90)


@dataclass
class World:
    app: Flask
    users: dict[str, int] = field(default_factory=dict)
    departments: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    regions: dict[str, int] = field(default_factory=dict)

    def session(self) -> Session:
        return f.session(self.app)

    def ctx(self, db: Session) -> Context:
        return Context(db=db, upload_dir=self.app.extensions["wangge.settings"].upload_dir)

    def actor(self, db: Session, name: str) -> Actor:
        return Actor.load(db, self.users[name])

    def report(self, who: str = "wg1", where: tuple[float, float] = IN_G1, **extra: Any) -> int:
        with self.session() as db:
            body = {"uuid": str(uuid.uuid4()), "category_code": "0101", "description": "垃圾",
                    "lon": where[0], "lat": where[1], **extra}  # fmt: skip
            return uc.report(self.ctx(db), self.actor(db, who), body).case.id

    def act(self, who: str, case_id: int, action: str, **body: Any) -> None:
        with self.session() as db:
            uc.act(self.ctx(db), self.actor(db, who), case_id,
                   {"uuid": str(uuid.uuid4()), "action": action, **body})  # fmt: skip

    def case_in(self, state: str) -> int:
        """A fresh case of wg1 in G1, dispatched to D1 where it gets that far."""
        cid = self.report()
        if state == "reported":
            return cid
        if state == "rejected":
            self.act("disp", cid, "reject", reason="不属实")
            return cid
        if state == "suspended":
            self.act("disp", cid, "suspend", reason="待协调")
            return cid
        self.act("disp", cid, "accept")
        if state == "accepted":
            return cid
        self.act("disp", cid, "dispatch", department_id=self.departments["D1"])
        if state == "dispatched":
            return cid
        self.act("h1", cid, "sign")
        if state == "in_progress":
            return cid
        self.act("h1", cid, "resolve", note="done", photos=[self.photo("h1")])
        if state == "resolved":
            return cid
        self.act("wg1", cid, "verify", passed=True)
        assert state == "closed"
        return cid

    def photo(self, who: str) -> str:
        from server.usecases import photos

        data = jpeg()
        key = str(uuid.uuid4())
        with self.session() as db:
            ctx, actor = self.ctx(db), self.actor(db, who)
            photos.begin(ctx, actor, key, len(data))
            photos.put_piece(ctx, actor, key, 0, data)
        return key


def jpeg(size: tuple[int, int] = (64, 48), exif: bytes | None = None) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    img = Image.new("RGB", size, (200, 30, 30))
    if exif is not None:
        img.save(buf, "JPEG", exif=exif)
    else:
        img.save(buf, "JPEG")
    return buf.getvalue()


def _plan(db: Session, codes_boxes: list[tuple[str, Any]], community_code: str) -> None:
    grids = gpd.GeoDataFrame(
        {"code": [c for c, _ in codes_boxes], "households": [400] * len(codes_boxes)},
        geometry=[g for _, g in codes_boxes],
        crs="EPSG:4326",
    )
    plan = store_plan(db, PlanCheck(grids, None, ValidationReport(len(grids)), "test"))
    publish(db, plan)


def build(app: Flask) -> World:
    w = World(app)
    with f.session(app) as db:
        a = f.region(db, "640181", "灵武市", "county")
        t = f.region(db, "640181001", "城区街道", "town", a)
        c = f.region(db, "640181001001", "第一社区", "community", t)
        c.boundary = box(106.25, 38.0, 106.40, 38.10)
        b = f.region(db, "640104", "兴庆区", "county")
        tb = f.region(db, "640104001", "街道", "town", b)
        f.region(db, "640104001001", "社区", "community", tb)
        db.flush()
        _plan(db, [(G1, box(106.25, 38.0, 106.325, 38.10)),
                   (G2, box(106.325, 38.0, 106.40, 38.10))], "640181001001")  # fmt: skip
        _plan(db, [(GB, box(106.5, 38.4, 106.6, 38.5))], "640104001001")
        seed_catalog(db)
        d1 = Department(code="D1", name="城管", region=a)
        d2 = Department(code="D2", name="住建", region=a)
        db.add_all([d1, d2])
        db.flush()
        users = [
            f.user(db, "wg1", "grid_worker", region=a, grids=(G1,)),
            f.user(db, "wg2", "grid_worker", region=a, grids=(G2,)),
            f.user(db, "disp", "dispatcher", region=a),
            f.user(db, "sup", "supervisor", region=a),
            f.user(db, "dispb", "dispatcher", region=b),
            f.user(db, "h1", "handler", region=a, department=d1),
            f.user(db, "h2", "handler", region=a, department=d2),
            f.user(db, "admin", "admin"),
        ]
        db.commit()
        w.users = {u.username: u.id for u in users}
        w.departments = {"D1": d1.id, "D2": d2.id}
        w.categories = {c.code: c.id for c in db.query(Category).all()}
        assert db.query(Region).count() == 6
    return w


def widen(w: World) -> World:
    """The world of :func:`build` plus a second town in county A and a staffed county B."""
    from sqlalchemy import select

    with f.session(w.app) as db:
        a = db.scalar(select(Region).where(Region.code == "640181000000"))
        t = db.scalar(select(Region).where(Region.code == "640181001000"))
        b = db.scalar(select(Region).where(Region.code == "640104000000"))
        assert a is not None and t is not None and b is not None
        t2 = f.region(db, "640181002", "第二镇", "town", a)
        c2 = f.region(db, "640181002001", "第二社区", "community", t2)
        t2.boundary = c2.boundary = box(106.40, 38.0, 106.50, 38.10)
        db.flush()
        # One active plan per county: the new version of county A's has all three grids.
        _plan(db, [(G1, box(106.25, 38.0, 106.325, 38.10)),
                   (G2, box(106.325, 38.0, 106.40, 38.10)),
                   (G3, box(106.40, 38.0, 106.50, 38.10))], "640181001001")  # fmt: skip
        dt2 = Department(code="DT2", name="第二镇办", region=t2)
        dbb = Department(code="DB", name="兴庆城管", region=b)
        db.add_all([dt2, dbb])
        db.flush()
        users = [
            f.user(db, "wg3", "grid_worker", region=a, grids=(G3,)),
            f.user(db, "ht2", "handler", region=t2, department=dt2),
            f.user(db, "dispt", "dispatcher", region=t),
            f.user(db, "wgb", "grid_worker", region=b, grids=(GB,)),
            f.user(db, "hb", "handler", region=b, department=dbb),
            f.user(db, "supb", "supervisor", region=b),
            f.user(db, "adminb", "admin", region=b),
        ]
        db.commit()
        w.users |= {u.username: u.id for u in users}
        w.departments |= {"DT2": dt2.id, "DB": dbb.id}
    return w
