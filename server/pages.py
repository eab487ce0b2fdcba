"""Server-rendered pages (sign-in) and the built web app (``webapp/dist``)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response as WResponse

from server.api.auth import begin_session, check_password
from server.config import ROOT
from server.domain import workflow as wf

bp = Blueprint("pages", __name__, template_folder="templates")
DIST = ROOT / "webapp" / "dist"
FIELD_ROLES = {wf.Role.GRID_WORKER, wf.Role.HANDLER}
# who works in which app: grid workers only in the field app, handlers in both (phone or desk)
CONSOLE_ROLES = {wf.Role.HANDLER, wf.Role.DISPATCHER, wf.Role.SUPERVISOR, wf.Role.ADMIN}


def home_for(role: str) -> str:
    return "/app/" if role in FIELD_ROLES else "/console/"


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlparse(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def landing(role: str, target: str | None) -> str:
    """Where a signed-in ``role`` goes: ``next`` when it is a page of this site that the role
    works in (a dispatcher sent here from /app/ lands in the console), else the role's app."""
    nxt = _safe_next(target)
    if nxt is None:
        return home_for(role)
    if nxt.startswith("/app") and role not in FIELD_ROLES:
        return home_for(role)
    if nxt.startswith("/console") and role not in CONSOLE_ROLES:
        return home_for(role)
    if nxt in {"/", "/login"} or nxt.startswith("/login?"):
        return home_for(role)
    return nxt


@bp.route("/login", methods=["GET", "POST"])
def login_page() -> str | WResponse | tuple[str, int]:
    """The one sign-in page of both apps (and of ``/``): each role lands where it works."""
    error = ""
    status = 200
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(landing(current_user.role, request.args.get("next")))
    if request.method == "POST":  # the form carries a CSRF token (checked before we get here)
        result = check_password(request.form.get("username", ""), request.form.get("password", ""))
        if result.user is not None:
            begin_session(result.user, remember=True)
            return redirect(landing(result.user.role, request.args.get("next")))
        error = zh_part(result.message)  # the page is Chinese; the API keeps both languages
        status = {"throttled": 429, "disabled": 403}.get(result.error or "", 401)
    return render_template("login.html", error=error), status


def zh_part(message: str) -> str:
    """The Chinese half of a "中文 / English" message."""
    head, sep, _ = message.partition(" / ")
    return head if sep else message


@bp.get("/")
def index() -> WResponse:
    if current_user.is_authenticated:
        return redirect(home_for(current_user.role))
    return redirect(url_for("pages.login_page"))


def _dist_file(sub: str, path: str) -> Response:
    base = DIST / sub
    if not (DIST / sub / "index.html").exists():
        abort(
            404,
            description="web app not built: run `make run` or `npm run build` in webapp/",
        )
    target = (base / path).resolve() if path else base / "index.html"
    if path and target.is_file() and Path(base.resolve()) in target.parents:
        resp = send_from_directory(base, path)
    else:
        resp = send_from_directory(base, "index.html")  # SPA fallback
    if path in {"sw.js", "index.html", "", "manifest.webmanifest"} or not path:
        resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/app/")
@bp.get("/app/<path:path>")
def field_app(path: str = "") -> Response:
    return _dist_file("app", path)


@bp.get("/console/")
@bp.get("/console/<path:path>")
def console_app(path: str = "") -> Response:
    return _dist_file("console", path)


@bp.get("/assets/<path:path>")
def assets(path: str) -> Response:
    resp = send_from_directory(DIST / "assets", path, max_age=31536000)
    resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return resp
