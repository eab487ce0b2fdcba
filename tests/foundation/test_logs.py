"""Open311 keys sent in the query string never reach a log: the development server's request
log (werkzeug) and gunicorn's access log both write ``api_key=[redacted]``."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from server.logs import redact
from tests.support import ROOT

KEY = "wg311_s3cretKEYvalue-_xyz"
BIN = Path(sys.executable).parent


def test_redact() -> None:
    assert redact(f"GET /open311/v2/requests.json?api_key={KEY}&x=1 HTTP/1.1") == (
        "GET /open311/v2/requests.json?api_key=[redacted]&x=1 HTTP/1.1"
    )
    assert KEY not in redact(f"/login?next=/open311/v2/x%3FAPI%5FKEY%3D{KEY}")
    assert redact("/api/v1/cases?q=api_keys") == "/api/v1/cases?q=api_keys"


def _get(url: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            r.read()
    except OSError:
        pass  # a 4xx is as good as a 200 here: the request line is logged either way


def test_development_server_log_has_no_key(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            base = f"http://127.0.0.1:{server.server_port}"
            _get(f"{base}/open311/v2/services.json?api_key={KEY}")
            _get(f"{base}/open311/v2/requests.json?jurisdiction_id=x&api_key={KEY}")
    finally:
        server.shutdown()
        thread.join(5)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("/open311/v2/services.json" in line for line in lines), lines
    assert all(KEY not in line for line in lines), lines
    assert any("api_key=[redacted]" in line for line in lines)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "log_format",
    [None, '%(h)s "%(r)s" %(s)s q=%(q)s U=%(U)s raw={raw_uri}e qs={query_string}e'],
)
def test_gunicorn_access_log_has_no_key(
    tmp_path: Path, sqlite_template: Path, log_format: str | None
) -> None:
    """gunicorn run the documented way (in the project folder: gunicorn.conf.py is read)."""
    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copy(sqlite_template, instance / "wangge.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANGGE_")}
    env.update(
        {
            "WANGGE_INSTANCE_DIR": str(instance),
            "WANGGE_DATABASE_URL": f"sqlite:///{instance / 'wangge.db'}",
            "WANGGE_SECRET_KEY": "log-test",
        }
    )
    port = _free_port()
    log = tmp_path / "access.log"
    cmd = [str(BIN / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}"]
    cmd += ["--access-logfile", str(log)]
    if log_format:
        cmd += ["--access-logformat", log_format]
    proc = subprocess.Popen(
        [*cmd, "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (log.exists() and "/healthz" in log.read_text()):
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "gunicorn did not start in 30 s"
            _get(f"http://127.0.0.1:{port}/healthz")
            time.sleep(0.2)
        _get(f"http://127.0.0.1:{port}/open311/v2/services.json?api_key={KEY}")
        deadline = time.monotonic() + 10
        while "services.json" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    text = log.read_text()
    assert "services.json" in text
    assert KEY not in text, text
    assert "api_key=[redacted]" in text


def test_gunicorn_conf_serves_long_polls_without_starving_intake(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """Started as the README says, gunicorn runs the gevent worker, and 60 open long polls on
    one worker process do not keep a sign-in or ``/healthz`` waiting (issue 13: under the
    former gthread config each waiting poll held one of 8 threads; a sync worker froze at 4)."""
    from server.db import make_engine
    from server.models import User
    from server.security import hash_password

    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copy(sqlite_template, instance / "wangge.db")
    url = f"sqlite:///{instance / 'wangge.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        row = {"username": "desk", "display_name": "desk", "role": "admin", "phone": "",
               "password_hash": hash_password("desk-pass-1"), "active": True,
               "session_epoch": 0, "created_at": datetime.now(UTC)}  # fmt: skip
        conn.execute(User.__table__.insert().values(**row))
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANGGE_", "GUNICORN_"))}
    env.update({"WANGGE_INSTANCE_DIR": str(instance), "WANGGE_SECRET_KEY": "conf-test",
                "WANGGE_DATABASE_URL": url, "WANGGE_LONG_POLL_PER_USER": "100"})  # fmt: skip
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    err = tmp_path / "err.log"

    def login() -> str:
        req = urllib.request.Request(
            f"{base}/api/v1/auth/login",
            data=b'{"username": "desk", "password": "desk-pass-1"}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return "; ".join(
                v.split(";", 1)[0] for k, v in resp.headers.items() if k.lower() == "set-cookie"
            )

    def get(path: str, cookie: str, timeout: float = 30) -> bytes:
        req = urllib.request.Request(f"{base}{path}", headers={"Cookie": cookie})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read()  # type: ignore[no-any-return]

    with err.open("wb") as errors:
        proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while "Booting worker" not in err.read_text():
                assert proc.poll() is None, err.read_text()
                assert time.monotonic() < deadline, "gunicorn did not start in 30 s"
                time.sleep(0.2)
            while True:
                try:
                    cookie = login()
                    break
                except OSError:
                    assert time.monotonic() < deadline, err.read_text()
                    time.sleep(0.2)
            cursor = json.loads(get("/api/v1/changes", cookie))["cursor"]
            answers: list[bytes] = []
            polls = [
                threading.Thread(
                    target=lambda: answers.append(
                        get(f"/api/v1/changes?after={cursor}&wait=6", cookie)
                    )
                )
                for _ in range(60)
            ]
            for t in polls:
                t.start()
            time.sleep(1.5)  # the polls are waiting now
            t0 = time.monotonic()
            get("/healthz", "", timeout=5)
            login()
            took = time.monotonic() - t0
            assert all(t.is_alive() for t in polls)  # still waiting: nothing to say yet
            for t in polls:
                t.join(20)
            assert len(answers) == 60
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
    assert took < 3.0, took
    assert "Using worker: gevent" in err.read_text(), err.read_text()
    conf: dict[str, object] = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), conf)
    assert conf["worker_class"] == "gevent"
