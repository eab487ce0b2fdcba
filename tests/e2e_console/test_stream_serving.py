"""The console's change stream served as in production (gunicorn with ``gunicorn.conf.py``'s
gevent worker, one process): many open streams do not hold up intake, every stream in scope
gets a report within seconds, and signing out ends that sign-in's streams (issue 13)."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
import urllib.request
from typing import Any

from tests.e2e_console.conftest import report_as_worker
from tests.live import Api, ApiSession, LiveServer

# Four streams each (the per-user cap) for the county's console users.
COUNTY = ("ddy", "ddy2", "dcy", "admin")


class Reader:
    """One open stream on its own thread, over a plain socket (so that closing it ends the read
    at once): its frames as (event, data) in a queue. The body is chunked; each frame is one
    chunk, so the chunk-size lines are simply skipped."""

    def __init__(self, base: str, cookie: str) -> None:
        self.frames: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        host, port = base.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        self.sock.sendall(
            f"GET /api/v1/changes/stream HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        self.file = self.sock.makefile("rb")
        status = self.file.readline().decode()
        assert " 200 " in status, status
        head = b""
        while (line := self.file.readline()) not in (b"\r\n", b""):
            head += line
        assert b"text/event-stream" in head.lower(), head
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        event, data = "", ""
        try:
            for raw in self.file:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif line == "" and event:
                    self.frames.put((event, json.loads(data)))
                    event, data = "", ""
        except (OSError, ValueError):
            pass
        finally:
            self.frames.put(None)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def wait_for(self, case_id: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                got = self.frames.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                return False
            if got is None:
                return False
            if got[0] == "changes" and any(i["id"] == case_id for i in got[1]["items"]):
                return True
        return False

    def next_event(self, timeout: float) -> str | None:
        got = self.frames.get(timeout=timeout)
        return None if got is None else got[0]


def test_open_streams_do_not_hold_up_intake_and_each_gets_the_report(
    live_server: LiveServer, pw: Any
) -> None:
    base = live_server.url
    readers = [Reader(base, ApiSession(base, u).cookie()) for u in COUNTY for _ in range(4)]
    try:
        for r in readers:
            assert r.next_event(10) == "changes"  # the first frame: the current cursor
        t0 = time.monotonic()
        with urllib.request.urlopen(base + "/healthz", timeout=5) as resp:
            assert resp.status == 200
        wgy = Api(pw, base, "wgy")
        case = report_as_worker(wgy, "流服务测试 占道经营")
        took = time.monotonic() - t0
        assert took < 5, f"a report took {took:.1f} s with {len(readers)} streams open"
        arrived = [r.wait_for(case["id"], 10) for r in readers]
        assert all(arrived), f"{arrived.count(False)} of {len(readers)} streams missed the case"
    finally:
        for r in readers:
            r.close()


def test_signing_out_ends_the_stream_of_that_sign_in(live_server: LiveServer) -> None:
    base = live_server.url
    session = ApiSession(base, "ddy2")
    reader = Reader(base, session.cookie())
    try:
        assert reader.next_event(10) == "changes"
        status, _ = session.call("POST", "/api/v1/auth/logout", {})
        assert status == 200
        assert reader.next_event(10) == "signed_out"
        assert reader.next_event(10) is None  # and the stream ends
    finally:
        reader.close()
