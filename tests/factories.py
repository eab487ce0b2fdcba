"""Small builders for test data, written straight against the models."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from shapely.geometry import MultiPolygon, box
from sqlalchemy.orm import Session

from server.extensions import session_factory
from server.models import Department, GridAssignment, Region, User
from server.security import hash_password

PASSWORD = "correct-horse-1"


def session(app: Flask) -> Session:
    return session_factory(app)()


def region(db: Session, code: str, name: str, level: str, parent: Region | None = None) -> Region:
    r = Region(
        code=code.ljust(12, "0"),
        name=name,
        level=level,
        parent=parent,
        path="",
        boundary=MultiPolygon([box(106.0, 38.0, 106.1, 38.1)]),
    )
    db.add(r)
    db.flush()
    r.path = (parent.path if parent else "/") + f"{r.id}/"
    return r


def user(
    db: Session,
    username: str,
    role: str,
    *,
    region: Region | None = None,
    department: Department | None = None,
    active: bool = True,
    grids: tuple[str, ...] = (),
    password: str = PASSWORD,
) -> User:
    u = User(
        username=username,
        display_name=username,
        password_hash=hash_password(password),
        role=role,
        region=region,
        department=department,
        active=active,
    )
    u.assignments = [GridAssignment(grid_code=g, duty="full_time") for g in grids]
    db.add(u)
    db.flush()
    return u


def login(
    client: FlaskClient, username: str, password: str = PASSWORD, *, remember: bool = True
) -> dict[str, Any]:
    resp = client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": password, "remember": remember},
    )
    assert resp.status_code == 200, resp.get_json()
    body: dict[str, Any] = resp.get_json()
    client.environ_base["HTTP_X_CSRFTOKEN"] = body["csrf_token"]
    return body
