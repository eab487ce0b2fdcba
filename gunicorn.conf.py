"""gunicorn settings read from the working directory (``gunicorn wsgi:app`` run in the project
folder picks this file up; elsewhere pass ``-c /srv/wangge/gunicorn.conf.py``).

Command-line options still override these; only the logger class matters for safety: it keeps
Open311 API keys (``?api_key=…``) out of the access log (docs/security.md)."""

from server.logs import GunicornLogger

logger_class = GunicornLogger
