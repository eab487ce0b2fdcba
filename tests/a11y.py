"""Accessibility and 适老化 checks for a page open in Playwright (issue 14, item 13).

Three measurements, shared by the field-app and console end-to-end suites:

- ``axe_violations(page)``: axe-core (npm ``axe-core``, from ``webapp/node_modules``) run in the
  page with the WCAG 2.0/2.1 A and AA rules. The script is evaluated through the DevTools
  protocol, so the page's Content-Security-Policy (``script-src 'self'``) does not block it.
- ``small_texts(page, 18)``: every visible piece of text whose computed font size is under 18 px
  (MIIT's 适老化 rule for apps: main text at least 18 dp; a CSS px is a dp).
- ``small_targets(page, 48)``: every visible control (link, button, input, ARIA widget, anything
  focusable) whose tap area is under 48×48 px. A control's tap area is its own box, or the box of
  the ``<label>`` that wraps it or names it (``for=``), whichever is larger; controls inside a
  larger control (an icon in a button) count as that control.

``check_page(page, large=...)`` runs axe always and, in large-font mode, the two size checks too,
and returns a list of human-readable problems (empty: the page passes)::

    from tests.a11y import check_page
    problems = check_page(page, large=True)
    assert not problems, "\\n".join(problems)

``ignore`` (CSS selectors) leaves elements out of the size checks (not out of axe), for what a
person cannot enlarge, e.g. the map tiles' attribution.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tests.support import ROOT

AXE_JS = ROOT / "webapp" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


@cache
def _axe_source() -> str:
    if not AXE_JS.exists():
        raise FileNotFoundError(f"{AXE_JS} missing: run `npm install` in webapp/")
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: Any, tags: tuple[str, ...] = WCAG_AA) -> list[dict[str, Any]]:
    """axe-core's violations for the page as it is now: ``[{id, impact, help, nodes: [{target,
    html, summary}]}]``."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    return list(
        page.evaluate(
            """async (tags) => {
              const r = await window.axe.run(document, {
                runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'],
              })
              return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({
                  target: n.target.join(' '), html: n.html.slice(0, 160),
                  summary: (n.failureSummary || '').slice(0, 300),
                })),
              }))
            }""",
            list(tags),
        )
    )


_VISIBLE_JS = """
    const visible = (el) => {
      if (!el || !el.isConnected) return false
      const s = getComputedStyle(el)
      if (s.visibility !== 'visible' || s.display === 'none') return false
      for (let a = el.parentElement; a; a = a.parentElement) {
        const st = getComputedStyle(a)
        if (st.display === 'none' || parseFloat(st.opacity) === 0) return false
      }
      const r = el.getBoundingClientRect()
      return r.width > 0 && r.height > 0
    }
"""


def small_texts(page: Any, min_px: float = 18, ignore: tuple[str, ...] = ()) -> list[str]:
    """Visible text under ``min_px`` (computed font size): ``["16px 上报 <span.van-tabbar…>"]``."""
    return list(
        page.evaluate(
            """([min, ignore]) => {"""
            + _VISIBLE_JS
            + """
              const out = []
              const seen = new Set()
              const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
              for (let n = walker.nextNode(); n; n = walker.nextNode()) {
                const text = n.textContent.replace(/\\s+/g, ' ').trim()
                const el = n.parentElement
                if (!text || !el || seen.has(el)) continue
                if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TITLE'].includes(el.tagName)) continue
                if (ignore.some(sel => el.closest(sel))) continue
                if (!visible(el)) continue
                const range = document.createRange()
                range.selectNodeContents(n)
                const rect = range.getBoundingClientRect()
                if (rect.width < 1 || rect.height < 1) continue
                seen.add(el)
                const size = parseFloat(getComputedStyle(el).fontSize)
                if (size + 0.01 < min) {
                  const cls = typeof el.className === 'string' ? el.className.split(' ')[0] : ''
                  const tag = el.tagName.toLowerCase() + (cls ? '.' + cls : '')
                  out.push(`${size}px "${text.slice(0, 30)}" <${tag}>`)
                }
              }
              return out
            }""",
            [min_px, list(ignore)],
        )
    )


TARGETS = (
    "a[href], button, input:not([type=hidden]), select, textarea, summary, "
    "[role=button], [role=tab], [role=link], [role=checkbox], [role=switch], [role=radio], "
    "[role=menuitem], [role=option], [role=slider], [tabindex]:not([tabindex='-1'])"
)


def small_targets(page: Any, min_px: float = 48, ignore: tuple[str, ...] = ()) -> list[str]:
    """Visible controls whose tap area is under ``min_px``×``min_px``: ``["104×24 <input…>"]``."""
    return list(
        page.evaluate(
            """([min, sel, ignore]) => {"""
            + _VISIBLE_JS
            + """
              const all = [...document.querySelectorAll(sel)]
              const out = []
              const box = (el) => el.getBoundingClientRect()
              for (const el of all) {
                if (el.disabled) continue
                // visually hidden and out of the tab order: operated through another control
                const own = el.getBoundingClientRect()
                const tiny = own.width <= 2 && own.height <= 2
                if (el.getAttribute('tabindex') === '-1' && tiny) continue
                if (ignore.some(s => el.closest(s))) continue
                // an icon or input inside a larger control is part of that control
                const outer = el.parentElement && el.parentElement.closest(sel)
                if (outer && outer !== el) continue
                let r = box(el)
                const labels = []
                if (el.labels) labels.push(...el.labels)
                const wrap = el.closest('label')
                if (wrap) labels.push(wrap)
                let w = r.width, h = r.height
                for (const l of labels) {
                  if (!visible(l)) continue
                  const lr = box(l)
                  if (lr.width * lr.height > w * h) { w = lr.width; h = lr.height }
                }
                if (!visible(el) && !labels.some(l => visible(l))) continue
                if (w + 0.5 < min || h + 0.5 < min) {
                  const id = el.id ? '#' + el.id : ''
                  const name = (el.getAttribute('aria-label') || el.textContent
                    || el.getAttribute('name') || '').trim().slice(0, 24)
                  const tag = el.tagName.toLowerCase() + id
                  out.push(`${Math.round(w)}×${Math.round(h)} <${tag}> "${name}"`)
                }
              }
              return out
            }""",
            [min_px, TARGETS, list(ignore)],
        )
    )


def check_page(
    page: Any,
    *,
    large: bool,
    where: str = "",
    ignore: tuple[str, ...] = (),
    min_text: float = 18,
    min_target: float = 48,
) -> list[str]:
    """Problems on the page as it is now: axe violations (always) and, with ``large`` (大字版),
    text under ``min_text`` px and tap targets under ``min_target`` px. Empty when it passes."""
    label = where or page.url
    problems = []
    for v in axe_violations(page):
        nodes = "; ".join(f"{n['target']} {n['html']}" for n in v["nodes"][:6])
        problems.append(f"[{label}] axe {v['id']} ({v['impact']}): {v['help']} — {nodes}")
    if large:
        texts = small_texts(page, min_text, ignore)
        targets = small_targets(page, min_target, ignore)
        problems += [f"[{label}] text < {min_text}px: {t}" for t in texts]
        problems += [f"[{label}] target < {min_target}px: {t}" for t in targets]
    return problems
