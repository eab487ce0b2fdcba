"""Sign-ins kept on the server: sign-out ends that sign-in (a copied cookie stops working) and
only that one; "everywhere" ends them all; the CSRF token changes at sign-in; the sign-in API
takes JSON only (no login CSRF); the throttle counts per (user name, address) and per address."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from server import create_app
from server.models import LoginAttempt, User
from server.models.types import utcnow
from tests import factories as f
from tests.conftest import make_settings

SESSION = "wangge_session"
REMEMBER = "wangge_remember"


def _users(app: Flask) -> None:
    with f.session(app) as db:
        county = f.region(db, "640181", "灵武市", "county")
        f.user(db, "wgy", "grid_worker", region=county)
        f.user(db, "disp", "dispatcher", region=county)
        db.commit()


def _cookie(client: FlaskClient, name: str) -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def _with_cookies(app: Flask, **cookies: str) -> FlaskClient:
    """A fresh client (another browser) holding copies of the given cookies."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/api/v1/auth/me").status_code == 200


def test_sign_out_ends_a_copied_session_cookie(any_app: Flask) -> None:
    _users(any_app)
    client = any_app.test_client()
    f.login(client, "wgy")
    stolen = _cookie(client, SESSION)
    assert _signed_in(_with_cookies(any_app, wangge_session=stolen))
    assert client.post("/api/v1/auth/logout").status_code == 200
    assert not _signed_in(client)
    assert not _signed_in(_with_cookies(any_app, wangge_session=stolen))


def test_sign_out_ends_a_copied_remember_cookie(any_app: Flask) -> None:
    _users(any_app)
    client = any_app.test_client()
    f.login(client, "wgy")
    remember = _cookie(client, REMEMBER)
    # The remember cookie alone signs a browser in (the phone was restarted) ...
    assert _signed_in(_with_cookies(any_app, wangge_remember=remember))
    assert client.post("/api/v1/auth/logout").status_code == 200
    # ... until that sign-in is ended.
    assert not _signed_in(_with_cookies(any_app, wangge_remember=remember))


def test_sign_out_leaves_the_other_devices_signed_in(any_app: Flask) -> None:
    _users(any_app)
    phone, desktop = any_app.test_client(), any_app.test_client()
    f.login(phone, "wgy")
    f.login(desktop, "wgy")
    assert phone.post("/api/v1/auth/logout").status_code == 200
    assert not _signed_in(phone)
    assert _signed_in(desktop)


def test_sign_out_everywhere(any_app: Flask) -> None:
    _users(any_app)
    phone, desktop = any_app.test_client(), any_app.test_client()
    f.login(phone, "wgy")
    f.login(desktop, "wgy")
    remember = _cookie(desktop, REMEMBER)
    r = phone.post("/api/v1/auth/logout", json={"everywhere": True})
    assert r.status_code == 200 and r.get_json()["ended"] == 2
    assert not _signed_in(phone) and not _signed_in(desktop)
    assert not _signed_in(_with_cookies(any_app, wangge_remember=remember))
    f.login(phone, "wgy")
    bad = phone.post("/api/v1/auth/logout", json={"everywhere": "yes"})
    assert bad.status_code == 400 and "everywhere" in bad.get_json()["fields"]


def test_password_change_still_ends_every_sign_in(any_app: Flask) -> None:
    _users(any_app)
    phone = any_app.test_client()
    f.login(phone, "wgy")
    remember = _cookie(phone, REMEMBER)
    with f.session(any_app) as db:
        db.execute(update(User).where(User.username == "wgy").values(session_epoch=7))
        db.commit()
    assert not _signed_in(phone)
    assert not _signed_in(_with_cookies(any_app, wangge_remember=remember))


def test_a_sign_in_expires_on_the_server(any_app: Flask) -> None:
    """The remember cookie's age is kept by the browser; the server keeps its own."""
    _users(any_app)
    phone = any_app.test_client()
    f.login(phone, "wgy")
    remember = _cookie(phone, REMEMBER)
    from server.models import SignIn

    with f.session(any_app) as db:
        db.execute(update(SignIn).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    assert not _signed_in(phone)
    assert not _signed_in(_with_cookies(any_app, wangge_remember=remember))


def test_sign_in_is_recorded_and_old_ones_pruned(any_app: Flask) -> None:
    _users(any_app)
    phone = any_app.test_client()
    f.login(phone, "wgy", remember=False)
    assert phone.get_cookie(REMEMBER) is None
    phone.post("/api/v1/auth/logout")
    f.login(phone, "wgy")
    from server.models import SignIn

    with f.session(any_app) as db:
        rows = list(db.scalars(select(SignIn)))
        # the ended sign-in was pruned when the next one started
        assert len(rows) == 1 and rows[0].ended_at is None
        assert rows[0].expires_at - rows[0].created_at == timedelta(days=30)
        assert len(rows[0].key_hash) == 64  # only a hash of the cookie's key is stored


def test_cookie_from_before_the_upgrade_is_refused(app: Flask, client: FlaskClient) -> None:
    """A cookie naming only "user:epoch" (no sign-in) does not sign anyone in."""
    _users(app)
    with app.test_request_context():
        from flask_login import encode_cookie  # type: ignore[attr-defined]

        old = encode_cookie("2:0")
    assert not _signed_in(_with_cookies(app, wangge_remember=old))


# -- CSRF at sign-in -----------------------------------------------------------------------------


def test_csrf_token_changes_at_sign_in(any_app: Flask) -> None:
    _users(any_app)
    client = any_app.test_client()
    before = client.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    body = f.login(client, "disp")
    assert body["csrf_token"] != before
    client.environ_base.pop("HTTP_X_CSRFTOKEN")
    r = client.post("/api/v1/auth/logout", headers={"X-CSRFToken": before})
    assert r.status_code == 400 and r.get_json()["error"] == "csrf_failed"
    ok = client.post("/api/v1/auth/logout", headers={"X-CSRFToken": body["csrf_token"]})
    assert ok.status_code == 200


def test_sign_in_page_rotates_the_session(app: Flask, client: FlaskClient) -> None:
    _users(app)
    html = client.get("/login").get_data(as_text=True)
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    ok = client.post(
        "/login", data={"username": "disp", "password": f.PASSWORD, "csrf_token": token}
    )
    assert ok.status_code == 302
    after = client.get("/api/v1/auth/me").get_json()["csrf_token"]
    assert after != token
    r = client.post("/api/v1/auth/logout", headers={"X-CSRFToken": token})
    assert r.status_code == 400 and r.get_json()["error"] == "csrf_failed"


def test_sign_in_api_takes_json_only(app: Flask, client: FlaskClient) -> None:
    """A cross-site HTML form can post a form or text/plain, never application/json."""
    _users(app)
    form = client.post("/api/v1/auth/login", data={"username": "disp", "password": f.PASSWORD})
    assert form.status_code == 415 and form.get_json()["error"] == "json_required"
    plain = client.post(
        "/api/v1/auth/login",
        data=json.dumps({"username": "disp", "password": f.PASSWORD}),
        headers={"Content-Type": "text/plain"},
    )
    assert plain.status_code == 415
    assert not _signed_in(client)


def test_sign_in_fields_are_typed(app: Flask, client: FlaskClient) -> None:
    _users(app)
    r = client.post(
        "/api/v1/auth/login",
        json={"username": "disp", "password": f.PASSWORD, "remember": "false"},
    )
    assert r.status_code == 400 and set(r.get_json()["fields"]) == {"remember"}
    r = client.post("/api/v1/auth/login", json={"username": 5, "password": ["x"]})
    assert r.status_code == 400 and set(r.get_json()["fields"]) == {"username", "password"}
    assert not _signed_in(client)


# -- throttling ----------------------------------------------------------------------------------


def _try(client: FlaskClient, user: str, password: str, addr: str) -> int:
    r = client.post(
        "/api/v1/auth/login",
        json={"username": user, "password": password},
        environ_base={"REMOTE_ADDR": addr},
    )
    return r.status_code


def test_an_attacker_elsewhere_cannot_lock_out_the_user(any_app: Flask) -> None:
    _users(any_app)
    client = any_app.test_client()
    for _ in range(6):
        _try(client, "disp", "bad-pass!", "203.0.113.9")
    assert _try(client, "disp", f.PASSWORD, "203.0.113.9") == 429
    assert _try(client, "disp", f.PASSWORD, "198.51.100.7") == 200


def test_one_address_is_throttled_across_user_names(any_app: Flask) -> None:
    _users(any_app)
    client = any_app.test_client()
    statuses = [_try(client, f"user{i}", "bad-pass!", "203.0.113.9") for i in range(20)]
    assert set(statuses) == {401}
    assert _try(client, "disp", f.PASSWORD, "203.0.113.9") == 429
    assert _try(client, "disp", f.PASSWORD, "198.51.100.7") == 200


def test_throttle_counts_only_the_window(app: Flask, client: FlaskClient) -> None:
    _users(app)
    for _ in range(5):
        _try(client, "disp", "bad-pass!", "203.0.113.9")
    assert _try(client, "disp", f.PASSWORD, "203.0.113.9") == 429
    with f.session(app) as db:
        db.execute(update(LoginAttempt).values(at=utcnow() - timedelta(minutes=16)))
        db.commit()
    assert _try(client, "disp", f.PASSWORD, "203.0.113.9") == 200


def test_forwarded_for_is_ignored_without_a_proxy(app: Flask, client: FlaskClient) -> None:
    """WANGGE_PROXY_COUNT=0 (the default): a client cannot pick its address by a header."""
    _users(app)
    for i in range(5):
        client.post(
            "/api/v1/auth/login",
            json={"username": "disp", "password": "bad-pass!"},
            headers={"X-Forwarded-For": f"192.0.2.{i}"},
        )
    r = client.post(
        "/api/v1/auth/login",
        json={"username": "disp", "password": f.PASSWORD},
        headers={"X-Forwarded-For": "192.0.2.200"},
    )
    assert r.status_code == 429
    with f.session(app) as db:
        assert set(db.scalars(select(LoginAttempt.ip))) == {"127.0.0.1"}


def test_behind_one_proxy_the_forwarded_address_counts(tmp_path, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    """Behind nginx (WANGGE_PROXY_COUNT=1) every request comes from 127.0.0.1; the client's
    address is the last one nginx appended to X-Forwarded-For."""
    settings = make_settings(tmp_path, sqlite_url)
    settings.proxy_count = 1
    app = create_app(settings)
    _users(app)
    client = app.test_client()
    attacker = {"X-Forwarded-For": "10.9.9.9, 203.0.113.9"}  # first part forged by the client
    for _ in range(5):
        client.post(
            "/api/v1/auth/login",
            json={"username": "disp", "password": "bad-pass!"},
            headers=attacker,
        )
    r = client.post(
        "/api/v1/auth/login", json={"username": "disp", "password": f.PASSWORD}, headers=attacker
    )
    assert r.status_code == 429
    r = client.post(
        "/api/v1/auth/login",
        json={"username": "disp", "password": f.PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"},
    )
    assert r.status_code == 200
    with f.session(app) as db:
        assert set(db.scalars(select(LoginAttempt.ip))) == {"203.0.113.9", "198.51.100.7"}
    app.extensions["wangge.engine"].dispose()
