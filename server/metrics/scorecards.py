"""Scorecards (考核) for departments (派驻机构/专业部门), grid workers (网格员), dispatchers
(受理派遣) and towns (乡镇/街道).

A scorecard is the metrics of :func:`server.metrics.counting.compute` grouped by department, by
worker or by town, plus the assessment indicators of :mod:`server.metrics.assessment` per person
(漏报率 of a worker's grids; a dispatcher's acceptances and dispatches), each indicator scored
0–100 and weighted (:mod:`server.domain.scorecards`). Weights, targets and grade bands are kept
per kind in ``scorecard_configs``; without a row the defaults apply.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from server.domain import assessment_metrics as am
from server.domain import metric_definitions as md
from server.domain import scorecards as scoring
from server.domain import workflow as wf
from server.domain.stages import Card, Stage
from server.domain.worktime import WorkCalendar
from server.metrics import assessment
from server.metrics.counting import Result, compute_plan
from server.metrics.planning import MetricsQuery, Plan, plan
from server.models import IncidentEvent, User
from server.models.scorecard_configs import ScorecardConfig as ConfigRow


def load_config(conn: Connection, kind: scoring.ScorecardKind) -> scoring.ScorecardConfig:
    row = conn.execute(select(ConfigRow.config).where(ConfigRow.kind == kind)).first()
    if row is None:
        return scoring.default_scorecard(kind)
    try:
        return scoring.parse_scorecard(kind, row[0])
    except scoring.ConfigError:
        return scoring.default_scorecard(kind)


def save_config(
    conn: Connection, kind: scoring.ScorecardKind, data: dict[str, Any], user_id: int | None
) -> scoring.ScorecardConfig:
    """Validate (``scoring.ConfigError``) and store a configuration; None-like ``{}`` resets."""
    config = scoring.parse_scorecard(kind, data)
    conn.execute(delete(ConfigRow).where(ConfigRow.kind == kind))
    conn.execute(
        insert(ConfigRow).values(
            kind=kind,
            config=config.to_json(),
            updated_at=datetime.now(UTC),
            updated_by_id=user_id,
        )
    )
    return config


def reset_config(conn: Connection, kind: scoring.ScorecardKind) -> scoring.ScorecardConfig:
    conn.execute(delete(ConfigRow).where(ConfigRow.kind == kind))
    return scoring.default_scorecard(kind)


def scorecards(
    conn: Connection,
    kind: scoring.ScorecardKind,
    query: MetricsQuery,
    cal: WorkCalendar,
    config: scoring.ScorecardConfig | None = None,
    now: datetime | None = None,
) -> tuple[Result, list[scoring.Scorecard], scoring.ScorecardConfig]:
    """Scored, ranked cards for every department, grid worker, dispatcher or town of the
    query's scope."""
    config = config or load_config(conn, kind)
    # dispatchers are people too: the case figures of the plan are grouped by worker
    by = "worker" if kind == "dispatcher" else kind
    p = plan(conn, replace(query, by=by, group=None), cal, now)
    if kind == "dispatcher":
        result = Result(p, md.derive({}), [], {})
        people = assessment.people_in_scope(conn, p, wf.Role.DISPATCHER)
        desk = assessment.desk_counts(conn, p, cal, None)
        with_figures = [k for k, c in desk.items() if c["desk_volume"]]
        for k, label in _people(conn, with_figures, wf.Role.DISPATCHER).items():
            people.setdefault(k, label)
        zero_desk = assessment.zero("desk")
        desk_values = {k: am.derive(desk.get(k, zero_desk), ("desk",)) for k in people}
        return result, _score(people, desk_values, config, p, {}), config
    result = compute_plan(conn, p, cal)
    by_key = {g.key: g for g in result.groups if g.key is not None}
    subjects: dict[Any, dict[str, Any]] = {k: g.label for k, g in by_key.items()}
    if kind == "worker":
        rows = conn.execute(select(User.id, User.role).where(User.id.in_(list(subjects) or [0])))
        roles = {r.id: r.role for r in rows}
        subjects = {k: v for k, v in subjects.items() if roles.get(k) == wf.Role.GRID_WORKER}
        for k, label in assessment.people_in_scope(conn, p).items():
            subjects.setdefault(k, label)
    zero = md.derive({k: 0 for k in md.COUNT_KEYS} | {"handling_us": 0})
    values_of = {k: dict(by_key[k].values if k in by_key else zero) for k in subjects}
    if kind == "worker":
        grid = assessment.grid_counts(conn, p, list(subjects))
        field = assessment.field_counts(conn, p, cal, list(subjects))
        for k in subjects:
            values_of[k].update(am.derive(grid.get(k) or {}, ("grid",)))
            values_of[k].update(am.derive(field.get(k) or {}, ("field",)))
    if kind == "department":
        counted = department_cards(conn, p)
    elif kind == "town":
        counted = {
            k: (int(v.get("yellow_cards") or 0), int(v.get("red_cards") or 0))
            for k, v in values_of.items()
        }
    else:
        counted = {}
    return result, _score(subjects, values_of, config, p, counted), config


def _people(conn: Connection, ids: list[int], role: str) -> dict[int, dict[str, Any]]:
    rows = conn.execute(
        select(User.id, User.username, User.display_name).where(
            User.id.in_(ids or [0]), User.role == role
        )
    )
    return {
        r.id: {
            "key": r.id,
            "id": r.id,
            "username": r.username,
            "name": r.display_name or r.username,
        }
        for r in rows
    }


def _score(
    subjects: dict[Any, dict[str, Any]],
    values_of: dict[Any, dict[str, Any]],
    config: scoring.ScorecardConfig,
    p: Plan,
    counted: dict[Any, tuple[int, int]],
) -> list[scoring.Scorecard]:
    cards = []
    for key, label in subjects.items():
        values = values_of[key]
        card = scoring.score_card(
            label, values, config, p.query.period.days, counted.get(key, (0, 0))
        )
        card.lines = [line | {"name": am.ALL_BY_KEY[line["metric"]].zh} for line in card.lines]
        card.subject = {**label, "figures": values}
        cards.append(card)
    return scoring.rank(cards)


def department_cards(conn: Connection, p: Plan) -> dict[int, tuple[int, int]]:
    """Yellow and red 督办 cards of each department in the period (up to the as-of moment):
    the sweep's cards on the handle stage, charged to the department the case was with
    (``data.department_id`` of the card's event)."""
    start = datetime.fromtimestamp(p.s / 1e6, UTC)
    end = datetime.fromtimestamp(min(p.e, p.t) / 1e6, UTC)
    rows = conn.execute(
        select(IncidentEvent.data).where(
            IncidentEvent.action == wf.Action.SUPERVISE.value,
            IncidentEvent.actor_role == wf.SYSTEM,
            IncidentEvent.created_at >= start,
            IncidentEvent.created_at < end,
        )
    )
    out: dict[int, list[int]] = {}
    for (data,) in rows:
        if not isinstance(data, dict) or data.get("stage") != Stage.HANDLE.value:
            continue
        dep = data.get("department_id")
        if isinstance(dep, int):
            counts = out.setdefault(dep, [0, 0])
            counts[0 if data.get("card") == Card.YELLOW.value else 1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def card_json(card: scoring.Scorecard) -> dict[str, Any]:
    subject = dict(card.subject)
    figures = subject.pop("figures", {})
    return {
        "subject": subject,
        "score": card.score,
        "grade": card.grade,
        "rank": card.rank,
        "lines": card.lines,
        "figures": figures,
        "cards": card.cards,
    }
