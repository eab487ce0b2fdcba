"""The fold of the event trail into ``metric_events``, as SQL: the current definition.

``metric_events`` holds, per ``incident_events`` row, the event re-typed plus the state of its
case right after it (:mod:`server.models.metric_events`). The same fold exists twice: as window
functions over a case's whole trail (:func:`rebuild_select`: ``flask metrics rebuild``, the
back-fill, a refold after an out-of-order event) and step by step from the previous row
(:func:`step_select`, in the triggers); tests/metrics/test_projection.py checks they agree.

The triggers in the database were written by a migration, which keeps its own frozen copy of
this module (migration 0015 today). A change here needs a new migration that installs the new
triggers with a frozen copy of the new SQL; tests/metrics/test_projection.py fails while this
module and the latest such copy disagree, so ``flask metrics rebuild`` and ``check`` always fold
exactly as the triggers do.
"""

from __future__ import annotations

from server.domain.workflow import SYSTEM, Action
from server.models.metric_events import (
    ACTION_CODES,
    LEVEL_CODES,
    OPEN_END,
    RATING_CODES,
    STATE_CODES,
)

EVENT_COLUMNS = [
    "event_id",
    "incident_id",
    "action",
    "at_us",
    "to_state",
    "actor_id",
    "dept_id",
    "deadline_us",
    "flag",
    "rating",
]
FOLD_COLUMNS = [
    "valid_to_us",
    "ep_to_us",
    "rep_us",
    "acc_us",
    "rej_us",
    "self_h",
    "first_disp_us",
    "last_res_us",
    "cur_rating",
    "ep_id",
    "ep_us",
    "ep_dept",
    "ep_deadline_us",
    "ep_returned",
    "ep_extended",
    "ep_res",
    "ep_fail",
    "ep_res_us",
    "ep_ok",
    "hold_id",
    "hold_lv",
    "acc_hold",
    "acc_lv",
    "esc",
]
ATTR_COLUMNS = ["county_id", "town_id", "community_id", "grid_code", "category_id", "reporter_id"]
COLUMNS = EVENT_COLUMNS + FOLD_COLUMNS + ATTR_COLUMNS
COLUMN_LIST = ", ".join(COLUMNS)

# Action codes used by the fold.
REP, SELF, ACC, REJ, DISP, RET, RES, VER, DEC, RATE, ESC = (
    ACTION_CODES[a]
    for a in (
        "report",
        "self_handle",
        "accept",
        "reject",
        "dispatch",
        "return",
        "resolve",
        "verify",
        "decide_extension",
        "rate",
        Action.ESCALATE,
    )
)
# The events that name the centre holding the case after them (data.centre: {id, level}).
CENTRE_ACTIONS = ", ".join(
    f"'{a.value}'"
    for a in (Action.REPORT, Action.SELF_HANDLE, Action.ESCALATE, Action.DEVOLVE, Action.PULL_UP)
)
SUPERVISE = Action.SUPERVISE.value
# A case whose trail names no centre (written before levels of command) is held by its county.
COUNTY_LV = LEVEL_CODES["county"]
COMMUNITY_LV = LEVEL_CODES["community"]
# acc_hold of a case accepted while no centre was named yet: its county (resolved last).
NO_CENTRE = 2147483647


def _case(expr: str, codes: dict[str, int], default: str = "0") -> str:
    whens = " ".join(f"WHEN '{k}' THEN {v}" for k, v in codes.items())
    return f"CASE {expr} {whens} ELSE {default} END"


# --- the typed event ("base"), per dialect ----------------------------------------------------


def _card(card: str, stage: str) -> str:
    """flag of a sweep's card (督办 by ``system``): 1 yellow, 2 red; + 2 on the handle stage
    (the cards a department is charged with); NULL for any other supervise event."""
    return (
        f"(CASE {card} WHEN 'yellow' THEN 1 WHEN 'red' THEN 2 END "
        f"+ CASE WHEN {stage} = 'handle' THEN 2 ELSE 0 END)"
    )


def _pg_base(r: str) -> str:
    """The typed event of incident_events row ``r`` (``NEW`` or an alias), PostgreSQL."""
    approve = (
        f"coalesce(metric_json({r}.data, 'approve'), metric_json({r}.data, 'approved')) = 'true'"
    )
    centre = f"(CASE WHEN json_typeof({r}.data) = 'object' THEN {r}.data -> 'centre' END)"
    cid = f"metric_int(metric_json({centre}, 'id'))"
    lv = _case(f"metric_json({centre}, 'level')", LEVEL_CODES, "NULL")
    named = f"{r}.action IN ({CENTRE_ACTIONS}) AND {cid} IS NOT NULL AND {lv} IS NOT NULL"
    return f"""{r}.id AS event_id, {r}.incident_id AS incident_id,
        {_case(f"{r}.action", ACTION_CODES)} AS action,
        round(extract(epoch FROM {r}.created_at) * 1000000)::bigint AS raw_us,
        {_case(f"{r}.to_state", STATE_CODES)} AS to_state, {r}.actor_id AS actor_id,
        metric_int(metric_json({r}.data, 'department_id')) AS dept_id,
        CASE WHEN {r}.action = 'dispatch' THEN metric_ts_us(metric_json({r}.data, 'deadline_at'))
             WHEN {r}.action = 'decide_extension' AND {approve}
             THEN metric_ts_us(metric_json({r}.data, 'new_deadline')) END AS deadline_us,
        CASE WHEN {r}.action = 'verify' THEN (CASE WHEN {r}.to_state = 'closed' THEN 1 ELSE 0 END)
             WHEN {r}.action = 'decide_extension' THEN (CASE WHEN {approve} THEN 1 ELSE 0 END)
             WHEN {r}.action = '{SUPERVISE}' AND {r}.actor_role = '{SYSTEM}'
             THEN {_card(f"metric_json({r}.data, 'card')", f"metric_json({r}.data, 'stage')")}
             END AS flag,
        CASE WHEN {r}.action = 'rate'
             THEN {_case(f"metric_json({r}.data, 'rating')", RATING_CODES, "NULL")} END
             AS rating,
        CASE WHEN {named} THEN {cid} END AS cen_id,
        CASE WHEN {named} THEN {lv} END AS cen_lv"""


def _sqlite_ts_us(x: str) -> str:
    """Microseconds since 1970 of a stored or ISO 8601 time ``x``; NULL if unreadable.

    SQLite's date functions round fractions to milliseconds, so the fraction is cut off
    before ``strftime('%s')`` and added back exactly.
    """
    frac = f"substr({x}, 21)"
    rest = f"ltrim({frac}, '0123456789')"
    digits = f"substr({frac}, 1, length({frac}) - length({rest}))"
    return (
        f"(CASE WHEN {x} IS NULL THEN NULL "
        f"WHEN substr({x}, 20, 1) = '.' THEN "
        f"CAST(strftime('%s', substr({x}, 1, 19) || {rest}) AS INTEGER) * 1000000 "
        f"+ CAST(substr({digits} || '000000', 1, 6) AS INTEGER) "
        f"ELSE CAST(strftime('%s', {x}) AS INTEGER) * 1000000 END)"
    )


def _sqlite_json(r: str, key: str) -> str:
    return f"(CASE WHEN json_valid({r}.data) THEN json_extract({r}.data, '$.{key}') END)"


def _sqlite_base(r: str) -> str:
    dep = _sqlite_json(r, "department_id")
    dep_type = f"(CASE WHEN json_valid({r}.data) THEN json_type({r}.data, '$.department_id') END)"
    approve = (
        f"(CASE WHEN json_valid({r}.data) THEN "
        f"coalesce(json_type({r}.data, '$.approve'), json_type({r}.data, '$.approved')) END)"
        " = 'true'"
    )
    cen = _sqlite_json(r, "centre.id")
    cen_type = f"(CASE WHEN json_valid({r}.data) THEN json_type({r}.data, '$.centre.id') END)"
    cid = (
        f"(CASE WHEN {cen_type} = 'integer' AND {cen} BETWEEN 0 AND 999999999 THEN {cen} "
        f"WHEN {cen_type} = 'text' AND {cen} <> '' AND {cen} NOT GLOB '*[^0-9]*' "
        f"AND length({cen}) <= 9 THEN CAST({cen} AS INTEGER) END)"
    )
    lv = _case(_sqlite_json(r, "centre.level"), LEVEL_CODES, "NULL")
    named = f"{r}.action IN ({CENTRE_ACTIONS}) AND {cid} IS NOT NULL AND {lv} IS NOT NULL"
    return f"""{r}.id AS event_id, {r}.incident_id AS incident_id,
        {_case(f"{r}.action", ACTION_CODES)} AS action,
        {_sqlite_ts_us(f"{r}.created_at")} AS raw_us,
        {_case(f"{r}.to_state", STATE_CODES)} AS to_state, {r}.actor_id AS actor_id,
        CASE WHEN {dep_type} = 'integer' AND {dep} BETWEEN 0 AND 999999999 THEN {dep}
             WHEN {dep_type} = 'text' AND {dep} <> '' AND {dep} NOT GLOB '*[^0-9]*'
                  AND length({dep}) <= 9 THEN CAST({dep} AS INTEGER) END AS dept_id,
        CASE WHEN {r}.action = 'dispatch' THEN {_sqlite_ts_us(_sqlite_json(r, "deadline_at"))}
             WHEN {r}.action = 'decide_extension' AND {approve}
             THEN {_sqlite_ts_us(_sqlite_json(r, "new_deadline"))} END AS deadline_us,
        CASE WHEN {r}.action = 'verify' THEN (CASE WHEN {r}.to_state = 'closed' THEN 1 ELSE 0 END)
             WHEN {r}.action = 'decide_extension' THEN (CASE WHEN {approve} THEN 1 ELSE 0 END)
             WHEN {r}.action = '{SUPERVISE}' AND {r}.actor_role = '{SYSTEM}'
             THEN {_card(_sqlite_json(r, "card"), _sqlite_json(r, "stage"))}
             END AS flag,
        CASE WHEN {r}.action = 'rate'
             THEN {_case(_sqlite_json(r, "rating"), RATING_CODES, "NULL")} END AS rating,
        CASE WHEN {named} THEN {cid} END AS cen_id,
        CASE WHEN {named} THEN {lv} END AS cen_lv"""


def _base(dialect: str, r: str) -> str:
    return _pg_base(r) if dialect == "postgresql" else _sqlite_base(r)


_ATTRS = "i.county_id, i.town_id, i.community_id, i.grid_code, i.category_id, i.reporter_id"


# --- the fold with window functions (rebuild, back-fill) ---------------------------------------


def rebuild_select(dialect: str, where: str = "") -> str:
    """SELECT of every metric_events column for the events matching ``where`` (alias ``e``).

    Nested subqueries only: SQLite allows no WITH inside trigger bodies.
    """
    cond = f"WHERE {where}" if where else ""
    big = "CAST(w.event_id AS BIGINT)"
    ep = "w.ep_id IS NULL"
    return f"""SELECT x.event_id, x.incident_id, x.action, x.at_us, x.to_state, x.actor_id,
        x.dept_id, x.deadline_us, x.flag, x.rating,
        x.valid_to_us, x.ep_to_us, x.rep_us, x.acc_us, x.rej_us, x.self_h, x.first_disp_us,
        x.last_res_us, x.cur_rating, x.ep_id, x.ep_us, x.ep_dept, x.ep_deadline_us,
        x.ep_returned, x.ep_extended, x.ep_res, x.ep_fail, x.ep_res_us, x.ep_ok,
        coalesce(x.hold_id, i.county_id) AS hold_id, x.hold_lv,
        CASE WHEN x.acc_hold = {NO_CENTRE} THEN i.county_id ELSE x.acc_hold END AS acc_hold,
        x.acc_lv, x.esc,
        {_ATTRS}
    FROM (
      SELECT w.event_id, w.incident_id, w.action, w.at_us, w.to_state, w.actor_id, w.dept_id,
        w.deadline_us, w.flag, w.rating, w.ep_id,
        coalesce(lead(w.at_us) OVER o, {OPEN_END}) AS valid_to_us,
        CASE WHEN lead(w.action) OVER o IS NULL OR lead(w.action) OVER o = {DISP}
             THEN {OPEN_END} ELSE lead(w.at_us) OVER o END AS ep_to_us,
        max(CASE WHEN w.action IN ({REP}, {SELF}) THEN w.at_us END) OVER c AS rep_us,
        min(CASE WHEN w.action IN ({SELF}, {ACC}) THEN w.at_us END) OVER c AS acc_us,
        max(CASE WHEN w.action = {REJ} THEN w.at_us END) OVER c AS rej_us,
        max(CASE WHEN w.action = {SELF} THEN 1 ELSE 0 END) OVER c AS self_h,
        min(CASE WHEN w.action = {DISP} THEN w.at_us END) OVER c AS first_disp_us,
        max(CASE WHEN w.action = {RES} THEN w.at_us END) OVER c AS last_res_us,
        (max(CASE WHEN w.action = {RATE} AND w.rating IS NOT NULL THEN {big} * 4 + w.rating END)
            OVER c) % 4 AS cur_rating,
        max(CASE WHEN w.action = {DISP} THEN w.at_us END) OVER c AS ep_us,
        nullif((max(CASE WHEN w.action = {DISP}
                    THEN {big} * 2147483648 + coalesce(w.dept_id, 0) END) OVER c) % 2147483648,
               0) AS ep_dept,
        CASE WHEN {ep} THEN NULL ELSE max(CASE WHEN w.action = {DISP}
             OR (w.action = {DEC} AND w.flag = 1) THEN w.deadline_us END) OVER e
             END AS ep_deadline_us,
        CASE WHEN {ep} THEN NULL
             ELSE max(CASE WHEN w.action = {RET} THEN 1 ELSE 0 END) OVER e END AS ep_returned,
        CASE WHEN {ep} THEN NULL ELSE max(CASE WHEN w.action = {DEC} AND w.flag = 1
             THEN 1 ELSE 0 END) OVER e END AS ep_extended,
        CASE WHEN {ep} THEN NULL
             ELSE sum(CASE WHEN w.action = {RES} THEN 1 ELSE 0 END) OVER e END AS ep_res,
        CASE WHEN {ep} THEN NULL ELSE sum(CASE WHEN w.action = {VER} AND w.flag = 0
             THEN 1 ELSE 0 END) OVER e END AS ep_fail,
        CASE WHEN {ep} THEN NULL
             ELSE max(CASE WHEN w.action = {RES} THEN w.at_us END) OVER e END AS ep_res_us,
        CASE WHEN {ep} THEN NULL ELSE (max(CASE WHEN w.action = {RES} THEN {big} * 2 + 1
             WHEN w.action = {RET} OR (w.action = {VER} AND w.flag = 0) THEN {big} * 2 END)
             OVER e) % 2 END AS ep_ok,
        w.hold_key % 2147483648 AS hold_id,
        coalesce(w.hold_lvk % 8, {COUNTY_LV}) AS hold_lv,
        (min(CASE WHEN w.action IN ({SELF}, {ACC})
             THEN {big} * 2147483648 + coalesce(w.hold_key % 2147483648, {NO_CENTRE}) END)
             OVER c) % 2147483648 AS acc_hold,
        (min(CASE WHEN w.action = {SELF} THEN {big} * 8 + {COMMUNITY_LV}
             WHEN w.action = {ACC} THEN {big} * 8 + coalesce(w.hold_lvk % 8, {COUNTY_LV}) END)
             OVER c) % 8 AS acc_lv,
        max(CASE WHEN w.action = {ESC} THEN 1 ELSE 0 END) OVER c AS esc
      FROM (
        SELECT b.*, max(b.raw_us) OVER c AS at_us,
               max(CASE WHEN b.action = {DISP} THEN b.event_id END) OVER c AS ep_id,
               max(CASE WHEN b.cen_id IS NOT NULL
                   THEN CAST(b.event_id AS BIGINT) * 2147483648 + b.cen_id END) OVER c
                   AS hold_key,
               max(CASE WHEN b.cen_id IS NOT NULL
                   THEN CAST(b.event_id AS BIGINT) * 8 + b.cen_lv END) OVER c AS hold_lvk
        FROM (SELECT {_base(dialect, "e")} FROM incident_events e {cond}) b
        WINDOW c AS (PARTITION BY b.incident_id ORDER BY b.event_id ROWS UNBOUNDED PRECEDING)
      ) w
      WINDOW c AS (PARTITION BY w.incident_id ORDER BY w.event_id ROWS UNBOUNDED PRECEDING),
             e AS (PARTITION BY w.incident_id, w.ep_id ORDER BY w.event_id
                   ROWS UNBOUNDED PRECEDING),
             o AS (PARTITION BY w.incident_id ORDER BY w.event_id)
    ) x LEFT JOIN incidents i ON i.id = x.incident_id"""


# --- the fold one event at a time (triggers) ---------------------------------------------------


def step_select(dialect: str) -> str:
    """SELECT of the metric_events row for trigger row ``NEW``, from the case's previous row."""
    p = ", ".join(f"p.{c} AS p_{c}" for c in FOLD_COLUMNS if c not in ("valid_to_us", "ep_to_us"))
    fail = f"(s.action = {VER} AND s.flag = 0)"
    ext = f"(s.action = {DEC} AND s.flag = 1)"
    later = f"s.action = {DEC} AND s.flag = 1 AND s.deadline_us IS NOT NULL"
    hold = "(CASE WHEN s.cen_id IS NOT NULL THEN s.cen_id ELSE s.p_hold_id END)"
    hold_lv = (
        "(CASE WHEN s.cen_id IS NOT NULL THEN s.cen_lv "
        f"ELSE coalesce(s.p_hold_lv, {COUNTY_LV}) END)"
    )
    return f"""SELECT s.event_id, s.incident_id, s.action, s.at_us, s.to_state, s.actor_id,
        s.dept_id, s.deadline_us, s.flag, s.rating,
        {OPEN_END}, {OPEN_END},
        CASE WHEN s.action IN ({REP}, {SELF}) THEN s.at_us ELSE s.p_rep_us END,
        CASE WHEN s.p_acc_us IS NOT NULL THEN s.p_acc_us
             WHEN s.action IN ({SELF}, {ACC}) THEN s.at_us END,
        CASE WHEN s.action = {REJ} THEN s.at_us ELSE s.p_rej_us END,
        CASE WHEN s.action = {SELF} OR s.p_self_h = 1 THEN 1 ELSE 0 END,
        CASE WHEN s.p_first_disp_us IS NOT NULL THEN s.p_first_disp_us
             WHEN s.action = {DISP} THEN s.at_us END,
        CASE WHEN s.action = {RES} THEN s.at_us ELSE s.p_last_res_us END,
        CASE WHEN s.action = {RATE} AND s.rating IS NOT NULL THEN s.rating
             ELSE s.p_cur_rating END,
        CASE WHEN s.action = {DISP} THEN s.event_id ELSE s.p_ep_id END,
        CASE WHEN s.action = {DISP} THEN s.at_us ELSE s.p_ep_us END,
        CASE WHEN s.action = {DISP} THEN nullif(coalesce(s.dept_id, 0), 0) ELSE s.p_ep_dept END,
        CASE WHEN s.action = {DISP} THEN s.deadline_us
             WHEN s.p_ep_id IS NULL THEN NULL
             WHEN {later} AND (s.p_ep_deadline_us IS NULL OR s.deadline_us > s.p_ep_deadline_us)
             THEN s.deadline_us
             ELSE s.p_ep_deadline_us END,
        CASE WHEN s.action = {DISP} THEN 0 WHEN s.p_ep_id IS NULL THEN NULL
             WHEN s.action = {RET} THEN 1 ELSE s.p_ep_returned END,
        CASE WHEN s.action = {DISP} THEN 0 WHEN s.p_ep_id IS NULL THEN NULL
             WHEN {ext} THEN 1 ELSE s.p_ep_extended END,
        CASE WHEN s.action = {DISP} THEN 0 WHEN s.p_ep_id IS NULL THEN NULL
             WHEN s.action = {RES} THEN s.p_ep_res + 1 ELSE s.p_ep_res END,
        CASE WHEN s.action = {DISP} THEN 0 WHEN s.p_ep_id IS NULL THEN NULL
             WHEN {fail} THEN s.p_ep_fail + 1 ELSE s.p_ep_fail END,
        CASE WHEN s.action = {DISP} OR s.p_ep_id IS NULL THEN NULL
             WHEN s.action = {RES} THEN s.at_us ELSE s.p_ep_res_us END,
        CASE WHEN s.action = {DISP} OR s.p_ep_id IS NULL THEN NULL
             WHEN s.action = {RES} THEN 1 WHEN s.action = {RET} OR {fail} THEN 0
             ELSE s.p_ep_ok END,
        coalesce({hold}, i.county_id), {hold_lv},
        CASE WHEN s.p_acc_us IS NOT NULL THEN s.p_acc_hold
             WHEN s.action IN ({SELF}, {ACC}) THEN coalesce({hold}, i.county_id) END,
        CASE WHEN s.p_acc_us IS NOT NULL THEN s.p_acc_lv
             WHEN s.action = {SELF} THEN {COMMUNITY_LV} WHEN s.action = {ACC} THEN {hold_lv} END,
        CASE WHEN s.action = {ESC} OR s.p_esc = 1 THEN 1 ELSE 0 END,
        {_ATTRS}
    FROM (
      SELECT n.*, {p},
        CASE WHEN p.at_us IS NOT NULL AND p.at_us > n.raw_us THEN p.at_us ELSE n.raw_us END
            AS at_us
      FROM (SELECT {_base(dialect, "NEW")}) n
      LEFT JOIN (SELECT * FROM metric_events WHERE incident_id = NEW.incident_id
                 AND event_id < NEW.id ORDER BY event_id DESC LIMIT 1) p ON 1 = 1
    ) s LEFT JOIN incidents i ON i.id = s.incident_id"""


# The previous row of the case now ends where the new event starts (and so does its episode,
# unless the new event starts a new one).
_CLOSE_PREVIOUS = """UPDATE metric_events
    SET valid_to_us = (SELECT m.at_us FROM metric_events m WHERE m.event_id = NEW.id),
        ep_to_us = CASE WHEN NEW.action = 'dispatch' THEN ep_to_us
                        ELSE (SELECT m.at_us FROM metric_events m WHERE m.event_id = NEW.id) END
    WHERE event_id = (SELECT max(m.event_id) FROM metric_events m
                      WHERE m.incident_id = NEW.incident_id AND m.event_id < NEW.id)"""


# --- PostgreSQL -------------------------------------------------------------------------------

PG_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION metric_ts_us(v text) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF v IS NULL OR btrim(v) = '' THEN
    RETURN NULL;
  END IF;
  IF v ~ '[Tt ]\d\d:\d\d(:\d\d(\.\d+)?)?\s*([Zz]|[+-]\d\d(:?\d\d)?)$' THEN
    RETURN round(extract(epoch FROM v::timestamptz) * 1000000)::bigint;
  END IF;
  RETURN round(extract(epoch FROM (v::timestamp AT TIME ZONE 'UTC')) * 1000000)::bigint;
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION metric_int(v text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN v ~ '^\d{1,9}$' THEN v::integer END
$$;

-- A json column always holds valid JSON; only non-objects need care. Plain SQL so that
-- the planner inlines it (no per-row function call, no subtransaction).
CREATE OR REPLACE FUNCTION metric_json(d json, k text) RETURNS text LANGUAGE sql
IMMUTABLE AS $$
  SELECT CASE WHEN json_typeof(d) = 'object' THEN d ->> k END
$$;
"""


def pg_trigger() -> str:
    return f"""
CREATE OR REPLACE FUNCTION metric_rebuild_case(case_id integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM metric_events WHERE incident_id = case_id;
  INSERT INTO metric_events ({COLUMN_LIST})
  {rebuild_select("postgresql", "e.incident_id = case_id")};
END $$;

CREATE OR REPLACE FUNCTION metric_events_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF EXISTS (SELECT 1 FROM metric_events
               WHERE incident_id = NEW.incident_id AND event_id > NEW.id) THEN
      -- appended out of id order: fold the whole case again
      PERFORM metric_rebuild_case(NEW.incident_id);
      RETURN NULL;
    END IF;
    INSERT INTO metric_events ({COLUMN_LIST})
    {step_select("postgresql")};
    {_CLOSE_PREVIOUS};
    RETURN NULL;
  END IF;
  -- The trail is append-only; should a row be changed or removed anyway, refold its case.
  PERFORM metric_rebuild_case(OLD.incident_id);
  IF TG_OP = 'UPDATE' AND NEW.incident_id <> OLD.incident_id THEN
    PERFORM metric_rebuild_case(NEW.incident_id);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER metric_events_sync AFTER INSERT OR UPDATE OR DELETE ON incident_events
FOR EACH ROW EXECUTE FUNCTION metric_events_sync();
"""


PG_DROP = """
DROP TRIGGER IF EXISTS metric_events_sync ON incident_events;
DROP FUNCTION IF EXISTS metric_events_sync();
DROP FUNCTION IF EXISTS metric_rebuild_case(integer);
DROP FUNCTION IF EXISTS metric_ts_us(text);
DROP FUNCTION IF EXISTS metric_int(text);
DROP FUNCTION IF EXISTS metric_json(json, text);
"""


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_refold(case: str, when: str = "1 = 1") -> list[str]:
    return [
        f"DELETE FROM metric_events WHERE incident_id = {case} AND {when}",
        f"INSERT INTO metric_events ({COLUMN_LIST}) SELECT * FROM "
        f"({rebuild_select('sqlite', f'e.incident_id = {case}')}) WHERE {when}",
    ]


def sqlite_triggers() -> list[str]:
    exists_later = (
        "EXISTS (SELECT 1 FROM metric_events m WHERE m.incident_id = NEW.incident_id "
        "AND m.event_id > NEW.id)"
    )
    body_insert = [
        # appended out of id order: fold the whole case again
        f"DELETE FROM metric_events WHERE incident_id = NEW.incident_id AND {exists_later}",
        # first event of a case, or the case was just emptied above: fold from the trail
        f"INSERT INTO metric_events ({COLUMN_LIST}) SELECT * FROM "
        f"({rebuild_select('sqlite', 'e.incident_id = NEW.incident_id')}) "
        "WHERE NOT EXISTS (SELECT 1 FROM metric_events m WHERE m.incident_id = NEW.incident_id)",
        # the usual case: one step from the previous row
        f"INSERT INTO metric_events ({COLUMN_LIST}) SELECT * FROM ({step_select('sqlite')}) "
        "WHERE NOT EXISTS (SELECT 1 FROM metric_events m WHERE m.event_id = NEW.id)",
        _CLOSE_PREVIOUS,
    ]
    body_delete = _sqlite_refold("OLD.incident_id")
    body_update = _sqlite_refold("OLD.incident_id") + _sqlite_refold(
        "NEW.incident_id", "NEW.incident_id <> OLD.incident_id"
    )

    def trigger(name: str, event: str, body: list[str]) -> str:
        statements = "".join(f"  {s};\n" for s in body)
        return f"CREATE TRIGGER {name} AFTER {event} ON incident_events BEGIN\n{statements}END"

    return [
        trigger("metric_events_ai", "INSERT", body_insert),
        trigger("metric_events_ad", "DELETE", body_delete),
        trigger("metric_events_au", "UPDATE", body_update),
    ]


SQLITE_TRIGGER_NAMES = ("metric_events_ai", "metric_events_ad", "metric_events_au")


def backfill_sql(dialect: str) -> str:
    return f"INSERT INTO metric_events ({COLUMN_LIST}) {rebuild_select(dialect)}"
