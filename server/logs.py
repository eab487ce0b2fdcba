"""Keep secrets out of logs: Open311 API keys may arrive in the query string (GeoReport v2
allows ``?api_key=…``), and access logs write the request line. Both the development server's
logger (``werkzeug``) and gunicorn's access log (``gunicorn.conf.py`` picks ``GunicornLogger``)
write ``api_key=[redacted]`` instead (docs/security.md, "Open311 keys")."""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger as _GunicornLogger

#: ``api_key=…`` in a query string, also percent-encoded (e.g. inside a ``next=`` parameter).
SECRET_PARAM = re.compile(r"(?i)(api(?:_|%5f)key(?:=|%3d))[^&\s\"']*")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` with the value of every ``api_key`` parameter replaced by ``[redacted]``."""
    return SECRET_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


class RedactSecrets(logging.Filter):
    """A logging filter that rewrites a record whose message carries an ``api_key``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if SECRET_PARAM.search(message):
            record.msg = redact(message)
            record.args = ()
        return True


def install(logger_names: tuple[str, ...] = ("werkzeug",)) -> None:
    """Add ``RedactSecrets`` to each named logger, once."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())


class GunicornLogger(_GunicornLogger):  # type: ignore[misc]
    """gunicorn's logger with every access-log atom (request line, query string, headers,
    environ) cleared of ``api_key`` values, whatever ``--access-logformat`` says."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if isinstance(value, str) and SECRET_PARAM.search(value):
                atoms[key] = redact(value)
        return atoms
