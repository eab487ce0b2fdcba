"""Open311 clients ask for many case numbers in one GET (docs/open311.md): the most the API
takes (``MAX_IDS``) fits the request line of gunicorn as configured (``gunicorn.conf.py``), so a
client gets the Open311 answer, never gunicorn's HTML 414. An outside audit found 300 numbers
refused by gunicorn's default 4,094-byte line while the docs promised 1,000, and a re-attack
500 numbers written with ``%2C``."""

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
    url = f"{live_server.url}/open311/v2/requests.json?"
    numbers = [f"2026113{i:07d}" for i in range(MAX_IDS + 1)]  # 14 digits, as case numbers
    forms = {  # a comma list as typed, as Python's requests encodes it, the argument repeated
        "commas": lambda ids: "service_request_id=" + ",".join(ids),
        "encoded": lambda ids: "service_request_id=" + "%2C".join(ids),
        "repeated": lambda ids: "&".join(f"service_request_id={n}" for n in ids),
    }
    for form, query in forms.items():
        status, kind, body = _get(url + query(numbers[:MAX_IDS]))
        assert status == 200 and kind.startswith("application/json"), (form, status, body[:200])
        assert json.loads(body) == [], form  # none of them exists
        status, kind, body = _get(url + query(numbers))
        assert status == 400 and kind.startswith("application/json"), (form, status, body[:200])
        assert f"at most {MAX_IDS}" in json.loads(body)[0]["description"], form
