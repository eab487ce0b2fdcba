"""docs/api.md lists every admin and region endpoint the app serves."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_every_admin_route_is_documented(app: Flask) -> None:
    doc = DOC.read_text(encoding="utf-8")
    admin_part = doc[doc.index("## Admin") :]
    routes = [
        r for r in app.url_map.iter_rules() if r.endpoint.split(".")[0] in {"admin", "regions"}
    ]
    assert len(routes) >= 16
    for rule in routes:
        path = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "{id}", rule.rule.removeprefix("/api/v1"))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            assert f"`{method} {path}" in admin_part, f"docs/api.md: {method} {path}"
