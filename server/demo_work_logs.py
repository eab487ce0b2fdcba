"""The demo's supervisors' comments (点评) on recent work logs (docs/field-work.md, "Work log"):
on a few days with patrols, the county's supervisor (dcy) or the town's (dtdc) says something,
so the console's work-log pages show comments. Each comment is one its author may make
(``policy.may_comment_work_log``), made after the day it is about."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Patrol, User, WorkLogComment
from server.usecases import policy
from server.usecases.context import Actor

TZ = ZoneInfo("Asia/Shanghai")
AUTHORS = ("dtdc", "dcy")  # the town's supervisor first: it knows its workers
COMMENTS = (
    "巡查轨迹完整，覆盖较好，继续保持。",
    "下午巡查时间偏短，请注意重点区域的覆盖。",
    "走访记录详实，发现的问题已上报，值得肯定。",
    "签到偏晚，请按时到岗。",
    "上报的占道经营问题请跟进核查结果。",
)


def seed_comments(db: Session, rng: random.Random, days: int = 7, most: int = 8) -> str:
    """Comments on up to ``most`` (worker, day) pairs with patrols in the last ``days`` days."""
    today = datetime.now(TZ).date()
    since = datetime.combine(today - timedelta(days=days), time(0), TZ).astimezone(UTC)
    started = db.execute(
        select(Patrol.worker_id, Patrol.started_at).where(Patrol.started_at >= since)
    ).all()
    pairs = sorted({(w, at.astimezone(TZ).date()) for w, at in started})
    rng.shuffle(pairs)
    authors = [
        Actor.load(db, uid)
        for name in AUTHORS
        if (uid := db.scalar(select(User.id).where(User.username == name))) is not None
    ]
    made = 0
    for worker_id, day in pairs:
        if made >= most:
            break
        author = next((a for a in authors if policy.may_comment_work_log(db, a, worker_id)), None)
        if author is None or author.id is None:
            continue
        text = rng.choice(COMMENTS)
        at = datetime.combine(day + timedelta(days=1), time(8, 40), TZ).astimezone(UTC)
        db.add(
            WorkLogComment(
                uuid=str(uuid.UUID(int=rng.getrandbits(128))),
                content_hash=hashlib.sha256(f"{worker_id}|{day}|{text}".encode()).hexdigest(),
                worker_id=worker_id,
                day=day,
                author_id=author.id,
                text=text,
                created_at=min(at, datetime.now(UTC)),
            )
        )
        made += 1
    db.commit()
    return f"{made} work-log comments"
