"""gunicorn settings read from the working directory (``gunicorn wsgi:app`` run in the project
folder picks this file up; elsewhere pass ``-c /srv/wangge/gunicorn.conf.py``).

Command-line options still override these. Two matter for safety:

- the gevent worker: the console's live queue holds a long poll (``GET /api/v1/changes``) for up
  to ``WANGGE_LONG_POLL_SECONDS`` (25 s). Under gevent a waiting poll is a parked greenlet that
  holds neither a thread nor a database connection (one watcher per process feeds every poll,
  server/api/feed.py), so hundreds of open consoles do not starve report intake. psycopg 3
  cooperates with gevent by itself (3.1.14+). A sync worker would be tied up by each open
  console (4 consoles froze ``-w 4``); do not pass ``-k sync``. ``gthread`` still works, but
  each waiting poll then takes one of its ``threads``: lower ``WANGGE_LONG_POLL_TOTAL`` below them.
- the request line may be 8190 bytes (gunicorn's most; its default is 4094): an Open311 client
  asks for up to 200 case numbers in one GET, however it writes them (docs/open311.md); a
  longer line is a 414 from gunicorn, before the app.
- the logger class keeps Open311 API keys (``?api_key=…``) out of the access log
  (docs/security.md).

``GUNICORN_WORKERS`` (default 2: one per core) and ``GUNICORN_CONNECTIONS`` (default 1000 per
worker, above ``WANGGE_LONG_POLL_TOTAL``, 500) tune it without editing this file.
"""

import os

from server.logs import GunicornLogger

worker_class = "gevent"
worker_connections = int(os.environ.get("GUNICORN_CONNECTIONS", "1000"))
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
logger_class = GunicornLogger
limit_request_line = 8190
