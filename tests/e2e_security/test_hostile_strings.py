"""Stored XSS, tried in the browser (issue 11): hostile strings in every user-editable field
(see conftest.py), then every page of both apps opened as each role, maps and charts hovered so
their tooltips render. Fails on any sign of script from data:

- ``window.__xss`` set (every payload sets it when it runs), a dialog opened;
- an element with an ``on…`` handler attribute, a ``<script>`` or ``javascript:`` link that is
  not the app's own (escaping failed, even if the CSP then blocked it);
- ``XSS49`` on the page (a Vue template expression from data was compiled);
- a Content-Security-Policy violation, whoever caused it: the app's own code must run under the
  policy too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e_admin.conftest import PASSWORD, Live
from tests.e2e_security.conftest import Hostile

pytestmark = pytest.mark.browser

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`
    + ` at ${e.sourceFile}:${e.lineNumber} ${e.sample || ''}`);
});
"""

PROBE = """
() => {
  const out = [];
  if (window.__xss !== undefined) out.push(`script ran: window.__xss = ${window.__xss}`);
  for (const v of window.__csp || []) out.push(`CSP violation: ${v}`);
  const all = document.querySelectorAll('*');
  for (const el of all) {
    for (const a of el.attributes) {
      const tag = el.tagName.toLowerCase();
      const v = a.value.slice(0, 60);
      if (/^on/i.test(a.name)) out.push(`handler attribute <${tag} ${a.name}="${v}">`);
      const url = /^(href|src|action|formaction|xlink:href)$/i.test(a.name);
      if (url && /^\\s*javascript:/i.test(a.value))
        out.push(`javascript: URL in <${tag} ${a.name}>`);
    }
  }
  for (const s of document.querySelectorAll('script')) {
    if (!s.src) out.push(`inline <script>: ${s.textContent.slice(0, 60)}`);
  }
  if ((document.body?.innerText || '').includes('XSS49'))
    out.push('a Vue template expression from data was evaluated (XSS49)');
  return out;
}
"""


class Watched:
    """One signed-in browser context; collects every finding, page by page."""

    def __init__(self, browser: Any, live: Live, user: str, *, mobile: bool) -> None:
        size = {"width": 390, "height": 844} if mobile else {"width": 1440, "height": 900}
        self.ctx = browser.new_context(
            base_url=live.url, viewport=size, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        self.ctx.set_default_timeout(15_000)
        self.ctx.add_init_script(WATCH)
        r = self.ctx.request.post(
            "/api/v1/auth/login", data={"username": user, "password": PASSWORD}
        )
        assert r.ok, r.text()
        self.page = self.ctx.new_page()
        self.user = user
        self.where = ""
        self.findings: list[str] = []
        self.pages_seen = 0
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda e: self._add(f"uncaught error: {e}"))
        self.page.on(
            "console",
            lambda m: (
                self._add(f"console: {m.text[:200]}")
                if "Content Security Policy" in m.text or "__xss" in m.text
                else None
            ),
        )

    def _add(self, msg: str) -> None:
        self.findings.append(f"[{self.user} {self.where}] {msg}")

    def _dialog(self, d: Any) -> None:
        self._add(f"dialog opened: {d.type} {d.message[:80]}")
        d.dismiss()

    def check(self, label: str) -> None:
        self.where = label
        self.page.wait_for_timeout(150)
        for msg in self.page.evaluate(PROBE):
            self._add(msg)
        self.page.evaluate("() => { window.__csp = [] }")

    def open(self, path: str, ready: str) -> None:
        self.where = path
        self.page.goto(path)
        self.page.wait_for_selector(ready)
        self.page.wait_for_timeout(400)  # not "networkidle": the apps long-poll /changes
        self.pages_seen += 1
        self.check(path)

    def go_hash(self, hash_path: str, ready: str) -> None:
        self.where = hash_path
        self.page.evaluate("p => { location.hash = p }", hash_path)
        self.page.wait_for_selector(ready)
        self.page.wait_for_timeout(400)  # not "networkidle": the apps long-poll /changes
        self.pages_seen += 1
        self.check(hash_path)

    def hover_map(self, limit: int = 8) -> int:
        """Hover grid polygons and case markers so Leaflet's tooltips render; check each."""
        shapes = self.page.locator(".leaflet-overlay-pane path.leaflet-interactive")
        n = min(shapes.count(), limit)
        hovered = 0
        for i in range(n):
            try:
                shapes.nth(i).hover(timeout=2_000, force=True)
                hovered += 1
            except Exception:  # noqa: BLE001 (off screen or covered: the next one)
                continue
            self.check(f"{self.where} hover shape {i}")
        markers = self.page.locator(".leaflet-marker-pane .leaflet-interactive")
        for i in range(min(markers.count(), 3)):
            try:
                markers.nth(i).hover(timeout=2_000, force=True)
            except Exception:  # noqa: BLE001
                continue
            self.check(f"{self.where} hover marker {i}")
        return hovered

    def hover_charts(self) -> int:
        """Move the mouse over every ECharts canvas on a grid of points: tooltips render."""
        seen = 0
        for canvas in self.page.locator("canvas").all():
            box = canvas.bounding_box()
            if not box or box["width"] < 50:
                continue
            for fx in (0.3, 0.45, 0.5, 0.55, 0.7):
                for fy in (0.3, 0.45, 0.5, 0.55, 0.7):
                    self.page.mouse.move(
                        box["x"] + box["width"] * fx, box["y"] + box["height"] * fy
                    )
                    self.page.wait_for_timeout(60)
            seen += 1
            self.check(f"{self.where} hover chart")
        return seen

    def close(self) -> None:
        self.ctx.close()


@pytest.fixture
def watched(browser: Any, hostile: Hostile) -> Iterator[Any]:
    made: list[Watched] = []

    def make(user: str, *, mobile: bool = False) -> Watched:
        w = Watched(browser, hostile.live, user, mobile=mobile)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def _assert_clean(w: Watched) -> None:
    assert not w.findings, "\n".join(w.findings)


@pytest.mark.parametrize("user", ["wgy", "czry"])
def test_field_app_shows_hostile_strings_as_text(watched: Any, hostile: Hostile, user: str) -> None:
    w = watched(user, mobile=True)
    case_id = hostile.cases["dispatched"]
    w.ctx.clear_cookies()  # the field app signs in through its own form (keeps the session)
    w.page.goto("/app/")
    w.page.fill("input[name=username]", user)
    w.page.fill("input[name=password]", PASSWORD)
    w.page.click("button[type=submit]")
    w.page.wait_for_function("() => window.wangge && window.wangge.state.casesFetchedAt > 0")
    w.check("/app/ after sign-in")
    if user == "wgy":
        w.go_hash("#/report", "[data-test=report-form]")
    w.go_hash("#/cases", "#app .van-tabbar")
    assert "grid" in w.page.inner_text("body") or "desc" in w.page.inner_text("body")
    w.go_hash(f"#/cases/{case_id}", "#app .van-tabbar")
    w.page.wait_for_function(
        "() => document.body.innerText.includes('onerror')"
    )  # the hostile texts are shown, as text
    w.go_hash("#/map", ".leaflet-container")
    w.page.wait_for_timeout(300)
    hovered = w.hover_map()
    if user == "wgy":
        # a worker's few grids: names always shown (permanent tooltips)
        labels = w.page.locator(".wg-grid-label")
        assert labels.count() > 0 and "onerror" in labels.first.inner_text()
    assert hovered > 0
    popup = w.page.locator(".leaflet-marker-pane .leaflet-interactive, path.leaflet-interactive")
    if popup.count():
        w.check("#/map")
    w.go_hash("#/me", "#app .van-tabbar")
    w.go_hash("#/outbox", "#app .van-tabbar")
    assert w.pages_seen >= 5
    _assert_clean(w)


CONSOLE_PAGES = {
    "ddy": [
        "queue",
        "case",
        "rejected",
        "open311",
        "map",
        "hotline",
        "overdue",
        "dashboard",
        "calendar",
    ],
    "dcy": ["queue", "case", "map", "overdue", "dashboard"],
    "admin": [
        "queue",
        "case",
        "map",
        "dashboard",
        "admin/users",
        "admin/grids",
        "admin/departments",
        "admin/categories",
        "admin/plans",
        "calendar",
    ],
}


def _open311_case(hostile: Hostile, ddy: Watched) -> int:
    r = ddy.ctx.request.get("/api/v1/cases", params={"source": "open311", "limit": 1})
    assert r.ok, r.text()
    return int(r.json()["items"][0]["id"])


@pytest.mark.parametrize("user", list(CONSOLE_PAGES))
def test_console_shows_hostile_strings_as_text(watched: Any, hostile: Hostile, user: str) -> None:
    w = watched(user)
    for name in CONSOLE_PAGES[user]:
        if name == "case":
            w.open(f"/console/cases/{hostile.cases['dispatched']}", ".topbar")
            w.page.wait_for_function("() => document.body.innerText.includes('onerror')")
            w.page.wait_for_selector(".leaflet-container")
            w.page.wait_for_timeout(300)
            w.hover_map(limit=4)
        elif name == "rejected":
            w.open(f"/console/cases/{hostile.cases['rejected']}", ".topbar")
            w.page.wait_for_function("() => document.body.innerText.includes('reject')")
            w.check("rejected case")
        elif name == "open311":
            w.open(f"/console/cases/{_open311_case(hostile, w)}", ".topbar")
            w.page.wait_for_function("() => document.body.innerText.includes('o311')")
            w.check("open311 case")
        elif name in {"map", "hotline"}:
            w.open(f"/console/{name}", ".leaflet-container")
            w.page.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive")
            assert w.hover_map() > 0, f"{name}: no grid to hover"
        elif name == "admin/grids":
            w.open("/console/admin/grids", ".topbar")
            w.page.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive")
            w.hover_map(limit=4)
        elif name == "dashboard":
            w.open("/console/dashboard", ".topbar")
            w.page.wait_for_selector("[data-test=choropleth] canvas")
            w.page.wait_for_timeout(500)
            assert w.hover_charts() > 0
            # the choropleth's tooltip rendered a (hostile) region name, as text
            tip = w.page.locator(".wg-chart-tip")
            assert tip.count() and "onerror" in tip.first.inner_text(), "no choropleth tooltip"
        elif name == "calendar":
            w.open("/console/calendar", "[data-test=calendar-page]")
            w.page.select_option("[data-test=cal-year]", "2027")
            w.page.wait_for_function("() => document.body.innerText.includes('hol1<img')")
        else:
            w.open(f"/console/{name}", ".topbar")
        w.page.wait_for_timeout(100)
        w.check(name)
    _assert_clean(w)


def test_sign_in_and_api_pages_under_the_policy(watched: Any, hostile: Hostile) -> None:
    w = watched("ddy")
    w.open("/api/v1/docs", "h1")
    assert w.page.evaluate("() => getComputedStyle(document.body).maxWidth") == "1000px"
    w.ctx.clear_cookies()
    w.open("/login", "form")
    # the stylesheet (a file now) is applied
    assert w.page.evaluate("() => getComputedStyle(document.querySelector('button')).color") == (
        "rgb(255, 255, 255)"
    )
    w.page.fill("input[name=username]", "ddy")
    w.page.fill("input[name=password]", PASSWORD)
    w.page.click("button[type=submit]")
    w.page.wait_for_url("**/console/**")
    w.page.wait_for_selector(".topbar")
    w.check("after sign-in")
    _assert_clean(w)
