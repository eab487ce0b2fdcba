"""The Content-Security-Policy header on every response (issue 11, stored XSS): no inline
script, image sources from the configuration, no inline style elements in the server's pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.csp import content_security_policy, tile_sources
from tests.conftest import make_settings
from tests.support import ROOT

PAGES = [
    "/login",
    "/",
    "/app/",
    "/app/sw.js",
    "/console/",
    "/console/queue",
    "/api/v1/docs",
    "/api/v1/openapi.json",
    "/api/v1/auth/me",
    "/api/v1/cases",
    "/open311/v2/discovery.json",
    "/open311/v2/services.xml",
    "/open311/v2/requests.json",
    "/healthz",
    "/no-such-page",
    "/static/login.css",
]


def directives(header: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_tile_sources_from_the_basemap_url() -> None:
    url = (
        "https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=KEY&x={x}&y={y}&l={z}"
        "|https://t{s}.tianditu.gov.cn/cva_w/wmts?tk=KEY"
        "|//{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"
        "|http://tiles.example.org:8080/{z}/{x}/{y}.png"
    )
    assert tile_sources(url) == [
        "https://*.tianditu.gov.cn",
        "https://*.tile.openstreetmap.org",
        "http://tiles.example.org:8080",
    ]
    # nothing that would widen the policy beyond a tile server
    bad = "|".join(["", "/tiles/{z}/{x}/{y}.png", "javascript:alert(1)", "https://{s}.com/x"])
    assert tile_sources(bad) == []
    assert tile_sources("https://a b.example/x; script-src *") == []


def _app(tmp_path: Path, url: str, basemap: str) -> Flask:
    from server.app import create_app

    settings = make_settings(tmp_path, url)
    settings.basemap_url = basemap
    return create_app(settings)


@pytest.fixture
def csp_client(tmp_path: Path, sqlite_url: str) -> FlaskClient:
    app = _app(tmp_path, sqlite_url, "https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=K|")
    app.config["TESTING"] = True
    return app.test_client()


@pytest.mark.parametrize("path", PAGES)
def test_every_response_has_the_policy(csp_client: FlaskClient, path: str) -> None:
    r = csp_client.get(path)
    assert r.status_code < 500, r.data[:300]
    d = directives(r.headers["Content-Security-Policy"])
    assert d["script-src"] == ["'self'"]
    assert d["object-src"] == ["'none'"]
    assert d["base-uri"] == ["'none'"]
    assert d["frame-ancestors"] == ["'none'"]
    assert d["style-src-elem"] == ["'self'"]
    assert d["img-src"] == ["'self'", "data:", "blob:", "https://*.tianditu.gov.cn"]
    # the API only; the service worker also caches basemap tiles
    worker = path == "/app/sw.js"
    assert d["connect-src"] == ["'self'"] + (["https://*.tianditu.gov.cn"] if worker else [])


def test_no_basemap_no_foreign_image_source() -> None:
    d = directives(content_security_policy(""))
    assert d["img-src"] == ["'self'", "data:", "blob:"]
    assert d["connect-src"] == ["'self'"]


INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\son[a-z]+\s*=|javascript:", re.I)


@pytest.mark.parametrize(
    "path",
    [
        "server/templates/login.html",
        "server/templates/api_docs.html",
        "webapp/app/index.html",
        "webapp/console/index.html",
        "webapp/dist/app/index.html",
        "webapp/dist/console/index.html",
    ],
)
def test_pages_have_no_inline_script_or_style(path: str) -> None:
    f = ROOT / path
    if not f.exists():
        pytest.skip(f"{path} not built")
    assert not INLINE.findall(f.read_text(encoding="utf-8"))


def test_sign_in_page_and_its_stylesheet(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/login.css">' in page
    css = client.get("/static/login.css")
    assert css.status_code == 200 and "form" in css.get_data(as_text=True)
