"""The real app for the admin and dashboard end-to-end tests, and a Chromium to drive it.

``live`` starts ``flask run`` in a subprocess on a free port, with its own instance directory
(SQLite), migrated and demo-seeded exactly as ``make run`` does. ``browser`` is the system
Chromium (Debian's /usr/bin/chromium) through Playwright for Python: missing, it skips locally
and fails in CI (WANGGE_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, require

DIST = ROOT / "webapp" / "dist"
PASSWORD = "wangge-demo"
SCREENSHOTS = ROOT / "docs" / "screenshots"


@dataclass
class Live:
    url: str
    instance: Path
    database_url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def api(
        self, method: str, path: str, *, user: str = "admin", body: Any = None
    ) -> tuple[int, Any]:
        """One JSON API call as ``user`` (signs in first), for checks beside the browser."""
        return ApiSession(self.url, user).call(method, path, body)


class ApiSession:
    """A tiny cookie session for the JSON API (login, CSRF), standard library only."""

    def __init__(self, base: str, user: str) -> None:
        import http.cookiejar

        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = ""
        status, data = self.call(
            "POST", "/api/v1/auth/login", {"username": user, "password": PASSWORD}
        )
        assert status == 200, data
        self.csrf = data["csrf_token"]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if self.csrf:
            req.add_header("X-CSRFToken", self.csrf)
        try:
            with self.opener.open(req, timeout=30) as resp:
                raw, status = resp.read(), resp.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _flask(env: dict[str, str], *args: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")


def _newest_source() -> float:
    webapp = ROOT / "webapp"
    newest = 0.0
    for sub in ("src", "console", "app"):
        for p in (webapp / sub).rglob("*"):
            if p.is_file():
                newest = max(newest, p.stat().st_mtime)
    for name in ("vite.config.ts", "package.json", "package-lock.json"):
        p = webapp / name
        if p.exists():
            newest = max(newest, p.stat().st_mtime)
    return newest


def _ensure_webapp_built() -> None:
    """The console must be built (``make test`` builds it); build it here when it is missing
    or older than its sources (so a local ``pytest`` never tests stale screens)."""
    index = DIST / "console" / "index.html"
    if index.exists() and index.stat().st_mtime >= _newest_source():
        return
    npm = shutil.which("npm")
    require(
        npm is not None and (ROOT / "webapp" / "node_modules").is_dir(),
        "webapp/dist is missing or stale and npm/node_modules are missing: run `make webapp`",
        "WANGGE_REQUIRE_BROWSER",
    )
    subprocess.run(
        [npm or "npm", "run", "build"],
        cwd=ROOT / "webapp",
        check=True,
        timeout=600,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    _ensure_webapp_built()
    instance = tmp_path_factory.mktemp("e2e-admin-instance")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WANGGE_") or k.startswith("WANGGE_REQUIRE")
    }
    env.update(
        WANGGE_INSTANCE_DIR=str(instance),
        WANGGE_DATABASE_URL=f"sqlite:///{instance / 'wangge.db'}",
        PYTHONUNBUFFERED="1",
    )
    _flask(env, "db", "upgrade")
    _flask(env, "demo", "seed")
    port = _free_port()
    log = instance / "server.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port),
             "--with-threads", "--no-reload"],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/api/v1/workflow", timeout=2) as resp:
                if resp.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the app did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)
    try:
        yield Live(url, instance, env["WANGGE_DATABASE_URL"], proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser(chromium: Any) -> Any:
    return chromium


def sign_in(browser: Any, live: Live, user: str, *, lang: str = "zh-CN") -> Any:
    """A new page signed in as ``user`` through the real sign-in form."""
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale=lang, timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _ERRORS[id(page)] = errors
    page.goto(f"{live.url}/login?next=/console/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button, form input[type=submit]").first.click()
    page.wait_for_url("**/console/**")
    return page


_ERRORS: dict[int, list[str]] = {}


def finish(page: Any) -> None:
    """Close the page's context; fail if the page had an uncaught script error."""
    errors = _ERRORS.pop(id(page), [])
    page.context.close()
    assert not errors, f"script errors in the page: {errors}"


def shot(page: Any, name: str) -> None:
    """Save docs/screenshots/NAME.png once the toasts have gone, when WANGGE_SCREENSHOTS=1
    (the screenshots in the docs come from these tests; a plain run leaves them alone)."""
    if os.environ.get("WANGGE_SCREENSHOTS", "") != "1":
        return
    page.locator("[data-test=toast]").first.wait_for(state="detached", timeout=10_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
