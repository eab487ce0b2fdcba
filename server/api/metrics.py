"""Supervisor metrics, drill-down, scorecards and exports (docs/metrics.md, "API").

A thin layer: parameters → :mod:`server.metrics.service` (jurisdiction) →
:mod:`server.metrics.counting` / :mod:`server.metrics.drilldown` /
:mod:`server.metrics.scorecards` → JSON or a file.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select
from sqlalchemy.engine import Connection

from server.api.edge import operation
from server.api.inputs import (
    ExportQuery,
    KindQuery,
    MetricsCasesQuery,
    MetricsParams,
    RecordsQuery,
    ScorecardConfigBody,
    ScorecardsQuery,
)
from server.api.util import actor, context, me, roles_required, work_calendar
from server.domain import assessment_metrics as am
from server.domain import metric_definitions as md
from server.domain import scorecards as scoring
from server.domain import workflow as wf
from server.domain.worktime import WorkCalendar
from server.errors import ApiError, error_response
from server.extensions import db, settings
from server.metrics import assessment, export, scorecards
from server.metrics.counting import Result, compute_plan
from server.metrics.drilldown import drilldown
from server.metrics.planning import MetricsQuery, QueryError, plan
from server.metrics.service import (
    effective_scopes,
    query_from_args,
    report_table,
    scope_json,
)
from server.models import Resident
from server.usecases import personal_data as pd

bp = Blueprint("metrics", __name__, url_prefix="/api/v1/metrics")

ALL_ROLES = (
    wf.Role.GRID_WORKER,
    wf.Role.DISPATCHER,
    wf.Role.HANDLER,
    wf.Role.SUPERVISOR,
    wf.Role.ADMIN,
)
MAX_LIMIT = 1000


def _conn() -> Connection:
    return db().connection()


@bp.errorhandler(QueryError)
def _unanswerable(err: QueryError) -> Response:
    """A question the metrics cannot answer (unknown scope, metric, grouping…): a 4xx."""
    fields = {err.field: err.message} if err.field else None
    return error_response(ApiError(err.status, err.code, err.message, fields))


@bp.errorhandler(scoring.ConfigError)
def _invalid_config(err: scoring.ConfigError) -> Response:
    return error_response(
        ApiError(400, "validation_failed", "考核配置无效 / invalid configuration", err.fields)
    )


def _query(
    conn: Connection, cal: WorkCalendar, params: MetricsParams, *, by: str | None = None
) -> MetricsQuery:
    args = params.args()
    if by is not None:
        args["by"] = by
    q = query_from_args(args, params.scope, cal)
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


@bp.get("")
@operation(query=MetricsParams, responses={200: "Metrics", 403: None}, roles=ALL_ROLES)
@roles_required(*ALL_ROLES)
def metrics(query: MetricsParams) -> Response:
    """Every metric for a scope and period, as of a moment, optionally grouped."""
    cal, conn = work_calendar(), _conn()
    p = plan(conn, _query(conn, cal, query), cal)
    result = compute_plan(conn, p, cal)
    return jsonify(
        {
            **_head(result),
            "total": result.total,
            "groups": [{"key": g.key, "label": g.label, "values": g.values} for g in result.groups],
        }
    )


def _definition(m: md.Metric) -> dict[str, Any]:
    return {
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


@bp.get("/definitions")
@operation(responses={200: "MetricDefinitions"}, roles=ALL_ROLES)
@roles_required(*ALL_ROLES)
def definitions() -> Response:
    """The metrics, groupings and default scorecards, for labels and tooltips."""
    return jsonify(
        {
            "metrics": [_definition(m) for m in md.METRICS],
            # the assessment indicators (docs/metrics.md §9): on scorecards, not in /metrics
            "indicators": [_definition(m) for m in am.INDICATORS],
            "groupings": [
                {"key": k, "zh": md.GROUP_LABELS[k][0], "en": md.GROUP_LABELS[k][1]}
                for k in md.GROUP_BYS
            ],
            "scopes": list(md.SCOPE_KINDS),
            "scorecards": {
                k: scoring.default_scorecard(k).to_json() for k in scoring.SCORECARD_KINDS
            },
            "scorecard_kinds": [
                {"key": k, "zh": scoring.KIND_LABELS[k][0], "en": scoring.KIND_LABELS[k][1]}
                for k in scoring.SCORECARD_KINDS
            ],
        }
    )


@bp.get("/cases")
@operation(query=MetricsCasesQuery, responses={200: "MetricCases", 403: None}, roles=ALL_ROLES)
@roles_required(*ALL_ROLES)
def cases(query: MetricsCasesQuery) -> Response:
    """The cases behind one number (``metric``; ``part`` for a rate; ``by`` + ``group``)."""
    metric, part, offset, limit = query.metric, query.part, query.offset, query.limit
    cal, conn = work_calendar(), _conn()
    p = plan(conn, _query(conn, cal, query), cal)
    d = drilldown(conn, p, cal, metric, part, offset, limit)
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


@bp.get("/scorecards")
@operation(query=ScorecardsQuery, responses={200: "Scorecards", 403: None}, roles=ALL_ROLES)
@roles_required(*ALL_ROLES)
def scorecard_list(query: ScorecardsQuery) -> Response:
    """Scored and ranked cards of the departments or grid workers (``kind``) of the scope."""
    kind = query.kind
    cal, conn = work_calendar(), _conn()
    q = _query(conn, cal, query, by=kind)
    result, cards, config = scorecards.scorecards(conn, kind, q, cal)
    return jsonify(
        {
            **_head(result),
            "kind": kind,
            "config": config.to_json(),
            "items": [scorecards.card_json(c) for c in cards],
        }
    )


@bp.get("/records")
@operation(query=RecordsQuery, responses={200: "MetricRecords", 403: None}, roles=ALL_ROLES)
@roles_required(*ALL_ROLES)
def indicator_records(query: RecordsQuery) -> Response:
    """The records behind one assessment indicator of one person (漏报率's cases, a
    dispatcher's acceptances and dispatches, a worker's patrols and visits). A visit due to a
    key-group member the caller may not see (their base data, or a sensitive group) is a
    withheld row; every resident named is logged as read."""
    cal, conn = work_calendar(), _conn()
    q = _query(conn, cal, query)
    p = plan(conn, MetricsQuery(q.scopes, q.start, q.end, q.as_of), cal)
    ctx, who = context(), actor()
    r = assessment.records(
        conn, p, cal, query.metric, query.part, query.subject, query.offset, query.limit,
        viewer=who,
    )  # fmt: skip
    if r.residents:
        named = ctx.db.scalars(select(Resident).where(Resident.id.in_(r.residents)))
        pd.log_reads(ctx, who, named, pd.Purpose.LIST, request.endpoint or "", fields="visit_due")
        ctx.db.commit()
    return jsonify(
        {
            **_head(Result(p, {}, [], {})),
            "kind": query.kind,
            "subject": query.subject,
            "metric": r.metric,
            "part": r.part,
            "counted": r.counted,
            "count": r.count,
            "total_items": r.total_items,
            "offset": query.offset,
            "limit": query.limit,
            "items": r.items,
        }
    )


@bp.get("/scorecards/config")
@operation(query=KindQuery, responses={200: "ScorecardConfig"}, roles=ALL_ROLES)
@roles_required(*ALL_ROLES)
def scorecard_config(query: KindQuery) -> Response:
    """The weights, targets and grade bands of a scorecard kind."""
    kind = query.kind
    return jsonify(scorecards.load_config(_conn(), kind).to_json())


@bp.put("/scorecards/config")
@operation(
    query=KindQuery,
    body=ScorecardConfigBody,
    responses={200: "ScorecardConfig"},
    roles=(wf.Role.ADMIN,),
)
@roles_required(wf.Role.ADMIN)
def scorecard_config_put(query: KindQuery, body: ScorecardConfigBody) -> Response:
    """Replace the configuration of a scorecard kind (admin); 400 with ``fields`` if invalid."""
    kind = query.kind
    session = db()
    config = scorecards.save_config(session.connection(), kind, body.given(), me().id)
    session.commit()
    return jsonify(config.to_json())


@bp.delete("/scorecards/config")
@operation(query=KindQuery, responses={200: "ScorecardConfig"}, roles=(wf.Role.ADMIN,))
@roles_required(wf.Role.ADMIN)
def scorecard_config_reset(query: KindQuery) -> Response:
    """Back to the default configuration (admin)."""
    kind = query.kind
    session = db()
    config = scorecards.reset_config(session.connection(), kind)
    session.commit()
    return jsonify(config.to_json())


def _export_table(
    conn: Connection, cal: WorkCalendar, params: ExportQuery
) -> tuple[export.Table, MetricsQuery]:
    report = params.report
    if report != "metrics" and report not in scoring.SCORECARD_KINDS:
        kinds = "|".join(("metrics", *scoring.SCORECARD_KINDS))
        raise ApiError(400, "validation_failed", f"report 应为 {kinds}", {"report": kinds})
    by = None if report == "metrics" else ("worker" if report == "dispatcher" else report)
    q = _query(conn, cal, params, by=by)
    table, _result = report_table(conn, report, q, cal, settings().timezone)
    return table, q


def _download(query: ExportQuery, ext: str) -> Response:
    """The export as a file to save: .xlsx (definitions on a second sheet) or .csv."""
    cal, conn = work_calendar(), _conn()
    table, q = _export_table(conn, cal, query)
    if ext == "xlsx":
        data, mimetype = export.to_xlsx(table), XLSX
    else:
        data, mimetype = export.to_csv(table), "text/csv"  # Werkzeug adds the charset
    by = f"-by-{q.by}" if q.by and query.report == "metrics" else ""
    name = f"wangge-{query.report}-{q.start.isoformat()}-{q.end.isoformat()}{by}.{ext}"
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/export.xlsx")
@operation(query=ExportQuery, responses={200: "XLSX", 403: None}, roles=ALL_ROLES)
@roles_required(*ALL_ROLES)
def export_xlsx(query: ExportQuery) -> Response:
    """The metrics (or a scorecard: ``report``) as .xlsx, definitions on a second sheet."""
    return _download(query, "xlsx")


@bp.get("/export.csv")
@operation(query=ExportQuery, responses={200: "CSV", 403: None}, roles=ALL_ROLES)
@roles_required(*ALL_ROLES)
def export_csv(query: ExportQuery) -> Response:
    """The same table as CSV, UTF-8 with a BOM."""
    return _download(query, "csv")
