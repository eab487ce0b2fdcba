"""Property test: the assessment indicators of generated histories equal the oracle's.

The histories of tests/metrics/test_properties.py (returns, reopens, suspensions, moves between
centres, clocks stepping back, actions by anyone), some of them urgent; random periods and
as-of moments over the county. ``server.metrics.assessment`` (SQL over ``metric_events``, the
stage limits, the traffic-light rule) against ``tests/metrics/oracle.py`` (the event lists, the
words of docs/metrics.md §9). Both databases.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from server.metrics import assessment
from server.metrics.planning import MetricsQuery, Scope, plan
from server.models import Incident
from server.usecases.context import Actor
from tests.metrics import oracle
from tests.metrics.support import World, session
from tests.metrics.test_properties import (
    CAL,
    EXAMPLES,
    TZ,
    WINDOW_START,
    CaseSpec,
    _store,
    histories,
)

NOW = datetime(2026, 11, 1, tzinfo=TZ)


def test_assessment_equals_the_oracle(mapp: Flask, world: World) -> None:
    departments = [d.id for d in world.departments.values()]
    centres = [(world.county.id, "county"), *((t.id, "town") for t in world.towns)]
    assigned = {w.id: {g} for w, g in zip(world.workers, world.grids, strict=True)}

    @settings(
        max_examples=max(10, EXAMPLES),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        specs=st.lists(
            histories(len(world.grids), len(world.workers), departments, centres),
            min_size=4,
            max_size=14,
        ),
        first=st.dates(date(2026, 5, 28), date(2026, 6, 12)),
        days=st.integers(5, 40),
        as_of_minutes=st.integers(5 * 24 * 60, 40 * 24 * 60),
        urgent_every=st.integers(2, 4),
    )
    def run(
        specs: list[CaseSpec], first: date, days: int, as_of_minutes: int, urgent_every: int
    ) -> None:
        cases = _store(mapp, world, specs)
        urgent = {c.id for c in cases if c.id % urgent_every == 0}
        db = session(mapp)
        try:
            if urgent:
                db.execute(update(Incident).where(Incident.id.in_(urgent)).values(urgency="urgent"))
                db.commit()
            last = first + timedelta(days=days - 1)
            as_of = WINDOW_START + timedelta(minutes=as_of_minutes)
            start, end = oracle.period_bounds(first, last, CAL)
            if start > as_of:
                return
            q = MetricsQuery((Scope("region", world.county.code),), first, last, as_of)
            conn = db.connection()
            p = plan(conn, q, CAL, now=NOW)
            question = oracle.Question(start, end, as_of, None, [])
            got = {
                k: v
                for k, v in assessment.desk_counts(conn, p, CAL, None).items()
                if v["desk_volume"]
            }
            assert got == oracle.desk_answer(cases, urgent, question, CAL), (first, last, as_of)
            grid = assessment.grid_counts(conn, p, list(assigned))
            assert grid == oracle.grid_answer(cases, assigned, question), (first, last, as_of)
            # a person's records make up the number on the card
            viewer = Actor(id=world.supervisor.id, role="supervisor", region_id=world.county.id,
                           region_level="county")  # fmt: skip
            for person, counts in got.items():
                r = assessment.records(
                    conn, p, CAL, "accurate_dispatches", "numerator", person, viewer=viewer
                )
                assert r.count == counts["accurate_dispatches"]
                assert all(not i["returned"] for i in r.items)
        finally:
            db.rollback()
            db.close()

    run()
