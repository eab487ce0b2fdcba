"""End-to-end tests of the field app in Debian's Chromium (pytest-playwright's ``page``).

The real app (``live_server``, ``own_server`` for the test that kills it) and the browser come
from ``tests/conftest.py``; here: a phone-sized context in the demo worker's grid, and helpers
that set up cases through the API.
"""

from __future__ import annotations

import io
import random
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.live import PASSWORD, LiveServer

__all__ = ["PASSWORD", "LiveServer"]

# the demo worker wgy's first grid (城区街道第1社区 第001网格)
IN_MY_GRID: Any = {"latitude": 38.1185, "longitude": 106.2690, "accuracy": 12}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
    "geolocation": IN_MY_GRID,
    "permissions": ["geolocation"],
}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, **PHONE}


@pytest.fixture
def server(live_server: LiveServer) -> LiveServer:
    return live_server


@pytest.fixture
def page(context: Any) -> Any:
    context.set_default_timeout(20_000)
    p = context.new_page()
    p.errors = []
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    return p


@pytest.fixture
def api(api_as: Any) -> Any:
    """``api("ddy")``: sign in to the API as someone else (e.g. the dispatcher)."""
    return api_as


def resolved_case(api: Any, photo: Path, text: str = "e2e 待核查的案件") -> dict[str, Any]:
    """A case in wgy's first grid, reported, dispatched to 综合执法局 and resolved with a photo."""
    wgy, ddy, czry = api("wgy"), api("ddy"), api("czry")
    case = wgy.post(
        "/cases",
        {
            "uuid": str(uuid.uuid4()),
            "category_code": "0101",
            "description": text,
            "lon": IN_MY_GRID["longitude"],
            "lat": IN_MY_GRID["latitude"],
            "photos": [wgy.upload(photo.read_bytes())],
            "device_time": "2026-01-01T00:00:00Z",
        },
    )["case"]
    case = ddy.act(case, "accept")
    dept = czry.get("/auth/me")["user"]["department_id"]
    case = ddy.act(case, "dispatch", department_id=dept, urgency="normal")
    case = czry.act(case, "sign")
    case = czry.act(case, "resolve", note="已清理", photos=[czry.upload(photo.read_bytes())])
    assert case["state"] == "resolved", case
    return case


def make_photo(
    path: Path, width: int = 3000, height: int = 2250, noise: int = 40, seed: int = 1
) -> Path:
    """A camera-like JPEG: a gradient with noise (noise makes it big, like a real photo)."""
    from PIL import Image

    rng = random.Random(seed)
    img = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    if noise:
        grain = Image.effect_noise((width, height), noise).convert("RGB")
        img = Image.blend(img, grain, 0.5)
    img = img.rotate(rng.choice([0, 180]))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    path.write_bytes(buf.getvalue())
    return path


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return make_photo(tmp_path / "photo.jpg")
