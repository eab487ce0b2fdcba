"""Supervisor metrics, drill-down, scorecards and exports (docs/metrics.md, "API").

A thin layer: parameters → :mod:`server.metrics.service` (jurisdiction) →
:mod:`server.metrics.query` / :mod:`server.metrics.scorecards` → JSON or a file.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.engine import Connection

from server.api.util import json_body, me, roles_required
from server.domain import metrics as dm
from server.domain.worktime import WorkCalendar
from server.errors import ApiError
from server.extensions import db, settings
from server.metrics import export, scorecards
from server.metrics.query import (
    MetricsQuery,
    QueryError,
    Result,
    compute_plan,
    drilldown,
    plan,
)
from server.metrics.service import (
    calendar_for,
    effective_scopes,
    query_from_args,
    scope_json,
)

bp = Blueprint("metrics", __name__, url_prefix="/api/v1/metrics")

ALL_ROLES = ("grid_worker", "dispatcher", "handler", "supervisor", "admin")
MAX_LIMIT = 1000


def _calendar() -> WorkCalendar:
    cfg = settings()
    return calendar_for(cfg.office_hours, cfg.timezone)


def _conn() -> Connection:
    return db().connection()


def _error(err: QueryError) -> ApiError:
    fields = {err.field: err.message} if err.field else None
    return ApiError(err.status, err.code, err.message, fields)


def _query(conn: Connection, cal: WorkCalendar, *, by: str | None = None) -> MetricsQuery:
    args = {k: request.args.get(k) for k in ("from", "to", "period", "as_of", "by", "group")}
    if by is not None:
        args["by"] = by
    q = query_from_args(args, request.args.getlist("scope"), cal)
    scopes = effective_scopes(conn, me(), q.scopes)
    return MetricsQuery(scopes, q.start, q.end, q.as_of, q.by, q.group)


def _head(result: Result) -> dict[str, Any]:
    p = result.plan
    return {
        "period": {"from": p.query.start.isoformat(), "to": p.query.end.isoformat()},
        "as_of": p.as_of.isoformat().replace("+00:00", "Z"),
        "scope": scope_json(p.filters),
        "by": p.query.by,
    }


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(
            400, "validation_failed", f"{name} 应为 {low}–{high} 的整数", {name: f"{low}–{high}"}
        )
    return int(raw)


@bp.get("")
@roles_required(*ALL_ROLES)
def metrics() -> Response:
    """Every metric for a scope and period, as of a moment, optionally grouped."""
    cal, conn = _calendar(), _conn()
    try:
        p = plan(conn, _query(conn, cal), cal)
        result = compute_plan(conn, p, cal)
    except QueryError as err:
        raise _error(err) from None
    return jsonify(
        {
            **_head(result),
            "total": result.total,
            "groups": [{"key": g.key, "label": g.label, "values": g.values} for g in result.groups],
        }
    )


@bp.get("/definitions")
@roles_required(*ALL_ROLES)
def definitions() -> Response:
    """The metrics, groupings and default scorecards, for labels and tooltips."""
    return jsonify(
        {
            "metrics": [
                {
                    "key": m.key,
                    "zh": m.zh,
                    "en": m.en,
                    "kind": m.kind,
                    "family": m.family,
                    "definition": m.definition,
                    "formula": m.formula,
                    "numerator": m.numerator,
                    "denominator": m.denominator,
                    "higher_is_better": m.higher_is_better,
                }
                for m in dm.METRICS
            ],
            "groupings": [
                {"key": k, "zh": dm.GROUP_LABELS[k][0], "en": dm.GROUP_LABELS[k][1]}
                for k in dm.GROUP_BYS
            ],
            "scopes": list(dm.SCOPE_KINDS),
            "scorecards": {k: dm.default_scorecard(k).to_json() for k in dm.SCORECARD_KINDS},
        }
    )


@bp.get("/cases")
@roles_required(*ALL_ROLES)
def cases() -> Response:
    """The cases behind one number (``metric``; ``part`` for a rate; ``by`` + ``group``)."""
    metric = (request.args.get("metric") or "").strip()
    if not metric:
        raise ApiError(
            400, "unknown_metric", "需要 metric / metric is required", {"metric": "必填 / required"}
        )
    part = request.args.get("part") or "numerator"
    offset = _int_arg("offset", 0, 0, 10**9)
    limit = _int_arg("limit", 100, 1, MAX_LIMIT)
    cal, conn = _calendar(), _conn()
    try:
        p = plan(conn, _query(conn, cal), cal)
        d = drilldown(conn, p, cal, metric, part, offset, limit)
    except QueryError as err:
        raise _error(err) from None
    return jsonify(
        {
            "period": {"from": p.query.start.isoformat(), "to": p.query.end.isoformat()},
            "as_of": p.as_of.isoformat().replace("+00:00", "Z"),
            "scope": scope_json(p.filters),
            "by": p.query.by,
            "group": p.query.group,
            "metric": d.metric,
            "part": d.part,
            "counted": d.counted,
            "count": d.count,
            "total_items": d.total_items,
            "offset": offset,
            "limit": limit,
            "items": d.items,
        }
    )


def _kind() -> dm.ScorecardKind:
    kind = request.args.get("kind") or "department"
    if kind not in dm.SCORECARD_KINDS:
        raise ApiError(
            400, "invalid_kind", "kind 应为 department 或 worker", {"kind": "department|worker"}
        )
    return kind  # type: ignore[return-value]


@bp.get("/scorecards")
@roles_required(*ALL_ROLES)
def scorecard_list() -> Response:
    """Scored and ranked cards of the departments or grid workers (``kind``) of the scope."""
    kind = _kind()
    cal, conn = _calendar(), _conn()
    try:
        q = _query(conn, cal, by=kind)
        result, cards, config = scorecards.scorecards(conn, kind, q, cal)
    except QueryError as err:
        raise _error(err) from None
    return jsonify(
        {
            **_head(result),
            "kind": kind,
            "config": config.to_json(),
            "items": [scorecards.card_json(c) for c in cards],
        }
    )


@bp.get("/scorecards/config")
@roles_required(*ALL_ROLES)
def scorecard_config() -> Response:
    """The weights, targets and grade bands of a scorecard kind."""
    kind = _kind()
    return jsonify(scorecards.load_config(_conn(), kind).to_json())


@bp.put("/scorecards/config")
@roles_required("admin")
def scorecard_config_put() -> Response:
    """Replace the configuration of a scorecard kind (admin); 400 with ``fields`` if invalid."""
    kind = _kind()
    body = json_body()
    session = db()
    try:
        config = scorecards.save_config(session.connection(), kind, body, me().id)
    except dm.ConfigError as err:
        raise ApiError(
            400, "validation_failed", "考核配置无效 / invalid configuration", err.fields
        ) from None
    session.commit()
    return jsonify(config.to_json())


@bp.delete("/scorecards/config")
@roles_required("admin")
def scorecard_config_reset() -> Response:
    """Back to the default configuration (admin)."""
    kind = _kind()
    session = db()
    config = scorecards.reset_config(session.connection(), kind)
    session.commit()
    return jsonify(config.to_json())


def _export_table(conn: Connection, cal: WorkCalendar) -> tuple[export.Table, MetricsQuery]:
    report = request.args.get("report") or "metrics"
    tz = settings().timezone
    if report == "metrics":
        q = _query(conn, cal)
        p = plan(conn, q, cal)
        result = compute_plan(conn, p, cal)
        return export.metrics_table(result, scope_json(p.filters), tz), q
    if report not in dm.SCORECARD_KINDS:
        raise ApiError(
            400,
            "validation_failed",
            "report 应为 metrics、department 或 worker",
            {"report": "metrics|department|worker"},
        )
    q = _query(conn, cal, by=report)
    result, cards, _config = scorecards.scorecards(conn, report, q, cal)  # type: ignore[arg-type]
    table = export.scorecard_table(
        report,
        [scorecards.card_json(c) for c in cards],
        result,
        scope_json(result.plan.filters),
        tz,
    )
    return table, q


def _filename(q: MetricsQuery, ext: str) -> str:
    report = request.args.get("report") or "metrics"
    by = f"-by-{q.by}" if q.by and report == "metrics" else ""
    return f"wangge-{report}-{q.start.isoformat()}-{q.end.isoformat()}{by}.{ext}"


@bp.get("/export.xlsx")
@roles_required(*ALL_ROLES)
def export_xlsx() -> Response:
    """The metrics (or a scorecard: ``report``) as .xlsx, definitions on a second sheet."""
    cal, conn = _calendar(), _conn()
    try:
        table, q = _export_table(conn, cal)
    except QueryError as err:
        raise _error(err) from None
    resp = Response(
        export.to_xlsx(table),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    resp.headers["Content-Disposition"] = f'attachment; filename="{_filename(q, "xlsx")}"'
    return resp


@bp.get("/export.csv")
@roles_required(*ALL_ROLES)
def export_csv() -> Response:
    """The same table as CSV, UTF-8 with a BOM."""
    cal, conn = _calendar(), _conn()
    try:
        table, q = _export_table(conn, cal)
    except QueryError as err:
        raise _error(err) from None
    resp = Response(export.to_csv(table), mimetype="text/csv; charset=utf-8")
    resp.headers["Content-Disposition"] = f'attachment; filename="{_filename(q, "csv")}"'
    return resp
