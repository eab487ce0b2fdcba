"""Every admin endpoint for every role: admin allowed, the other roles 403, signed out 401."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.admin.conftest import client_for
from tests.workflow.world import World

# (method, path, body); "{user}" and "{plan}" are filled in from the world.
ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET", "/api/v1/admin/departments", None),
    ("POST", "/api/v1/admin/departments", {"code": "NEW", "name": "新部门"}),
    ("PATCH", "/api/v1/admin/departments/{dep}", {"name": "城管局"}),
    ("GET", "/api/v1/admin/categories", None),
    ("POST", "/api/v1/admin/categories", {"code": "99", "name": "其他"}),
    ("PATCH", "/api/v1/admin/categories/{cat}", {"name": "暴露垃圾（改）"}),
    ("GET", "/api/v1/admin/users", None),
    ("GET", "/api/v1/admin/users/{user}", None),
    ("POST", "/api/v1/admin/users",
     {"username": "newbie", "role": "grid_worker", "password": "long-enough-1"}),
    ("PATCH", "/api/v1/admin/users/{user}", {"phone": "13800000000"}),
    ("PUT", "/api/v1/admin/users/{user}/grids", {"duties": []}),
    ("GET", "/api/v1/admin/grids", None),
    ("GET", "/api/v1/admin/plans", None),
    ("GET", "/api/v1/admin/plans/{plan}", None),
    ("POST", "/api/v1/admin/plans", "upload"),
    ("POST", "/api/v1/admin/plans/{plan}/publish", None),
]  # fmt: skip
ROLES = ["grid_worker", "dispatcher", "handler", "supervisor"]
USER_OF_ROLE = {"grid_worker": "wg1", "dispatcher": "disp", "handler": "h1", "supervisor": "sup"}


def _call(c: FlaskClient, w: World, method: str, path: str, body: Any) -> int:
    path = path.format(
        dep=w.departments["D1"], cat=w.categories["0101"], user=w.users["wg2"], plan=1
    )
    if body == "upload":
        data = {"file": (io.BytesIO(b'{"type":"FeatureCollection","features":[]}'), "p.geojson")}
        return c.post(path, data=data, content_type="multipart/form-data").status_code
    if body is None:
        return c.open(path, method=method).status_code
    return c.open(path, method=method, json=body).status_code


@pytest.mark.parametrize("role", ROLES)
def test_other_roles_are_refused(any_world: World, role: str) -> None:
    c = client_for(any_world, USER_OF_ROLE[role])
    for method, path, body in ENDPOINTS:
        assert _call(c, any_world, method, path, body) == 403, (role, method, path)


def test_signed_out_is_401(any_world: World) -> None:
    c = client_for(any_world, None)  # holds a CSRF token, so the answer is about signing in
    for method, path, body in ENDPOINTS:
        assert _call(c, any_world, method, path, body) == 401, (method, path)


def test_admin_is_allowed(any_world: World) -> None:
    c = client_for(any_world, "admin")
    for method, path, body in ENDPOINTS:
        status = _call(c, any_world, method, path, body)
        assert status not in (401, 403, 405, 500), (method, path, status)


def test_state_changes_need_the_csrf_token(world: World) -> None:
    c = client_for(world, "admin")
    del c.environ_base["HTTP_X_CSRFTOKEN"]
    r = c.post("/api/v1/admin/departments", json={"code": "X1", "name": "x"})
    assert r.status_code == 400 and r.get_json()["error"] == "csrf_failed"


def test_a_disabled_admin_is_signed_out(world: World) -> None:
    from tests import factories as f

    with world.session() as db:
        f.user(db, "admin2", "admin")
        db.commit()
    other = client_for(world, "admin2")
    admin = client_for(world, "admin")
    uid = other.get("/api/v1/auth/me").get_json()["user"]["id"]
    assert admin.patch(f"/api/v1/admin/users/{uid}", json={"active": False}).status_code == 200
    assert other.get("/api/v1/admin/departments").status_code == 401
