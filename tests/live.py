"""The real app in a subprocess, for every end-to-end suite (fixtures in ``tests/conftest.py``).

One SQLite instance is migrated and demo-seeded once per test run (``seed``); the shared server
(``live_server``) runs on a copy of it, and a test that kills the server or rewrites every name
gets a private copy (``own_server``). The server is gunicorn (threaded, as in production) on a
free port. ``Api`` is a signed-in JSON client for setting the scene beside the browser.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from tests.support import ROOT, require

BIN = Path(sys.executable).parent
WEBAPP = ROOT / "webapp"
PASSWORD = "wangge-demo"
CHROMIUM = Path(os.environ.get("WANGGE_CHROMIUM", "/usr/bin/chromium"))
# As root in a container, without the network: no sandbox, no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_env(instance: Path) -> dict[str, str]:
    """The environment of the app on ``instance`` (none of the caller's WANGGE_ settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANGGE_")}
    env.update(
        WANGGE_INSTANCE_DIR=str(instance),
        WANGGE_DATABASE_URL=f"sqlite:///{instance / 'wangge.db'}",
        WANGGE_SECRET_KEY="e2e-secret",
        WANGGE_APP_SWEEP_SECONDS="0",
        PYTHONUNBUFFERED="1",
    )
    return env


def flask(instance: Path, *args: str) -> str:
    """Run ``flask --app wsgi ARGS`` on ``instance``; its output (fails with it)."""
    out = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=app_env(instance),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout.strip()


def seed(instance: Path) -> Path:
    """Migrate and demo-seed ``instance`` as ``make run`` does, plus a second dispatcher
    (``ddy2``, for the console's conflict test)."""
    instance.mkdir(parents=True, exist_ok=True)
    flask(instance, "db", "upgrade")
    flask(instance, "demo", "seed")
    flask(instance, "users", "create", "ddy2", "--role", "dispatcher", "--password", PASSWORD,
          "--name", "指挥中心 周调度", "--region", "640181")  # fmt: skip
    db = sqlite3.connect(instance / "wangge.db")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return instance


def _newest_source() -> float:
    newest = 0.0
    for sub in ("src", "console", "app", "public"):
        for p in (WEBAPP / sub).rglob("*"):
            if p.is_file():
                newest = max(newest, p.stat().st_mtime)
    for name in ("vite.config.ts", "package.json", "package-lock.json"):
        p = WEBAPP / name
        if p.exists():
            newest = max(newest, p.stat().st_mtime)
    return newest


def ensure_webapp_built() -> None:
    """``make test`` builds the web app; a plain ``pytest`` builds it here when it is missing
    or older than its sources (never tests stale screens), or skips (fails in CI) without npm."""
    index = WEBAPP / "dist" / "console" / "index.html"
    built = index.exists() and (WEBAPP / "dist" / "app" / "sw.js").exists()
    if built and index.stat().st_mtime >= _newest_source():
        return
    npm = shutil.which("npm")
    require(
        npm is not None and (WEBAPP / "node_modules").is_dir(),
        "webapp/dist is missing or stale and npm/node_modules are missing: run `make webapp`",
        "WANGGE_REQUIRE_BROWSER",
    )
    cmd = [str(npm), "run", "build"]
    if shutil.which("flock"):
        cmd = ["flock", "/tmp/wangge-npm.lock", *cmd]
    out = subprocess.run(cmd, cwd=WEBAPP, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"webapp build failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")


class LiveServer:
    """The app in a gunicorn subprocess; can be killed (SIGKILL) and started again."""

    def __init__(self, instance: Path, port: int | None = None, app: str = "wsgi:app") -> None:
        self.instance = instance
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = f"sqlite:///{instance / 'wangge.db'}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = instance / "server.log"

    @classmethod
    def copy_of(cls, template: Path, instance: Path, app: str = "wsgi:app") -> LiveServer:
        shutil.copytree(template, instance)
        return cls(instance, app=app)

    def start(self) -> LiveServer:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "gunicorn"), "--workers", "1", "--threads", "8",
                 "--bind", f"127.0.0.1:{self.port}", "--graceful-timeout", "2", self.app],
                cwd=ROOT,
                env=app_env(self.instance),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not start in 60 s: {self.log.read_text()[-2000:]}")

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

    def flask(self, *args: str) -> str:
        return flask(self.instance, *args)

    def api(
        self, method: str, path: str, *, user: str = "admin", body: Any = None
    ) -> tuple[int, Any]:
        """One JSON API call as ``user`` (signs in first): (status, answer)."""
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

    def cookie(self) -> str:
        """The session's cookies as a ``Cookie`` header (for a request made another way)."""
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

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


class Api:
    """The JSON API signed in as one user, through Playwright's request context."""

    def __init__(self, playwright: Any, base: str, username: str) -> None:
        self.ctx = playwright.request.new_context(base_url=base)
        r = self.ctx.post("/api/v1/auth/login", data={"username": username, "password": PASSWORD})
        assert r.ok, r.text()
        self.user = r.json()["user"]
        self.csrf = r.json()["csrf_token"]

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        """``body`` goes as JSON; ``params=``, ``multipart=`` … as Playwright takes them."""
        r = self.ctx.fetch(
            "/api/v1" + path,
            method=method,
            headers={"X-CSRFToken": self.csrf},
            **({"data": body} if body is not None else {}),
            **kw,
        )
        assert r.ok, f"{method} {path}: {r.status} {r.text()[:500]}"
        return r.json() if r.text() else None

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params or None)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.call("POST", path, body)

    def act(self, case: dict[str, Any], action: str, **fields: Any) -> dict[str, Any]:
        body = {"uuid": str(uuid.uuid4()), "action": action, "version": case["version"], **fields}
        return dict(self.post(f"/cases/{case['id']}/actions", body)["case"])

    def upload(self, data: bytes) -> str:
        """Upload through the resumable upload API in one piece; the upload's UUID."""
        key = str(uuid.uuid4())
        self.post("/uploads", {"uuid": key, "total_bytes": len(data), "filename": "p.jpg"})
        r = self.ctx.put(
            f"/api/v1/uploads/{key}?offset=0",
            data=data,
            headers={"X-CSRFToken": self.csrf, "Content-Type": "application/octet-stream"},
        )
        assert r.ok and r.json()["status"] == "ready", r.text()
        return key

    def photo(self) -> str:
        return self.upload(jpeg_bytes())

    def close(self) -> None:
        self.ctx.dispose()


def jpeg_bytes(color: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    """A small JPEG (a coloured box)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 480), color)
    ImageDraw.Draw(img).rectangle((100, 100, 400, 300), fill=(230, 200, 40))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()
