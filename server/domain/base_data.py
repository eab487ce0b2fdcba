"""The vocabulary and rules of base data (人、地、事、物、组织), as plain code.

One table per vocabulary, each name with its zh/en label (the apps label them from the server):
place kinds, registration (户籍/流动), relation to the household head, resident status, life
events and what each does to a resident's status, organisation kinds, key-group kinds (the
built-in list; admins add more), visit cycles, level-request statuses. Then the two rules that
are more than a table: what a life event does (:func:`apply_event`) and when a key-group
member is due for a visit (:func:`visit_due`). No Flask, no SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from server.domain.errors import DomainError


class PlaceKind(StrEnum):
    ESTATE = "estate"
    BUILDING = "building"
    UNIT = "unit"
    ROOM = "room"


PLACE_KIND_LABELS = {
    PlaceKind.ESTATE: ("小区/自然村", "estate or village"),
    PlaceKind.BUILDING: ("楼栋", "building"),
    PlaceKind.UNIT: ("单元", "unit"),
    PlaceKind.ROOM: ("房屋", "room"),
}

#: The kinds a place of each kind may hang under (None: at the top).
PLACE_PARENTS: dict[PlaceKind, frozenset[PlaceKind | None]] = {
    PlaceKind.ESTATE: frozenset({None}),
    PlaceKind.BUILDING: frozenset({None, PlaceKind.ESTATE}),
    PlaceKind.UNIT: frozenset({PlaceKind.BUILDING}),
    PlaceKind.ROOM: frozenset({PlaceKind.UNIT, PlaceKind.BUILDING}),
}


class Registration(StrEnum):
    REGISTERED = "registered"
    FLOATING = "floating"


REGISTRATION_LABELS = {
    Registration.REGISTERED: ("户籍人口", "registered"),
    Registration.FLOATING: ("流动人口", "floating"),
}


class Relation(StrEnum):
    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    GRANDCHILD = "grandchild"
    GRANDPARENT = "grandparent"
    SIBLING = "sibling"
    OTHER = "other"


RELATION_LABELS = {
    Relation.HEAD: ("户主", "head of household"),
    Relation.SPOUSE: ("配偶", "spouse"),
    Relation.CHILD: ("子女", "child"),
    Relation.PARENT: ("父母", "parent"),
    Relation.GRANDCHILD: ("孙子女", "grandchild"),
    Relation.GRANDPARENT: ("祖父母", "grandparent"),
    Relation.SIBLING: ("兄弟姐妹", "sibling"),
    Relation.OTHER: ("其他", "other"),
}


class ResidentStatus(StrEnum):
    ACTIVE = "active"
    MOVED_OUT = "moved_out"
    DECEASED = "deceased"
    CANCELLED = "cancelled"


RESIDENT_STATUS_LABELS = {
    ResidentStatus.ACTIVE: ("在册", "active"),
    ResidentStatus.MOVED_OUT: ("已迁出", "moved out"),
    ResidentStatus.DECEASED: ("已死亡", "deceased"),
    ResidentStatus.CANCELLED: ("已注销", "cancelled"),
}


class LifeEventKind(StrEnum):
    MOVE_IN = "move_in"
    MOVE_OUT = "move_out"
    DEATH = "death"
    CANCEL = "cancel"
    RESTORE = "restore"


LIFE_EVENT_LABELS = {
    LifeEventKind.MOVE_IN: ("迁入", "move in"),
    LifeEventKind.MOVE_OUT: ("迁出", "move out"),
    LifeEventKind.DEATH: ("死亡", "death"),
    LifeEventKind.CANCEL: ("注销", "cancel"),
    LifeEventKind.RESTORE: ("恢复", "restore"),
}

_S = ResidentStatus


@dataclass(frozen=True)
class EventRule:
    kind: LifeEventKind
    from_statuses: frozenset[ResidentStatus]
    to_status: ResidentStatus
    needs_household: bool  # the event names the household moved into
    ends_residence: bool  # the current residence (if any) ends


#: What each life event does. 迁入 moves a person (active or moved out) into a household and
#: ends the residence they had; 迁出, 死亡, 注销 end it; 恢复 undoes a 注销 or a 死亡 recorded in
#: error (the person comes back without a residence: a 迁入 gives them one).
_LIVING = frozenset({_S.ACTIVE, _S.MOVED_OUT})
_E = LifeEventKind
EVENT_RULES: dict[LifeEventKind, EventRule] = {
    r.kind: r
    for r in (
        EventRule(_E.MOVE_IN, _LIVING, _S.ACTIVE, True, True),
        EventRule(_E.MOVE_OUT, frozenset({_S.ACTIVE}), _S.MOVED_OUT, False, True),
        EventRule(_E.DEATH, _LIVING, _S.DECEASED, False, True),
        EventRule(_E.CANCEL, _LIVING, _S.CANCELLED, False, True),
        EventRule(_E.RESTORE, frozenset({_S.CANCELLED, _S.DECEASED}), _S.ACTIVE, False, False),
    )
}


class LifeEventRefused(DomainError):
    code = "event_not_allowed"


def apply_event(status: ResidentStatus, kind: LifeEventKind) -> EventRule:
    """The rule of ``kind`` if a resident of ``status`` may have it, else
    :class:`LifeEventRefused` (e.g. a deceased person cannot move in)."""
    rule = EVENT_RULES[kind]
    if status not in rule.from_statuses:
        zh, en = LIFE_EVENT_LABELS[kind]
        szh, sen = RESIDENT_STATUS_LABELS[status]
        raise LifeEventRefused(
            f"{szh}的人员不能{zh}", f"a person who is {sen} cannot {en}", field="kind"
        )
    return rule


#: A person may be registered without a 公民身份号码 only at birth (出生登记): a child born at
#: most this many days ago. The number is given later (and then checked as any other).
NEWBORN_DAYS = 366


def check_newborn(born_on: date, today: date) -> None:
    """A registration without an identity number is a birth registration: the child was born
    on ``born_on``, not in the future and at most :data:`NEWBORN_DAYS` ago; anyone else is
    registered with their number (``id_number_required``)."""
    if born_on > today:
        raise DomainError(
            "出生日期不能晚于今天", "the birth date is in the future", field="born_on",
            code="bad_birth_date",
        )  # fmt: skip
    if (today - born_on).days > NEWBORN_DAYS:
        raise DomainError(
            "只有一岁以内的新生儿可暂缺公民身份号码，请填写身份证号",
            "only a child born within the last year may be registered without an identity "
            "number: give the number",
            field="id_number",
            code="id_number_required",
        )


class OrganisationKind(StrEnum):
    ENTERPRISE = "enterprise"
    INDIVIDUAL = "individual"
    SOCIAL_ORG = "social_org"
    GOVERNMENT = "government"
    INSTITUTION = "institution"
    OTHER = "other"


ORGANISATION_KIND_LABELS = {
    OrganisationKind.ENTERPRISE: ("企业", "enterprise"),
    OrganisationKind.INDIVIDUAL: ("个体工商户", "sole trader"),
    OrganisationKind.SOCIAL_ORG: ("社会组织", "social organisation"),
    OrganisationKind.GOVERNMENT: ("机关", "government body"),
    OrganisationKind.INSTITUTION: ("事业单位", "public institution"),
    OrganisationKind.OTHER: ("其他", "other"),
}


# --- key groups and visit cycles ---------------------------------------------------------------


class Cycle(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


CYCLE_LABELS = {
    Cycle.WEEKLY: ("每周", "weekly"),
    Cycle.BIWEEKLY: ("每两周", "every two weeks"),
    Cycle.MONTHLY: ("每月", "monthly"),
    Cycle.QUARTERLY: ("每季度", "quarterly"),
}
CYCLE_DAYS = {Cycle.WEEKLY: 7, Cycle.BIWEEKLY: 14, Cycle.MONTHLY: 30, Cycle.QUARTERLY: 91}


@dataclass(frozen=True)
class Level:
    level: int  # 1 is the closest watch
    name: str
    cycle: Cycle


@dataclass(frozen=True)
class KeyGroupKind:
    code: str
    name: str
    sensitive: bool
    levels: tuple[Level, ...]


def _levels(first: Cycle, second: Cycle, third: Cycle) -> tuple[Level, ...]:
    return (
        Level(1, "一级（重点关注）", first),
        Level(2, "二级（一般关注）", second),
        Level(3, "三级（日常关注）", third),
    )


_CARE = _levels(Cycle.WEEKLY, Cycle.MONTHLY, Cycle.QUARTERLY)
_WATCH = _levels(Cycle.WEEKLY, Cycle.BIWEEKLY, Cycle.MONTHLY)

#: The built-in kinds (seeded by migration 0009; admins add more). Sensitive kinds are shown
#: only to those who need them (server/usecases/policy.py, ``sees_sensitive``).
BUILTIN_KINDS: tuple[KeyGroupKind, ...] = (
    KeyGroupKind("left_behind_elderly", "留守老人", False, _CARE),
    KeyGroupKind("left_behind_child", "留守儿童", False, _CARE),
    KeyGroupKind("left_behind_woman", "留守妇女", False, _CARE),
    KeyGroupKind("elderly_alone", "独居老人", False, _CARE),
    KeyGroupKind("disabled", "残疾人", False, _CARE),
    KeyGroupKind("subsistence", "低保/特困", False, _CARE),
    KeyGroupKind("mental_disorder", "严重精神障碍患者", True, _WATCH),
    KeyGroupKind("community_correction", "社区矫正对象", True, _WATCH),
    KeyGroupKind("released_prisoner", "刑满释放人员", True, _WATCH),
    KeyGroupKind("drug_user", "吸毒人员", True, _WATCH),
    KeyGroupKind("key_youth", "重点青少年", True, _WATCH),
)


def levels_json(levels: tuple[Level, ...]) -> list[dict[str, object]]:
    return [{"level": lv.level, "name": lv.name, "cycle": lv.cycle.value} for lv in levels]


class LevelRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


LEVEL_REQUEST_LABELS = {
    LevelRequestStatus.PENDING: ("待审批", "pending"),
    LevelRequestStatus.APPROVED: ("已批准", "approved"),
    LevelRequestStatus.DECLINED: ("未批准", "declined"),
}


class DueStatus(StrEnum):
    DUE = "due"  # 本周应访, not yet visited, not yet late
    DONE = "done"  # 已访 this week
    OVERDUE = "overdue"  # 逾期: the due day has passed with no visit
    LATER = "later"  # not due this week


DUE_LABELS = {
    DueStatus.DUE: ("本周应访", "due this week"),
    DueStatus.DONE: ("已访", "visited"),
    DueStatus.OVERDUE: ("逾期", "overdue"),
    DueStatus.LATER: ("未到期", "not yet due"),
}


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the (ISO) week holding ``day``."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


@dataclass(frozen=True)
class Due:
    due_on: date
    status: DueStatus

    @property
    def counts_this_week(self) -> bool:
        """Is it one of 本周应访 (due, done or overdue)?"""
        return self.status is not DueStatus.LATER


def visit_due(
    *,
    since: date,
    cycle: Cycle,
    last_before_week: date | None,
    visited_this_week: bool,
    today: date,
) -> Due:
    """When a key-group member must next be visited, and where that stands this week.

    The due day is one cycle after the last visit before this week (or after ``since``, the day
    the tag was given, when there was none). If it falls on or before this Sunday the visit
    counts as 本周应访: 已访 if there was a visit this week, else 逾期 if the due day is before
    today, else still due. A due day after this week: not yet due (unless visited this week
    anyway, which counts as done).
    """
    start = last_before_week if last_before_week is not None else since
    due_on = start + timedelta(days=CYCLE_DAYS[cycle])
    _monday, sunday = week_of(today)
    if visited_this_week:
        return Due(due_on, DueStatus.DONE)
    if due_on > sunday:
        return Due(due_on, DueStatus.LATER)
    return Due(due_on, DueStatus.OVERDUE if due_on < today else DueStatus.DUE)
