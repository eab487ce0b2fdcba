"""Field app: JavaScript before the first report, Slow-4G start-up, offline start-up (DESIGN §7).

    .venv/bin/python bench/webapp.py [--runs 5]

Builds nothing: run `make webapp` (or `npm run build` in webapp/) first. Starts the app with a
fresh, seeded SQLite instance (gunicorn on a free loopback port) behind a small gzip proxy that
does what the nginx of docs/deployment.md does (gzip for JS/CSS/HTML/JSON), then drives Debian's
Chromium and prints:

1. the gzipped JavaScript loaded before a report can be written (goal < 150 KB): every JS file
   the page fetched until the report form is usable, gzip level 6 (nginx's usual setting);
2. the time to a usable report form on a Chromium-throttled Slow 4G link (CDP
   Network.emulateNetworkConditions: 150 ms RTT, 1.6 Mbps down, 750 kbps up; goal < 5 s), for a
   signed-in worker whose browser cache and service worker are empty (the worst case after the
   first sign-in), and for a first visit up to the sign-in form;
3. the time to open offline (service worker installed, network off; goal < 2 s).

"Usable" = the report form is shown with its categories (from IndexedDB) and its save button.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("WANGGE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SLOW_4G = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8,
    "uploadThroughput": 750 * 1024 / 8,
}
USABLE = """() => {
  const w = window.wangge
  return !!(w && w.state.ready && w.state.session && w.state.bootstrap
    && w.state.bootstrap.categories.length
    && document.querySelector('[data-test=report-form] [data-test=save]')
    && document.querySelector('[data-test=category]'))
}"""
GZIP_TYPES = ("javascript", "css", "html", "json", "manifest", "svg")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANGGE_")}
    env.update(
        WANGGE_INSTANCE_DIR=str(instance),
        WANGGE_DATABASE_URL=f"sqlite:///{instance / 'wangge.db'}",
        WANGGE_SECRET_KEY="bench-secret",
    )
    return env


def start_app(instance: Path, port: int) -> subprocess.Popen[bytes]:
    for args in (("db", "upgrade"), ("demo", "seed")):
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=env_for(instance),
            check=True,
            capture_output=True,
        )
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env_for(instance),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the app did not start")


def gzip_proxy(upstream_port: int) -> tuple[ThreadingHTTPServer, int]:
    """A reverse proxy that gzips text like nginx `gzip on; gzip_comp_level 6`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a: Any) -> None:
            pass

        def _proxy(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in {"accept-encoding", "connection"}
            }
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            kind = resp.getheader("Content-Type", "")
            zipped = (
                "gzip" in self.headers.get("Accept-Encoding", "")
                and any(t in kind for t in GZIP_TYPES)
                and not resp.getheader("Content-Encoding")
                and len(data) > 256
            )
            if zipped:
                data = gzip.compress(data, compresslevel=6)
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() in {
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "content-encoding",
                }:
                    continue
                self.send_header(k, v)
            upstream_encoding = resp.getheader("Content-Encoding")
            if upstream_encoding:
                self.send_header("Content-Encoding", upstream_encoding)
            if zipped:
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Vary", "Accept-Encoding")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _proxy

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a browser closing a keep-alive connection is not news

    port = free_port()
    server = QuietServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


def sign_in(page: Any, base: str) -> None:
    sign_in_without_sw(page, base)
    page.wait_for_function(
        "async () => (await navigator.serviceWorker.ready).active.state === 'activated'",
        timeout=30000,
    )


def signed_in_cold(browser: Any, base: str) -> tuple[Any, Any, Any]:
    """A worker signed in (no service worker), on a blank page, with the browser cache cleared."""
    ctx = browser.new_context(service_workers="block")
    page = ctx.new_page()
    sign_in_without_sw(page, base)
    page.goto("about:blank")
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    return ctx, page, cdp


def js_before_usable(browser: Any, base: str) -> tuple[int, int, list[tuple[str, int]]]:
    """JS fetched from navigation until the form is usable, for a signed-in worker, cold cache."""
    ctx, page, _cdp = signed_in_cold(browser, base)
    scripts: list[str] = []
    page.on(
        "response", lambda r: scripts.append(r.url) if r.request.resource_type == "script" else None
    )
    page.goto(base + "/app/#/report")
    page.wait_for_function(USABLE, timeout=30000)
    files = []
    raw_total = gz_total = 0
    for url in dict.fromkeys(scripts):
        with urllib.request.urlopen(url) as r:  # through the proxy without Accept-Encoding: raw
            data = r.read()
        gz = len(gzip.compress(data, compresslevel=6))
        raw_total += len(data)
        gz_total += gz
        files.append((url.split("/")[-1], gz))
    ctx.close()
    return raw_total, gz_total, files


def sign_in_without_sw(page: Any, base: str) -> None:
    page.goto(base + "/app/")
    page.fill("input[name=username]", "wgy")
    page.fill("input[name=password]", "wangge-demo")
    page.click("button[type=submit]")
    page.wait_for_function(
        "() => window.wangge && window.wangge.state.casesFetchedAt > 0", timeout=30000
    )


def slow_4g_signed_in(browser: Any, base: str) -> float:
    ctx, page, cdp = signed_in_cold(browser, base)
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", SLOW_4G)
    t0 = time.perf_counter()
    page.goto(base + "/app/#/report", wait_until="commit")
    page.wait_for_function(USABLE, timeout=60000, polling=50)
    elapsed = time.perf_counter() - t0
    ctx.close()
    return elapsed


def slow_4g_first_visit(browser: Any, base: str) -> float:
    ctx = browser.new_context(service_workers="block")
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_4G)
    t0 = time.perf_counter()
    page.goto(base + "/app/", wait_until="commit")
    page.wait_for_selector("input[name=username]", timeout=60000)
    elapsed = time.perf_counter() - t0
    ctx.close()
    return elapsed


def offline_open(browser: Any, base: str, runs: int) -> list[float]:
    ctx = browser.new_context()
    page = ctx.new_page()
    sign_in(page, base)
    times = []
    ctx.set_offline(True)
    for _ in range(runs):
        page.goto("about:blank")
        t0 = time.perf_counter()
        page.goto(base + "/app/#/report", wait_until="commit")
        page.wait_for_function(USABLE, timeout=30000, polling=20)
        times.append(time.perf_counter() - t0)
    ctx.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not (ROOT / "webapp" / "dist" / "app" / "sw.js").exists():
        raise SystemExit("webapp/dist not built: run `make webapp` first")
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="wangge-bench-"))
    instance = tmp / "instance"
    instance.mkdir()
    app_port = free_port()
    proc = start_app(instance, app_port)
    proxy, port = gzip_proxy(app_port)
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            raw, gz, files = js_before_usable(browser, base)
            slow = [slow_4g_signed_in(browser, base) for _ in range(args.runs)]
            first = [slow_4g_first_visit(browser, base) for _ in range(max(1, args.runs // 2))]
            off = offline_open(browser, base, args.runs)
            browser.close()
    finally:
        proxy.shutdown()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)

    def verdict(ok: bool) -> str:
        return "OK" if ok else "OVER GOAL"

    print("Field app benchmark (Chromium", CHROMIUM, ")")
    print(
        f"JS before the first report can be written: {gz / 1024:.1f} KB gzipped "
        f"({raw / 1024:.1f} KB raw) "
        f"in {len(files)} files — goal < 150 KB: {verdict(gz < 150 * 1024)}"
    )
    for name, size in sorted(files, key=lambda f: -f[1]):
        print(f"    {size / 1024:6.1f} KB  {name}")
    med = statistics.median(slow)
    print(
        f"Slow 4G (150 ms RTT, 1.6 Mbps), signed in, empty cache, to a usable report form: "
        f"median {med:.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in slow)}) — goal < 5 s: {verdict(med < 5)}"
    )
    print(f"Slow 4G, first visit, to the sign-in form: median {statistics.median(first):.2f} s")
    med_off = statistics.median(off)
    print(
        f"Open offline (service worker, no network) to a usable report form: "
        f"median {med_off:.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in off)}) — goal < 2 s: {verdict(med_off < 2)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
