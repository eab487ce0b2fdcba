"""Open311 clients ask for many case numbers in one GET (docs/open311.md): the most the API
takes (``MAX_IDS``) fits the request line of gunicorn as configured (``gunicorn.conf.py``), so a
client gets the Open311 answer, never gunicorn's HTML 414. An outside audit found 300 numbers
refused by gunicorn's default 4,094-byte line while the docs promised 1,000."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from server.open311.service_requests import MAX_IDS
from tests.live import LiveServer


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read().decode()


def test_the_most_numbers_fit_the_served_request_line(live_server: LiveServer) -> None:
    base = f"{live_server.url}/open311/v2/requests.json?service_request_id="
    numbers = [f"2026113{i:07d}" for i in range(MAX_IDS + 1)]  # 14 digits, as case numbers
    status, kind, body = _get(base + ",".join(numbers[:MAX_IDS]))
    assert status == 200 and kind.startswith("application/json"), (status, body[:200])
    assert json.loads(body) == []  # none of them exists
    status, kind, body = _get(base + ",".join(numbers))
    assert status == 400 and kind.startswith("application/json"), (status, body[:200])
    assert f"at most {MAX_IDS}" in json.loads(body)[0]["description"]
