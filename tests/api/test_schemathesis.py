"""Schemathesis against the generated OpenAPI document, for every role (issue 11).

For each role (and signed out), a fresh two-county world (tests/workflow/world.py, plus a case
in each county) and every operation of /api/v1 fuzzed in-process (WSGI) with data generated from
the document: zero 5xx, every answer conforms to its declared schema, status and media type.
Budget: ``MAX_EXAMPLES`` examples per operation, derandomized (same data every run), no
deadline, no shrinking (a failure is reported, not minimised). The figures are printed.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import factories as f
from tests.workflow.world import IN_GB, World, build

MAX_EXAMPLES = int(os.environ.get("WANGGE_FUZZ_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ROLES = {
    "grid_worker": "wg1",
    "dispatcher": "disp",
    "handler": "h1",
    "supervisor": "sup",
    "admin": "admin",
    "signed_out": None,
}
# Signing out would end the session the rest of the run uses: fuzzed signed out only.
SIGNED_IN_SKIP = {("POST", "/api/v1/auth/logout")}
TOTALS: dict[str, Stats] = {}


@dataclass
class Stats:
    operations: int = 0
    requests: int = 0
    server_errors: int = 0
    violations: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)


def _session(w: World, who: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """The CSRF header and the cookies of a session signed in as ``who`` (or signed out)."""
    c = w.app.test_client()
    if who is None:
        token = c.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    else:
        token = f.login(c, who)["csrf_token"]
    cookies = {k.key: k.value for k in c._cookies.values()}
    # identity: the grid layer is gzipped on request, and the test client does not inflate
    return {"X-CSRFToken": token, "Accept-Encoding": "identity"}, cookies


def _world(app: Flask) -> World:
    app.config["WANGGE_LONG_POLL_SECONDS"] = 0
    app.config["WANGGE_STREAM_SECONDS"] = 0  # the first frame, then the end
    w = build(app)
    w.report()  # a case in county A …
    w.report("dispb", IN_GB)  # … and one in county B
    return w


@pytest.fixture
def fuzz_world(app: Flask) -> Iterator[World]:
    yield _world(app)


@pytest.fixture
def pg_fuzz_world(pg_app: Flask) -> Iterator[World]:
    yield _world(pg_app)


def _fuzz(w: World, who: str | None, stats: Stats) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", w.app)
    headers, cookies = _session(w, who)
    for result in schema.get_all_operations():
        op = result.ok()
        if who is not None and (op.method.upper(), op.path) in SIGNED_IN_SKIP:
            continue
        stats.operations += 1

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        @given(case=op.as_strategy())
        def run(case: Any) -> None:
            response = case.call(headers=headers, cookies=cookies)
            stats.requests += 1
            stats.statuses[response.status_code] += 1
            if response.status_code >= 500:
                stats.server_errors += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 (record it, go on)
                where = f"{case.method} {case.formatted_path} -> {response.status_code}"
                stats.violations.append(f"{where}: {str(exc).strip()[:600]}")

        run()


@pytest.mark.parametrize("role", list(ROLES))
def test_every_operation_for_every_role(
    fuzz_world: World, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stats = Stats()
    _fuzz(fuzz_world, ROLES[role], stats)
    TOTALS[role] = stats
    with capsys.disabled():
        print(
            f"\nschemathesis [{role}]: {stats.operations} operations, {stats.requests} requests, "
            f"{stats.server_errors} 5xx, {len(stats.violations)} violations; statuses "
            + ", ".join(f"{k}: {n}" for k, n in sorted(stats.statuses.items()))
        )
        if len(TOTALS) == len(ROLES):
            t = list(TOTALS.values())
            print(
                f"schemathesis [all roles]: {sum(s.operations for s in t)} operations, "
                f"{sum(s.requests for s in t)} requests, {sum(s.server_errors for s in t)} 5xx, "
                f"{sum(len(s.violations) for s in t)} violations"
            )
    assert stats.server_errors == 0 and not stats.violations, "\n".join(stats.violations[:20])


@pytest.mark.parametrize("role", ["dispatcher", "admin"])
def test_on_postgresql(pg_fuzz_world: World, role: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The same run on PostgreSQL (integer ranges, NUL bytes, encodings are its own), for the
    two roles that reach most operations."""
    stats = Stats()
    _fuzz(pg_fuzz_world, ROLES[role], stats)
    with capsys.disabled():
        print(
            f"\nschemathesis PostgreSQL [{role}]: {stats.operations} operations, "
            f"{stats.requests} requests, {stats.server_errors} 5xx, "
            f"{len(stats.violations)} violations"
        )
    assert stats.server_errors == 0 and not stats.violations, "\n".join(stats.violations[:20])
