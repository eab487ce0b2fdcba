"""Assessment (考核) indicators beyond the case metrics: a sibling table of
:data:`server.domain.metric_definitions.METRICS` (DESIGN §11, docs/metrics.md "Assessment").

The case metrics are counted per group from the folded trail; these are counted per *person*
(or per town) from what that person did or what lies in their grids, so they live in their own
table, each with the same fields (labels, definition, formula, numerator and denominator) that
travel to the console, the exports' definitions sheet and docs/metrics.md (a test checks the doc).
No Flask and no SQL here; :mod:`server.metrics.assessment` counts them.

Families:

- ``grid``: cases accepted (立案) in the period that lie in a grid worker's grids (漏报率);
- ``desk``: what a dispatcher (受理派遣: takes hotline calls, accepts and dispatches) did:
  acceptances (受理) and dispatches (派遣) made in the period;
- ``field``: a grid worker's field work in the period: patrols (巡查) and visits (走访).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from server.domain.metric_definitions import METRIC_BY_KEY, Metric, _m

INDICATORS: tuple[Metric, ...] = (
    # --- grid family: a grid worker's grids ---------------------------------------------------
    _m(
        "grid_cases",
        "网格案件数",
        "Cases in own grids",
        "count",
        "grid",
        "期内立案、截至统计时点位于本人所负责网格的案件数",
        "count(立案集合 且 网格 ∈ 本人网格)",
        higher_is_better=None,
    ),
    _m(
        "missed_reports",
        "漏报数",
        "Missed reports",
        "count",
        "grid",
        "网格案件中首次上报人不是该网格网格员的（群众、热线、其他人员发现的）",
        "count(网格案件 且 上报人 ∉ 该网格的网格员)",
        higher_is_better=False,
    ),
    _m(
        "missed_report_rate",
        "漏报率",
        "Missed report rate",
        "rate",
        "grid",
        "漏报数 ÷ 网格案件数",
        "漏报数 ÷ 网格案件数",
        "missed_reports",
        "grid_cases",
        False,
    ),
    # --- desk family: dispatchers (受理派遣) -----------------------------------------------------
    _m(
        "desk_accepts",
        "受理数",
        "Acceptances",
        "count",
        "desk",
        "期内由本人受理立案的案件数",
        "count(立案在期内 且 受理人 = 本人)",
        higher_is_better=None,
    ),
    _m(
        "accepted_on_time",
        "按时受理数",
        "Accepted on time",
        "count",
        "desk",
        "受理中不晚于受理环节时限（自上报起）的",
        "count(受理时间 ≤ 上报时间 + 受理时限)",
    ),
    _m(
        "accept_on_time_rate",
        "按时受理率",
        "On-time acceptance rate",
        "rate",
        "desk",
        "按时受理数 ÷ 受理数",
        "按时受理数 ÷ 受理数",
        "accepted_on_time",
        "desk_accepts",
    ),
    _m(
        "desk_dispatches",
        "派遣次数",
        "Dispatches made",
        "count",
        "desk",
        "期内由本人派遣的次数",
        "count(派遣事件在期内 且 派遣人 = 本人)",
        higher_is_better=None,
    ),
    _m(
        "dispatched_on_time",
        "按时派遣数",
        "Dispatched on time",
        "count",
        "desk",
        "派遣中不晚于派遣环节时限（自最近一次进入待派遣起）的",
        "count(派遣时间 ≤ 进入待派遣时间 + 派遣时限)",
    ),
    _m(
        "dispatch_on_time_rate",
        "按时派遣率",
        "On-time dispatch rate",
        "rate",
        "desk",
        "按时派遣数 ÷ 派遣次数",
        "按时派遣数 ÷ 派遣次数",
        "dispatched_on_time",
        "desk_dispatches",
    ),
    _m(
        "accurate_dispatches",
        "准确派遣数",
        "Accurate dispatches",
        "count",
        "desk",
        "派遣次数 − 截至统计时点被处置部门退回的派遣",
        "派遣次数 − count(派遣段以退回结束)",
    ),
    _m(
        "accurate_dispatch_rate",
        "准确派遣率",
        "Accurate dispatch rate",
        "rate",
        "desk",
        "准确派遣数 ÷ 派遣次数",
        "准确派遣数 ÷ 派遣次数",
        "accurate_dispatches",
        "desk_dispatches",
    ),
    _m(
        "desk_volume",
        "受理派遣量",
        "Desk volume",
        "count",
        "desk",
        "受理数 + 派遣次数",
        "受理数 + 派遣次数",
    ),
)

INDICATORS += (
    # --- field family: a grid worker's patrols and visits --------------------------------------
    _m(
        "patrols",
        "巡查次数",
        "Patrols",
        "count",
        "field",
        "期内开始、截至统计时点已开始的本人巡查次数",
        "count(巡查 开始时间在期内 且 ≤ T)",
        higher_is_better=None,
    ),
    _m(
        "patrol_days",
        "巡查天数",
        "Patrol days",
        "count",
        "field",
        "期内至少开始一次巡查的天数（按县区当地日期）",
        "count(distinct 当地日期(巡查开始时间))",
    ),
    _m(
        "patrol_distance",
        "巡查里程",
        "Patrol distance",
        "count",
        "field",
        "这些巡查的轨迹里程之和（公里，保留两位小数）",
        "Σ 巡查里程(米) ÷ 1000",
    ),
    _m(
        "patrol_coverage",
        "巡查覆盖率",
        "Patrol coverage",
        "rate",
        "field",
        "这些巡查中已算出覆盖率的，其覆盖率（本人网格面积中距轨迹 50 米以内的比例）的平均值",
        "Σ 覆盖率 ÷ 已算出覆盖率的巡查数",
    ),
    _m(
        "visits_due",
        "应访数",
        "Visits due",
        "count",
        "field",
        "本人网格内重点人群按走访周期在期内（截至统计时点当天）应走访的次数",
        "Σ 每名重点人员期内的应访日数（上次走访或列管日 + 周期）",
        higher_is_better=None,
    ),
    _m(
        "visits_done",
        "已访数",
        "Visits done",
        "count",
        "field",
        "应访中在期内、统计时点前已走访（本人或住户被走访）的",
        "count(应访 且 上次走访后期内有走访)",
    ),
    _m(
        "visits_done_rate",
        "走访完成率",
        "Visits done rate",
        "rate",
        "field",
        "已访数 ÷ 应访数",
        "已访数 ÷ 应访数",
        "visits_done",
        "visits_due",
    ),
)

INDICATOR_BY_KEY: dict[str, Metric] = {m.key: m for m in INDICATORS}
INDICATOR_KEYS: tuple[str, ...] = tuple(m.key for m in INDICATORS)
#: Every metric a scorecard may name: the case metrics and the indicators above.
ALL_BY_KEY: dict[str, Metric] = {**METRIC_BY_KEY, **INDICATOR_BY_KEY}
assert not set(METRIC_BY_KEY) & set(INDICATOR_BY_KEY)


def derive(
    counts: Mapping[str, int | None], families: tuple[str, ...] = ("grid", "desk", "field")
) -> dict[str, float | int | None]:
    """The values of the indicators of ``families`` from their counts (a rate: numerator ÷
    denominator, None over 0; a count not given: None)."""
    out: dict[str, float | int | None] = {}
    chosen = [m for m in INDICATORS if m.family in families]
    for m in chosen:
        if m.kind != "rate":
            out[m.key] = counts.get(m.key)
    for m in chosen:
        if m.kind == "rate" and m.numerator is None:
            out[m.key] = counts.get(m.key)  # an average, given as it is (巡查覆盖率)
        elif m.kind == "rate":
            num, den = out.get(m.numerator or ""), out.get(m.denominator or "")
            out[m.key] = None if num is None or not den else num / den
    return out


def due_visits(
    cycle_days: int,
    since: date,
    last_before: date | None,
    visits: list[date],
    first: date,
    last: date,
) -> list[tuple[date, date | None]]:
    """The visits a key-group member was due between ``first`` and ``last`` (local days), each
    with the day it was done (None: not done).

    The first is due one cycle after the last visit before ``first`` (or after ``since``, the
    day the tag was given); one due before ``first`` and not yet made counts once, on
    ``first``. A visit made before the next one falls due does it (early or late), and the
    following one is due a cycle after that visit; a whole cycle without a visit leaves it
    undone, and the next is due a cycle after it. ``visits``: the days of the visits made from
    ``first`` to ``last``."""
    cycle = timedelta(days=cycle_days)
    cursor = last_before if last_before is not None else since
    due = max(cursor + cycle, first)
    pending = sorted(v for v in visits if v > cursor)
    out: list[tuple[date, date | None]] = []
    while due <= last:
        if pending and pending[0] < due + cycle:
            done = pending[0]
            out.append((due, done))
            due = done + cycle
            pending = [v for v in pending if v > done]
        else:
            out.append((due, None))
            due += cycle
    return out
