"""Passwords and the sign-in rules (throttling, disabled accounts). No Flask here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from werkzeug.security import check_password_hash, generate_password_hash

from server.models import LoginAttempt, User
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


def _recent_failures(
    db: Session, column: InstrumentedAttribute[str], value: str, since: datetime
) -> int:
    stmt = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(column == value, LoginAttempt.at >= since, LoginAttempt.success.is_(False))
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
    """Check a user name and password, recording the attempt. Commits."""
    now = now or utcnow()
    since = now - timedelta(minutes=window_minutes)
    username = username.strip()
    failures_user = _recent_failures(db, LoginAttempt.username, username, since)
    failures_ip = _recent_failures(db, LoginAttempt.ip, ip, since)
    if failures_user >= max_failures or failures_ip >= max_failures * 4:
        return SignInResult(
            None,
            "throttled",
            f"登录失败次数过多，请 {window_minutes} 分钟后再试 / too many failed sign-ins, "
            f"try again in {window_minutes} minutes",
            retry_after=window_minutes * 60,
        )
    user = db.scalar(select(User).where(User.username == username))
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    db.add(LoginAttempt(username=username[:64], ip=ip[:64], at=now, success=bool(ok and user)))
    db.commit()
    if not user or not ok:
        return SignInResult(
            None, "bad_credentials", "用户名或密码错误 / wrong user name or password"
        )
    if not user.active:
        return SignInResult(None, "disabled", "账号已停用，请联系管理员 / this account is disabled")
    return SignInResult(user)
