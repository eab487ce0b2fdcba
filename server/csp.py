"""The Content-Security-Policy and the other security headers sent with every response (issue 11,
stored XSS).

Escaping (webapp/src/shared/html.ts, Jinja's autoescape) keeps data out of markup; the policy is
the second wall: should markup slip through, the browser runs no script that is not a file from
this origin, loads no plugin, and sends nothing to another site.

- ``script-src 'self'``: no inline script, no ``eval``, no ``javascript:`` URL. The pages carry
  none (the field app's large-font switch is ``/app/large-font.js``; the sign-in and API pages'
  styles are files under ``/static/``).
- ``img-src``: this origin, ``data:`` (Leaflet's and Vant's inline icons), ``blob:`` (photo
  previews before upload), plus the basemap's tile servers taken from ``WANGGE_BASEMAP_URL``.
- ``connect-src 'self'``: the API only. The field app's service worker also fetches basemap
  tiles into its offline cache, and a worker's fetches obey the policy of the worker script, so
  ``/app/sw.js`` alone adds the tile servers to its ``connect-src``.
- ``style-src``: ``<style>`` elements and stylesheets from this origin only
  (``style-src-elem 'self'``). Style *attributes* are allowed (``style-src-attr
  'unsafe-inline'``): ECharts writes its tooltip as HTML with ``style="…"`` on every element,
  and Vue inserts a template's long static parts as HTML. A style attribute cannot run script;
  what it could do (restyle the page) needs injected markup, which the escaping rule prevents.
  ``style-src 'self' 'unsafe-inline'`` is the same for browsers without CSP level 3.
- ``object-src 'none'``, ``base-uri 'none'``, ``frame-ancestors 'none'`` (no framing:
  clickjacking), ``form-action 'self'``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, Response, request

# {s}, {a-c}, {switch:a,b} in a host name: any one label, i.e. a wildcard subdomain
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def tile_sources(basemap_url: str) -> list[str]:
    """CSP sources for the tile servers of ``WANGGE_BASEMAP_URL`` (layers separated by ``|``).

    ``https://t{s}.tianditu.gov.cn/vec_w/wmts?…`` gives ``https://*.tianditu.gov.cn``; a URL
    without a scheme (``//host/…``) is taken as https; anything else (a relative URL, an odd
    scheme) adds nothing, since this origin is already allowed.
    """
    out: list[str] = []
    for raw in basemap_url.split("|"):
        url = raw.strip()
        if not url:
            continue
        if url.startswith("//"):
            url = "https:" + url
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            continue
        host = parts.hostname or ""
        if parts.scheme not in {"http", "https"} or not host:
            continue
        labels = host.split(".")
        if any(_PLACEHOLDER.search(label) or "{" in label for label in labels):
            # a placeholder in a label: that label and those before it become one wildcard
            last = max(i for i, label in enumerate(labels) if "{" in label or "}" in label)
            rest = labels[last + 1 :]
            if len(rest) < 2:  # "*.com" or "*" would allow far too much
                continue
            host = "*." + ".".join(rest)
        if not re.fullmatch(r"[A-Za-z0-9*.-]+", host):
            continue
        source = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
        if source not in out:
            out.append(source)
    return out


@lru_cache(maxsize=8)
def content_security_policy(basemap_url: str, *, service_worker: bool = False) -> str:
    tiles = tile_sources(basemap_url)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *tiles],
        "connect-src": ["'self'", *(tiles if service_worker else [])],
        "font-src": ["'self'", "data:"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "style-src-elem": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def install_security_headers(app: Flask, basemap_url: str) -> None:
    """Send the policy and the other security headers with every response (never replacing a
    header a view set itself); API answers are not cached."""

    @app.after_request
    def _security_headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault(
            "Content-Security-Policy",
            content_security_policy(basemap_url, service_worker=request.path == "/app/sw.js"),
        )
        if request.path.startswith("/api/"):
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp
