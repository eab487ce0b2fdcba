"""Base-data requests sent at once (an outside audit: threads released by a barrier against
gunicorn on PostgreSQL): two edits of one version, two decisions of one level request, a tag
ended while a level change is asked for, and one create sent several times. Each is answered
as if the requests had come one after the other. Flask test clients in threads, on both
databases."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from server.models import Household, KeyGroupKindRow, Organisation, Place, Resident
from tests.base_data.test_api import BW, client
from tests.workflow.world import World


def at_once(calls: list[Callable[[], TestResponse]]) -> list[TestResponse]:
    """Run the calls in threads released together by a barrier; their answers in order."""
    gate = Barrier(len(calls))

    def run(call: Callable[[], TestResponse]) -> TestResponse:
        gate.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _version(w: World, model: Any, ident: int) -> tuple[int, Any]:
    with w.session() as db:
        row = db.get(model, ident)
        assert row is not None
        return row.version, row


def _edits_at_once(
    w: World, clients: list[FlaskClient], path: str, model: Any, ident: int, field: str,
    rounds: int = 4,
) -> None:  # fmt: skip
    """Edits of the same version at once, ``rounds`` times: one is stored and answered 200,
    the others are 409 ``version_conflict``; the stored row is the winner's, one version on."""
    for n in range(rounds):
        version, _ = _version(w, model, ident)
        values = [f"值{n}-{i}" for i in range(len(clients))]
        answers = at_once(
            [
                (lambda c=c, b={"base_version": version, field: v}: c.patch(path, json=b))
                for c, v in zip(clients, values, strict=True)
            ]
        )
        codes = [a.status_code for a in answers]
        assert sorted(codes) == [200] + [409] * (len(clients) - 1), (path, codes)
        assert {a.get_json()["error"] for a in answers if a.status_code == 409} == {
            "version_conflict"
        }
        won = values[codes.index(200)]
        stored_version, row = _version(w, model, ident)
        assert (stored_version, getattr(row, field)) == (version + 1, won), path


@pytest.mark.parametrize(
    ("what", "field"),
    [
        ("residents", "name"),
        ("places", "address"),
        ("households", "note"),
        ("organisations", "contact_name"),
        ("kinds", "name"),
    ],
)
def test_two_edits_of_one_version_at_once_store_one_and_conflict_the_other(
    any_bw: BW, what: str, field: str
) -> None:
    """Before: both 200, each showing its own value at the next version, one of them lost
    (residents and places 10 of 10, households 8, organisations 9, kinds 3 of 5)."""
    w, base = any_bw
    model, ident = {
        "residents": (Resident, base.residents["G1"]),
        "places": (Place, base.rooms["G1"]),
        "households": (Household, base.households["G1"]),
        "organisations": (Organisation, base.organisations["G1"]),
        "kinds": (KeyGroupKindRow, 0),
    }[what]
    editors = [client(w, who) for who in ("wg1", "disp", "wg1", "disp")]
    if what == "kinds":  # an admin's: tabs
        with w.session() as db:
            found = db.scalar(
                select(KeyGroupKindRow.id).where(KeyGroupKindRow.code == "elderly_alone")
            )
        assert found is not None
        ident, editors = found, [client(w, "admin") for _ in range(4)]
    _edits_at_once(w, editors, f"/api/v1/base/{what}/{ident}", model, ident, field)
