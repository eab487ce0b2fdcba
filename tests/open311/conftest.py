"""A live app with a test world and Open311 keys; helpers to call it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from werkzeug.serving import make_server

from server.models import Category, Region
from server.open311 import keys
from tests.workflow.world import World, build

# Extra fields for 路灯不亮 (0303): a required pole number, a choice and a multi-choice.
LAMP_ATTRIBUTES = [
    {"code": "POLE", "description": "灯杆编号 / pole number", "datatype": "string",
     "required": True, "order": 1, "datatype_description": "印在灯杆上的编号"},
    {"code": "KIND", "description": "故障类型 / fault", "datatype": "singlevaluelist",
     "required": False, "order": 2,
     "values": [{"key": "dark", "name": "不亮"}, {"key": "flicker", "name": "闪烁"}]},
    {"code": "WHEN", "description": "出现时段 / when", "datatype": "multivaluelist",
     "order": 3, "values": [{"key": "night", "name": "夜间"}, {"key": "day", "name": "白天"}]},
    {"code": "NOTE", "description": "请在描述中写明路段", "variable": False, "order": 4},
]  # fmt: skip


@dataclass
class Open311World:
    world: World
    key: str  # a working key, bound to county A (640181)
    base: str = ""  # http://127.0.0.1:PORT/open311/v2 once the live server runs

    @property
    def app(self) -> Flask:
        return self.world.app


def _setup(app: Flask) -> Open311World:
    w = build(app)
    with w.session() as db:
        lamp = db.query(Category).filter_by(code="0303").one()
        lamp.attributes = LAMP_ATTRIBUTES
        county = db.query(Region).filter_by(code="640181000000").one()
        _row, raw = keys.create(db, "12345-lingwu", "tester", county)
        db.commit()
    return Open311World(w, raw)


@pytest.fixture
def o311(app: Flask) -> Open311World:
    return _setup(app)


@pytest.fixture
def any_o311(any_app: Flask) -> Open311World:
    return _setup(any_app)


@pytest.fixture
def live(o311: Open311World) -> Iterator[Open311World]:
    """The app served over real HTTP on a free port (werkzeug, threaded)."""
    server = make_server("127.0.0.1", 0, o311.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    o311.base = f"http://127.0.0.1:{server.server_port}/open311/v2"
    try:
        yield o311
    finally:
        server.shutdown()
        thread.join(timeout=10)
