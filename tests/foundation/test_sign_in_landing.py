"""Where the one sign-in page (/login) sends each role (issue 14, item 1)."""

from __future__ import annotations

import pytest

from server.pages import landing, zh_part


@pytest.mark.parametrize(
    ("role", "target", "lands"),
    [
        ("grid_worker", None, "/app/"),
        ("handler", None, "/app/"),
        ("dispatcher", None, "/console/"),
        ("supervisor", None, "/console/"),
        ("admin", None, "/console/"),
        # back where the app sent the person, if that is where the role works
        ("grid_worker", "/app/#/cases/3", "/app/#/cases/3"),
        ("handler", "/console/queue", "/console/queue"),  # the desk handler
        ("dispatcher", "/console/cases/7", "/console/cases/7"),
        ("admin", "/api/v1/docs", "/api/v1/docs"),
        # not where the role works: its own app
        ("grid_worker", "/console/queue", "/app/"),
        ("dispatcher", "/app/", "/console/"),
        ("supervisor", "/app/#/report", "/console/"),
        # the sign-in page itself, another site, odd schemes
        ("grid_worker", "/login?next=/app/", "/app/"),
        ("grid_worker", "/", "/app/"),
        ("admin", "https://evil.example/", "/console/"),
        ("admin", "//evil.example/", "/console/"),
        ("admin", "javascript:alert(1)", "/console/"),
    ],
)
def test_each_role_lands_where_it_works(role: str, target: str | None, lands: str) -> None:
    assert landing(role, target) == lands


def test_the_page_shows_the_chinese_half_of_a_message() -> None:
    assert zh_part("用户名或密码错误 / wrong user name or password") == "用户名或密码错误"
    assert zh_part("仅中文") == "仅中文"
