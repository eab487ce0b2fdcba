"""End-to-end tests of the field app in Debian's Chromium (Playwright for Python).

The real app runs in a subprocess (gunicorn) on a free port with its own instance directory:
SQLite, migrated and seeded with the demo county once per session, copied for every test.
A missing Chromium or Playwright skips these tests locally and fails them in CI
(WANGGE_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import io
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, require

DIST = ROOT / "webapp" / "dist"
BIN = Path(sys.executable).parent
PASSWORD = "wangge-demo"
# the demo worker wgy's first grid (城区街道第1社区 第001网格)
IN_MY_GRID: Any = {"latitude": 38.1185, "longitude": 106.2690, "accuracy": 12}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANGGE_")}
    env.update(
        {
            "WANGGE_INSTANCE_DIR": str(instance),
            "WANGGE_DATABASE_URL": f"sqlite:///{instance / 'wangge.db'}",
            "WANGGE_SECRET_KEY": "e2e-secret",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _flask(instance: Path, *args: str) -> None:
    subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=_env(instance),
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def playwright_sync(playwright_session: Any) -> Any:
    return playwright_session


@pytest.fixture(scope="session")
def webapp_dist() -> Path:
    """The built field app (``make test`` builds it; built here when missing)."""
    if not (DIST / "app" / "index.html").exists() or not (DIST / "app" / "sw.js").exists():
        npm = shutil.which("npm")
        require(
            bool(npm) and (ROOT / "webapp" / "node_modules").is_dir(),
            "webapp not built: run `make webapp` (needs Node.js and npm)",
            "WANGGE_REQUIRE_BROWSER",
        )
        subprocess.run([str(npm), "run", "build"], cwd=ROOT / "webapp", check=True, timeout=600)
    return DIST


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An instance directory migrated and seeded with the demo county, made once."""
    instance = tmp_path_factory.mktemp("e2e-template")
    _flask(instance, "db", "upgrade")
    _flask(instance, "demo", "seed")
    db = sqlite3.connect(instance / "wangge.db")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return instance


class LiveServer:
    """The app in a gunicorn subprocess; can be killed (SIGKILL) and started again."""

    def __init__(self, instance: Path, port: int) -> None:
        self.instance = instance
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = instance / "server.log"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "--workers",
                    "1",
                    "--threads",
                    "8",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--graceful-timeout",
                    "2",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=_env(self.instance),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start in 30 s")

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean shutdown, requests cut mid-way."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(self.instance / "wangge.db", timeout=10)
        try:
            return list(db.execute(sql, params))
        finally:
            db.close()


@pytest.fixture
def server(tmp_path: Path, seeded_template: Path, webapp_dist: Path) -> Iterator[LiveServer]:
    instance = tmp_path / "instance"
    shutil.copytree(seeded_template, instance)
    srv = LiveServer(instance, _free_port())
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser(chromium: Any) -> Any:
    return chromium


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        geolocation=IN_MY_GRID,
        permissions=["geolocation"],
    )
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    p = context.new_page()
    p.errors = []  # type: ignore[attr-defined]
    p.on("pageerror", lambda e: p.errors.append(str(e)))  # type: ignore[attr-defined]
    return p


@pytest.fixture
def api(playwright_sync: Any, server: LiveServer) -> Any:
    """Sign in to the API as someone else (e.g. the dispatcher) from the test."""
    made: list[Any] = []

    def as_user(username: str) -> Any:
        req = playwright_sync.request.new_context(base_url=server.url)
        made.append(req)
        resp = req.post("/api/v1/auth/login", data={"username": username, "password": PASSWORD})
        assert resp.ok, resp.text()
        token = resp.json()["csrf_token"]
        return ApiAs(req, token)

    yield as_user
    for r in made:
        r.dispose()


class ApiAs:
    def __init__(self, req: Any, token: str) -> None:
        self.req = req
        self.token = token

    def get(self, path: str) -> Any:
        resp = self.req.get("/api/v1" + path)
        assert resp.ok, resp.text()
        return resp.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        resp = self.req.post("/api/v1" + path, data=body, headers={"X-CSRFToken": self.token})
        assert resp.ok, resp.text()
        return resp.json()

    def upload(self, data: bytes) -> str:
        key = str(uuid.uuid4())
        self.post("/uploads", {"uuid": key, "total_bytes": len(data), "filename": "p.jpg"})
        resp = self.req.put(
            f"/api/v1/uploads/{key}?offset=0",
            data=data,
            headers={"X-CSRFToken": self.token, "Content-Type": "application/octet-stream"},
        )
        assert resp.ok and resp.json()["status"] == "ready", resp.text()
        return key

    def act(self, case: dict[str, Any], action: str, **fields: Any) -> dict[str, Any]:
        body = {"uuid": str(uuid.uuid4()), "action": action, "version": case["version"], **fields}
        return dict(self.post(f"/cases/{case['id']}/actions", body)["case"])


def resolved_case(api: Any, photo: Path, text: str = "e2e 待核查的案件") -> dict[str, Any]:
    """A case in wgy's first grid, reported, dispatched to 综合执法局 and resolved with a photo."""
    wgy, ddy, czry = api("wgy"), api("ddy"), api("czry")
    case = wgy.post(
        "/cases",
        {
            "uuid": str(uuid.uuid4()),
            "category_code": "0101",
            "description": text,
            "lon": IN_MY_GRID["longitude"],
            "lat": IN_MY_GRID["latitude"],
            "photos": [wgy.upload(photo.read_bytes())],
            "device_time": "2026-01-01T00:00:00Z",
        },
    )["case"]
    case = ddy.act(case, "accept")
    dept = czry.get("/auth/me")["user"]["department_id"]
    case = ddy.act(case, "dispatch", department_id=dept, urgency="normal")
    case = czry.act(case, "sign")
    case = czry.act(case, "resolve", note="已清理", photos=[czry.upload(photo.read_bytes())])
    assert case["state"] == "resolved", case
    return case


def make_photo(
    path: Path, width: int = 3000, height: int = 2250, noise: int = 40, seed: int = 1
) -> Path:
    """A camera-like JPEG: a gradient with noise (noise makes it big, like a real photo)."""
    from PIL import Image

    rng = random.Random(seed)
    img = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    if noise:
        grain = Image.effect_noise((width, height), noise).convert("RGB")
        img = Image.blend(img, grain, 0.5)
    img = img.rotate(rng.choice([0, 180]))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    path.write_bytes(buf.getvalue())
    return path


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return make_photo(tmp_path / "photo.jpg")
