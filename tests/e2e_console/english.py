"""A Chinese page must not show the English half of an API message (issue 14 §3).

The API keeps its bilingual messages ("中文 / English"); each app shows its own language. The
guard listens to every JSON answer of ``/api/`` on a page, keeps the English half of each
``message`` and of each ``fields`` value, and ``assert_clean()`` fails when the page's visible
text contains one of them (or any "中文 / English" pair, the shape a leak takes).

    guard = EnglishGuard(page)
    ...  # drive the page into its error states
    guard.assert_clean()
"""

from __future__ import annotations

import re
from typing import Any

# a Chinese phrase, " / ", then an English phrase: what a server message looks like when it is
# shown whole
_PAIR = re.compile(r"[\u4e00-\u9fff][^/\n]{0,80} / [A-Za-z][A-Za-z ,'’()-]{3,}")


def english_half(message: str) -> str | None:
    i = message.find(" / ")
    if i < 0:
        return None
    half = message[i + 3 :].strip()
    return half if re.search(r"[A-Za-z]{3,}", half) else None


class EnglishGuard:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.english: set[str] = set()
        page.on("response", self._seen)

    def _seen(self, resp: Any) -> None:
        if "/api/" not in resp.url or resp.status < 400:
            return
        try:
            body = resp.json()
        except Exception:  # noqa: BLE001 - not JSON: nothing the page could show from it
            return
        texts = [body.get("message")] if isinstance(body, dict) else []
        if isinstance(body, dict) and isinstance(body.get("fields"), dict):
            texts += list(body["fields"].values())
        for t in texts:
            if isinstance(t, str):
                half = english_half(t)
                if half:
                    self.english.add(half)
                    # the first clause too: a shown message may be cut or reworded after it
                    self.english.add(re.split(r"[:;(]", half)[0].strip())

    def problems(self) -> list[str]:
        text = self.page.locator("body").inner_text()
        out = [
            f"English API text on a Chinese page: {e!r}"
            for e in self.english
            if len(e) >= 6 and e in text
        ]
        out += [f"bilingual message shown whole: {m.group(0)!r}" for m in _PAIR.finditer(text)]
        return out

    def assert_clean(self) -> None:
        problems = self.problems()
        assert not problems, "\n".join(problems)
