"""The cases behind one number of the metrics (drill-down), with what put each of them there.

Built from the same SQL values as the counts (:mod:`server.metrics.families`), so a number
and its list of cases cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Connection

from server.domain import metric_definitions as md
from server.domain.workflow import State
from server.domain.worktime import WorkCalendar
from server.metrics.counting import applies, prepare, select_rows, timed_values
from server.metrics.families import (
    FAMILIES,
    FAMILY_OF,
    RATING_NAMES,
    STATE_NAMES,
    TIMED_BY_FAMILY,
    S,
)
from server.metrics.office_clock import from_us, work_micros
from server.metrics.planning import Plan, QueryError
from server.models import Incident
from server.models.metric_events import LEVEL_NAMES

# --- drill-down --------------------------------------------------------------------------------


@dataclass
class Drill:
    metric: str
    part: str
    counted: str  # the count metric the items make up
    count: int  # that number: the sum of the items' weights
    total_items: int
    items: list[dict[str, Any]]


def _iso(us: int | None) -> str | None:
    if us is None:
        return None
    return from_us(int(us)).isoformat().replace("+00:00", "Z")


_ITEM_COLUMNS = {
    "cohort": "m.incident_id, m.to_state, m.acc_us, m.self_h, m.ep_dept, m.ep_deadline_us, "
    "m.first_disp_us, m.last_res_us, m.cur_rating, m.acc_hold, m.acc_lv, m.hold_id, m.hold_lv, "
    "m.esc",
    "dispatch": "m.incident_id, m.ep_id, m.ep_us, m.ep_dept, m.ep_deadline_us, m.ep_res, "
    "m.ep_fail, m.ep_returned, m.ep_extended, m.ep_res_us, m.ep_ok",
    "report": "m.incident_id, m.rep_us, m.acc_us",
    "reject": "m.incident_id, m.at_us",
    "verification": "m.incident_id, m.event_id, m.at_us, m.last_res_us, m.to_state, m.actor_id, "
    "m.ep_dept",
    "card": "m.incident_id, m.event_id, m.at_us, m.flag, m.dept_id, m.hold_id, m.hold_lv",
}


def counted_metric(metric: str, part: str) -> str:
    """The count metric a drill-down lists: the metric itself, or a rate's numerator or
    denominator (平均处置时长: the cases averaged)."""
    m = md.METRIC_BY_KEY.get(metric)
    if m is None:
        raise QueryError(400, "unknown_metric", f"没有指标 {metric} / unknown metric", "metric")
    if part not in ("numerator", "denominator"):
        raise QueryError(400, "invalid_part", "part 应为 numerator 或 denominator", "part")
    if m.kind == "count":
        if part == "denominator":
            raise QueryError(
                400, "invalid_part", "计数指标没有分母 / a count has no denominator", "part"
            )
        return metric
    if m.kind == "hours":
        return "handled"
    key = m.numerator if part == "numerator" else m.denominator
    assert key is not None
    return key


def _not_counted(key: str, by: str | None) -> str:
    """Why a metric has no figure here: per the grouping asked for (e.g. reports are counted per
    town or centre, not per department), else under the scope (a department's)."""
    zh = md.METRIC_BY_KEY[key].zh
    if by:
        label_zh, label_en = md.GROUP_LABELS[by]
        return f"{zh}不按{label_zh}统计 / {key} is not counted per {label_en.lower()}"
    return f"{zh}不在此范围内统计 / {key} is not counted in this scope"


def drilldown(
    conn: Connection,
    p: Plan,
    cal: WorkCalendar,
    metric: str,
    part: str = "numerator",
    offset: int = 0,
    limit: int = 100,
) -> Drill:
    """The cases (for dispatch metrics: the dispatches; for verifications: the verifications)
    behind one number of :func:`compute`, with what put each of them there."""
    key = counted_metric(metric, part)
    family = FAMILY_OF[key]
    fam = FAMILIES[family]
    if not applies(p, family):
        raise QueryError(
            400,
            "not_applicable",
            _not_counted(key, p.query.by),
            "metric",
        )
    prepare(conn)
    spec = TIMED_BY_FAMILY.get(family)
    by_sql = spec is not None and p.clock is not None
    if spec is not None and key == spec.key:
        weight = None  # computed below, from the timed value
    else:
        weight = fam.values[key]
    cols = _ITEM_COLUMNS[family]

    def columns(timed_value: str) -> str:
        return f"{weight or '1'}, {timed_value if by_sql else 'NULL'}, {cols}"

    extra = f"{weight} > 0" if weight else "1 = 1"
    rows = select_rows(conn, p, fam, columns, cal, grouped=False, extra=extra, timed=True)
    if spec is not None and not by_sql:
        start_i, end_i = _timed_positions(family)
        values = timed_values(rows, start_i, end_i, spec, cal).tolist()
        rows = [(*r[:2], v, *r[3:]) for r, v in zip(rows, values, strict=True)]
    if weight is None:
        rows = [r for r in rows if r[2]]
    rows.sort(key=lambda r: (r[3], r[4] if family in ("dispatch", "verification", "card") else 0))
    count = sum(int(r[1]) for r in rows)
    page = rows[offset : offset + limit]
    items = [_ITEM_MAKERS[family](r[1], r[2], r[3:], p, cal) for r in page]
    return Drill(metric, part, key, count, len(rows), _with_numbers(conn, items))


def _timed_positions(family: str) -> tuple[int, int]:
    """Indexes of the timed value's start and end in a drill-down row."""
    base = 3
    if family == "cohort":
        return base + 6, base + 7  # first_disp_us, last_res_us
    return base + 3, base + 2  # verification: last_res_us, at_us


def _cohort_item(
    w: int, timed: Any, r: Sequence[Any], p: Plan, cal: WorkCalendar
) -> dict[str, Any]:
    (case, state, acc, self_h, dept, deadline, first_disp, last_res, rating) = r[:9]
    acc_hold, acc_lv, hold, hold_lv, esc = r[9:]
    item = {
        "case_id": case,
        "weight": int(w),
        "accepted_at": _iso(acc),
        "state": STATE_NAMES.get(state, "unknown"),
        "self_handled": bool(self_h),
        "department_id": dept,
        "deadline_at": _iso(deadline),
        "first_dispatched_at": _iso(first_disp),
        "last_resolved_at": _iso(last_res),
        "rating": RATING_NAMES.get(rating) if rating else None,
        "handling_hours": None,
        "accepted_by_centre_id": acc_hold,
        "accepted_at_level": LEVEL_NAMES.get(acc_lv) if acc_lv else None,
        "centre_id": hold,
        "centre_level": LEVEL_NAMES.get(hold_lv) if hold_lv else None,
        "escalated": bool(esc),
    }
    if state == S[State.CLOSED] and first_disp is not None and timed is not None:
        item["handling_hours"] = round(int(timed) / md.US_PER_HOUR, 4)
    return item


def _dispatch_item(
    w: int, timed: Any, r: Sequence[Any], p: Plan, cal: WorkCalendar
) -> dict[str, Any]:
    (case, ep_id, ep_us, dept, deadline, res, fail, returned, extended, res_us, ok) = r
    if ok == 1:
        outcome = "resolved"
    elif ok == 0:
        outcome = "returned" if returned else "rework"
    else:
        outcome = "open"
    on_time = ok == 1 and (deadline is None or (res_us is not None and res_us <= deadline))
    return {
        "case_id": case,
        "weight": int(w),
        "dispatch_event_id": ep_id,
        "dispatched_at": _iso(ep_us),
        "department_id": dept,
        "deadline_at": _iso(deadline),
        "last_resolved_at": _iso(res_us),
        "outcome": outcome,
        "resolutions": res,
        "reworks": fail,
        "returned": bool(returned),
        "extended": bool(extended),
        "resolved_on_time": bool(on_time),
    }


def _report_item(
    w: int, timed: Any, r: Sequence[Any], p: Plan, cal: WorkCalendar
) -> dict[str, Any]:
    case, rep, acc = r
    return {"case_id": case, "weight": int(w), "reported_at": _iso(rep), "accepted_at": _iso(acc)}


def _reject_item(
    w: int, timed: Any, r: Sequence[Any], p: Plan, cal: WorkCalendar
) -> dict[str, Any]:
    case, at = r
    return {"case_id": case, "weight": int(w), "rejected_at": _iso(at)}


def _verify_item(
    w: int, timed: Any, r: Sequence[Any], p: Plan, cal: WorkCalendar
) -> dict[str, Any]:
    case, event, at, res, state, actor, dept = r
    spent = None
    if res is not None:
        spent = int(work_micros(cal, np.array([res]), np.array([at]))[0])
    return {
        "case_id": case,
        "weight": int(w),
        "verify_event_id": event,
        "verified_at": _iso(at),
        "resolved_at": _iso(res),
        "passed": state == S[State.CLOSED],
        "verifier_id": actor,
        "department_id": dept,
        "work_hours": None if spent is None else round(spent / md.US_PER_HOUR, 4),
        "on_time": bool(timed),
    }


def _card_item(w: int, timed: Any, r: Sequence[Any], p: Plan, cal: WorkCalendar) -> dict[str, Any]:
    case, event, at, flag, dept, hold, hold_lv = r
    handle = flag in (3, 4)
    return {
        "case_id": case,
        "weight": int(w),
        "card_event_id": event,
        "carded_at": _iso(at),
        "card": "yellow" if flag in (1, 3) else "red",
        "handle_stage": handle,
        "department_id": dept if handle else None,
        "centre_id": hold,
        "centre_level": LEVEL_NAMES.get(hold_lv) if hold_lv else None,
    }


_ITEM_MAKERS: dict[str, Callable[..., dict[str, Any]]] = {
    "cohort": _cohort_item,
    "dispatch": _dispatch_item,
    "report": _report_item,
    "reject": _reject_item,
    "verification": _verify_item,
    "card": _card_item,
}


def _with_numbers(conn: Connection, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = sorted({i["case_id"] for i in items})
    if not ids:
        return items
    numbers = dict(
        conn.execute(select(Incident.id, Incident.number).where(Incident.id.in_(ids))).all()
    )
    for item in items:
        item["number"] = numbers.get(item["case_id"])
    return items
