"""The admin API (``/api/v1/admin``): departments, categories, users, grid duties, grids and
grid plans. Thin: parsing and JSON around ``server.usecases.admin.*``. Role ``admin`` only."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user, login_user

from geo.crs import ACCEPTED, ACCEPTED_ZH
from geo.errors import CRSError, GeoError
from server.api.edge import operation
from server.api.inputs import (
    PLAN_FORM,
    AdminGridsQuery,
    CardThresholdsBody,
    CategoryPatch,
    DepartmentPatch,
    DutiesBody,
    NewCategory,
    NewDepartment,
    NewUser,
    RoutingRuleBody,
    StageLimitBody,
    UserPatch,
    UserQuery,
)
from server.api.util import actor, context, me
from server.domain import workflow as wf
from server.errors import ApiError, error_response
from server.usecases.admin import categories as uc_categories
from server.usecases.admin import departments as uc_departments
from server.usecases.admin import grids as uc_grids
from server.usecases.admin import plans as uc_plans
from server.usecases.admin import routing as uc_routing
from server.usecases.admin import stage_limits as uc_stage_limits
from server.usecases.admin import users as uc_users

bp = Blueprint("admin", __name__, url_prefix="/api/v1/admin")

ADMIN = (wf.Role.ADMIN,)


def plan_cap() -> int:
    """Largest plan upload in bytes (``WANGGE_MAX_PLAN_BYTES`` in the app config, else 50 MiB)."""
    return int(current_app.config.get("WANGGE_MAX_PLAN_BYTES", uc_plans.MAX_PLAN_BYTES))


@bp.url_value_preprocessor
def _plan_upload_cap(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """Give a signed-in admin's plan upload its own size cap. This runs before any
    ``before_request`` (the CSRF check reads the form), so the cap applies to the whole body;
    everyone else keeps the app-wide ``MAX_CONTENT_LENGTH``."""
    if (
        endpoint == "admin.upload_plan"
        and current_user.is_authenticated
        and getattr(current_user, "role", None) == wf.Role.ADMIN
    ):
        request.max_content_length = plan_cap()


@bp.before_request
def _admin_only() -> None:
    user = me()  # 401 when signed out
    if user.role != wf.Role.ADMIN:
        raise ApiError(
            403, "forbidden", "仅限系统管理员 / admins only", required_roles=[wf.Role.ADMIN]
        )


def _created(body: dict[str, Any]) -> Response:
    resp = jsonify(body)
    resp.status_code = 201
    return resp


# -- departments --------------------------------------------------------------------------------


@bp.get("/departments")
@operation(responses={200: "Departments"}, roles=ADMIN)
def list_departments() -> Response:
    """Departments, retired ones included, with their active handler counts."""
    return jsonify({"items": uc_departments.list_departments(context())})


@bp.post("/departments")
@operation(body=NewDepartment, responses={201: "DepartmentAnswer", 409: None}, roles=ADMIN)
def create_department(body: NewDepartment) -> Response:
    """Create a department: {code, name, region_code?}; a taken code → 409."""
    return _created(
        {"department": uc_departments.create_department(context(), actor(), body.given())}
    )


@bp.patch("/departments/<int:dep_id>")
@operation(body=DepartmentPatch, responses={200: "DepartmentAnswer", 404: None}, roles=ADMIN)
def update_department(dep_id: int, body: DepartmentPatch) -> Response:
    """Rename or retire/reactivate a department: {name?, active?}."""
    return jsonify(
        {"department": uc_departments.update_department(context(), actor(), dep_id, body.given())}
    )


# -- routing rules (越级) ------------------------------------------------------------------------


@bp.get("/routing-rules")
@operation(responses={200: "RoutingRules"}, roles=ADMIN)
def list_routing_rules() -> Response:
    """The routing rules: per category × urgency, the level a new case goes to first."""
    return jsonify({"items": uc_routing.list_rules(context())})


@bp.put("/routing-rules")
@operation(body=RoutingRuleBody, responses={200: "RoutingRuleAnswer"}, roles=ADMIN)
def put_routing_rule(body: RoutingRuleBody) -> Response:
    """Set the rule of {category_id, urgency}: {level, copy_department_ids?, enabled?}; a
    copied department of another level → 400."""
    return jsonify({"rule": uc_routing.put_rule(context(), actor(), body.given())})


# -- categories ---------------------------------------------------------------------------------


@bp.get("/categories")
@operation(responses={200: "Categories"}, roles=ADMIN)
def list_categories() -> Response:
    """Major and minor categories, retired ones included, with their case counts."""
    return jsonify({"items": uc_categories.list_categories(context())})


@bp.post("/categories")
@operation(body=NewCategory, responses={201: "CategoryAnswer", 409: None}, roles=ADMIN)
def create_category(body: NewCategory) -> Response:
    """Create a major (2 digits) or minor (4 digits) category with its time limits."""
    return _created({"category": uc_categories.create_category(context(), actor(), body.given())})


@bp.patch("/categories/<int:cat_id>")
@operation(body=CategoryPatch, responses={200: "CategoryAnswer", 404: None, 409: None}, roles=ADMIN)
def update_category(cat_id: int, body: CategoryPatch) -> Response:
    """Change a category's name, limits, default department or retire it (never deleted)."""
    return jsonify(
        {"category": uc_categories.update_category(context(), actor(), cat_id, body.given())}
    )


# -- stage limits and card thresholds (督办) ---------------------------------------------------


@bp.get("/stage-limits")
@operation(responses={200: "StageLimits"}, roles=ADMIN)
def list_stage_limits() -> Response:
    """Stage time limits (stored rows and built-in defaults) and the card thresholds."""
    return jsonify(uc_stage_limits.list_stage_limits(context()))


@bp.put("/stage-limits")
@operation(body=StageLimitBody, responses={200: "StageLimitAnswer", 409: None}, roles=ADMIN)
def set_stage_limit(body: StageLimitBody) -> Response:
    """Create or replace the limit of one category × urgency × level × stage."""
    return jsonify({"limit": uc_stage_limits.set_stage_limit(context(), actor(), body.given())})


@bp.delete("/stage-limits/<int:limit_id>")
@operation(responses={204: None, 404: None}, roles=ADMIN)
def delete_stage_limit(limit_id: int) -> Response:
    """Remove a stored limit (the next more general one, or the default, applies again)."""
    uc_stage_limits.delete_stage_limit(context(), actor(), limit_id)
    return Response(status=204)


@bp.put("/card-thresholds")
@operation(body=CardThresholdsBody, responses={200: "CardThresholds"}, roles=ADMIN)
def set_card_thresholds(body: CardThresholdsBody) -> Response:
    """Working days overdue for a yellow and a red card, per stage: {stage: {yellow_days,
    red_days}}; yellow must be below red."""
    items = uc_stage_limits.set_card_thresholds(context(), actor(), body.given())
    return jsonify({"thresholds": items})


# -- users --------------------------------------------------------------------------------------


@bp.get("/users")
@operation(query=UserQuery, responses={200: "UserPage"}, roles=ADMIN)
def list_users(query: UserQuery) -> Response:
    """Users with their grid duties: filters role, q, active, department, region; cursor."""
    f = uc_users.UserFilter.parse(query.filter_args())
    cursor = str(query.cursor) if query.cursor is not None else None
    items, next_cursor = uc_users.list_users(context(), f, cursor=cursor, limit=query.limit)
    return jsonify({"items": items, "next_cursor": next_cursor})


@bp.get("/users/<int:user_id>")
@operation(responses={200: "UserAnswer", 404: None}, roles=ADMIN)
def get_user(user_id: int) -> Response:
    """One user with their grid duties."""
    return jsonify({"user": uc_users.get_user(context(), user_id)})


@bp.post("/users")
@operation(body=NewUser, responses={201: "UserAnswer", 409: None}, roles=ADMIN)
def create_user(body: NewUser) -> Response:
    """Create a user: {username, display_name, role, password, region_code?, department_id?}."""
    return _created({"user": uc_users.create_user(context(), actor(), body.given())})


@bp.patch("/users/<int:user_id>")
@operation(body=UserPatch, responses={200: "UserUpdate", 404: None, 409: None}, roles=ADMIN)
def update_user(user_id: int, body: UserPatch) -> Response:
    """Change a user; disabling or a new password ends their sessions."""
    who = actor()
    result = uc_users.update_user(context(), who, user_id, body.given())
    if result.sessions_ended and user_id == who.id:
        # An admin who changes their own password stays signed in here; other sessions end.
        login_user(me(), remember=bool(request.cookies.get("wangge_remember")))
    return jsonify({"user": result.user, "sessions_ended": result.sessions_ended})


@bp.put("/users/<int:user_id>/grids")
@operation(body=DutiesBody, responses={200: "UserAnswer", 404: None}, roles=ADMIN)
def set_duties(user_id: int, body: DutiesBody) -> Response:
    """Replace a user's grid duties: {"duties": [{"grid_code", "duty"}]}."""
    return jsonify({"user": uc_users.set_duties(context(), actor(), user_id, body.model_dump())})


# -- grids --------------------------------------------------------------------------------------


@bp.get("/grids")
@operation(query=AdminGridsQuery, responses={200: "AdminGrids"}, roles=ADMIN)
def list_grids(query: AdminGridsQuery) -> Response:
    """Active grids with the users of each duty; unstaffed=1: grids without a full-time worker."""
    return jsonify(
        uc_grids.list_grids(
            context(),
            region=query.region,
            unstaffed=query.unstaffed,
            q=query.q,
        )
    )


# -- grid plans ---------------------------------------------------------------------------------


@bp.get("/plans")
@operation(responses={200: "Plans"}, roles=ADMIN)
def list_plans() -> Response:
    """Grid plan versions with status, counts and times, newest first."""
    return jsonify({"items": uc_plans.list_plans(context())})


@bp.get("/plans/<int:plan_id>")
@operation(responses={200: "PlanDetail", 404: None}, roles=ADMIN)
def get_plan(plan_id: int) -> Response:
    """One grid plan version with its validation report."""
    return jsonify(uc_plans.get_plan(context(), plan_id))


def _safe_name(filename: str, suffix: str) -> str:
    """The upload's own base name (for messages and ``source_name``), never a path."""
    name = PureWindowsPath(PurePosixPath(filename).name).name.replace("\x00", "").strip()
    if not name or name in {".", ".."} or not name.lower().endswith(suffix):
        return f"plan{suffix}"
    return name[-120:]


def _too_large() -> ApiError:
    cap = plan_cap()
    return ApiError(
        413,
        "request_entity_too_large",
        f"文件过大，最大 {cap // 2**20} MB / file too large: at most {cap // 2**20} MB",
        max_bytes=cap,
    )


@bp.post("/plans")
@operation(
    form=PLAN_FORM,
    responses={201: "PlanUpload", 413: None, 422: "PlanInvalid"},
    roles=ADMIN,
)
def upload_plan() -> Response:
    """Validate an uploaded plan file; store it as a draft (and publish it) when valid."""
    if request.content_length is not None and request.content_length > plan_cap():
        raise _too_large()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(
            400,
            "validation_failed",
            "请选择网格文件 / choose a grid plan file (multipart field 'file')",
            {"file": "必填 / required"},
        )
    suffix = uc_plans.upload_suffix(upload.filename)
    uc_plans.check_file_name(upload.filename)
    options = uc_plans.PlanOptions.parse(request.form.to_dict())
    name = _safe_name(upload.filename, suffix)
    with tempfile.TemporaryDirectory(prefix="wangge-plan-") as tmp:
        path = Path(tmp) / name
        upload.save(path)
        if path.stat().st_size > plan_cap():
            raise _too_large()
        outcome = uc_plans.upload_plan(context(), actor(), path, name, options)
    if outcome.plan is None:
        errors = len(outcome.report.get("errors", []))
        raise ApiError(
            422,
            "plan_invalid",
            f"网格方案有 {errors} 个错误，未保存 / the plan has {errors} errors: nothing stored",
            report=outcome.report,
        )
    return _created({"plan": outcome.plan, "report": outcome.report})


_CRS_HINT = (
    f"请在“坐标系”一栏选择文件所用的坐标系后重新上传。可用：{ACCEPTED_ZH} / choose the "
    f"file's coordinate system in the CRS field and upload again. Accepted: {ACCEPTED}"
)


@bp.errorhandler(CRSError)
def _crs_error(exc: CRSError) -> Response:
    # what to do on the upload page: pick the file's CRS in the form's 坐标系 field
    return error_response(ApiError(400, "unreadable", str(exc), {"crs": _CRS_HINT}))


@bp.errorhandler(GeoError)
def _unreadable_plan(exc: GeoError) -> Response:
    return error_response(ApiError(400, "unreadable", str(exc), {"file": str(exc)}))


@bp.post("/plans/<int:plan_id>/publish")
@operation(responses={200: "PlanAnswer", 404: None, 409: None}, roles=ADMIN)
def publish_plan(plan_id: int) -> Response:
    """Publish a draft plan: it becomes its county's active plan, the old one is retired."""
    return jsonify({"plan": uc_plans.publish_plan(context(), actor(), plan_id)})
