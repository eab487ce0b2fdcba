"""Configuration from environment variables, with safe defaults.

Every variable is prefixed ``WANGGE_``; the README lists them all.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


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
    max_image_pixels: int = 40_000_000
    open311_jurisdiction: str = ""
    #: How many reverse proxies (nginx) stand in front of the app and append X-Forwarded-For;
    #: 0 trusts no forwarding header (docs/deployment.md, docs/security.md).
    proxy_count: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)
        instance = Path(e.get("WANGGE_INSTANCE_DIR") or ROOT / "instance").resolve()
        instance.mkdir(parents=True, exist_ok=True)
        db_url = e.get("WANGGE_DATABASE_URL") or f"sqlite:///{instance / 'wangge.db'}"
        return cls(
            instance_dir=instance,
            database_url=db_url,
            secret_key=e.get("WANGGE_SECRET_KEY") or _instance_secret(instance),
            upload_dir=Path(e.get("WANGGE_UPLOAD_DIR") or instance / "uploads").resolve(),
            timezone=e.get("WANGGE_TIMEZONE", "Asia/Shanghai"),
            cookie_secure=_bool(e.get("WANGGE_COOKIE_SECURE"), False),
            session_days=int(e.get("WANGGE_SESSION_DAYS", "30")),
            login_max_failures=int(e.get("WANGGE_LOGIN_MAX_FAILURES", "5")),
            login_window_minutes=int(e.get("WANGGE_LOGIN_WINDOW_MINUTES", "15")),
            check_db_on_start=_bool(e.get("WANGGE_CHECK_DB_ON_START"), True),
            office_hours=e.get("WANGGE_OFFICE_HOURS", "08:30-12:00,14:00-17:30"),
            basemap_url=e.get("WANGGE_BASEMAP_URL", ""),
            basemap_attribution=e.get("WANGGE_BASEMAP_ATTRIBUTION", ""),
            duplicate_radius_m=float(e.get("WANGGE_DUPLICATE_RADIUS_M", "50")),
            duplicate_window_hours=float(e.get("WANGGE_DUPLICATE_WINDOW_HOURS", "72")),
            locate_tolerance_m=float(e.get("WANGGE_LOCATE_TOLERANCE_M", "30")),
            max_upload_bytes=int(e.get("WANGGE_MAX_UPLOAD_BYTES", str(20 * 2**20))),
            max_image_pixels=int(e.get("WANGGE_MAX_IMAGE_PIXELS", "40000000")),
            open311_jurisdiction=e.get("WANGGE_OPEN311_JURISDICTION", ""),
            proxy_count=int(e.get("WANGGE_PROXY_COUNT", "0")),
        )
