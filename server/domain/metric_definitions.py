"""Supervisor metrics (DESIGN §4) as plain code: what each number is and how rates derive.

No Flask and no SQL here. ``docs/metrics.md`` says the same in words, with worked examples;
``tests/metrics/test_docs.py`` fails if a metric below has no section there. The queries that
count cases are in :mod:`server.metrics`; they count, for each metric, exactly the cases the
definitions below describe.

Four *families* of metrics, each counted over its own set of things:

- ``report``: cases reported (上报) or rejected (不予立案) in the period;
- ``cohort``: cases accepted (立案, self-handled included) in the period, as they stand at the
  as-of moment (DESIGN §4: "Cohort: cases accepted in the period");
- ``dispatch``: dispatches (派遣) made in the period, each followed until the next dispatch of
  its case or the as-of moment; the department figures;
- ``verification``: verifications (核查) made in the period;
- ``card``: the sweep's yellow and red supervision cards (黄牌/红牌督办) raised in the period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

MetricKind = Literal["count", "rate", "hours"]
Family = Literal["report", "cohort", "dispatch", "verification", "card", "grid", "desk", "field"]
GroupBy = Literal[
    "county",
    "town",
    "community",
    "grid",
    "department",
    "category",
    "worker",
    "centre",
    "level",
    "week",
    "month",
]
ScopeKind = Literal["region", "grid", "department", "category", "worker"]

GROUP_BYS: tuple[GroupBy, ...] = (
    "county",
    "town",
    "community",
    "grid",
    "department",
    "category",
    "worker",
    "centre",
    "level",
    "week",
    "month",
)
GROUP_LABELS: dict[str, tuple[str, str]] = {
    "county": ("区县", "County"),
    "town": ("乡镇/街道", "Town"),
    "community": ("社区/村", "Community"),
    "grid": ("网格", "Grid"),
    "department": ("处置部门", "Department"),
    "category": ("案件类别", "Category"),
    "worker": ("网格员", "Grid worker"),
    "centre": ("指挥中心", "Command centre"),
    "level": ("层级", "Level"),
    "week": ("周", "Week"),
    "month": ("月", "Month"),
}
SCOPE_KINDS: tuple[ScopeKind, ...] = ("region", "grid", "department", "category", "worker")
SCOPE_LABELS: dict[str, tuple[str, str]] = {
    "region": ("行政区划", "Region"),
    "grid": ("网格", "Grid"),
    "department": ("处置部门", "Department"),
    "category": ("案件类别", "Category"),
    "worker": ("人员", "Person"),
}

# A verification is on time when made within this much office time after the resolution
# it checks: one working day of the calendar (7 h with the default office hours).
VERIFY_LIMIT_WORKDAYS = 1


@dataclass(frozen=True)
class Metric:
    key: str
    zh: str
    en: str
    kind: MetricKind
    family: Family
    definition: str  # one sentence, Chinese (exports' definitions sheet)
    formula: str  # as in docs/metrics.md
    numerator: str | None = None  # rates and averages
    denominator: str | None = None
    higher_is_better: bool | None = True

    @property
    def is_ratio(self) -> bool:
        return self.kind in ("rate", "hours")


def _m(
    key: str,
    zh: str,
    en: str,
    kind: MetricKind,
    family: Family,
    definition: str,
    formula: str,
    numerator: str | None = None,
    denominator: str | None = None,
    higher_is_better: bool | None = True,
) -> Metric:
    return Metric(
        key, zh, en, kind, family, definition, formula, numerator, denominator, higher_is_better
    )


METRICS: tuple[Metric, ...] = (
    # --- report family ---------------------------------------------------------------------
    _m(
        "reported",
        "上报数",
        "Reports",
        "count",
        "report",
        "期内上报（含自行处置）的案件数",
        "count(上报或自行处置事件在期内的案件)",
        higher_is_better=None,
    ),
    _m(
        "valid_reports",
        "有效上报数",
        "Valid reports",
        "count",
        "report",
        "期内上报的案件中，截至统计时点已立案（含自行处置）的",
        "count(上报在期内 且 截至T已立案)",
    ),
    _m(
        "valid_report_rate",
        "有效上报率",
        "Valid report rate",
        "rate",
        "report",
        "有效上报数 ÷ 上报数",
        "有效上报数 ÷ 上报数",
        "valid_reports",
        "reported",
    ),
    _m(
        "rejected",
        "不予立案数",
        "Rejected",
        "count",
        "report",
        "期内不予立案（含合并重复）的案件数",
        "count(不予立案事件在期内的案件)",
        higher_is_better=None,
    ),
    # --- cohort family ----------------------------------------------------------------------
    _m(
        "accepted",
        "立案数",
        "Accepted",
        "count",
        "cohort",
        "期内立案（首次受理立案或自行处置）的案件数，即统计口径的案件集合",
        "count(立案时间在期内)",
        higher_is_better=None,
    ),
    _m(
        "self_handled",
        "自行处置数",
        "Self-handled",
        "count",
        "cohort",
        "立案数中由网格员自行处置的",
        "count(立案集合 且 自行处置)",
    ),
    _m(
        "suspended",
        "挂账数",
        "Suspended",
        "count",
        "cohort",
        "立案数中截至统计时点处于挂账状态的",
        "count(立案集合 且 T时状态=挂账)",
        higher_is_better=False,
    ),
    _m(
        "due",
        "应结案数",
        "Due",
        "count",
        "cohort",
        "立案数 − 挂账数",
        "立案数 − 挂账数",
        higher_is_better=None,
    ),
    _m(
        "closed",
        "结案数",
        "Closed",
        "count",
        "cohort",
        "立案数中截至统计时点已结案的",
        "count(立案集合 且 T时状态=已结案)",
    ),
    _m(
        "closure_rate",
        "结案率",
        "Closure rate",
        "rate",
        "cohort",
        "结案数 ÷ 应结案数",
        "结案数 ÷ 应结案数",
        "closed",
        "due",
    ),
    _m(
        "closed_on_time",
        "按期结案数",
        "Closed on time",
        "count",
        "cohort",
        "结案数中最后一次处置反馈不晚于有效处置时限的（自行处置视为按期）",
        "count(已结案 且 (无处置反馈 或 最后处置反馈 ≤ 有效时限))",
    ),
    _m(
        "on_time_closure_rate",
        "按期结案率",
        "On-time closure rate",
        "rate",
        "cohort",
        "按期结案数 ÷ 应结案数",
        "按期结案数 ÷ 应结案数",
        "closed_on_time",
        "due",
    ),
    _m(
        "overdue_open",
        "超期未结数",
        "Overdue, open",
        "count",
        "cohort",
        "立案数中截至统计时点未结案且已超过有效处置时限仍未完成处置的",
        "count(T时在待签收/处置中且时限<T，或待核查且最后处置反馈>时限)",
        higher_is_better=False,
    ),
    _m(
        "rated",
        "评价数",
        "Rated",
        "count",
        "cohort",
        "立案数中截至统计时点有评价的",
        "count(立案集合 且 T前有评价)",
        higher_is_better=None,
    ),
    _m(
        "satisfied",
        "满意数",
        "Satisfied",
        "count",
        "cohort",
        "评价数中最近一次评价为满意或基本满意的",
        "count(最近评价 ∈ {满意, 基本满意})",
    ),
    _m(
        "satisfaction_rate",
        "满意率",
        "Satisfaction rate",
        "rate",
        "cohort",
        "(满意 + 基本满意) ÷ 评价数",
        "满意数 ÷ 评价数",
        "satisfied",
        "rated",
    ),
    _m(
        "handled",
        "派遣结案数",
        "Closed after dispatch",
        "count",
        "cohort",
        "结案数中经过派遣处置的（平均处置时长的分母）",
        "count(已结案 且 有派遣)",
        higher_is_better=None,
    ),
    _m(
        "avg_handling_hours",
        "平均处置时长",
        "Average handling time",
        "hours",
        "cohort",
        "派遣结案案件从首次派遣到最后一次处置反馈的工作时长的平均值（小时）",
        "Σ 工作时长(首次派遣 → 最后处置反馈) ÷ 派遣结案数",
        "handling_hours",
        "handled",
        False,
    ),
    # --- cohort family: levels of command (DESIGN §9) ---------------------------------------
    _m(
        "escalated",
        "上报上级数",
        "Escalated",
        "count",
        "cohort",
        "立案数中截至统计时点曾被上报（上报上级指挥中心）的",
        "count(立案集合 且 T前有上报上级)",
        higher_is_better=None,
    ),
    _m(
        "escalation_rate",
        "上报率",
        "Escalation rate",
        "rate",
        "cohort",
        "上报上级数 ÷ 立案数",
        "上报上级数 ÷ 立案数",
        "escalated",
        "accepted",
        None,
    ),
    _m(
        "closed_locally",
        "就地化解数",
        "Closed locally",
        "count",
        "cohort",
        "结案数中在乡镇（街道）或社区（村）层级办结的：结案时由乡镇指挥中心持有，或网格员自行处置",
        "count(已结案 且 (T时持有中心层级 ∈ {乡镇, 社区} 或 自行处置且未派遣))",
    ),
    _m(
        "local_resolution_rate",
        "就地化解率",
        "Local resolution rate",
        "rate",
        "cohort",
        "就地化解数 ÷ 结案数",
        "就地化解数 ÷ 结案数",
        "closed_locally",
        "closed",
    ),
    # --- dispatch family --------------------------------------------------------------------
    _m(
        "dispatches",
        "派遣数",
        "Dispatches",
        "count",
        "dispatch",
        "期内派遣的次数（再派遣、返工不另计）",
        "count(派遣事件在期内)",
        higher_is_better=None,
    ),
    _m(
        "resolved_on_time",
        "按期处置数",
        "Resolved on time",
        "count",
        "dispatch",
        "派遣中，截至统计时点最后结果为处置反馈且不晚于有效时限的",
        "count(派遣段最后结果=处置反馈 且 处置反馈 ≤ 有效时限)",
    ),
    _m(
        "on_time_handling_rate",
        "按期处置率",
        "On-time handling rate",
        "rate",
        "dispatch",
        "按期处置数 ÷ 派遣数",
        "按期处置数 ÷ 派遣数",
        "resolved_on_time",
        "dispatches",
    ),
    _m(
        "resolutions",
        "处置反馈数",
        "Resolutions",
        "count",
        "dispatch",
        "这些派遣中处置反馈的次数",
        "Σ 派遣段内处置反馈次数",
        higher_is_better=None,
    ),
    _m(
        "reworks",
        "返工数",
        "Reworks",
        "count",
        "dispatch",
        "这些派遣中核查不通过（返工）的次数",
        "Σ 派遣段内核查不通过次数",
        higher_is_better=False,
    ),
    _m(
        "rework_rate",
        "返工率",
        "Rework rate",
        "rate",
        "dispatch",
        "返工数 ÷ 处置反馈数",
        "返工数 ÷ 处置反馈数",
        "reworks",
        "resolutions",
        False,
    ),
    _m(
        "returns",
        "退回数",
        "Returns",
        "count",
        "dispatch",
        "派遣中被处置部门退回的",
        "count(派遣段以退回结束)",
        higher_is_better=False,
    ),
    _m(
        "return_rate",
        "退回率",
        "Return rate",
        "rate",
        "dispatch",
        "退回数 ÷ 派遣数",
        "退回数 ÷ 派遣数",
        "returns",
        "dispatches",
        False,
    ),
    _m(
        "extended",
        "延期数",
        "Extended",
        "count",
        "dispatch",
        "派遣中获批延期的",
        "count(派遣段内有批准的延期)",
        higher_is_better=False,
    ),
    _m(
        "extension_rate",
        "延期率",
        "Extension rate",
        "rate",
        "dispatch",
        "延期数 ÷ 派遣数",
        "延期数 ÷ 派遣数",
        "extended",
        "dispatches",
        False,
    ),
    # --- verification family ----------------------------------------------------------------
    _m(
        "verifications",
        "核查数",
        "Verifications",
        "count",
        "verification",
        "期内核查的次数（通过与不通过）",
        "count(核查事件在期内)",
        higher_is_better=None,
    ),
    _m(
        "verified_on_time",
        "按时核查数",
        "Verified on time",
        "count",
        "verification",
        "核查中距其核查的处置反馈不超过一个工作日的",
        "count(工作时长(处置反馈 → 核查) ≤ 1 个工作日)",
    ),
    _m(
        "verification_on_time_rate",
        "核查及时率",
        "Verification on-time rate",
        "rate",
        "verification",
        "按时核查数 ÷ 核查数",
        "按时核查数 ÷ 核查数",
        "verified_on_time",
        "verifications",
    ),
    # --- card family ------------------------------------------------------------------------
    _m(
        "yellow_cards",
        "黄牌数",
        "Yellow cards",
        "count",
        "card",
        "期内系统对超期环节发出的黄牌督办次数",
        "count(黄牌督办事件在期内)",
        higher_is_better=False,
    ),
    _m(
        "red_cards",
        "红牌数",
        "Red cards",
        "count",
        "card",
        "期内系统对超期环节发出的红牌督办次数",
        "count(红牌督办事件在期内)",
        higher_is_better=False,
    ),
)

METRIC_BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
METRIC_KEYS: tuple[str, ...] = tuple(m.key for m in METRICS)
COUNT_KEYS: tuple[str, ...] = tuple(m.key for m in METRICS if m.kind == "count")
FAMILIES: tuple[Family, ...] = ("report", "cohort", "dispatch", "verification", "card")


def family_counts(family: Family) -> tuple[str, ...]:
    return tuple(m.key for m in METRICS if m.family == family and m.kind == "count")


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator ÷ denominator, or None when there is nothing to divide by."""
    if not denominator:
        return None
    return numerator / denominator


US_PER_HOUR = 3_600_000_000


def derive(counts: Mapping[str, Any]) -> dict[str, Any]:
    """All metric values from the counts (and ``handling_us``, the summed handling time).

    Rates are fractions (0.9731 = 97.31 %), not rounded; hours are rounded to 0.01 h.
    Missing counts (a family that does not apply) give None.
    """
    out: dict[str, Any] = {}
    for m in METRICS:
        if m.kind == "count":
            out[m.key] = counts.get(m.key)
    for m in METRICS:
        if m.kind == "rate":
            num, den = out.get(m.numerator or ""), out.get(m.denominator or "")
            out[m.key] = None if num is None or den is None else ratio(num, den)
    handled = out.get("handled")
    total_us = counts.get("handling_us")
    if handled is None or total_us is None:
        out["avg_handling_hours"] = None
    else:
        avg = ratio(total_us, handled * US_PER_HOUR)
        out["avg_handling_hours"] = None if avg is None else round(avg, 2)
    return out
