"""Requests to the API from another site are refused, whatever their method (Fetch Metadata).

The session cookie is ``SameSite=Lax``: a browser still sends it on a top-level GET from another
site. The CSRF token guards every write, but a GET is not a write — and some GETs act: the clear
export of residents (``?clear=1&reason=…``) logs an export under the victim's name with the
attacker's reason and saves the clear identity numbers and phones on the victim's machine. Every
browser this product supports says where a request comes from in ``Sec-Fetch-Site``; the web app
and the field app call the API from its own origin (``same-origin``), and a URL typed or
bookmarked is ``none``. A request saying ``cross-site`` or ``same-site`` (another host of the same
domain) is refused with 403. A client that sends no such header (curl, Open311 servers, an old
browser) is not a browser acting for a signed-in user on another site's behalf, and is let
through; Open311 (``/open311/``) is outside this rule (its clients are other systems).
"""

from __future__ import annotations

from flask import Flask, Response, request

from server.errors import json_error

REFUSED = frozenset({"cross-site", "same-site"})
MESSAGE = (
    "不接受来自其他网站的请求 / a request to the API from another site is refused "
    "(open the app itself)"
)


def refuse_other_sites() -> Response | None:
    if not request.path.startswith("/api/"):
        return None
    if request.headers.get("Sec-Fetch-Site", "").strip().lower() in REFUSED:
        return json_error(403, "cross_site", MESSAGE)
    return None


def install(app: Flask) -> None:
    # Before the sign-in and the CSRF check: nothing of such a request is read or logged.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_other_sites)
