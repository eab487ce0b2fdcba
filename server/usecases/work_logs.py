"""The work log (工作日志): a grid worker's day read from the trail, and supervisors' comments.

The day is the county's local date (``WANGGE_TIMEZONE``). What counts for it:

- the check-ins of the day (``check_ins.day``);
- the patrols started that day (``patrols.started_at``; their ends are entries too);
- the visits made that day by the worker (``visits.visitor_id``, ``visited_at``);
- the cases reported that day by the worker (``incidents.reporter_id``, ``reported_at``);
- the verifications (核查) made that day by the worker: ``verify`` events of theirs, at the
  phone's moment when it sent one (``device_time``), else at arrival (``created_at``).

A supervisor is shown of the check-ins, patrols, reports, verifications and visits only those in
their own jurisdiction (``policy.work_log_check_ins_clause``, ``work_log_patrols_clause``,
``work_log_cases_clause``, ``work_log_visits_clause``): a worker reports anywhere in their
county, their grids may lie in two towns, and a worker moved to another town leaves their past
days' check-ins and patrols with the first.

The list of a day (:func:`day_list`) answers every worker in the actor's jurisdiction in a fixed
number of statements (one per source, grouped by worker), however many workers there are. Who
reads and comments: :mod:`server.usecases.policy` ("field work"). Comments are append-only and
sent with a client ``uuid`` (a replay answers the first result).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from server.domain import check_ins as ci_rules
from server.domain import work_logs as rules
from server.domain import workflow as wf
from server.domain.fields import has_visible_text
from server.domain.fieldwork import CheckInStatus
from server.domain.workflow import Action
from server.models import (
    Category,
    CheckIn,
    Incident,
    IncidentEvent,
    Patrol,
    Region,
    User,
    Visit,
    WorkLogComment,
)
from server.usecases import policy
from server.usecases.base_data import common as c
from server.usecases.context import Actor, Context
from server.usecases.errors import Forbidden, NotFound, ValidationFailed

MAX_COMMENT = 2000
#: Workers in one answer of the list (a county has a few hundred).
MAX_WORKERS = 2000


@dataclass
class DayLine:
    """One worker's day in figures (a row of the list)."""

    worker: User
    totals: rules.Totals
    comments: int = 0


@dataclass
class Day:
    """One worker's day: the entries in time order, totals, comments."""

    worker: User
    day: date
    entries: list[rules.Entry]
    totals: rules.Totals
    comments: list[WorkLogComment] = field(default_factory=list)
    authors: dict[int, str] = field(default_factory=dict)


def _bounds(ctx: Context, day: date) -> tuple[datetime, datetime]:
    return ci_rules.day_bounds(day, ctx.calendar.tz)


def _verify_moment() -> Any:
    return func.coalesce(IncidentEvent.device_time, IncidentEvent.created_at)


def _check_in_status(rows: list[CheckIn]) -> str | None:
    """The day's status: the live check-in's, else ``rejected`` if one was, else None."""
    live = [r for r in rows if r.status != ci_rules.REJECTED]
    if live:
        return live[0].status
    return ci_rules.REJECTED if rows else None


def _worker(ctx: Context, actor: Actor, worker_id: int) -> User:
    user = ctx.db.get(User, worker_id)
    # only grid workers keep a work log: anyone else's id is as unknown as a missing one (it was
    # answered with their name, a directory of staff; and a comment on it was kept)
    if (
        user is None
        or user.role != wf.Role.GRID_WORKER
        or not policy.may_see_work_log(ctx.db, actor, worker_id)
    ):
        raise NotFound("未找到 / no such worker")
    return user


def _check_day(ctx: Context, day: date) -> None:
    today = ci_rules.day_of(ctx.now(), ctx.calendar.tz)
    if day > today:
        raise ValidationFailed(
            "不能查看将来的日期 / a day in the future has no work log",
            code="future_day",
            fields={"date": "in the future"},
        )


# --- the list of a day ------------------------------------------------------------------------


def day_list(ctx: Context, actor: Actor, day: date, region_id: int | None = None) -> list[DayLine]:
    """Every worker in the actor's jurisdiction (in region ``region_id`` if given) with the
    figures of ``day``; workers in name order."""
    _check_day(ctx, day)
    within = None
    if region_id is not None:
        region = ctx.db.get(Region, region_id)
        if region is None or not policy.may_see_region(ctx.db, actor, region):
            raise ValidationFailed(
                "未知区域 / unknown region", code="unknown_region", fields={"region_id": "unknown"}
            )
        within = (region.path,)
    workers = list(
        ctx.db.scalars(
            select(User)
            .where(policy.work_log_workers_clause(ctx.db, actor, within), User.active.is_(True))
            .order_by(User.display_name, User.id)
            .limit(MAX_WORKERS)
        )
    )
    if not workers:
        return []
    ids = [w.id for w in workers]
    start, end = _bounds(ctx, day)
    lines = {w.id: DayLine(w, rules.Totals()) for w in workers}
    check_ins: dict[int, list[CheckIn]] = defaultdict(list)
    for row in ctx.db.scalars(
        select(CheckIn)
        .where(
            CheckIn.worker_id.in_(ids),
            CheckIn.day == day,
            policy.work_log_check_ins_clause(actor),
        )
        .order_by(CheckIn.id)
    ):
        check_ins[row.worker_id].append(row)
    for wid, rows in check_ins.items():
        lines[wid].totals.check_in_status = _check_in_status(rows)
    for wid, n, dist, dur in ctx.db.execute(
        select(
            Patrol.worker_id,
            func.count(),
            func.coalesce(func.sum(Patrol.distance_m), 0.0),
            func.coalesce(func.sum(Patrol.duration_s), 0),
        )
        .where(
            Patrol.worker_id.in_(ids),
            Patrol.started_at >= start,
            Patrol.started_at < end,
            policy.work_log_patrols_clause(actor),
        )
        .group_by(Patrol.worker_id)
    ):
        t = lines[wid].totals
        t.patrols, t.distance_m, t.duration_s = int(n), float(dist), int(dur)
    for visitor, n in ctx.db.execute(
        select(Visit.visitor_id, func.count())
        .where(
            Visit.visitor_id.in_(ids),
            Visit.visited_at >= start,
            Visit.visited_at < end,
            policy.work_log_visits_clause(actor),
        )
        .group_by(Visit.visitor_id)
    ):
        lines[visitor or 0].totals.visits = int(n)
    for reporter, n in ctx.db.execute(
        select(Incident.reporter_id, func.count())
        .where(
            Incident.reporter_id.in_(ids),
            Incident.reported_at >= start,
            Incident.reported_at < end,
            policy.work_log_cases_clause(actor),
        )
        .group_by(Incident.reporter_id)
    ):
        lines[reporter or 0].totals.reports = int(n)
    moment = _verify_moment()
    for verifier, n in ctx.db.execute(
        select(IncidentEvent.actor_id, func.count())
        .join(Incident, Incident.id == IncidentEvent.incident_id)
        .where(
            policy.work_log_cases_clause(actor),
            IncidentEvent.action == Action.VERIFY.value,
            IncidentEvent.actor_id.in_(ids),
            IncidentEvent.created_at >= start,  # it arrived after it was made
            moment >= start,
            moment < end,
        )
        .group_by(IncidentEvent.actor_id)
    ):
        lines[verifier or 0].totals.verifications = int(n)
    for wid, n in ctx.db.execute(
        select(WorkLogComment.worker_id, func.count())
        .where(WorkLogComment.worker_id.in_(ids), WorkLogComment.day == day)
        .group_by(WorkLogComment.worker_id)
    ):
        lines[wid].comments = int(n)
    return [lines[w.id] for w in workers]


# --- one worker's day -----------------------------------------------------------------------


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f} km"


def _duration(seconds: int) -> str:
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min"


def _check_in_text(row: CheckIn, tz: Any) -> str:
    local = row.at.astimezone(tz).strftime("%H:%M")
    if row.makeup:
        label = {
            CheckInStatus.PENDING: "待审批 / pending",
            CheckInStatus.APPROVED: "已批准 / approved",
            CheckInStatus.REJECTED: "已驳回 / rejected",
        }.get(CheckInStatus(row.status), row.status)
        return f"补签 / late check-in ({label})"
    return f"签到 {local}" + (" 迟到 / late" if row.late else "")


def worker_day(ctx: Context, actor: Actor, worker_id: int, day: date) -> Day:
    """The work log of one worker and day (404 for a worker the actor may not read)."""
    worker = _worker(ctx, actor, worker_id)
    _check_day(ctx, day)
    start, end = _bounds(ctx, day)
    tz = ctx.calendar.tz
    entries: list[rules.Entry] = []
    totals = rules.Totals()
    K = rules.EntryKind

    check_ins = list(
        ctx.db.scalars(
            select(CheckIn)
            .where(
                CheckIn.worker_id == worker_id,
                CheckIn.day == day,
                policy.work_log_check_ins_clause(actor),
            )
            .order_by(CheckIn.id)
        )
    )
    totals.check_in_status = _check_in_status(check_ins)
    for row in check_ins:
        ref = {"id": row.id, "uuid": row.uuid, "status": row.status}
        entries.append(rules.Entry(row.at, K.CHECK_IN, ref, _check_in_text(row, tz)))

    for p in ctx.db.scalars(
        select(Patrol).where(
            Patrol.worker_id == worker_id,
            Patrol.started_at >= start,
            Patrol.started_at < end,
            policy.work_log_patrols_clause(actor),
        )
    ):
        totals.patrols += 1
        totals.distance_m += p.distance_m or 0.0
        totals.duration_s += p.duration_s or 0
        ref = {"uuid": p.uuid}
        entries.append(rules.Entry(p.started_at, K.PATROL_START, ref, "开始巡查 / patrol started"))
        if p.ended_at is not None:
            km, took = _km(p.distance_m or 0.0), _duration(p.duration_s or 0)
            text = f"结束巡查 / patrol ended: {km}, {took}"
            entries.append(rules.Entry(p.ended_at, K.PATROL_END, ref, text))

    for v in ctx.db.execute(
        select(Visit.id, Visit.uuid, Visit.visited_at, Visit.case_id).where(
            Visit.visitor_id == worker_id,
            Visit.visited_at >= start,
            Visit.visited_at < end,
            policy.work_log_visits_clause(actor),
        )
    ):
        totals.visits += 1
        text = "走访 / visit" + (" · 发现问题并上报 / raised a case" if v.case_id else "")
        entries.append(rules.Entry(v.visited_at, K.VISIT, {"id": v.id, "uuid": v.uuid}, text))

    for case_id, number, at, category in ctx.db.execute(
        select(Incident.id, Incident.number, Incident.reported_at, Category.name)
        .join(Category, Category.id == Incident.category_id)
        .where(
            Incident.reporter_id == worker_id,
            Incident.reported_at >= start,
            Incident.reported_at < end,
            policy.work_log_cases_clause(actor),
        )
    ):
        totals.reports += 1
        ref = {"case_id": case_id, "number": number}
        entries.append(rules.Entry(at, K.REPORT, ref, f"上报 / reported {number} {category}"))

    moment = _verify_moment()
    for case_id, number, at, data in ctx.db.execute(
        select(Incident.id, Incident.number, moment, IncidentEvent.data)
        .join(Incident, Incident.id == IncidentEvent.incident_id)
        .where(
            policy.work_log_cases_clause(actor),
            IncidentEvent.action == Action.VERIFY.value,
            IncidentEvent.actor_id == worker_id,
            IncidentEvent.created_at >= start,
            moment >= start,
            moment < end,
        )
    ):
        totals.verifications += 1
        passed = (data or {}).get("passed")
        ref = {"case_id": case_id, "number": number, "passed": passed}
        text = f"核查 / verified {number} {rules.verify_text(passed)}".rstrip()
        entries.append(rules.Entry(_aware(at), K.VERIFY, ref, text))

    comments = list(
        ctx.db.scalars(
            select(WorkLogComment)
            .where(WorkLogComment.worker_id == worker_id, WorkLogComment.day == day)
            .order_by(WorkLogComment.created_at, WorkLogComment.id)
        )
    )
    authors = (
        dict(
            ctx.db.execute(
                select(User.id, User.display_name).where(
                    User.id.in_(sorted({cm.author_id for cm in comments}))
                )
            ).all()
        )
        if comments
        else {}
    )
    return Day(worker, day, rules.timeline(entries), totals, comments, authors)


def _aware(value: Any) -> datetime:
    """A moment read through ``coalesce`` (SQLite gives text or a naive UTC datetime)."""
    from datetime import UTC

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value  # type: ignore[no-any-return]


# --- comments ---------------------------------------------------------------------------------


@dataclass
class SavedComment:
    comment: WorkLogComment
    replay: bool = False


def comment(
    ctx: Context, actor: Actor, worker_id: int, day: date, body: dict[str, Any]
) -> SavedComment:
    """A supervisor's comment on a worker's day (append-only; idempotent by ``uuid``)."""
    key = c.client_uuid(body.get("uuid"))
    text = body.get("text")
    digest = c.content_hash({"worker_id": worker_id, "day": day.isoformat(), "text": text})
    existing = c.earlier(ctx, actor, WorkLogComment, key, digest, "author_id")
    if existing is not None:
        return SavedComment(existing, replay=True)
    _worker(ctx, actor, worker_id)
    if not policy.may_comment_work_log(ctx.db, actor, worker_id):
        raise Forbidden("只有辖区督导员可以点评 / only a supervisor of the worker comments")
    _check_day(ctx, day)
    if not isinstance(text, str) or not has_visible_text(text):
        raise ValidationFailed("请填写点评内容 / write the comment", fields={"text": "required"})
    text = text.strip()
    if len(text) > MAX_COMMENT:
        raise ValidationFailed(
            f"点评最多 {MAX_COMMENT} 字 / too long", fields={"text": f"at most {MAX_COMMENT}"}
        )
    row = WorkLogComment(
        uuid=key,
        content_hash=digest,
        worker_id=worker_id,
        day=day,
        author_id=actor.id,
        text=text,
        created_at=ctx.now(),
    )
    ctx.db.add(row)
    try:
        ctx.db.commit()
    except IntegrityError:
        again = c.after_conflict(ctx, actor, WorkLogComment, key, digest, "author_id")
        if again is None:
            raise
        return SavedComment(again, replay=True)
    return SavedComment(row)
