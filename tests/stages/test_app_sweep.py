"""The app runs the sweep by itself, after a response, at most once a minute per process."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from server import create_app
from server.usecases import stages
from tests.conftest import make_settings
from tests.stages.clock import at, cards, report
from tests.workflow.world import build


def test_the_app_sweeps_after_a_response_at_most_once_a_minute(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = dataclasses.replace(make_settings(tmp_path, sqlite_url), app_sweep_seconds=60.0)
    app = create_app(settings)
    app.config["TESTING"] = True
    try:
        w = build(app)
        old = report(w, at("2026-09-24 08:30"))  # long overdue by the real clock
        stages._last_sweep = -math.inf
        client = app.test_client()
        resp = client.get("/healthz")
        resp.close()  # the sweep runs once the response is done with
        assert cards(w, old) == [("yellow", "accept", "system"), ("red", "accept", "system")]
        newer = report(w, at("2026-09-24 08:30"))
        client.get("/healthz").close()  # within the minute: no sweep
        assert cards(w, newer) == []
        stages._last_sweep -= 61
        client.get("/healthz").close()
        assert len(cards(w, newer)) == 2
    finally:
        stages._last_sweep = -math.inf
        app.extensions["wangge.engine"].dispose()
