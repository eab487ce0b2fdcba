"""The demo's work logs (server/demo_work_logs.py): after ``flask demo seed`` a supervisor finds
comments on recent days of their workers, each made by someone who may comment on it, and the
pending 补签 of the demo can be decided through the API."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from server.models import WorkLogComment
from server.usecases import policy
from server.usecases.context import Actor
from tests import factories as f

DEMO_PASSWORD = "wangge-demo"


def test_demo_work_logs(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "work-log comments" in result.output
    with f.session(app) as db:
        comments = list(db.scalars(select(WorkLogComment)))
        assert 3 <= len(comments) <= 8
        for cm in comments:
            assert policy.may_comment_work_log(db, Actor.load(db, cm.author_id), cm.worker_id)
        sample = comments[0]
    dcy = app.test_client()
    f.login(dcy, "dcy", DEMO_PASSWORD)
    day = dcy.get(f"/api/v1/work-logs/{sample.worker_id}/{sample.day}")
    assert day.status_code == 200
    assert sample.text in [c["text"] for c in day.get_json()["comments"]]
    assert day.get_json()["totals"]["patrols"] >= 1
    listed = dcy.get("/api/v1/work-logs", query_string={"date": sample.day.isoformat()})
    assert any(i["comments"] for i in listed.get_json()["items"])
    pending = dcy.get("/api/v1/check-ins", query_string={"status": "pending"}).get_json()["items"]
    assert pending, "the demo has 补签 waiting"
    r = dcy.post(f"/api/v1/check-ins/{pending[0]['id']}/decision", json={"decision": "approve"})
    assert r.status_code == 200 and r.get_json()["status"] == "approved"
