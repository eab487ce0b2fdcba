"""Base data in and out (``/api/v1/base``): address search, import templates, imports and
exports. Thin: parsing and answers around ``server.usecases.address_search`` and
``server.usecases.base_io``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from server.api.edge import operation
from server.api.inputs import IMPORT_FORM, AddressSearchQuery, BaseExportQuery
from server.api.util import actor, context, roles_required
from server.domain.import_templates import ImportKind
from server.errors import ApiError
from server.extensions import settings
from server.usecases import address_search, policy
from server.usecases.base_io import exports, imports
from server.usecases.base_io.tabular import XLSX_MEDIA

bp = Blueprint("base_io", __name__, url_prefix="/api/v1/base")

READERS = tuple(sorted(policy.BASE_READERS))
WRITERS = tuple(sorted(policy.BASE_WRITERS))
EXPORTERS = tuple(sorted(exports.EXPORT_ROLES))


def _kind(kind: str) -> ImportKind:
    try:
        return ImportKind(kind)
    except ValueError:
        raise ApiError(
            404, "not_found", "没有这种导入 / no such import: addresses, residents, organisations"
        ) from None


def _file(data: bytes, name: str) -> Response:
    resp = Response(data, mimetype=XLSX_MEDIA)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/addresses")
@operation(query=AddressSearchQuery, responses={200: "AddressHits"}, roles=READERS)
@roles_required(*READERS)
def search_addresses(query: AddressSearchQuery) -> Response:
    """Places matching words, a building/room or a 门牌 ("幸福路 12 号"), with grid and
    community, inside the caller's jurisdiction; shallowest first."""
    return jsonify(address_search.search(context().db, actor(), query.q, query.limit))


@bp.get("/imports/<kind>/template")
@operation(responses={200: "XLSX", 404: None}, roles=WRITERS)
@roles_required(*WRITERS)
def import_template(kind: str) -> Response:
    """The empty .xlsx template of an import (Chinese headers, * = required)."""
    k = _kind(kind)
    return _file(imports.template_workbook(k), f"wangge-{k.value}-template.xlsx")


@bp.post("/imports/<kind>")
@operation(
    form=IMPORT_FORM,
    responses={
        200: "ImportAnswer",
        201: "ImportAnswer",
        404: None,
        409: None,
        413: None,
        422: "ImportAnswer",
        429: None,
    },
    roles=WRITERS,
)
@roles_required(*WRITERS)
def run_import(kind: str) -> Response:
    """Check every row of an .xlsx or CSV (UTF-8 or GBK) file, then store by ``store``:
    ``all`` (default: only when every row is valid), ``valid`` (admins: the valid rows),
    ``none`` (check only). ``answer=xlsx``: the result file with a reason per bad row. A file
    that costs too much to read (unzipped size, compression ratio, rows, time) is a 400/413
    naming the limit; a user past the limit on identity numbers already registered outside
    their jurisdiction a 429 ``too_many_duplicates``. Imports that store run one after another
    where they may collide (the same county's places, identity numbers, credit codes): the same
    file sent twice at once is stored once, the other answered 422 "already registered"; a
    number or code registered through the API meanwhile is a 409 ``import_conflict``."""
    k = _kind(kind)
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(
            400,
            "validation_failed",
            "请选择要导入的文件 / choose a file (multipart field 'file')",
            {"file": "必填 / required"},
        )
    form = request.form
    try:
        mode = imports.StoreMode(form.get("store") or imports.StoreMode.ALL.value)
    except ValueError:
        raise ApiError(
            400, "validation_failed", "store 应为 all、valid 或 none", {"store": "all|valid|none"}
        ) from None
    answer = form.get("answer") or "json"
    if answer not in ("json", "xlsx"):
        raise ApiError(
            400, "validation_failed", "answer 应为 json 或 xlsx", {"answer": "json|xlsx"}
        )
    ctx, who = context(), actor()
    result = imports.run_import(
        ctx, who, k, upload.read(), mode=mode, encoding=form.get("encoding") or None
    )
    ctx.db.commit()
    if answer == "xlsx":
        data = imports.result_workbook(result, who, ctx.now(), settings().timezone)
        resp = _file(data, f"wangge-{k.value}-import-result.xlsx")
        s = result.summary()
        resp.headers["X-Import-Rows"] = str(s["rows"])
        resp.headers["X-Import-Invalid"] = str(s["invalid"])
        resp.headers["X-Import-Stored"] = str(s["stored"])
        return resp
    body = {"import": result.summary()}
    resp = jsonify(body)
    if result.stored:
        resp.status_code = 201
    elif result.invalid:
        resp.status_code = 422
    return resp


@bp.get("/exports/<kind>")
@operation(query=BaseExportQuery, responses={200: "XLSX", 403: None, 404: None}, roles=EXPORTERS)
@roles_required(*EXPORTERS)
def export(kind: str, query: BaseExportQuery) -> Response:
    """Residents, organisations or addresses of the caller's jurisdiction as .xlsx, masked
    unless ``clear=1`` with a ``reason`` (dispatchers, supervisors); logged, the exporter
    named in the file."""
    try:
        k = exports.ExportKind(kind)
    except ValueError:
        raise ApiError(404, "not_found", "没有这种导出 / no such export") from None
    ctx = context()
    req = exports.ExportRequest(
        k, query.grid, query.community, bool(query.clear), query.reason or ""
    )
    out = exports.export(ctx, actor(), req, settings().timezone)
    ctx.db.commit()
    return _file(out.data, out.filename)
