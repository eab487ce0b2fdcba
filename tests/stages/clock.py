"""Use cases run at moments the test chooses (Asia/Shanghai wall clock)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server.domain import workflow as wf
from server.models import Incident, IncidentEvent
from server.usecases import cases as uc
from server.usecases import stages
from server.usecases.context import Context
from tests.workflow.world import IN_G1, World

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """``"2026-09-24 08:30"`` on the Shanghai wall clock."""
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def ctx(w: World, db: Any, now: datetime) -> Context:
    return Context(
        db=db, upload_dir=w.app.extensions["wangge.settings"].upload_dir, clock=lambda: now
    )


def report(w: World, now: datetime, who: str = "wg1", **extra: Any) -> int:
    with w.session() as db:
        body = {"uuid": str(uuid.uuid4()), "category_code": "0101", "description": "垃圾",
                "lon": IN_G1[0], "lat": IN_G1[1], **extra}  # fmt: skip
        return uc.report(ctx(w, db, now), w.actor(db, who), body).case.id


def act(w: World, now: datetime, who: str, case_id: int, action: str, **body: Any) -> None:
    with w.session() as db:
        uc.act(ctx(w, db, now), w.actor(db, who), case_id,
               {"uuid": str(uuid.uuid4()), "action": action, **body})  # fmt: skip


def sweep(w: World, now: datetime) -> stages.SweepResult:
    with w.session() as db:
        return stages.sweep(ctx(w, db, now))


def case(w: World, case_id: int) -> Incident:
    with w.session() as db:
        row = db.get(Incident, case_id)
        assert row is not None
        db.expunge(row)
        return row


def cards(w: World, case_id: int) -> list[tuple[str, str, str]]:
    """(card, stage, actor_role) of the case's automatic 督办 events, in order."""
    with w.session() as db:
        rows = db.scalars(
            select(IncidentEvent)
            .where(
                IncidentEvent.incident_id == case_id,
                IncidentEvent.action == wf.Action.SUPERVISE.value,
            )
            .order_by(IncidentEvent.id)
        ).all()
        return [(e.data["card"], e.data["stage"], e.actor_role) for e in rows]
