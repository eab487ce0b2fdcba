"""End-to-end fixtures for the command-centre console: the real app in a subprocess, Chromium.

The server is started once per test session on a free port with a temporary instance dir,
migrated and demo-seeded (plus a second dispatcher, ``ddy2``, for the conflict test). The web
app must be built (``webapp/dist``): ``make test`` builds it; if it is missing or older than
its sources this fixture builds it with ``npm run build`` when node_modules is there, else it
skips (or fails when WANGGE_REQUIRE_BROWSER is set).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import CHROMIUM
from tests.support import ROOT, require

PASSWORD = "wangge-demo"
WEBAPP = ROOT / "webapp"
DIST_INDEX = WEBAPP / "dist" / "console" / "index.html"


def _newest_source() -> float:
    newest = 0.0
    for sub in ("src", "console", "app"):
        for p in (WEBAPP / sub).rglob("*"):
            if p.is_file():
                newest = max(newest, p.stat().st_mtime)
    for name in ("vite.config.ts", "package.json"):
        p = WEBAPP / name
        if p.exists():
            newest = max(newest, p.stat().st_mtime)
    return newest


def ensure_built() -> None:
    fresh = DIST_INDEX.exists() and DIST_INDEX.stat().st_mtime >= _newest_source()
    if fresh:
        return
    npm = shutil.which("npm")
    if npm and (WEBAPP / "node_modules").is_dir():
        cmd = [npm, "run", "build"]
        if shutil.which("flock"):
            cmd = ["flock", "/tmp/wangge-npm.lock", *cmd]
        proc = subprocess.run(cmd, cwd=WEBAPP, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            pytest.fail(f"webapp build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return
    require(
        DIST_INDEX.exists(),
        "webapp/dist/console is missing and npm/node_modules are not there to build it "
        "(run `make webapp`)",
        "WANGGE_REQUIRE_BROWSER",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _flask(env: dict[str, str], *args: str, timeout: int = 300) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


@pytest.fixture(scope="session")
def browser_available() -> None:
    require(
        Path(CHROMIUM).exists(),
        f"{CHROMIUM} not found: console end-to-end tests skipped (apt-get install chromium)",
        "WANGGE_REQUIRE_BROWSER",
    )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        require(False, "playwright (Python) is not installed", "WANGGE_REQUIRE_BROWSER")


@pytest.fixture(scope="session")
def server(browser_available: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the real app, started in a subprocess on a free port."""
    ensure_built()
    inst = tmp_path_factory.mktemp("console-e2e")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WANGGE_") or k.startswith("WANGGE_REQUIRE")
    }
    env.update(
        WANGGE_INSTANCE_DIR=str(inst),
        WANGGE_SECRET_KEY="e2e-console-secret",
        PYTHONUNBUFFERED="1",
    )
    _flask(env, "db", "upgrade")
    _flask(env, "demo", "seed")
    _flask(
        env,
        "users",
        "create",
        "ddy2",
        "--role",
        "dispatcher",
        "--password",
        PASSWORD,
        "--name",
        "指挥中心 周调度",
        "--region",
        "640181",
    )
    port = _free_port()
    log = open(inst / "server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "run",
            "--port",
            str(port),
            "--with-threads",
            "--no-reload",
            "--no-debugger",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((inst / "server.log").read_text()) from None
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("the app did not start within 30 s")
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def pw(browser_available: None, playwright_session: Any) -> Any:
    return playwright_session


@pytest.fixture(scope="session")
def browser(chromium: Any) -> Any:
    return chromium


class Api:
    """A signed-in API client (Playwright's request context), for setting up cases."""

    def __init__(self, pw: Any, base: str, username: str) -> None:
        self.ctx = pw.request.new_context(base_url=base)
        r = self.ctx.post("/api/v1/auth/login", data={"username": username, "password": PASSWORD})
        assert r.ok, r.text()
        body = r.json()
        self.user = body["user"]
        self.csrf = body["csrf_token"]

    def get(self, path: str, **params: Any) -> Any:
        r = self.ctx.get(f"/api/v1{path}", params=params or None)
        assert r.ok, f"GET {path}: {r.status} {r.text()}"
        return r.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        r = self.ctx.post(f"/api/v1{path}", data=body, headers={"X-CSRFToken": self.csrf})
        assert r.ok, f"POST {path}: {r.status} {r.text()}"
        return r.json()

    def act(self, case: dict[str, Any], action: str, **body: Any) -> dict[str, Any]:
        ans = self.post(
            f"/cases/{case['id']}/actions",
            {"uuid": str(uuid.uuid4()), "action": action, "version": case["version"], **body},
        )
        return dict(ans["case"])

    def photo(self) -> str:
        """Upload a small generated JPEG through the resumable upload API; its UUID."""
        data = jpeg_bytes()
        key = str(uuid.uuid4())
        self.post("/uploads", {"uuid": key, "total_bytes": len(data), "filename": "p.jpg"})
        r = self.ctx.put(
            f"/api/v1/uploads/{key}?offset=0",
            data=data,
            headers={"X-CSRFToken": self.csrf, "Content-Type": "application/octet-stream"},
        )
        assert r.ok and r.json()["status"] == "ready", r.text()
        return key

    def close(self) -> None:
        self.ctx.dispose()


def jpeg_bytes(color: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 480), color)
    ImageDraw.Draw(img).rectangle((100, 100, 400, 300), fill=(230, 200, 40))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


@pytest.fixture
def api_as(pw: Any, server: str) -> Iterator[Any]:
    made: list[Api] = []

    def make(username: str) -> Api:
        a = Api(pw, server, username)
        made.append(a)
        return a

    yield make
    for a in made:
        a.close()


def report_as_worker(api: Api, description: str, category_code: str = "0101") -> dict[str, Any]:
    """File a case as the grid worker does from the field app: a point inside one of my grids."""
    from shapely.geometry import shape

    grids = api.get("/grids.geojson", mine=1)
    p = shape(grids["features"][0]["geometry"]).representative_point()
    ans = api.post(
        "/cases",
        {
            "uuid": str(uuid.uuid4()),
            "category_code": category_code,
            "description": description,
            "lon": round(p.x, 6),
            "lat": round(p.y, 6),
            "accuracy_m": 8,
            "photos": [api.photo()],
            "device_time": "2026-01-01T08:00:00+08:00",
        },
    )
    return dict(ans["case"])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def console(
    browser: Any, server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Any]:
    """Open a signed-in console page: ``page = console("ddy")``.

    On failure each page's screenshot is left in the test's tmp_path (named in the report).
    """
    contexts: list[Any] = []

    def open_as(username: str, path: str = "/console/queue", *, via_form: bool = False) -> Any:
        ctx = browser.new_context(
            base_url=server, viewport={"width": 1440, "height": 900}, locale="zh-CN"
        )
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.js_errors = errors
        if via_form:
            page.goto(path)
            page.fill("[data-test=login-form] input[name=username]", username)
            page.fill("[data-test=login-form] input[name=password]", PASSWORD)
            page.click("[data-test=login-form] button[type=submit]")
        else:
            r = ctx.request.post(
                "/api/v1/auth/login", data={"username": username, "password": PASSWORD}
            )
            assert r.ok, r.text()
            page.goto(path)
        page.wait_for_selector(".topbar")
        return page

    yield open_as
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for i, ctx in enumerate(contexts):
            for j, page in enumerate(ctx.pages):
                shot = tmp_path / f"failure-{i}-{j}.png"
                try:
                    page.screenshot(path=str(shot))
                    print(f"screenshot: {shot} ({page.url})")
                except Exception:  # noqa: BLE001
                    pass
    for ctx in contexts:
        ctx.close()
