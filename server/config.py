"""Configuration from environment variables, with safe defaults.

Every variable is prefixed ``WANGGE_``; the README lists them all.
"""

from __future__ import annotations

import math
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(SystemExit):
    """A setting cannot be used: the message names the variable (shown instead of a traceback,
    by the web server, the ``flask`` command and tests alike)."""


TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def _bool(e: dict[str, str], name: str, default: bool) -> bool:
    value = e.get(name, "").strip().lower()
    if value == "":
        return default
    if value not in TRUE | FALSE:
        raise ConfigError(f"{name}={e[name]!r}: 应为 1 或 0 / must be 1 or 0 (true/false)")
    return value in TRUE


def _int(
    e: dict[str, str], name: str, default: int, *, least: int = 0, most: int | None = None
) -> int:
    raw = e.get(name, "").strip()
    if raw == "":
        return default
    # int() would take "١٢" (Arabic-Indic digits) and "1_0"; a setting is plain ASCII digits.
    if not (raw.isascii() and raw.lstrip("-").isdigit()):
        raise ConfigError(f"{name}={e[name]!r}: 应为整数 / must be a whole number")
    value = int(raw)
    if value < least:
        raise ConfigError(f"{name}={e[name]!r}: 至少为 {least} / must be at least {least}")
    if most is not None and value > most:
        raise ConfigError(f"{name}={e[name]!r}: 至多为 {most} / must be at most {most}")
    return value


def _float(e: dict[str, str], name: str, default: float, *, most: float | None = None) -> float:
    raw = e.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = float(raw) if raw.isascii() else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name}={e[name]!r}: 应为非负数 / must be a number, 0 or more")
    if most is not None and value > most:
        raise ConfigError(f"{name}={e[name]!r}: 至多为 {most:g} / must be at most {most:g}")
    return value


def _database_url(e: dict[str, str], name: str, default: str) -> str:
    """A URL SQLAlchemy can open (a known dialect and driver), else one line naming ``name``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from server.db import normalise_url, redact

    value = e.get(name, "").strip() or default
    try:
        make_url(normalise_url(value)).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError, ImportError) as exc:
        raise ConfigError(
            f"{name}={redact(value)!r}: 无法识别的数据库地址 / not a database URL "
            f"(sqlite:///path or postgresql://user:pass@host:5432/db): {exc}"
        ) from None
    return value


def _office_hours(e: dict[str, str], name: str, default: str) -> str:
    from server.domain.worktime import OfficeHours

    value = e.get(name, "").strip() or default
    try:
        OfficeHours.parse(value)
    except ValueError as exc:
        raise ConfigError(
            f"{name}={value!r}: 应为 HH:MM-HH:MM,HH:MM-HH:MM / expected periods like "
            f"08:30-12:00,14:00-17:30 ({exc})"
        ) from None
    return value


def _timezone(e: dict[str, str], name: str, default: str) -> str:
    value = e.get(name, "").strip() or default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name}={value!r}: 未知时区 / unknown time zone (e.g. Asia/Shanghai)"
        ) from None
    return value


def _checkin_deadline(e: dict[str, str], name: str, default: str) -> str:
    from server.domain.check_ins import parse_deadline

    value = e.get(name, "").strip() or default
    try:
        parse_deadline(value)
    except ValueError:
        raise ConfigError(
            f"{name}={value!r}: 应为 HH:MM（如 09:00）/ expected HH:MM, e.g. 09:00"
        ) from None
    return value


def _pending_bytes(e: dict[str, str]) -> int:
    """WANGGE_PENDING_UPLOAD_BYTES_PER_USER, at least WANGGE_MAX_UPLOAD_BYTES (else a photo of
    the largest size allowed could never begin)."""
    name = "WANGGE_PENDING_UPLOAD_BYTES_PER_USER"
    largest = _int(e, "WANGGE_MAX_UPLOAD_BYTES", 20 * 2**20, least=1, most=2**30)
    value = _int(e, name, max(500 * 2**20, largest), least=1, most=2**40)
    if value < largest:
        raise ConfigError(
            f"{name}={e[name]!r}: 应不小于 WANGGE_MAX_UPLOAD_BYTES（{largest}）/ must be at "
            f"least WANGGE_MAX_UPLOAD_BYTES ({largest}): a photo that large could never begin"
        )
    return value


def _instance_secret(instance: Path) -> str:
    """Read the secret key kept in ``instance/secret_key``, creating it on first use."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Create with owner-only permissions; another process may have won the race.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _data_key(e: dict[str, str]) -> str:
    """WANGGE_DATA_KEY, checked now (a bad key fails at start, not at the first resident)."""
    from server.usecases.personal_data import KeyError_, parse_key

    text = e.get("WANGGE_DATA_KEY", "").strip()
    if not text:
        if _bool(e, "WANGGE_REQUIRE_DATA_KEY", False):
            raise ConfigError("WANGGE_DATA_KEY is required (WANGGE_REQUIRE_DATA_KEY=1)")
        return ""
    try:
        parse_key(text)
    except KeyError_ as err:
        raise ConfigError(str(err)) from None
    return text


@dataclass
class Settings:
    instance_dir: Path
    database_url: str
    secret_key: str
    upload_dir: Path
    timezone: str = "Asia/Shanghai"
    cookie_secure: bool = False
    session_days: int = 30
    login_max_failures: int = 5
    login_window_minutes: int = 15
    check_db_on_start: bool = True
    office_hours: str = "08:30-12:00,14:00-17:30"
    basemap_url: str = ""
    basemap_attribution: str = ""
    duplicate_radius_m: float = 50.0
    duplicate_window_hours: float = 72.0
    locate_tolerance_m: float = 30.0
    max_upload_bytes: int = 20 * 2**20
    #: Unfinished uploads (begun, not all bytes in) one user may have open at once, and the bytes
    #: they may declare (``total_bytes``) in all; beyond either a begin is refused (429). The
    #: field app sends one photo at a time (at most 6 of ~450 KB per report): docs/api.md.
    pending_uploads_per_user: int = 50
    pending_upload_bytes_per_user: int = 500 * 2**20
    #: An unfinished upload that took no byte and no resume for this many days is deleted with
    #: its piece file (the app's sweep; ``flask uploads expire``): docs/operations.md.
    upload_expiry_days: int = 7
    #: Phones send ~1600 px photos; 12 Mpx admits any camera original (4000x3000) and keeps a
    #: decoded upload near 36 MB (docs/security.md, "Uploads").
    max_image_pixels: int = 12_000_000
    #: Images decoded at once per process (each may hold tens of MB while it is decoded).
    image_workers: int = 1
    max_plan_bytes: int = 50 * 2**20
    #: The longest a ``GET /changes`` long poll waits (the query's ``wait`` is capped to it).
    long_poll_seconds: float = 25.0
    #: Long polls waiting at once per process: per user, and in all (a waiting poll is a parked
    #: greenlet of the gevent worker, not a thread; keep the total below its connections, 1000).
    long_poll_per_user: int = 2
    long_poll_total: int = 500
    #: A console's stream of changes (``GET /changes/stream``) ends after this many seconds and
    #: the console reconnects with its cursor; open streams per process, per user and in all.
    stream_seconds: float = 300.0
    stream_per_user: int = 4
    stream_total: int = 400
    open311_jurisdiction: str = ""
    #: How many reverse proxies (nginx) stand in front of the app and append X-Forwarded-For;
    #: 0 trusts no forwarding header (docs/deployment.md, docs/security.md).
    proxy_count: int = 0
    #: The key of personal data at rest (identity numbers, phones): 64 hex characters or base64
    #: of 32 bytes. Empty: the public development key (docs/security.md, "Keys"), refused when
    #: WANGGE_REQUIRE_DATA_KEY=1 (set it in production).
    data_key: str = ""
    #: The app runs the 督办 sweep itself at most this often per process, after a response has
    #: gone out (0: never; cron/systemd runs ``flask cases sweep`` either way).
    app_sweep_seconds: float = 60.0
    #: Days a patrol's GPS positions are kept; ``flask fieldwork purge`` deletes older ones (the
    #: patrols' summaries stay). docs/field-work.md, "Patrols and tracks".
    track_retention_days: int = 180
    #: A check-in (签到) after this local time of the day is late (docs/field-work.md).
    checkin_deadline: str = "09:00"
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read every ``WANGGE_*`` variable; a bad value raises ``ConfigError`` naming it."""
        e = dict(os.environ if env is None else env)
        instance = Path(e.get("WANGGE_INSTANCE_DIR") or ROOT / "instance").resolve()
        instance.mkdir(parents=True, exist_ok=True)
        db_url = _database_url(e, "WANGGE_DATABASE_URL", f"sqlite:///{instance / 'wangge.db'}")
        return cls(
            instance_dir=instance,
            database_url=db_url,
            secret_key=e.get("WANGGE_SECRET_KEY") or _instance_secret(instance),
            upload_dir=Path(e.get("WANGGE_UPLOAD_DIR") or instance / "uploads").resolve(),
            timezone=_timezone(e, "WANGGE_TIMEZONE", "Asia/Shanghai"),
            cookie_secure=_bool(e, "WANGGE_COOKIE_SECURE", False),
            session_days=_int(e, "WANGGE_SESSION_DAYS", 30, least=1),
            login_max_failures=_int(e, "WANGGE_LOGIN_MAX_FAILURES", 5, least=1),
            login_window_minutes=_int(e, "WANGGE_LOGIN_WINDOW_MINUTES", 15, least=1),
            check_db_on_start=_bool(e, "WANGGE_CHECK_DB_ON_START", True),
            office_hours=_office_hours(e, "WANGGE_OFFICE_HOURS", "08:30-12:00,14:00-17:30"),
            basemap_url=e.get("WANGGE_BASEMAP_URL", ""),
            basemap_attribution=e.get("WANGGE_BASEMAP_ATTRIBUTION", ""),
            duplicate_radius_m=_float(e, "WANGGE_DUPLICATE_RADIUS_M", 50.0),
            duplicate_window_hours=_float(e, "WANGGE_DUPLICATE_WINDOW_HOURS", 72.0),
            locate_tolerance_m=_float(e, "WANGGE_LOCATE_TOLERANCE_M", 30.0),
            max_upload_bytes=_int(e, "WANGGE_MAX_UPLOAD_BYTES", 20 * 2**20, least=1, most=2**30),
            pending_uploads_per_user=_int(
                e, "WANGGE_PENDING_UPLOADS_PER_USER", 50, least=1, most=100_000
            ),
            pending_upload_bytes_per_user=_pending_bytes(e),
            upload_expiry_days=_int(e, "WANGGE_UPLOAD_EXPIRY_DAYS", 7, least=1, most=3650),
            max_image_pixels=_int(
                e, "WANGGE_MAX_IMAGE_PIXELS", 12_000_000, least=1, most=100_000_000
            ),
            image_workers=_int(e, "WANGGE_IMAGE_WORKERS", 1, least=1, most=64),
            max_plan_bytes=_int(e, "WANGGE_MAX_PLAN_BYTES", 50 * 2**20, least=1, most=2**30),
            long_poll_seconds=_float(e, "WANGGE_LONG_POLL_SECONDS", 25.0, most=60.0),
            long_poll_per_user=_int(e, "WANGGE_LONG_POLL_PER_USER", 2, least=0, most=100),
            long_poll_total=_int(e, "WANGGE_LONG_POLL_TOTAL", 500, least=0, most=1000),
            stream_seconds=_float(e, "WANGGE_STREAM_SECONDS", 300.0, most=3600.0),
            stream_per_user=_int(e, "WANGGE_STREAM_PER_USER", 4, least=0, most=100),
            stream_total=_int(e, "WANGGE_STREAM_TOTAL", 400, least=0, most=1000),
            proxy_count=_int(e, "WANGGE_PROXY_COUNT", 0),
            open311_jurisdiction=e.get("WANGGE_OPEN311_JURISDICTION", ""),
            data_key=_data_key(e),
            app_sweep_seconds=_float(e, "WANGGE_APP_SWEEP_SECONDS", 60.0, most=86400.0),
            track_retention_days=_int(e, "WANGGE_TRACK_RETENTION_DAYS", 180, least=1, most=36500),
            checkin_deadline=_checkin_deadline(e, "WANGGE_CHECKIN_DEADLINE", "09:00"),
        )
