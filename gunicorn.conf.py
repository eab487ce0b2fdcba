"""gunicorn settings read from the working directory (``gunicorn wsgi:app`` run in the project
folder picks this file up; elsewhere pass ``-c /srv/wangge/gunicorn.conf.py``).

Command-line options still override these. Two matter for safety:

- threaded workers: the console's live queue holds a long poll (``GET /api/v1/changes``) for up
  to ``WANGGE_LONG_POLL_SECONDS`` (25 s); a sync worker would be tied up by each open console
  (4 consoles froze ``-w 4``). At most ``WANGGE_LONG_POLL_TOTAL`` (4) of the 8 threads wait on
  long polls, the others stay free for intake (server/api/longpoll.py). Do not pass ``-k sync``.
- the logger class keeps Open311 API keys (``?api_key=…``) out of the access log
  (docs/security.md).
"""

import os

from server.logs import GunicornLogger

worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
logger_class = GunicornLogger
