"""The bare stack of report intake, for ``bench/api_load.py``: Flask, a psycopg pool and one
INSERT of the report body. Served by the same gunicorn config as the product, so the ratio
between the two says how much work the product does per report beyond what its stack needs.

    WANGGE_DATABASE_URL=postgresql://… gunicorn -c gunicorn.conf.py bench.bare_app:app
"""

from __future__ import annotations

import atexit
import json
import os

from flask import Flask, Response, request
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

app = Flask(__name__)
_url = os.environ["WANGGE_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
pool = ConnectionPool(_url, min_size=2, max_size=10, open=True)
# closed while the worker can still join the pool's threads (left to the pool's __del__, it ran
# during the gevent worker's shutdown and printed "greenlet is being finalized")
atexit.register(pool.close)


@app.post("/report")
def report() -> Response:
    body = request.get_json(force=True)
    with pool.connection() as conn:
        row = conn.execute(
            "INSERT INTO bench_reports (body) VALUES (%s) RETURNING id", [Jsonb(body)]
        ).fetchone()
    assert row is not None
    return Response(
        json.dumps({"id": row[0], "uuid": body.get("uuid")}),
        status=201,
        content_type="application/json",
    )
