"""A world with every level of command (DESIGN §9): a city above two counties, towns with centres.

City 银川市 (640100, a centre) holds county A 灵武市 (640181) and county B 兴庆区 (640104).
County A has town T (centre; community C with grids G1, G2) and town T2 (centre; community C2
with grid G3); county B has a town without a centre (grid GB). Departments: DT (town office of
T), DT2 (of T2), D1 (county A), DB (county B), DC (the city). Users: dt / dt2 dispatchers of the
towns, disp of county A, dispb of county B, dc of the city; handlers ht (DT), ht2 (DT2), h1
(D1), hb (DB); wg1 (grid worker of G1), wg3 (of G3), wgb (of GB); sup (supervisor of A), admin.
"""

from __future__ import annotations

from flask import Flask
from shapely.geometry import box

from server.catalog_seed import seed_catalog
from server.models import Category, Department
from tests import factories as f
from tests.workflow.world import G1, G2, G3, GB, World, _plan


def build_levels(app: Flask) -> World:
    w = World(app)
    with f.session(app) as db:
        city = f.region(db, "640100", "银川市", "city")
        a = f.region(db, "640181", "灵武市", "county", city)
        t = f.region(db, "640181001", "城区街道", "town", a)
        c = f.region(db, "640181001001", "第一社区", "community", t)
        c.boundary = box(106.25, 38.0, 106.40, 38.10)
        t2 = f.region(db, "640181002", "第二镇", "town", a)
        c2 = f.region(db, "640181002001", "第二社区", "community", t2)
        t2.boundary = c2.boundary = box(106.40, 38.0, 106.50, 38.10)
        b = f.region(db, "640104", "兴庆区", "county", city)
        tb = f.region(db, "640104001", "街道", "town", b)
        f.region(db, "640104001001", "社区", "community", tb)
        t.centre = t2.centre = True
        db.flush()
        _plan(db, [(G1, box(106.25, 38.0, 106.325, 38.10)),
                   (G2, box(106.325, 38.0, 106.40, 38.10)),
                   (G3, box(106.40, 38.0, 106.50, 38.10))], "640181001001")  # fmt: skip
        _plan(db, [(GB, box(106.5, 38.4, 106.6, 38.5))], "640104001001")
        seed_catalog(db)
        deps = {
            "DT": Department(code="DT", name="城区街道城管中队", region=t),
            "DT2": Department(code="DT2", name="第二镇办", region=t2),
            "D1": Department(code="D1", name="灵武城管", region=a),
            "D2": Department(code="D2", name="灵武住建", region=a),
            "DB": Department(code="DB", name="兴庆城管", region=b),
            "DC": Department(code="DC", name="银川市城管委", region=city),
        }
        db.add_all(deps.values())
        db.flush()
        users = [
            f.user(db, "wg1", "grid_worker", region=a, grids=(G1,)),
            f.user(db, "wg2", "grid_worker", region=a, grids=(G2,)),
            f.user(db, "wg3", "grid_worker", region=a, grids=(G3,)),
            f.user(db, "wgb", "grid_worker", region=b, grids=(GB,)),
            f.user(db, "dt", "dispatcher", region=t),
            f.user(db, "dt2", "dispatcher", region=t2),
            f.user(db, "disp", "dispatcher", region=a),
            f.user(db, "dispb", "dispatcher", region=b),
            f.user(db, "dc", "dispatcher", region=city),
            f.user(db, "sup", "supervisor", region=a),
            f.user(db, "supc", "supervisor", region=city),
            f.user(db, "ht", "handler", region=t, department=deps["DT"]),
            f.user(db, "ht2", "handler", region=t2, department=deps["DT2"]),
            f.user(db, "h1", "handler", region=a, department=deps["D1"]),
            f.user(db, "hb", "handler", region=b, department=deps["DB"]),
            f.user(db, "admin", "admin"),
        ]
        db.commit()
        w.users = {u.username: u.id for u in users}
        w.departments = {k: d.id for k, d in deps.items()}
        w.categories = {c.code: c.id for c in db.query(Category).all()}
        w.regions = {r: x.id for r, x in (("city", city), ("A", a), ("T", t), ("T2", t2),
                                           ("B", b), ("TB", tb))}  # fmt: skip
    return w


__all__ = ["G1", "G2", "G3", "GB", "build_levels"]
