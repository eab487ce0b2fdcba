"""A second computation of every metric, written straight from docs/metrics.md.

Plain Python over the list of events of each case: no SQL, no ``metric_events``, nothing from
``server.metrics``. Working hours come from ``WorkCalendar.work_micros_between`` (the calendar
itself is tested in tests/domain). The property tests compare it with the real queries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from server.domain.worktime import WorkCalendar

HOUR_US = 3_600_000_000


@dataclass
class OEvent:
    action: str
    to_state: str
    at: datetime  # server time as recorded
    data: dict[str, Any]
    actor_id: int | None
    actor_role: str = "x"


@dataclass
class OCase:
    id: int
    town: int | None
    community: int | None
    grid: str | None
    category: int
    reporter: int | None
    events: list[OEvent] = field(default_factory=list)  # in recording (id) order
    county: int | None = None


# Levels of command (docs/metrics.md §4: the keys of by=level), top first.
LEVEL_KEYS = {"city": 1, "county": 2, "town": 3, "community": 4}
# The events that say which centre holds the case after them (data.centre).
CENTRE_NAMING = ("report", "self_handle", "escalate", "devolve", "pull_up")


def _named_centre(ev: OEvent) -> tuple[int, str] | None:
    centre = ev.data.get("centre") if ev.action in CENTRE_NAMING else None
    if not isinstance(centre, dict):
        return None
    ident, level = centre.get("id"), centre.get("level")
    if isinstance(ident, bool) or not isinstance(ident, int) or not 0 <= ident <= 999_999_999:
        return None
    if level not in LEVEL_KEYS:
        return None
    return ident, level


@dataclass
class Question:
    start: datetime  # local midnight of the first day
    end: datetime  # local midnight after the last day
    as_of: datetime
    by: str | None
    # filters: (kind, values); kinds as in the API: region level column, grid, department,
    # category ids, worker
    filters: list[tuple[str, Any]]
    # the people who are grid workers (None: everyone); by=worker keys only those (§4)
    grid_workers: frozenset[int] | None = None


def _parse(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _timed(case: OCase, as_of: datetime) -> list[tuple[OEvent, datetime]]:
    """§1: events in id order; an event's time is the latest server time so far on the case;
    only events at or before T."""
    out = []
    latest: datetime | None = None
    for ev in case.events:
        latest = ev.at if latest is None or ev.at > latest else latest
        if latest <= as_of:
            out.append((ev, latest))
        else:
            break  # later events have later (or equal) times: none count
    return out


def _bucket(moment: datetime, by: str, cal: WorkCalendar) -> str:
    local = moment.astimezone(cal.tz).date()
    if by == "month":
        return f"{local.year:04d}-{local.month:02d}"
    iso = local.isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


@dataclass
class Contribution:
    """One thing counted: which family, its attribution, and the counts it adds."""

    family: str
    moment: datetime
    department: int | None
    worker: int | None
    case: OCase
    counts: dict[str, int]
    centre: int | None = None  # the centre a cohort case / a card is attributed to
    level: str | None = None  # that centre's level (community: self-handled on the spot)


def contributions(cases: list[OCase], q: Question, cal: WorkCalendar) -> list[Contribution]:
    out: list[Contribution] = []
    limit_us = cal.office_hours.micros_per_day  # one working day

    def in_period(t: datetime) -> bool:
        return q.start <= t < q.end and t <= q.as_of

    for case in cases:
        evs = _timed(case, q.as_of)
        if not evs:
            continue
        # --- report family: the report / self_handle and the reject -----------------
        for ev, t in evs:
            if ev.action in ("report", "self_handle") and in_period(t):
                accepted = any(e.action in ("accept", "self_handle") for e, _ in evs)
                out.append(
                    Contribution(
                        "report",
                        t,
                        None,
                        case.reporter,
                        case,
                        {"reported": 1, "valid_reports": int(accepted)},
                    )
                )
            if ev.action == "reject" and in_period(t):
                out.append(Contribution("reject", t, None, case.reporter, case, {"rejected": 1}))
        # --- walk the case: deadlines, departments, episodes --------------------------
        state = None
        deadline: datetime | None = None  # effective deadline of the last dispatch
        department: int | None = None  # department of the last dispatch
        first_dispatch: datetime | None = None
        last_resolve: datetime | None = None
        rating: str | None = None
        episode_dept: int | None = None
        episodes: list[dict[str, Any]] = []
        verifications: list[tuple[OEvent, datetime, datetime | None, int | None]] = []
        # the centre holding the case (its county until an event names one), and the one
        # that held it at acceptance
        holder: tuple[int | None, str] = (case.county, "county")
        accepted_by: tuple[int | None, str] | None = None
        escalated = False
        for ev, t in evs:
            state = ev.to_state
            a = ev.action
            named = _named_centre(ev)
            if named is not None:
                holder = named
            if a in ("accept", "self_handle") and accepted_by is None:
                accepted_by = (holder[0], "community" if a == "self_handle" else holder[1])
            if a == "escalate":
                escalated = True
            card = ev.data.get("card")
            if (
                a == "supervise"
                and ev.actor_role == "system"
                and card in ("yellow", "red")
                and in_period(t)
            ):
                handle = ev.data.get("stage") == "handle"
                dep = ev.data.get("department_id")
                out.append(
                    Contribution(
                        "card",
                        t,
                        dep if handle and isinstance(dep, int) else None,
                        case.reporter,
                        case,
                        {"yellow_cards": int(card == "yellow"), "red_cards": int(card == "red")},
                        holder[0],
                        holder[1],
                    )
                )
            if a == "dispatch":
                deadline = _parse(ev.data.get("deadline_at"))
                department = ev.data.get("department_id")
                episode_dept = department
                first_dispatch = first_dispatch or t
                episodes.append(
                    {
                        "at": t,
                        "dept": department,
                        "deadline": deadline,
                        "outcome": None,
                        "outcome_at": None,
                        "outcome_deadline": None,
                        "res": 0,
                        "fail": 0,
                        "returned": 0,
                        "extended": 0,
                    }
                )
            elif a == "decide_extension" and ev.data.get("approve") is True:
                new = _parse(ev.data.get("new_deadline"))
                if new is not None and (deadline is None or new > deadline):
                    deadline = new
                if episodes:
                    episodes[-1]["extended"] = 1
                    episodes[-1]["deadline"] = deadline
            elif a == "resolve":
                last_resolve = t
                if episodes:
                    e = episodes[-1]
                    e["res"] += 1
                    e["outcome"], e["outcome_at"] = "resolve", t
                    e["outcome_deadline"] = e["deadline"]
            elif a == "verify":
                passed = ev.to_state == "closed"
                verifications.append((ev, t, last_resolve, episode_dept))
                if not passed and episodes:
                    episodes[-1]["fail"] += 1
                    episodes[-1]["outcome"] = "fail"
            elif a == "return":
                if episodes:
                    episodes[-1]["returned"] = 1
                    episodes[-1]["outcome"] = "return"
            elif a == "rate":
                rating = ev.data.get("rating")
        # --- cohort family ------------------------------------------------------------
        acc = next((t for ev, t in evs if ev.action in ("accept", "self_handle")), None)
        if acc is not None and in_period(acc):
            closed = state == "closed"
            suspended = state == "suspended"
            on_time = closed and (
                last_resolve is None or deadline is None or last_resolve <= deadline
            )
            overdue = (
                state in ("dispatched", "in_progress")
                and deadline is not None
                and deadline < q.as_of
            ) or (
                state == "resolved"
                and deadline is not None
                and last_resolve is not None
                and last_resolve > deadline
            )
            handled = closed and first_dispatch is not None
            self_handled = any(ev.action == "self_handle" for ev, _ in evs)
            local = closed and (
                holder[1] in ("town", "community") or (self_handled and first_dispatch is None)
            )
            handling_us = 0
            if handled:
                assert last_resolve is not None and first_dispatch is not None
                handling_us = cal.work_micros_between(first_dispatch, last_resolve)
            counts = {
                "accepted": 1,
                "self_handled": int(any(ev.action == "self_handle" for ev, _ in evs)),
                "suspended": int(suspended),
                "due": int(not suspended),
                "closed": int(closed),
                "closed_on_time": int(on_time),
                "overdue_open": int(overdue),
                "rated": int(rating is not None),
                "satisfied": int(rating in ("satisfied", "basically_satisfied")),
                "handled": int(handled),
                "handling_us": handling_us,
                "escalated": int(escalated),
                "closed_locally": int(local),
            }
            assert accepted_by is not None
            out.append(
                Contribution(
                    "cohort",
                    acc,
                    department,
                    case.reporter,
                    case,
                    counts,
                    accepted_by[0],
                    accepted_by[1],
                )
            )
        # --- dispatch family ----------------------------------------------------------
        for e in episodes:
            if not in_period(e["at"]):
                continue
            on_time = e["outcome"] == "resolve" and (
                e["outcome_deadline"] is None or e["outcome_at"] <= e["outcome_deadline"]
            )
            out.append(
                Contribution(
                    "dispatch",
                    e["at"],
                    e["dept"],
                    case.reporter,
                    case,
                    {
                        "dispatches": 1,
                        "resolved_on_time": int(on_time),
                        "resolutions": e["res"],
                        "reworks": e["fail"],
                        "returns": e["returned"],
                        "extended": e["extended"],
                    },
                )
            )
        # --- verification family ------------------------------------------------------
        for ev, t, resolved_at, dept in verifications:
            if not in_period(t):
                continue
            ok = resolved_at is not None and cal.work_micros_between(resolved_at, t) <= limit_us
            out.append(
                Contribution(
                    "verification",
                    t,
                    dept,
                    ev.actor_id,
                    case,
                    {"verifications": 1, "verified_on_time": int(ok)},
                )
            )
    return out


FAMILY_KEYS = {
    "report": ["reported", "valid_reports"],
    "reject": ["rejected"],
    "cohort": [
        "accepted",
        "self_handled",
        "suspended",
        "due",
        "closed",
        "closed_on_time",
        "overdue_open",
        "rated",
        "satisfied",
        "handled",
        "handling_us",
        "escalated",
        "closed_locally",
    ],
    "dispatch": ["dispatches", "resolved_on_time", "resolutions", "reworks", "returns", "extended"],
    "verification": ["verifications", "verified_on_time"],
    "card": ["yellow_cards", "red_cards"],
}


def _passes(c: Contribution, q: Question) -> bool | None:
    """Whether a contribution is inside the filters (None: the family does not apply)."""
    for kind, values in q.filters:
        if kind == "county_id":
            continue  # every test case is in the county
        if kind == "town_id" and c.case.town not in values:
            return False
        if kind == "community_id" and c.case.community not in values:
            return False
        if kind == "grid" and c.case.grid not in values:
            return False
        if kind == "category" and c.case.category not in values:
            return False
        if kind == "department":
            if c.family in ("report", "reject"):
                return None
            if c.department not in values:
                return False
        if kind == "worker" and c.worker not in values:
            return False
    return True


def group_key(
    c: Contribution, by: str, cal: WorkCalendar, grid_workers: frozenset[int] | None = None
) -> tuple[bool, Any]:
    """(applies, key) of a contribution under a grouping."""
    if by == "county":
        return True, c.case.county
    if by == "town":
        return True, c.case.town
    if by == "community":
        return True, c.case.community
    if by == "grid":
        return True, c.case.grid
    if by == "category":
        return True, c.case.category
    if by == "department":
        return (c.family not in ("report", "reject")), c.department
    if by == "centre":
        return c.family in ("cohort", "card"), c.centre
    if by == "level":
        return c.family in ("cohort", "card"), LEVEL_KEYS.get(c.level or "")
    if by == "worker":
        if grid_workers is not None and c.worker not in grid_workers:
            return True, None  # not a grid worker: the "none" line, never ranked
        return True, c.worker
    return True, _bucket(c.moment, by, cal)


def answer(
    cases: list[OCase], q: Question, cal: WorkCalendar
) -> tuple[dict[str, Any], dict[Any, dict[str, Any]]]:
    """(total counts, {group key: counts}) — None for a family that does not apply."""
    contribs = contributions(cases, q, cal)
    total: dict[str, Any] = {}
    groups: dict[Any, dict[str, Any]] = defaultdict(dict)
    for family, keys in FAMILY_KEYS.items():
        mine = [c for c in contribs if c.family == family]
        probe = Contribution(family, q.start, None, None, OCase(0, None, None, None, 0, None), {})
        applies = all(
            _passes(probe, Question(q.start, q.end, q.as_of, q.by, [f])) is not None
            for f in q.filters
        )
        if not applies:
            total.update(dict.fromkeys(keys))
            continue
        mine = [c for c in mine if _passes(c, q)]
        for k in keys:
            total[k] = sum(c.counts[k] for c in mine)
        if q.by:
            split = group_key(probe, q.by, cal)[0]
            for c in mine:
                if not split:
                    continue
                _, key = group_key(c, q.by, cal, q.grid_workers)
                for k in keys:
                    groups[key][k] = groups[key].get(k, 0) + c.counts[k]
    return total, dict(groups)


def local_midnight(day: date, cal: WorkCalendar) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=cal.tz)


def period_bounds(first: date, last: date, cal: WorkCalendar) -> tuple[datetime, datetime]:
    return local_midnight(first, cal), local_midnight(last + timedelta(days=1), cal)


# --- assessment (docs/metrics.md §9) ------------------------------------------------------------
# Written from the words of §9, over the same event lists: no SQL, no server.metrics.

ACCEPT_STARTS = ("report", "resume", "escalate", "devolve", "pull_up")
DISPATCH_STARTS = ("accept", "return", "reopen", "resume", "escalate", "devolve", "pull_up")


def _within_limit(start: datetime, at: datetime, urgent: bool, cal: WorkCalendar) -> bool:
    """The default limit of the accept and dispatch stages: 4 working hours, 1 natural hour
    when urgent (no stored limits in these tests)."""
    if at <= start:
        return True
    if urgent:
        return at - start <= timedelta(hours=1)
    return cal.work_micros_between(start, at) <= 4 * HOUR_US


def _accepted_at(evs: list[tuple[OEvent, datetime]]) -> tuple[OEvent, datetime] | None:
    for ev, t in evs:
        if ev.action in ("accept", "self_handle"):
            return ev, t
    return None


def grid_answer(
    cases: list[OCase], assigned: dict[int, set[str]], q: Question
) -> dict[int, dict[str, int]]:
    """{worker: {grid_cases, missed_reports}} for the workers of ``assigned`` (worker → grids)."""
    out = {w: {"grid_cases": 0, "missed_reports": 0} for w in assigned}
    for case in cases:
        first = _accepted_at(_timed(case, q.as_of))
        if first is None or not (q.start <= first[1] < q.end) or case.grid is None:
            continue
        of_grid = {w for w, grids in assigned.items() if case.grid in grids}
        for w in of_grid:
            out[w]["grid_cases"] += 1
            out[w]["missed_reports"] += int(case.reporter not in of_grid)
    return out


def desk_answer(
    cases: list[OCase], urgent: set[int], q: Question, cal: WorkCalendar
) -> dict[int, dict[str, int]]:
    """{person: desk counts} for everyone who accepted or dispatched in the period."""
    out: dict[int, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(
            (
                "desk_accepts",
                "accepted_on_time",
                "desk_dispatches",
                "dispatched_on_time",
                "accurate_dispatches",
                "desk_volume",
            ),
            0,
        )
    )

    def clock(evs: list[tuple[OEvent, datetime]], before: int, state: str, starts: tuple[str, ...]):
        found = None
        for ev, t in evs[:before]:
            if ev.to_state == state and ev.action in starts:
                found = t
        return found

    for case in cases:
        evs = _timed(case, q.as_of)
        first = _accepted_at(evs)
        is_urgent = case.id in urgent
        if first is not None and first[0].action == "accept" and q.start <= first[1] < q.end:
            ev, t = first
            i = next(n for n, (e, _) in enumerate(evs) if e is ev)
            if ev.actor_id is not None:
                c = out[ev.actor_id]
                c["desk_accepts"] += 1
                start = clock(evs, i, "reported", ACCEPT_STARTS)
                c["accepted_on_time"] += start is None or _within_limit(start, t, is_urgent, cal)
        for i, (ev, t) in enumerate(evs):
            if ev.action != "dispatch" or not (q.start <= t < q.end) or ev.actor_id is None:
                continue
            c = out[ev.actor_id]
            c["desk_dispatches"] += 1
            start = clock(evs, i, "accepted", DISPATCH_STARTS)
            c["dispatched_on_time"] += start is None or _within_limit(start, t, is_urgent, cal)
            returned = False
            for later, _t in evs[i + 1 :]:
                if later.action == "dispatch":
                    break
                returned = returned or later.action == "return"
            c["accurate_dispatches"] += not returned
    for c in out.values():
        c["desk_volume"] = c["desk_accepts"] + c["desk_dispatches"]
    return dict(out)
