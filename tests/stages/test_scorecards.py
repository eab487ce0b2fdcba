"""Cards count in the department scorecards, with configurable deductions."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests import factories as f
from tests.stages.clock import act, at, report, sweep
from tests.workflow.world import World

CARDS = "/api/v1/metrics/scorecards?kind=department&from=2026-09-01&to=2026-10-31"
CONFIG = "/api/v1/metrics/scorecards/config?kind=department"


def _client(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def _d1(c: FlaskClient) -> dict:
    r = c.get(CARDS)
    assert r.status_code == 200, r.get_json()
    return next(i for i in r.get_json()["items"] if i["subject"]["name"] == "城管")


def test_handle_stage_cards_take_points_off_the_department(world: World) -> None:
    w = world
    for _ in range(2):
        cid = report(w, at("2026-09-28 08:30"))
        act(w, at("2026-09-28 08:30"), "disp", cid, "accept")
        act(w, at("2026-09-28 08:31"), "disp", cid, "dispatch",
            department_id=w.departments["D1"], deadline="2026-09-29T17:30:00+08:00")  # fmt: skip
    late = report(w, at("2026-09-28 08:30"))  # an acceptance card: the centre's, not D1's
    assert late
    sweep(w, at("2026-09-30 17:30"))  # both: yellow (handle), the third: none yet
    # 10 working days after Tue 29 Sep 17:30 (10 Oct, a Saturday, is one): 19 Oct 17:30.
    sweep(w, at("2026-10-19 17:30"))  # both: red; the third: yellow and red (accept)
    sup, admin = _client(w, "sup"), _client(w, "admin")
    carded = _d1(sup)
    assert carded["cards"] == {"yellow": 2, "red": 2, "deduction": 14.0}  # 2×2 + 2×5
    # Without deductions the same figures score 14 points more.
    config = admin.get(CONFIG).get_json()
    assert config["card_deductions"] == {"yellow": 2.0, "red": 5.0}
    r = admin.put(CONFIG, json=config | {"card_deductions": {"yellow": 0, "red": 0}})
    assert r.status_code == 200, r.get_json()
    plain = _d1(sup)
    assert plain["score"] is not None and carded["score"] == max(0, plain["score"] - 14)
    bad = admin.put(CONFIG, json=config | {"card_deductions": {"yellow": -1, "red": "x"}})
    assert bad.status_code == 400
    assert set(bad.get_json()["fields"]) == {"card_deductions.yellow", "card_deductions.red"}
