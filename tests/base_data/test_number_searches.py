"""A search by a full number is no way round the reveal: an outside audit had a grid worker try
``GET /base/residents?phone=170{0000..9999}5094`` (the mask shows the first 3 and last 4 digits):
10,000 guesses in 60 s, unthrottled, found the clear phone, and the read log held one row with
no fields. Every number search is now logged, hit or miss, with the field searched, and bounded
per user (server/usecases/base_data/number_searches.py; docs/base-data.md, "Privacy")."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from server.models import PersonalDataRead, Region
from server.usecases.base_data import number_searches
from tests.base_data.test_api import BW, client
from tests.base_data.world import id_number
from tests.workflow.world import G1

R = "/api/v1/base/residents"


def _searches(w: Any, who: str) -> list[PersonalDataRead]:
    """The user's search rows that read no resident (the searches themselves), oldest first."""
    with w.session() as db:
        rows = list(
            db.scalars(
                select(PersonalDataRead)
                .where(
                    PersonalDataRead.actor_id == w.users[who],
                    PersonalDataRead.purpose == "search",
                    PersonalDataRead.resident_id.is_(None),
                )
                .order_by(PersonalDataRead.id)
            )
        )
        db.expunge_all()
        return rows


def _guesses(phone: str, n: int) -> list[str]:
    """``n`` numbers that share the mask of ``phone`` (first 3, last 4) and are not it."""
    out = []
    for k in range(10_000):
        guess = f"{phone[:3]}{k:04d}{phone[-4:]}"
        if guess != phone:
            out.append(guess)
        if len(out) == n:
            return out
    raise AssertionError("not enough guesses")


def test_misses_and_hits_are_logged_with_the_field_searched(bw: BW) -> None:
    w, base = bw
    rid, phone, number = base.residents["G1"], base.phones["G1"], base.id_numbers["G1"]
    wg1 = client(w, "wg1")
    miss = wg1.get(R, query_string={"phone": _guesses(phone, 1)[0]})
    assert miss.status_code == 200 and miss.get_json()["items"] == []
    hit = wg1.get(R, query_string={"phone": phone})
    assert [r["id"] for r in hit.get_json()["items"]] == [rid]
    unknown = id_number(999)
    assert wg1.get(R, query_string={"id_number": unknown}).get_json()["items"] == []
    rows = _searches(w, "wg1")
    assert [(r.fields, r.count, r.endpoint) for r in rows] == [
        ("phone", 0, "base.list_residents"),
        ("phone", 1, "base.list_residents"),
        ("id_number", 0, "base.list_residents"),
    ]
    # A miss is located where it was looked for (the worker's grid), so their supervisor
    # reads it; another county's does not.
    with w.session() as db:
        community = db.scalar(select(Region.id).where(Region.code == G1[:12]))
    assert (rows[0].grid_code, rows[0].community_id) == (G1, community)
    log = client(w, "sup").get("/api/v1/base/reads", query_string={"reader": w.users["wg1"]})
    items = log.get_json()["items"]
    assert any(i["resident_id"] is None and i["fields"] == "id_number" for i in items), items
    supb = client(w, "supb").get("/api/v1/base/reads", query_string={"reader": w.users["wg1"]})
    assert supb.get_json()["items"] == []
    # The resident found is a row of their own, with the field searched by.
    with w.session() as db:
        found = db.scalars(
            select(PersonalDataRead).where(
                PersonalDataRead.resident_id == rid, PersonalDataRead.purpose == "search"
            )
        ).all()
        assert [r.fields for r in found] == ["phone"]
    # Both numbers at once: one search.
    wg1.get(R, query_string={"id_number": number, "phone": phone})
    assert _searches(w, "wg1")[-1].fields == "id_number,phone"
    assert len(_searches(w, "wg1")) == 4
    # A list by name or grid is no number search.
    wg1.get(R, query_string={"q": "居民"})
    assert len(_searches(w, "wg1")) == 4


def test_the_61st_number_search_in_an_hour_is_refused(
    bw: BW, caplog: pytest.LogCaptureFixture
) -> None:
    w, base = bw
    phone = base.phones["G1"]
    guesses = _guesses(phone, number_searches.SEARCH_LIMIT)
    wg1 = client(w, "wg1")
    for guess in guesses:
        resp = wg1.get(R, query_string={"phone": guess})
        assert resp.status_code == 200, resp.get_json()
    with caplog.at_level(logging.WARNING, logger="wangge.base"):
        # The next one is refused whether or not it would find someone: the true number too.
        for asked in ({"phone": phone}, {"id_number": base.id_numbers["G1"]}):
            refused = wg1.get(R, query_string=asked)
            assert refused.status_code == 429, refused.get_json()
            body = refused.get_json()
            assert body["error"] == "too_many_number_searches"
            assert body["limit"] == number_searches.SEARCH_LIMIT and body["window_hours"] == 1
            assert 0 < body["retry_after"] <= 3600
            assert refused.headers["Retry-After"] == str(body["retry_after"])
            assert "items" not in body and phone not in refused.get_data(as_text=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "wangge.base"]
    assert any(f"user {w.users['wg1']} refused at base.list_residents" in m for m in lines)
    # The refused searches are not searches made (nothing looked up, nothing logged as read).
    assert len(_searches(w, "wg1")) == number_searches.SEARCH_LIMIT
    # Lists without a number still work.
    assert wg1.get(R, query_string={"grid": G1}).status_code == 200
    # Another user is not affected; an admin is never limited.
    wg2 = client(w, "wg2")
    assert wg2.get(R, query_string={"phone": base.phones["G2"]}).status_code == 200
    admin = client(w, "admin")
    for guess in [*guesses, phone]:
        assert admin.get(R, query_string={"phone": guess}).status_code == 200
    assert len(_searches(w, "admin")) == number_searches.SEARCH_LIMIT + 1
    # An hour later the window has moved on (the rows aged by an hour).
    with w.session() as db:
        for row in db.scalars(
            select(PersonalDataRead).where(PersonalDataRead.actor_id == w.users["wg1"])
        ):
            row.at -= timedelta(hours=1, minutes=1)
        db.commit()
    assert wg1.get(R, query_string={"phone": phone}).status_code == 200


def test_an_edits_new_identity_number_is_a_number_search(bw: BW) -> None:
    """``PATCH`` with another number looks it up (a 409 naming the holder inside one's
    jurisdiction): a guess per edit of a record one may edit was the same oracle."""
    w, base = bw
    mine, other = base.residents["G1"], base.residents["G2"]
    path = f"{R}/{mine}"
    disp = client(w, "disp")  # county A: may edit both G1's and G2's residents
    taken = disp.patch(path, json={"base_version": 1, "id_number": base.id_numbers["G2"]})
    assert taken.status_code == 409 and taken.get_json()["resident_id"] == other
    free = disp.patch(path, json={"base_version": 1, "id_number": id_number(555)})
    assert free.status_code == 200, free.get_json()
    # Giving the number it already has looks nothing up.
    same = disp.patch(path, json={"base_version": 2, "id_number": id_number(555)})
    assert same.status_code == 200
    rows = _searches(w, "disp")
    assert [(r.fields, r.count, r.endpoint) for r in rows] == [
        ("id_number", 1, "base.update_resident"),
        ("id_number", 0, "base.update_resident"),
    ]
    with w.session() as db:
        county = db.scalar(select(Region.id).where(Region.code == G1[:6].ljust(12, "0")))
    assert (rows[0].grid_code, rows[0].community_id, rows[0].county_id) == (None, None, county)
    # At the limit the edit is refused before the number is looked up, taken or not.
    for guess in _guesses(base.phones["G1"], number_searches.SEARCH_LIMIT - 2):
        assert disp.get(R, query_string={"phone": guess}).status_code == 200
    for number in (base.id_numbers["G2"], id_number(556)):
        refused = disp.patch(path, json={"base_version": 3, "id_number": number})
        assert refused.status_code == 429, refused.get_json()
        assert refused.get_json()["error"] == "too_many_number_searches"
    assert disp.patch(path, json={"base_version": 3, "name": "改名"}).status_code == 200


def test_searches_sent_at_once_do_not_pass_the_limit_together(any_bw: BW) -> None:
    """Each request counts under a lock on the user's row, so searches sent at once by one
    user cannot each find the limit unspent."""
    import threading

    w, base = any_bw
    if w.app.extensions["wangge.engine"].dialect.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time: the searches queue by themselves")
    guesses = _guesses(base.phones["G1"], number_searches.SEARCH_LIMIT + 6)
    wg1 = client(w, "wg1")
    for guess in guesses[: number_searches.SEARCH_LIMIT - 2]:
        assert wg1.get(R, query_string={"phone": guess}).status_code == 200
    clients = [client(w, "wg1") for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def send(k: int) -> None:
        barrier.wait()
        asked = {"phone": guesses[number_searches.SEARCH_LIMIT - 2 + k]}
        statuses.append(clients[k].get(R, query_string=asked).status_code)

    threads = [threading.Thread(target=send, args=(k,)) for k in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [200] * 2 + [429] * 6, statuses
    assert len(_searches(w, "wg1")) == number_searches.SEARCH_LIMIT
