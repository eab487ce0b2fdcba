"""Passwords, the sign-in rules (throttling, disabled accounts) and the sign-ins kept on the
server (one per signed-in browser or phone). No Flask here; docs/security.md explains why."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from server import cache
from server.db import as_loaded, new_row
from server.models import LoginAttempt, SignIn, User
from server.models.types import utcnow

MIN_PASSWORD_LENGTH = 8
# Hash compared against when the user does not exist, so timing does not reveal user names.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(
            f"密码至少 {MIN_PASSWORD_LENGTH} 位 / password needs {MIN_PASSWORD_LENGTH}+ characters"
        )
    return generate_password_hash(password)


@dataclass
class SignInResult:
    user: User | None
    error: str | None = None  # machine code: bad_credentials, disabled, throttled
    message: str = ""
    retry_after: int = 0


def _storable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _recent_failures(db: Session, since: datetime, *where: ColumnElement[bool]) -> int:
    stmt = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(*where, LoginAttempt.at >= since, LoginAttempt.success.is_(False))
    )
    return int(db.scalar(stmt) or 0)


def sign_in(
    db: Session,
    username: str,
    password: str,
    ip: str,
    *,
    max_failures: int = 5,
    window_minutes: int = 15,
    now: datetime | None = None,
) -> SignInResult:
    """Check a user name and password from the client address ``ip``, recording the attempt.
    Commits.

    The throttle counts failures per (user name, address) and per address, never per user name
    alone: someone elsewhere who guesses wrong five times does not lock the real user out (the
    cost is that guessing one user's password from many addresses is limited per address only;
    docs/security.md, "Throttling"). The counts live in the database, so every process agrees.
    """
    now = now or utcnow()
    since = now - timedelta(minutes=window_minutes)
    # What no column can hold (NUL: PostgreSQL refuses it; lone surrogates: not UTF-8) is
    # checked and recorded escaped: no user is called that, and the attempt still counts.
    username, password = _storable(username.strip()), _storable(password)
    ip = ip[:64]
    failures_pair = _recent_failures(
        db, since, LoginAttempt.username == username[:64], LoginAttempt.ip == ip
    )
    failures_ip = _recent_failures(db, since, LoginAttempt.ip == ip)
    if failures_pair >= max_failures or failures_ip >= max_failures * 4:
        return SignInResult(
            None,
            "throttled",
            f"登录失败次数过多，请 {window_minutes} 分钟后再试 / too many failed sign-ins, "
            f"try again in {window_minutes} minutes",
            retry_after=window_minutes * 60,
        )
    user = db.scalar(select(User).where(User.username == username))
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    db.add(LoginAttempt(username=username[:64], ip=ip, at=now, success=bool(ok and user)))
    db.commit()
    if not user or not ok:
        return SignInResult(
            None, "bad_credentials", "用户名或密码错误 / wrong user name or password"
        )
    if not user.active:
        return SignInResult(None, "disabled", "账号已停用，请联系管理员 / this account is disabled")
    return SignInResult(user)


# -- sign-ins kept on the server ------------------------------------------------------------------


def key_hash(key: str) -> str:
    """How a sign-in key is kept (only its hash is stored)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def start_sign_in(
    db: Session,
    user: User,
    *,
    days: int,
    ip: str = "",
    user_agent: str = "",
    now: datetime | None = None,
) -> str:
    """Record a new sign-in of ``user`` lasting ``days``; answers its key (kept only in the
    cookies, hashed here) and sets ``user.sign_in_key``. Prunes the user's ended and expired
    sign-ins. Commits."""
    now = now or utcnow()
    db.execute(
        delete(SignIn).where(
            SignIn.user_id == user.id,
            or_(SignIn.ended_at.is_not(None), SignIn.expires_at <= now),
        )
    )
    key = secrets.token_urlsafe(24)
    db.add(
        SignIn(
            user_id=user.id,
            key_hash=key_hash(key),
            created_at=now,
            expires_at=now + timedelta(days=days),
            ip=ip[:64],
            user_agent=user_agent[:200],
        )
    )
    db.commit()
    user.sign_in_key = key
    return key


_TOPICS = list(cache.TOPICS)


@lru_cache(maxsize=1)
def _signed_in_query() -> Select[Any]:
    """The sign-in check of every request, built once (issue 13: building it, and its cache key,
    at each request cost more than running it). The request's cache epochs come in the same
    statement (server/cache.py): one round trip checks the sign-in and says which per-process
    caches are current."""
    return (
        select(*User.__table__.c, *cache.epoch_columns(_TOPICS))
        .join(SignIn, SignIn.user_id == User.id)
        .where(
            User.id == bindparam("uid"),
            SignIn.key_hash == bindparam("key_hash"),
            SignIn.ended_at.is_(None),
            SignIn.expires_at > bindparam("now"),
        )
    )


def signed_in_user(db: Session, cookie_id: str, now: datetime | None = None) -> User | None:
    """The user a session or remember cookie names (``user:epoch:key``), or None when the user
    is unknown or disabled, the epoch moved on (password change, disable) or the sign-in was
    ended or has expired."""
    uid, _, rest = cookie_id.partition(":")
    epoch, _, key = rest.partition(":")
    if not uid.isdigit() or not epoch.isdigit() or not key:
        return None
    now = now or utcnow()
    # A Core query and the user held as if loaded (server/db.py): the ORM's loading of the row
    # cost more than the statement (issue 13).
    row = (
        db.connection()
        .execute(_signed_in_query(), {"uid": int(uid), "key_hash": key_hash(key), "now": now})
        .first()
    )
    if row is None:
        return None
    values = row._asdict()
    cache.remember(db, {t: int(n) for t in _TOPICS if (n := values.pop(f"epoch_{t}")) is not None})
    user = as_loaded(db, new_row(User, values))
    if not user.active or user.session_epoch != int(epoch):
        return None
    user.sign_in_key = key
    return user


def end_sign_in(db: Session, user: User, *, everywhere: bool = False) -> int:
    """End the sign-in ``user`` was loaded with (or all of the user's with ``everywhere``);
    answers how many ended. Commits."""
    stmt = update(SignIn).where(SignIn.user_id == user.id, SignIn.ended_at.is_(None))
    if not everywhere:
        if not user.sign_in_key:
            return 0
        stmt = stmt.where(SignIn.key_hash == key_hash(user.sign_in_key))
    ended = db.execute(stmt.values(ended_at=utcnow())).rowcount  # type: ignore[attr-defined]
    db.commit()
    return int(ended or 0)
