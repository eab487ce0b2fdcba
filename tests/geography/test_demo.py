"""The demo county: a valid coverage, users of every role, cases in every state."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from server.models import Grid, Incident, IncidentEvent, Region, User
from tests import factories as f


def test_demo_seed(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "wangge-demo" in result.output
    with f.session(app) as db:
        assert db.scalar(select(func.count(Grid.id))) >= 300
        roles = set(db.scalars(select(User.role)))
        assert roles == {"grid_worker", "dispatcher", "handler", "supervisor", "admin"}
        states = set(db.scalars(select(Incident.state)))
        assert states == {"reported", "accepted", "dispatched", "in_progress", "resolved",
                          "closed", "rejected", "suspended"}  # fmt: skip
        assert db.scalar(select(func.count()).where(IncidentEvent.action == "self_handle"))
    # Seeding again is refused; --if-empty is a no-op.
    assert runner.invoke(args=["demo", "seed"]).exit_code != 0
    again = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert again.exit_code == 0 and "nothing seeded" in again.output
    client = app.test_client()
    f.login(client, "ddy", "wangge-demo")
    assert client.get("/api/v1/cases?counts=1").get_json()["counts"]["closed"] > 10
    # The city holds two counties (issue 15): the city's dispatcher sees the cases of both,
    # 永宁县's dispatcher only its own, within its real outline.
    city = app.test_client()
    f.login(city, "sdy", "wangge-demo")
    for county in ("640181", "640121"):
        page = city.get(f"/api/v1/cases?region={county}&limit=5").get_json()
        assert page["items"], county
    yn = app.test_client()
    f.login(yn, "yndy", "wangge-demo")
    # 灵武市 is not 永宁县's: its code answers as one that names nothing (no existence oracle)
    other = yn.get("/api/v1/cases?region=640181&limit=5")
    unknown = yn.get("/api/v1/cases?region=640199&limit=5")
    assert other.status_code == unknown.status_code == 400
    assert other.get_json() == unknown.get_json()
    assert yn.get("/api/v1/cases?counts=1").get_json()["counts"]["reported"] >= 2
    with f.session(app) as db:
        counties = db.execute(
            select(Region.code, Region.parent_id).where(Region.level == "county")
        ).all()
        city_id = db.scalar(select(Region.id).where(Region.code == "640100000000"))
        assert sorted(counties) == [("640121000000", city_id), ("640181000000", city_id)]
