"""Jurisdiction, in one place: may this actor see, act on or refer to this object?

DESIGN §1: every role sees only its jurisdiction. This module is the only one that decides it;
use cases, queries, the grid map (and its cache key), the region pickers and the metric scopes
ask it. No Flask here.

Jurisdictions (a region's subtree is every region whose materialised path starts with its
path, so "inside" is a prefix test):

- ``admin``: the whole installation, whatever region their account names (the system
  administrator manages every county; docs/api.md, "Conventions");
- ``dispatcher``, ``supervisor``: their region subtree (county, town or community);
- ``handler``: the cases currently with their department, and (read only) the cases copied
  (抄告) to it; for maps, pickers and figures the
  department's region subtree (a department without a region: the handler's own region);
- ``grid_worker``: the cases in their grids and the cases they reported; for maps and pickers
  their region subtree plus the communities of their grids; figures: only themselves;
- reporting (filing a case at a point): the region subtrees of the jurisdiction above, and for a
  grid worker their whole county (they pass by other grids on their way); a point outside every
  grid is allowed (kept with the reporter's region and flagged); admins anywhere;
- ``open311`` (an integration, no user): every case, public fields only (the Open311 layer
  shapes what it answers);
- anything else (signed out, an unknown role): nothing.

Acting on a case (DESIGN §9): seeing it is not enough. Only the dispatchers of the centre that
holds it (``incidents.centre_id``, server/usecases/routing.py) accept, reject, dispatch, escalate,
devolve, copy and verify it; a dispatcher of a centre above pulls it up; any dispatcher or
supervisor who sees it may supervise (督办) and comment. A dispatcher dispatches only to the
departments of the holding centre (a town to its town offices, a county to county departments;
a department belongs to the nearest centre at or above its region).

Objects *referred to* by an action (a department to dispatch to, the case a duplicate is merged
into) must be inside the actor's jurisdiction and, for a department, serve the case's area: a
department whose region is on one line with the case's region (the county's departments serve
its towns; a town office serves only its town). A foreign object is answered as if it did not
exist, so that its existence is not revealed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, false, or_, select, true
from sqlalchemy.orm import Session

from server import cache
from server.domain import workflow as wf
from server.domain.levels import Level
from server.models import CaseCopy, Department, Grid, GridAssignment, Incident, Region, User
from server.usecases import routing
from server.usecases.context import Actor
from server.usecases.errors import Conflict, Forbidden, UseCaseError, ValidationFailed, from_domain

ROLES = wf.ROLE_NAMES
_ACTING_ROLES = frozenset(ROLES)
UNSCOPED = frozenset({wf.Role.ADMIN, "open311"})
REGIONAL = frozenset({wf.Role.DISPATCHER, wf.Role.SUPERVISOR})

DB = Session | Connection
Roots = tuple[str, ...] | None  # region paths; None = everywhere

_LEVEL_COLUMN = {
    "county": Incident.county_id,
    "town": Incident.town_id,
    "community": Incident.community_id,
}


# --- where an actor's jurisdiction lies ------------------------------------------------------


def _path(db: DB, region_id: int | None) -> str | None:
    if region_id is None:
        return None
    if isinstance(db, Session):  # the process's copy of the regions (server/cache.py)
        region = cache.reference(db).regions.get(region_id)
        return region.path if region is not None else None
    return db.execute(select(Region.path).where(Region.id == region_id)).scalar()


def department_path(db: DB, department_id: int | None) -> str | None:
    """The region path of a department (None: no such department, or no region)."""
    if department_id is None:
        return None
    if isinstance(db, Session):
        dep = cache.reference(db).departments.get(department_id)
        return _path(db, dep.region_id) if dep is not None else None
    region_id = db.execute(
        select(Department.region_id).where(Department.id == department_id)
    ).scalar()
    return _path(db, region_id)


def roots(db: DB, actor: Actor) -> Roots:
    """The region subtrees of the actor's jurisdiction for maps, pickers and figures; None for
    everywhere, () for nowhere."""
    if actor.role in UNSCOPED:
        return None
    if actor.role in REGIONAL:
        return (actor.region_path,) if actor.region_path else ()
    if actor.role == wf.Role.HANDLER:
        home = department_path(db, actor.department_id) or actor.region_path
        return (home,) if home and actor.department_id is not None else ()
    if actor.role == wf.Role.GRID_WORKER:
        paths = set(grid_paths(db, actor.grid_codes))
        if actor.region_path:
            paths.add(actor.region_path)
        return tuple(sorted(paths))
    return ()


def grid_paths(db: DB, codes: Iterable[str]) -> list[str]:
    """The region paths of the communities of these grids (any plan version)."""
    wanted = sorted(set(codes))
    if not wanted:
        return []
    if isinstance(db, Session):
        by_code = cache.reference(db).community_paths
        return sorted({p for code in wanted for p in by_code.get(code, ())})
    return sorted(
        set(
            db.execute(
                select(Region.path)
                .join(Grid, Grid.community_id == Region.id)
                .where(Grid.code.in_(wanted))
            ).scalars()
        )
    )


def inside(path: str | None, where: Roots) -> bool:
    """Is the region at ``path`` inside one of the subtrees ``where``?"""
    if where is None:
        return True
    return path is not None and any(path.startswith(root) for root in where)


def on_line(a: str, b: str) -> bool:
    """One region contains the other (or they are the same)."""
    return a.startswith(b) or b.startswith(a)


def path_clause(column: Any, where: Roots) -> ColumnElement[bool]:
    """A WHERE clause on a region path column: inside ``where``."""
    if where is None:
        return true()
    if not where:
        return false()
    return or_(*[column.startswith(root) for root in where])


# --- where an actor may file a case -----------------------------------------------------------


def _county_of(db: DB, path: str) -> str:
    """The county path of a region path ("/9/1/5/23/" → "/9/1/" below a city): the path itself
    when no county is on it."""
    ids = [int(p) for p in path.strip("/").split("/") if p]
    rows = routing.regions(db)
    for i, rid in enumerate(ids):
        region = rows.get(rid)
        if region is not None and region.level == Level.COUNTY:
            return "/" + "/".join(str(x) for x in ids[: i + 1]) + "/"
    return path


def report_roots(db: DB, actor: Actor) -> Roots:
    """The region subtrees in which the actor may file a case (None: everywhere)."""
    if actor.role in UNSCOPED:
        return None
    where = roots(db, actor)
    if actor.role == wf.Role.GRID_WORKER and where:
        where = tuple(sorted(set(where) | {_county_of(db, p) for p in where}))
    return where


def may_report_in(db: DB, actor: Actor, region_id: int | None) -> bool:
    """May the actor file a case located in this region (None: outside every grid)?"""
    if region_id is None or actor.role in UNSCOPED:
        return True
    return inside(_path(db, region_id), report_roots(db, actor))


def check_report_place(db: DB, actor: Actor, region_id: int | None) -> None:
    """A report located in a region outside the reporter's jurisdiction is refused (400 naming
    lon/lat): it would land in another county's queue, and the reporter would then read its
    whole trail as "a case they reported"."""
    if not may_report_in(db, actor, region_id):
        raise ValidationFailed(
            "位置不在你的辖区内 / the location is outside your jurisdiction",
            code="outside_jurisdiction",
            fields={"lon": "outside your jurisdiction", "lat": "outside your jurisdiction"},
        )


# --- cases -----------------------------------------------------------------------------------


def cases_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause selecting the cases ``actor`` may see."""
    if actor.role in UNSCOPED:
        return true()
    if actor.role in REGIONAL:
        if actor.region_id is None:
            return false()
        if actor.region_level == Level.CITY:
            return Incident.county_id.in_(sorted(actor.counties)) if actor.counties else false()
        if actor.region_level not in _LEVEL_COLUMN:
            return false()
        return _LEVEL_COLUMN[actor.region_level] == actor.region_id
    if actor.role == wf.Role.HANDLER:
        if actor.department_id is None:
            return false()
        copied = select(CaseCopy.incident_id).where(CaseCopy.department_id == actor.department_id)
        return or_(Incident.department_id == actor.department_id, Incident.id.in_(copied))
    if actor.role == wf.Role.GRID_WORKER:
        clauses: list[ColumnElement[bool]] = []
        if actor.id is not None:
            clauses.append(Incident.reporter_id == actor.id)
        if actor.grid_codes:
            clauses.append(Incident.grid_code.in_(sorted(actor.grid_codes)))
        return or_(*clauses) if clauses else false()
    return false()


def cases_key(actor: Actor) -> tuple[Any, ...]:
    """What decides which cases the actor sees (:func:`cases_clause`): part of every cache key
    of case answers, so that two actors share a cached answer only if they see the same cases."""
    if actor.role in UNSCOPED:
        return ("all",)
    if actor.role in REGIONAL:
        return ("region", actor.region_level, actor.region_id)
    if actor.role == wf.Role.HANDLER:
        return ("department", actor.department_id)
    if actor.role == wf.Role.GRID_WORKER:
        return ("worker", actor.id, tuple(sorted(actor.grid_codes)))
    return ("none",)


def may_see_case(actor: Actor, case: Incident) -> bool:
    if actor.role in UNSCOPED:
        return True
    if actor.role in REGIONAL:
        if actor.region_level == Level.CITY:
            return case.county_id is not None and case.county_id in actor.counties
        column = {"county": case.county_id, "town": case.town_id, "community": case.community_id}
        return actor.region_id is not None and column.get(actor.region_level or "") == (
            actor.region_id
        )
    if actor.role == wf.Role.HANDLER:
        return actor.department_id is not None and (
            case.department_id == actor.department_id
            or actor.department_id in (case.copied_department_ids or ())
        )
    if actor.role == wf.Role.GRID_WORKER:
        return (actor.id is not None and case.reporter_id == actor.id) or (
            case.grid_code is not None and case.grid_code in actor.grid_codes
        )
    return False


def check_act_on_case(actor: Actor, action: wf.Action, case: Incident) -> None:
    """Beyond seeing it (checked first) and the workflow table: is the case this actor's to
    act on? Forbidden otherwise."""
    if not may_see_case(actor, case):
        raise Forbidden("不在辖区内 / outside your jurisdiction")
    if actor.role == wf.Role.HANDLER and case.department_id != actor.department_id:
        # a case copied (抄告) to the department: read only
        raise Forbidden("不是本部门的案件 / not your department's case")
    if action is wf.Action.COMMENT:
        return
    if actor.role == wf.Role.DISPATCHER and action not in _ANY_CENTRE:
        if action is wf.Action.PULL_UP:
            if case.centre_id == actor.region_id:
                raise Forbidden(
                    "案件已在本中心 / the case is already held by your centre",
                    code="already_holding",
                )
        elif case.centre_id != actor.region_id:
            raise Forbidden(
                "案件由其他指挥中心持有 / the case is held by another command centre",
                code="not_holding_centre",
            )
    if actor.role == wf.Role.GRID_WORKER:
        in_grid = case.grid_code is not None and case.grid_code in actor.grid_codes
        if action is wf.Action.VERIFY and not in_grid:
            raise Forbidden("只能核查本人网格的案件 / verify cases in your own grids only")
        if action is wf.Action.RATE and case.reporter_id != actor.id:
            raise Forbidden("只有上报人可以评价 / only the reporter may rate")
    if actor.role == wf.Role.HANDLER and case.department_id != actor.department_id:
        raise Forbidden("不是本部门的案件 / not your department's case")


#: Actions any dispatcher who sees the case may take, whichever centre holds it.
_ANY_CENTRE = frozenset({wf.Action.COMMENT, wf.Action.SUPERVISE})


def _check_route(db: DB, actor: Actor, action: wf.Action, case: Incident) -> None:
    """The routing moves need a centre to move to (the holding centre was checked)."""
    if action is wf.Action.ESCALATE and routing.centre_above(db, case) is None:
        raise Conflict(
            "上级没有指挥中心 / there is no command centre above",
            code="no_centre_above",
            case_id=case.id,
        )
    if action is wf.Action.DEVOLVE and not routing.centres_below(db, case):
        raise Conflict(
            "下级没有指挥中心 / there is no command centre below",
            code="no_centre_below",
            case_id=case.id,
        )
    if action is wf.Action.PULL_UP and not routing.is_above_holder(db, actor.region_id, case):
        raise Forbidden(
            "只有上级指挥中心可以上提 / only a centre above the holding one may pull it up",
            code="not_above",
        )


def check_action(db: DB, actor: Actor, action: wf.Action, case: Incident) -> wf.Rule:
    """May ``actor`` take ``action`` on ``case`` now, whatever the action carries? Its rule if
    so, else the use-case error the action endpoint answers with.

    The ONE decision behind both the actions offered (:func:`allowed_actions`, sent with every
    case) and the actions accepted (``cases.act`` calls it after the payload is checked): the
    workflow table (role, state, a reopen needs 不满意), then jurisdiction
    (:func:`check_act_on_case`), then the case's own facts (an extension request pending or
    not; a grid worker rates once). What remains is the payload and what it names (a
    department, a duplicate).
    """
    try:
        rule = wf.permit(
            action,
            actor.role,
            case.state,
            last_rating=case.last_rating,
            on_grid=case.grid_id is not None,
        )
    except wf.DomainError as err:
        raise from_domain(err, case.id) from None
    if rule.from_states is None:
        raise ValidationFailed("请用上报接口 / use POST /cases", fields={"action": "create only"})
    check_act_on_case(actor, action, case)
    _check_route(db, actor, action, case)
    if action is wf.Action.REQUEST_EXTENSION and case.pending_extension:
        raise Conflict(
            "已有待审批的延期申请 / an extension request is already pending",
            code="extension_pending",
            case_id=case.id,
        )
    if action is wf.Action.RATE and actor.role == wf.Role.GRID_WORKER and case.last_rating:
        # The reporter rates once (a reopened case is rated again); a dispatcher's callback may
        # record the citizen's rating over it.
        raise Conflict("已评价 / already rated", code="already_rated", case_id=case.id)
    if action is wf.Action.DECIDE_EXTENSION and not case.pending_extension:
        raise Conflict(
            "没有待审批的延期申请 / no extension request is pending",
            code="no_extension_pending",
            case_id=case.id,
        )
    return rule


def action_shape(actor: Actor) -> Actor:
    """The actor as the actions offered on a case see them: who they are matters only to a grid
    worker (only the reporter rates); for every other role two actors of the same role,
    jurisdiction and department are offered the same actions on the same case. The change feed
    computes the offered actions once per shape and case version, not once per console
    (server/api/feed.py; tests/workflow/test_action_shape.py holds this to the rules)."""
    if actor.role == wf.Role.GRID_WORKER:
        return replace(actor, display_name="")
    return replace(actor, id=None, display_name="")


def allowed_actions(db: DB, actor: Actor, case: Incident) -> list[str]:
    """The actions ``actor`` may take on ``case`` now, in table order: those
    :func:`check_action` lets through (so an offered action is never refused for who, where or
    when; only for what it carries)."""
    if actor.role not in _ACTING_ROLES:
        return []
    out = []
    # The table's own answer first (role and state): only those rules can pass check_action,
    # and a queue page asks this of 50 cases × every rule (no refusal built for the others).
    table = frozenset(wf.allowed_actions(actor.role, case.state))
    for rule in wf.RULES:
        if rule.from_states is None or rule.action not in table:
            continue
        try:
            check_action(db, actor, rule.action, case)
        except UseCaseError:
            continue
        out.append(rule.action.value)
    return out


def allowed_next(db: DB, actor: Actor, case: Incident, offered: list[str]) -> dict[str, list[str]]:
    """For each state an offered action leads to, the actions :func:`allowed_actions` would
    offer there (the rest of the case as it is): the field app queues actions offline and then
    offers these, e.g. 处置反馈 after a queued 签收."""
    out: dict[str, list[str]] = {}
    for name in offered:
        rule = wf.RULES_BY_ACTION[wf.Action(name)]
        for to in (rule.to_state, rule.fail_to_state):
            if to is None or to == case.state or to.value in out:
                continue
            then = _After(
                id=case.id,
                state=to.value,
                reporter_id=case.reporter_id,
                grid_code=case.grid_code,
                grid_id=case.grid_id,
                department_id=case.department_id,
                county_id=case.county_id,
                town_id=case.town_id,
                community_id=case.community_id,
                centre_id=case.centre_id,
                copied_department_ids=case.copied_department_ids,
                pending_extension=case.pending_extension,
                last_rating=case.last_rating,
            )
            out[to.value] = allowed_actions(db, actor, cast(Incident, then))
    return out


class _After:
    """The case as it would be after an action, as the checks read it: the columns given, and
    None for the rest, as on a new ``Incident``. A transient ``Incident`` cost more to make than
    the checks asked of it (SQLAlchemy instruments its construction), and the change feed asks
    this of every changed case for every kind of console."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return None


def may_refer_case(actor: Actor, case: Incident, other: Incident) -> bool:
    """May ``actor`` name ``other`` from ``case`` (e.g. ``duplicate_of``)? Only a case they may
    see, other than itself."""
    return other.id != case.id and may_see_case(actor, other)


def may_replay_report(actor: Actor, case: Incident) -> bool:
    """Does a report UUID sent again by ``actor`` give them ``case``? Only to whoever filed it
    (an integration: the same integration); anyone else gets a conflict without the case."""
    if case.reporter_id is not None or actor.id is not None:
        return case.reporter_id == actor.id
    return actor.role in UNSCOPED and case.source == actor.role


def case_path(db: DB, case: Incident) -> str | None:
    """The region path of the deepest region the case is known to be in."""
    return _path(db, case.community_id or case.town_id or case.county_id)


# --- departments -----------------------------------------------------------------------------


def department_serves(db: DB, region_id: int | None, case: Incident) -> bool:
    """Does a department of region ``region_id`` work where ``case`` is? A department without
    a region (the installation's catalogue departments) serves everywhere."""
    if region_id is None:
        return True
    dep_path = _path(db, region_id)
    where = case_path(db, case)
    return dep_path is not None and where is not None and on_line(dep_path, where)


def may_refer_department(db: DB, actor: Actor, dep: Department, case: Incident | None) -> bool:
    """May ``actor`` name ``dep`` (dispatch ``case`` to it, filter or pick by it)? A dispatcher
    dispatches only to the departments of the centre holding the case (or to a department
    without a region, the installation's)."""
    if (
        case is not None
        and actor.role == wf.Role.DISPATCHER
        and dep.region_id is not None
        and routing.centre_of_region(db, dep.region_id) != case.centre_id
    ):
        return False
    return _may_refer_department(db, actor, dep.id, dep.region_id, case)


def may_copy_to(db: DB, actor: Actor, dep: Department, case: Incident) -> bool:
    """May ``actor`` copy (抄告) ``case`` to ``dep``? A department that serves the case's area
    and that the actor may name, at any level."""
    return _may_refer_department(db, actor, dep.id, dep.region_id, case)


def _may_refer_department(
    db: DB, actor: Actor, dep_id: int, region_id: int | None, case: Incident | None
) -> bool:
    if case is not None and not department_serves(db, region_id, case):
        return False
    if actor.role == wf.Role.HANDLER:
        return dep_id == actor.department_id
    if actor.role in UNSCOPED or region_id is None:
        return True
    dep_path = _path(db, region_id)
    where = roots(db, actor)
    return dep_path is not None and (
        where is None or any(on_line(dep_path, root) for root in where)
    )


def departments_clause(db: DB, actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``Department``: those the actor may refer to (pickers, filters)."""
    if actor.role in UNSCOPED:
        return true()
    if actor.role == wf.Role.HANDLER:
        return Department.id == actor.department_id if actor.department_id else false()
    where = roots(db, actor)
    assert where is not None
    if not where:
        return Department.region_id.is_(None)
    # On one line with a root: inside it, or one of its ancestors (a county department works in
    # its towns).
    ancestors = {int(part) for root in where for part in root.strip("/").split("/") if part}
    inside_root = select(Region.id).where(path_clause(Region.path, where))
    return or_(
        Department.region_id.is_(None),
        Department.region_id.in_(inside_root),
        Department.region_id.in_(sorted(ancestors)),
    )


# --- regions and grids -----------------------------------------------------------------------


def may_see_region(db: DB, actor: Actor, region: Region) -> bool:
    """Region pickers, map and list filters: a region inside the actor's subtrees."""
    return inside(region.path, roots(db, actor))


def grids_clause(db: DB, actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``Grid`` joined to its community ``Region``: the grids the actor may
    see on a map."""
    where = roots(db, actor)
    clause = path_clause(Region.path, where)
    if actor.role == wf.Role.GRID_WORKER and actor.grid_codes:
        clause = or_(clause, Grid.code.in_(sorted(actor.grid_codes)))
    return clause


def may_assign_grid(db: DB, actor: Actor, case: Incident, community: Region) -> bool:
    """May ``actor`` put ``case`` on a grid of ``community``? The grid must be inside the
    actor's jurisdiction and in the case's county (a case does not change counties)."""
    if not inside(community.path, roots(db, actor)):
        return False
    county = _path(db, case.county_id)
    return county is None or on_line(county, community.path or "")


def grids_key(db: DB, actor: Actor) -> tuple[Any, ...]:
    """What decides which grids the actor sees: part of every cache key and ETag of grid maps."""
    where = roots(db, actor)
    codes = tuple(sorted(actor.grid_codes)) if actor.role == wf.Role.GRID_WORKER else ()
    return ("all",) if where is None else ("roots", where, codes)


# --- users (metrics scopes, scorecards) ------------------------------------------------------


def user_paths(db: DB, user_id: int) -> list[str]:
    """Where a user works: their region and the communities of their grids."""
    codes = db.execute(
        select(GridAssignment.grid_code).where(GridAssignment.user_id == user_id)
    ).scalars()
    paths = grid_paths(db, codes)
    region = db.execute(
        select(Region.path).join(User, User.region_id == Region.id).where(User.id == user_id)
    ).scalar()
    return [*paths, *([region] if region else [])]


def may_see_user(db: DB, actor: Actor, user_id: int) -> bool:
    """May ``actor`` see figures of (or name) the user ``user_id``?"""
    if actor.role in UNSCOPED:
        return True
    if actor.role == wf.Role.GRID_WORKER:
        return user_id == actor.id
    if actor.role == wf.Role.HANDLER:
        return False
    where = roots(db, actor)
    return any(inside(p, where) for p in user_paths(db, user_id))


# --- metric scopes ---------------------------------------------------------------------------


def _ident(value: str) -> int | None:
    """A small positive id written in ASCII digits (else None: the caller reports it)."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def may_name_scope(db: DB, actor: Actor, kind: str, value: str) -> bool:
    """May ``actor`` ask for figures of the metric scope ``kind:value``? The actor's own
    jurisdiction is always added to the question as well
    (:func:`server.metrics.service.effective_scopes`).

    A malformed value and a category code that names nothing are left to the query to report
    (400). A region or grid code, a worker or department id that names nothing is refused like
    one outside the jurisdiction (403, the same answer), so that what exists in other counties
    cannot be probed (docs/api.md, "Jurisdiction"); admins, who see everything, get the
    query's 400 ``unknown_scope``."""
    if actor.role in UNSCOPED or kind == "category":
        return True
    where = roots(db, actor)
    if kind == "region":
        code = value.ljust(12, "0") if value.isascii() and value.isdigit() else value
        path = db.execute(select(Region.path).where(Region.code == code)).scalar()
        return path is not None and inside(path, where)
    if kind == "grid":
        paths = grid_paths(db, [value])
        return any(inside(p, where) for p in paths)
    ident = _ident(value)
    if ident is None:
        return True
    if kind == "department":
        dep = db.execute(
            select(Department.id, Department.region_id).where(Department.id == ident)
        ).first()
        return dep is not None and _may_refer_department(db, actor, dep.id, dep.region_id, None)
    if kind == "worker":
        return may_see_user(db, actor, ident)  # no such user: seen by no one scoped
    return False


# --- base data (places, households, residents, organisations, visits) --------------------------
#
# Rows of base data carry the grid and regions they are in (``grid_code``, ``community_id``,
# ``town_id``, ``county_id``). Who sees them: admins everything; dispatchers and supervisors their
# region subtree (the column of their region's level); grid workers their grids; handlers and
# integrations nothing (a department needs no register of residents). Who edits them: grid
# workers (their grids), dispatchers (their subtree), admins; supervisors read (and decide level
# requests, and read the read log). A foreign row is answered as if it did not exist (404).

BASE_READERS = frozenset(
    {wf.Role.GRID_WORKER, wf.Role.DISPATCHER, wf.Role.SUPERVISOR, wf.Role.ADMIN}
)
BASE_WRITERS = frozenset({wf.Role.GRID_WORKER, wf.Role.DISPATCHER, wf.Role.ADMIN})
LEVEL_DECIDERS = frozenset({wf.Role.DISPATCHER, wf.Role.SUPERVISOR})
READ_LOG_READERS = frozenset({wf.Role.SUPERVISOR, wf.Role.ADMIN})
_BASE_LEVEL_COLUMN = {"county": "county_id", "town": "town_id", "community": "community_id"}


def base_clause(actor: Actor, model: Any) -> ColumnElement[bool]:
    """A WHERE clause on a located base-data model (``Place``, ``Household``, ``Resident``,
    ``Organisation``, ``Visit``, ``PersonalDataRead``): the rows ``actor`` may see."""
    if actor.role == wf.Role.ADMIN:
        return true()
    if actor.role in REGIONAL:
        column = _BASE_LEVEL_COLUMN.get(actor.region_level or "")
        if actor.region_id is None or column is None:
            return false()
        return getattr(model, column) == actor.region_id  # type: ignore[no-any-return]
    if actor.role == wf.Role.GRID_WORKER and actor.grid_codes:
        return model.grid_code.in_(sorted(actor.grid_codes))  # type: ignore[no-any-return]
    return false()


def base_key(actor: Actor) -> tuple[Any, ...]:
    """What decides which base-data rows the actor sees (cache keys)."""
    if actor.role == wf.Role.ADMIN:
        return ("all",)
    if actor.role in REGIONAL:
        return ("region", actor.region_level, actor.region_id)
    if actor.role == wf.Role.GRID_WORKER:
        return ("worker", tuple(sorted(actor.grid_codes)))
    return ("none",)


def may_see_base(actor: Actor, row: Any) -> bool:
    """May ``actor`` see this located base-data row (or a location about to be stored)?"""
    if actor.role == wf.Role.ADMIN:
        return True
    if actor.role in REGIONAL:
        column = _BASE_LEVEL_COLUMN.get(actor.region_level or "")
        return (
            actor.region_id is not None
            and column is not None
            and getattr(row, column) == actor.region_id
        )
    if actor.role == wf.Role.GRID_WORKER:
        return row.grid_code is not None and row.grid_code in actor.grid_codes
    return False


def may_edit_base(actor: Actor, row: Any) -> bool:
    """May ``actor`` create or change base data located at ``row`` (its grid and regions)?"""
    return actor.role in BASE_WRITERS and may_see_base(actor, row)


def sees_sensitive(actor: Actor, row: Any) -> bool:
    """May ``actor`` see that a resident at ``row`` belongs to a *sensitive* key group (严重精神
    障碍, 社区矫正, 刑满释放, 吸毒, 重点青少年)? Those who work with them: the grid worker of
    the resident's grid, supervisors, and dispatchers of a town or community (the 综治 staff)
    in jurisdiction. Not county dispatchers (the command centre routes cases, it does not keep
    these registers), not admins (they run the system, not the people), not handlers."""
    return may_see_base(actor, row) and sees_sensitive_kinds(actor)


def sees_sensitive_kinds(actor: Actor) -> bool:
    """The role part of :func:`sees_sensitive` (for figures over the actor's jurisdiction)."""
    if actor.role == wf.Role.DISPATCHER:
        return actor.region_level in ("town", "community")
    return actor.role in (wf.Role.GRID_WORKER, wf.Role.SUPERVISOR)


def may_decide_level(actor: Actor, row: Any, requested_by_id: int | None) -> bool:
    """A change of a key-group level is approved by the community or town (a dispatcher or a
    supervisor whose jurisdiction holds the resident and who sees the tag's kind), never by
    the person who asked for it."""
    return (
        actor.role in LEVEL_DECIDERS
        and may_see_base(actor, row)
        and actor.id is not None
        and actor.id != requested_by_id
    )


def may_read_log(actor: Actor) -> bool:
    """The read log of personal data: supervisors (their jurisdiction) and admins."""
    return actor.role in READ_LOG_READERS


# --- field work: check-ins and work logs ---------------------------------------------------------
#
# A grid worker's own check-ins (签到, 补签) and work log (工作日志) are theirs to read. Supervisors
# read those of the workers in their jurisdiction: a check-in by the community it is in (the
# column of the supervisor's level, as base data), a work log by where the worker works (their
# region and their grids' communities, :func:`may_see_user`). A supervisor decides a 补签 in
# their jurisdiction, never their own, and comments on a work log in it. What a work log shows a
# supervisor of a worker's reports, verifications and visits is what lies in their jurisdiction
# (the cases' and base data's rules): a worker's grids may lie in two towns, and they report
# wherever they pass in their county. Dispatchers, handlers and admins see neither: attendance is
# the supervisors' business (docs/field-work.md).

CHECK_IN_READERS = frozenset({wf.Role.GRID_WORKER, wf.Role.SUPERVISOR})
WORK_LOG_READERS = CHECK_IN_READERS


def check_ins_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``CheckIn``: the rows ``actor`` may see."""
    from server.models import CheckIn

    if actor.role == wf.Role.GRID_WORKER and actor.id is not None:
        return CheckIn.worker_id == actor.id
    if actor.role == wf.Role.SUPERVISOR:
        return base_clause(actor, CheckIn)
    return false()


def may_see_check_in(actor: Actor, row: Any) -> bool:
    if actor.role == wf.Role.GRID_WORKER:
        return actor.id is not None and row.worker_id == actor.id
    return actor.role == wf.Role.SUPERVISOR and may_see_base(actor, row)


def visits_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``Visit``: the visits ``actor`` may list. Those of their jurisdiction
    (:func:`base_clause`); for those who may not see sensitive key groups
    (:func:`sees_sensitive_kinds`: county dispatchers, admins), not the visits to a resident who
    is or was in one, nor the visits of a whole household (no resident named) one of whose
    members now is or was (a one-person household's visits are that person's; the due list
    counts them towards the tag's cycle).
    A 吸毒人员 visited every 7 days, with the visits' findings, gives away the membership the
    resident's page hides from them."""
    from server.models import KeyGroupKindRow, KeyGroupTag, Resident, Visit

    clause = base_clause(actor, Visit)
    if sees_sensitive_kinds(actor):
        return clause
    # EXISTS, not IN: NOT IN over a NULL is never true.
    tags = select(KeyGroupTag.id).join(
        KeyGroupKindRow, (KeyGroupKindRow.id == KeyGroupTag.kind_id) & KeyGroupKindRow.sensitive
    )
    person = tags.where(KeyGroupTag.resident_id == Visit.resident_id).exists()
    household = (
        tags.join(Resident, Resident.id == KeyGroupTag.resident_id)
        .where(Resident.household_id == Visit.household_id)
        .exists()
    )
    return clause & ~person & ~(Visit.resident_id.is_(None) & household)


def may_see_visit_position(actor: Actor, visit: Any) -> bool:
    """May ``actor`` see where a visit (走访) was made (its ``lon``/``lat``)? The phone's
    position at the visit is the visitor's whereabouts, as a check-in's is: the visitor, and
    the supervisors whose jurisdiction holds the visit (:func:`may_see_check_in`). Not other
    grid workers of the grid, not dispatchers, handlers or admins: they see the visit, not
    where its worker stood."""
    if actor.id is not None and actor.id == visit.visitor_id:
        return True
    return actor.role == wf.Role.SUPERVISOR and may_see_base(actor, visit)


def may_decide_check_in(actor: Actor, row: Any) -> bool:
    """A 补签 is approved by a supervisor whose jurisdiction holds its community, never by the
    worker who asked for it."""
    return (
        actor.role == wf.Role.SUPERVISOR
        and actor.id is not None
        and actor.id != row.worker_id
        and may_see_base(actor, row)
    )


def may_see_work_log(db: DB, actor: Actor, worker_id: int) -> bool:
    if actor.role == wf.Role.GRID_WORKER:
        return actor.id is not None and actor.id == worker_id
    return actor.role == wf.Role.SUPERVISOR and may_see_user(db, actor, worker_id)


def may_comment_work_log(db: DB, actor: Actor, worker_id: int) -> bool:
    return (
        actor.role == wf.Role.SUPERVISOR
        and actor.id != worker_id
        and may_see_user(db, actor, worker_id)
    )


def work_log_cases_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``Incident``: the cases whose report or verification a work log (and
    the map of a worker's day) shows ``actor``. The worker reads their own day whole; a
    supervisor only the cases in their jurisdiction (:func:`cases_clause`): a worker reports
    wherever they pass in their county, and a report in another town is that town's, not
    theirs to read."""
    if actor.role == wf.Role.GRID_WORKER:
        return true()  # their own day only (may_see_work_log)
    return cases_clause(actor)


def work_log_visits_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``Visit``: the visits a work log shows ``actor`` (the worker: all of
    their own; a supervisor: those in their jurisdiction, :func:`base_clause`)."""
    from server.models import Visit

    if actor.role == wf.Role.GRID_WORKER:
        return true()
    return base_clause(actor, Visit)


def work_log_check_ins_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``CheckIn``: the check-ins a work log shows ``actor`` (the worker: all of
    their own; a supervisor: those made in their jurisdiction, :func:`check_ins_clause`). A worker
    moved to another town keeps their past days in the first town: its supervisors read them, the
    new town's do not."""
    if actor.role == wf.Role.GRID_WORKER:
        return true()
    return check_ins_clause(actor)


def work_log_patrols_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``Patrol``: the patrols (with their distance and duration) a work log
    shows ``actor``: the worker all of their own, a supervisor those of their jurisdiction (the
    patrol's grid and regions, :func:`base_clause`), as with check-ins."""
    from server.models import Patrol

    if actor.role == wf.Role.GRID_WORKER:
        return true()
    return base_clause(actor, Patrol)


def work_log_workers_clause(db: DB, actor: Actor, within: Roots = None) -> ColumnElement[bool]:
    """A WHERE clause on ``User``: the grid workers whose work logs ``actor`` may read (a worker:
    themself), where they work inside ``within`` too when it is given (a region filter)."""
    if actor.role == wf.Role.GRID_WORKER and actor.id is not None:
        return User.id == actor.id
    if actor.role != wf.Role.SUPERVISOR:
        return false()
    where = roots(db, actor)
    clauses = [path_clause(Region.path, where)]
    if within is not None:
        clauses.append(path_clause(Region.path, within))
    in_region = select(Region.id).where(*clauses)
    in_grids = (
        select(GridAssignment.user_id)
        .join(Grid, Grid.code == GridAssignment.grid_code)
        .join(Region, Region.id == Grid.community_id)
        .where(*clauses)
    )
    return (User.role == wf.Role.GRID_WORKER) & or_(
        User.region_id.in_(in_region), User.id.in_(in_grids)
    )


# --- uploads ---------------------------------------------------------------------------------


def may_use_upload(actor: Actor, uploader_id: int | None) -> bool:
    """An upload not yet attached to a case is its uploader's alone (resume, attach, view)."""
    return actor.id is not None and uploader_id == actor.id


def may_see_photo(
    actor: Actor, uploader_id: int | None, case: Incident | None, visit: Any = None
) -> bool:
    """A photo of a case: whoever may see the case; of a base-data visit (走访): whoever may
    see the visit — ``visit`` as :func:`visits_clause` lets the actor list it, None when it is
    withheld from them (then only its uploader sees the photo); an unattached one: its
    uploader."""
    if case is not None:
        return may_see_case(actor, case)
    if visit is not None:
        return may_see_base(actor, visit)
    return may_use_upload(actor, uploader_id)


# --- patrol tracks (field work, docs/field-work.md) ---------------------------------------------
#
# A worker's GPS track is personal data of the worker: the worker themself and the supervisors
# of the community or the town of the patrol's grid see it; nobody else — not dispatchers, not
# county or city supervisors, not admins (they run the system, not the staff). Every read by
# someone else is logged (personal_data_reads, subject_user_id, purpose ``track``).
TRACK_LEVELS = frozenset({Level.COMMUNITY, Level.TOWN})


def may_see_track(
    actor: Actor, worker_id: int, community_id: int | None, town_id: int | None
) -> bool:
    """May ``actor`` see the track of a patrol of ``worker_id`` in this community and town?"""
    if actor.id is not None and actor.id == worker_id:
        return True
    return (
        actor.role == wf.Role.SUPERVISOR
        and actor.region_level in TRACK_LEVELS
        and actor.region_id is not None
        and actor.region_id in (community_id, town_id)
    )


# --- exports of base data ----------------------------------------------------------------------
#
# Exports of base data (server/usecases/base_io/exports.py): dispatchers, supervisors and admins,
# their jurisdiction (``base_clause``); grid workers carry their grids on the phone, handlers see
# no base data. Identity numbers and phones in clear only for the 综治 staff and leaders who hand
# a list to another office, with a reason; admins run the system, not the registers (masked).
BASE_EXPORTERS = frozenset({wf.Role.DISPATCHER, wf.Role.SUPERVISOR, wf.Role.ADMIN})
BASE_CLEAR_EXPORTERS = frozenset({wf.Role.DISPATCHER, wf.Role.SUPERVISOR})


# --- endpoints -------------------------------------------------------------------------------

ANYONE: frozenset[str] | None = None  # signed in or not
SIGNED_IN = frozenset(ROLES)
ADMIN_ONLY = frozenset({wf.Role.ADMIN})

# Who may call each endpoint at all, before any object is looked at; keyed by Flask endpoint
# and method. The objects an endpoint names are then decided by the functions above (and, for
# case actions, the workflow table). tests/security/test_access_matrix.py calls every endpoint
# of the app as every role and checks each answer against this table and those functions; an
# endpoint missing here fails it.
ENDPOINT_ROLES: dict[tuple[str, str], frozenset[str] | None] = {
    **{
        (e, "GET"): ANYONE
        for e in (
            "health",
            "static",
            "pages.index",
            "pages.field_app",
            "pages.console_app",
            "pages.assets",
            "pages.login_page",
            "openapi.openapi_json",
            "openapi.docs_page",
            "reference.workflow",
            "auth.csrf_token",
            "open311.discovery",
            "open311.media",
            "open311.request_list",
            "open311.request_one",
            "open311.service_list",
            "open311.service_definition",
            "open311.token_missing",
            "open311.token",
            "open311.unknown",
        )
    },
    ("pages.login_page", "POST"): ANYONE,
    ("auth.login", "POST"): ANYONE,
    ("auth.logout", "POST"): ANYONE,
    ("open311.request_create", "POST"): ANYONE,  # an Open311 key, not a user, files these
    **{("open311.unknown", m): ANYONE for m in ("POST", "PUT", "PATCH", "DELETE")},
    **{
        (e, m): SIGNED_IN
        for e, m in (
            ("auth.whoami", "GET"),
            ("reference.bootstrap", "GET"),
            ("reference.grids_geojson", "GET"),
            ("regions.children", "GET"),
            ("regions.shapes", "GET"),
            ("regions.tree", "GET"),
            ("cases.create_case", "POST"),  # and the workflow table: who may report
            ("cases.list_cases", "GET"),
            ("cases.get_case", "GET"),
            ("cases.act", "POST"),  # and the workflow table: who may take which action
            ("cases.changes", "GET"),
            ("cases.change_stream", "GET"),
            ("uploads.begin", "POST"),
            ("uploads.status", "GET"),
            ("uploads.piece", "PUT"),
            ("uploads.photo", "GET"),
            ("uploads.thumb", "GET"),
            ("metrics.metrics", "GET"),
            ("metrics.cases", "GET"),
            ("metrics.indicator_records", "GET"),
            ("metrics.definitions", "GET"),
            ("metrics.scorecard_list", "GET"),
            ("metrics.scorecard_config", "GET"),
            ("metrics.export_csv", "GET"),
            ("metrics.export_xlsx", "GET"),
        )
    },
    # The statutory calendar is the installation's (not a jurisdiction's): the console roles
    # read it, admins change it.
    **{
        (e, "GET"): frozenset(
            {wf.Role.DISPATCHER, wf.Role.HANDLER, wf.Role.SUPERVISOR, wf.Role.ADMIN}
        )
        for e in ("calendar.overview", "calendar.show_year", "calendar.year_changes")
    },
    **{
        (e, m): BASE_READERS
        for e, m in (
            ("base.vocabulary", "GET"),
            ("base.list_places", "GET"),
            ("base.get_place", "GET"),
            ("base.list_households", "GET"),
            ("base.get_household", "GET"),
            ("base.list_residents", "GET"),
            ("base.get_resident", "GET"),
            ("base.reveal", "POST"),
            ("base.list_organisations", "GET"),
            ("base.get_organisation", "GET"),
            ("base.list_visits", "GET"),
            ("base.visits_due", "GET"),
            ("base.list_level_requests", "GET"),
            ("base.overview", "GET"),
        )
    },
    **{
        (e, m): BASE_WRITERS
        for e, m in (
            ("base.create_place", "POST"),
            ("base.update_place", "PATCH"),
            ("base.create_household", "POST"),
            ("base.update_household", "PATCH"),
            ("base.create_resident", "POST"),
            ("base.update_resident", "PATCH"),
            ("base.add_event", "POST"),
            ("base.add_tag", "POST"),
            ("base.end_tag", "POST"),
            ("base.request_level", "POST"),
            ("base.create_organisation", "POST"),
            ("base.update_organisation", "PATCH"),
            ("base.create_visit", "POST"),
        )
    },
    ("base.decide_level", "POST"): LEVEL_DECIDERS,
    ("base.read_log", "GET"): READ_LOG_READERS,
    ("base.offline_bundle", "GET"): frozenset({wf.Role.GRID_WORKER}),
    ("base.create_kind", "POST"): ADMIN_ONLY,
    ("base.update_kind", "PATCH"): ADMIN_ONLY,
    ("calendar.put_year", "PUT"): ADMIN_ONLY,
    ("calendar.import_year", "POST"): ADMIN_ONLY,
    ("calendar.delete_year", "DELETE"): ADMIN_ONLY,
    ("metrics.scorecard_config_put", "PUT"): ADMIN_ONLY,
    ("metrics.scorecard_config_reset", "DELETE"): ADMIN_ONLY,
    **{
        (e, m): ADMIN_ONLY
        for e, m in (
            ("admin.list_departments", "GET"),
            ("admin.create_department", "POST"),
            ("admin.update_department", "PATCH"),
            ("admin.list_routing_rules", "GET"),
            ("admin.put_routing_rule", "PUT"),
            ("admin.list_categories", "GET"),
            ("admin.create_category", "POST"),
            ("admin.update_category", "PATCH"),
            ("admin.list_stage_limits", "GET"),
            ("admin.set_stage_limit", "PUT"),
            ("admin.delete_stage_limit", "DELETE"),
            ("admin.set_card_thresholds", "PUT"),
            ("admin.list_users", "GET"),
            ("admin.create_user", "POST"),
            ("admin.get_user", "GET"),
            ("admin.update_user", "PATCH"),
            ("admin.set_duties", "PUT"),
            ("admin.list_grids", "GET"),
            ("admin.list_plans", "GET"),
            ("admin.upload_plan", "POST"),
            ("admin.get_plan", "GET"),
            ("admin.publish_plan", "POST"),
        )
    },
    # base data in and out (server/api/base_io.py): search by readers, imports by writers,
    # exports by dispatchers, supervisors and admins (server/usecases/base_io/exports.py)
    ("base_io.search_addresses", "GET"): BASE_READERS,
    ("base_io.import_template", "GET"): BASE_WRITERS,
    ("base_io.run_import", "POST"): BASE_WRITERS,
    ("base_io.export", "GET"): BASE_EXPORTERS,
    # patrols and tracks (server/api/patrols.py): grid workers patrol; a worker's day with its
    # tracks is the worker's and their community's and town's supervisors' (``may_see_track``)
    ("patrols.start", "POST"): frozenset({wf.Role.GRID_WORKER}),
    ("patrols.track", "POST"): frozenset({wf.Role.GRID_WORKER}),
    ("patrols.end", "POST"): frozenset({wf.Role.GRID_WORKER}),
    ("patrols.worker_day", "GET"): frozenset({wf.Role.GRID_WORKER, wf.Role.SUPERVISOR}),
    # field work: check-ins and work logs (server/api/check_ins.py, work_logs.py)
    ("check_ins.create", "POST"): frozenset({wf.Role.GRID_WORKER}),
    ("check_ins.listing", "GET"): CHECK_IN_READERS,
    ("check_ins.decide", "POST"): frozenset({wf.Role.SUPERVISOR}),
    ("work_logs.day_list", "GET"): WORK_LOG_READERS,
    ("work_logs.worker_day", "GET"): WORK_LOG_READERS,
    ("work_logs.comment", "POST"): frozenset({wf.Role.SUPERVISOR}),
}


def may_call(role: str | None, endpoint: str, method: str) -> bool:
    """May someone of ``role`` (None: signed out) call this endpoint at all? (KeyError for an
    endpoint the table does not know: every endpoint must be in it.)"""
    allowed = ENDPOINT_ROLES[(endpoint, method)]
    return allowed is None or (role is not None and role in allowed)
