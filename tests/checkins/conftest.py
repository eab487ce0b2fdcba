"""The two-county world of the workflow tests (tests/workflow/world.py, widened: G1, G2 in
community C of town T; G3 in town T2; GB in county B) with base data in every grid, plus the
supervisors field work needs: of community C (supc), of town T (supt), of town T2 (supt2), and
a grid worker without a grid (wg0)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server.models import Region
from tests import factories as f
from tests.base_data.world import Base, seed
from tests.workflow.world import World, build, widen

SH = ZoneInfo("Asia/Shanghai")


@dataclass
class CW:
    w: World
    base: Base

    @property
    def app(self) -> Flask:
        return self.w.app

    def client(self, who: str) -> FlaskClient:
        c = self.w.app.test_client()
        if who != "anon":
            f.login(c, who)
        return c

    def id(self, who: str) -> int:
        return self.w.users[who]

    def set_deadline(self, text: str) -> None:
        self.w.app.extensions["wangge.settings"].checkin_deadline = text


def today() -> date:
    return datetime.now(SH).date()


def moment(day: date, hh: int = 8, mm: int = 30) -> str:
    """``day`` at hh:mm in the county, as the phone sends it (with the offset)."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SH).isoformat()


def days_ago(n: int) -> date:
    return today() - timedelta(days=n)


def _staff(w: World) -> World:
    with f.session(w.app) as db:

        def region(code: str) -> Region:
            found = db.scalar(select(Region).where(Region.code == code.ljust(12, "0")))
            assert found is not None
            return found

        users = [
            f.user(db, "supc", "supervisor", region=region("640181001001")),
            f.user(db, "supt", "supervisor", region=region("640181001")),
            f.user(db, "supt2", "supervisor", region=region("640181002")),
            f.user(db, "wg0", "grid_worker", region=region("640181")),
        ]
        db.commit()
        w.users |= {u.username: u.id for u in users}
    return w


@pytest.fixture
def cw(app: Flask) -> Iterator[CW]:
    yield CW(_staff(widen(build(app))), Base())


@pytest.fixture
def any_cw(any_app: Flask) -> Iterator[CW]:
    yield CW(_staff(widen(build(any_app))), Base())


@pytest.fixture
def cwb(app: Flask) -> Iterator[CW]:
    """With base data in every grid (a visit of each grid's worker, made now)."""
    w = _staff(widen(build(app)))
    yield CW(w, seed(w))


@pytest.fixture
def any_cwb(any_app: Flask) -> Iterator[CW]:
    w = _staff(widen(build(any_app)))
    yield CW(w, seed(w))


def check_in(c: FlaskClient, **body: Any) -> Any:
    import uuid

    body.setdefault("uuid", str(uuid.uuid4()))
    return c.post("/api/v1/check-ins", json=body)
