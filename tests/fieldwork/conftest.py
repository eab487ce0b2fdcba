"""The two-county world of the workflow tests (tests/workflow/world.py, widened) plus the
supervisors a track is for: one of community C (grids G1, G2), one of town T, one of the other
town T2 of county A. County A's supervisor ``sup``, the dispatchers and admins must not see
tracks; county B (``wgb``, ``supb``, ``adminb``) is the second county."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from server.models import Region
from tests import factories as f
from tests.workflow.world import World, build, widen


def staff(w: World) -> World:
    with f.session(w.app) as db:

        def region(code: str) -> Region:
            found = db.scalar(select(Region).where(Region.code == code))
            assert found is not None
            return found

        users = [
            f.user(db, "supc", "supervisor", region=region("640181001001")),
            f.user(db, "supt", "supervisor", region=region("640181001000")),
            f.user(db, "supt2", "supervisor", region=region("640181002000")),
            f.user(db, "supc2", "supervisor", region=region("640181002001")),
        ]
        db.commit()
        w.users.update({u.username: u.id for u in users})
    return w


@pytest.fixture
def fw(app: Flask) -> World:
    """SQLite."""
    return staff(widen(build(app)))


@pytest.fixture
def any_fw(any_app: Flask) -> World:
    """Each database in turn (SQLite, then PostgreSQL when WANGGE_TEST_PG_URL is set)."""
    return staff(widen(build(any_app)))
