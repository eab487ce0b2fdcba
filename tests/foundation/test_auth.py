"""Sign-in, throttling, CSRF, JSON errors and sign-out."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient

from tests import factories as f


def _users(app: Flask) -> None:
    with f.session(app) as db:
        county = f.region(db, "640181", "灵武市", "county")
        f.user(db, "disp", "dispatcher", region=county)
        f.user(db, "gone", "grid_worker", region=county, active=False)
        db.commit()


def test_login_me_logout(app: Flask, client: FlaskClient) -> None:
    _users(app)
    assert client.get("/api/v1/auth/me").status_code == 401
    body = f.login(client, "disp")
    assert body["user"]["role"] == "dispatcher"
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.get_json()["user"]["username"] == "disp"
    assert client.post("/api/v1/auth/logout").status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 401


def test_session_cookie_flags(app: Flask, client: FlaskClient) -> None:
    _users(app)
    resp = client.post("/api/v1/auth/login", json={"username": "disp", "password": f.PASSWORD})
    cookies = resp.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("wangge_session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session


def test_wrong_password_and_unknown_user_look_the_same(app: Flask, client: FlaskClient) -> None:
    _users(app)
    wrong = client.post("/api/v1/auth/login", json={"username": "disp", "password": "nope-nope"})
    unknown = client.post("/api/v1/auth/login", json={"username": "ghost", "password": "x" * 9})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"] == "bad_credentials"
    assert "用户名或密码错误" in wrong.get_json()["message"]


def test_disabled_user(app: Flask, client: FlaskClient) -> None:
    _users(app)
    resp = client.post("/api/v1/auth/login", json={"username": "gone", "password": f.PASSWORD})
    assert resp.status_code == 403
    assert resp.get_json()["error"] == "disabled"
    # A wrong password for a disabled account does not reveal that it is disabled.
    resp = client.post("/api/v1/auth/login", json={"username": "gone", "password": "wrong-one"})
    assert resp.get_json()["error"] == "bad_credentials"


def test_disabling_ends_existing_sessions(app: Flask, client: FlaskClient) -> None:
    _users(app)
    f.login(client, "disp")
    with f.session(app) as db:
        from sqlalchemy import select

        from server.models import User

        u = db.scalar(select(User).where(User.username == "disp"))
        assert u is not None
        u.active = False
        u.session_epoch += 1
        db.commit()
    assert client.get("/api/v1/auth/me").status_code == 401


def test_throttle_after_repeated_failures(app: Flask, client: FlaskClient) -> None:
    _users(app)
    for _ in range(5):
        r = client.post("/api/v1/auth/login", json={"username": "disp", "password": "bad-pass!"})
        assert r.status_code == 401
    # Even the right password is refused while throttled.
    r = client.post("/api/v1/auth/login", json={"username": "disp", "password": f.PASSWORD})
    assert r.status_code == 429
    assert r.get_json()["error"] == "throttled"
    assert int(r.headers["Retry-After"]) > 0


def test_missing_fields_and_malformed_json(app: Flask, client: FlaskClient) -> None:
    r = client.post("/api/v1/auth/login", json={"username": ""})
    assert r.status_code == 400
    assert set(r.get_json()["fields"]) == {"username", "password"}
    r = client.post(
        "/api/v1/auth/login", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.get_json()["error"] == "malformed_json"


def test_csrf_required_for_state_changes_with_a_cookie_session(
    app: Flask, client: FlaskClient
) -> None:
    _users(app)
    f.login(client, "disp")
    token = client.environ_base.pop("HTTP_X_CSRFTOKEN")
    r = client.post("/api/v1/auth/logout")
    assert r.status_code == 400
    assert r.get_json()["error"] == "csrf_failed"
    assert client.get("/api/v1/auth/me").status_code == 200  # still signed in
    r = client.post("/api/v1/auth/logout", headers={"X-CSRFToken": token})
    assert r.status_code == 200


def test_unknown_api_route_is_json(client: FlaskClient) -> None:
    r = client.get("/api/v1/nope")
    assert r.status_code == 404
    assert r.get_json()["error"] == "not_found"


def test_sign_in_page_form(app: Flask, client: FlaskClient) -> None:
    _users(app)
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "网格化服务管理平台" in html
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    bad = client.post("/login", data={"username": "disp", "password": "x", "csrf_token": token})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.get_data(as_text=True)
    ok = client.post(
        "/login", data={"username": "disp", "password": f.PASSWORD, "csrf_token": token}
    )
    assert ok.status_code == 302 and ok.headers["Location"] == "/console/"
    # Without the form token the post is refused.
    assert client.post("/login", data={"username": "disp", "password": "x"}).status_code == 400


def test_open_redirect_refused(app: Flask, client: FlaskClient) -> None:
    _users(app)
    html = client.get("/login").get_data(as_text=True)
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(
        "/login?next=//evil.example/x",
        data={"username": "disp", "password": f.PASSWORD, "csrf_token": token},
    )
    assert r.headers["Location"] == "/console/"


def test_unstorable_names_and_passwords_are_a_failed_sign_in(any_app: Flask) -> None:
    """NUL (PostgreSQL text refuses it) and lone surrogates (not UTF-8) in the user name or
    password, through the API and the sign-in page: a 401 that counts, never a 500 (schemathesis
    found the NUL user name on PostgreSQL)."""
    _users(any_app)
    client = any_app.test_client()
    for username, password in (
        ("\x00", "x"),
        ("disp\x00", f.PASSWORD),
        ("\ud800", "x"),
        ("disp", "\ud800"),
        ("disp", "a\x00b"),
    ):
        r = client.post(
            "/api/v1/auth/login",
            data=json.dumps({"username": username, "password": password}),
            content_type="application/json",
        )
        assert r.status_code == 401, (username, r.get_json())
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    bad = client.post("/login", data={"username": "disp\x00", "password": "x", "csrf_token": token})
    assert bad.status_code == 401
    # and the real user still signs in
    f.login(client, "disp")
