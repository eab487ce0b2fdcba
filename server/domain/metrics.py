"""Supervisor metrics (DESIGN §4) as plain code: what each number is, periods, scorecards.

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
- ``verification``: verifications (核查) made in the period.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

MetricKind = Literal["count", "rate", "hours"]
Family = Literal["report", "cohort", "dispatch", "verification"]
GroupBy = Literal["town", "community", "grid", "department", "category", "worker", "week", "month"]
ScopeKind = Literal["region", "grid", "department", "category", "worker"]

GROUP_BYS: tuple[GroupBy, ...] = (
    "town",
    "community",
    "grid",
    "department",
    "category",
    "worker",
    "week",
    "month",
)
GROUP_LABELS: dict[str, tuple[str, str]] = {
    "town": ("乡镇/街道", "Town"),
    "community": ("社区/村", "Community"),
    "grid": ("网格", "Grid"),
    "department": ("处置部门", "Department"),
    "category": ("案件类别", "Category"),
    "worker": ("网格员", "Grid worker"),
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
)

METRIC_BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
METRIC_KEYS: tuple[str, ...] = tuple(m.key for m in METRICS)
COUNT_KEYS: tuple[str, ...] = tuple(m.key for m in METRICS if m.kind == "count")
FAMILIES: tuple[Family, ...] = ("report", "cohort", "dispatch", "verification")


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


# --- periods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Local calendar days ``start`` … ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """[start 00:00, (end + 1) 00:00) on the local wall clock, as aware datetimes."""
        return (
            datetime.combine(self.start, time(0), tzinfo=tz),
            datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=tz),
        )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def month(cls, spec: str) -> Period:
        """``"2026-10"`` → 2026-10-01 … 2026-10-31."""
        year, month = (int(x) for x in spec.split("-"))
        first = date(year, month, 1)
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        return cls(first, nxt - timedelta(days=1))


@dataclass(frozen=True)
class Bucket:
    key: str  # "2026-10" or "2026-W40"
    label: str
    start: date  # clipped to the period
    end: date


MAX_BUCKETS = 400


def buckets(period: Period, by: Literal["week", "month"]) -> list[Bucket]:
    """The weeks (ISO, Monday first) or months that meet the period, clipped to it."""
    out: list[Bucket] = []
    day = period.start
    while day <= period.end:
        if by == "month":
            nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
            key = f"{day.year:04d}-{day.month:02d}"
            label = f"{day.year}年{day.month}月"
        else:
            monday = day - timedelta(days=day.weekday())
            nxt = monday + timedelta(days=7)
            iso = monday.isocalendar()
            key = f"{iso.year:04d}-W{iso.week:02d}"
            label = f"{iso.year}年第{iso.week}周"
        end = min(nxt - timedelta(days=1), period.end)
        out.append(Bucket(key, label, day, end))
        if len(out) > MAX_BUCKETS:
            raise ValueError(f"more than {MAX_BUCKETS} {by}s in the period")
        day = nxt
    return out


# --- scorecards ------------------------------------------------------------------------------

ScorecardKind = Literal["department", "worker"]
SCORECARD_KINDS: tuple[ScorecardKind, ...] = ("department", "worker")
DEFAULT_GRADES: tuple[tuple[str, float], ...] = (("A", 90), ("B", 75), ("C", 60), ("D", 40))
LOWEST_GRADE = "E"


@dataclass(frozen=True)
class Indicator:
    """One line of a scorecard: a metric, scored 0–100.

    ``mode``: ``rate`` scores a rate as itself (0.95 → 95); ``inverse`` scores 1 − rate (a
    return rate of 0.05 → 95); ``target`` scores a count against a target per 30 days
    (min(100, 100 × value ÷ (target × days ÷ 30))).
    """

    metric: str
    mode: Literal["rate", "inverse", "target"]
    weight: float
    target: float | None = None


DEFAULT_SCORECARDS: dict[ScorecardKind, tuple[Indicator, ...]] = {
    "department": (
        Indicator("on_time_handling_rate", "rate", 35),
        Indicator("rework_rate", "inverse", 20),
        Indicator("return_rate", "inverse", 15),
        Indicator("extension_rate", "inverse", 10),
        Indicator("satisfaction_rate", "rate", 20),
    ),
    "worker": (
        Indicator("reported", "target", 30, target=20),
        Indicator("valid_report_rate", "rate", 30),
        Indicator("verification_on_time_rate", "rate", 25),
        Indicator("self_handled", "target", 15, target=5),
    ),
}


@dataclass(frozen=True)
class ScorecardConfig:
    kind: ScorecardKind
    indicators: tuple[Indicator, ...]
    grades: tuple[tuple[str, float], ...] = DEFAULT_GRADES
    lowest: str = LOWEST_GRADE

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "indicators": [
                {"metric": i.metric, "mode": i.mode, "weight": i.weight, "target": i.target}
                for i in self.indicators
            ],
            "grades": [{"grade": g, "min": s} for g, s in self.grades],
            "lowest": self.lowest,
        }


def default_scorecard(kind: ScorecardKind) -> ScorecardConfig:
    return ScorecardConfig(kind, DEFAULT_SCORECARDS[kind])


class ConfigError(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def parse_scorecard(kind: ScorecardKind, data: Mapping[str, Any]) -> ScorecardConfig:
    """A scorecard configuration from JSON, or :class:`ConfigError` saying what is wrong."""
    errors: dict[str, str] = {}
    raw = data.get("indicators")
    indicators: list[Indicator] = []
    if not isinstance(raw, list) or not raw:
        errors["indicators"] = "需要至少一个指标 / at least one indicator"
        raw = []
    seen: set[str] = set()
    for n, item in enumerate(raw):
        where = f"indicators[{n}]"
        if not isinstance(item, Mapping):
            errors[where] = "应为对象 / must be an object"
            continue
        metric = item.get("metric")
        mode = item.get("mode")
        weight = _number(item.get("weight"))
        target = _number(item.get("target")) if item.get("target") is not None else None
        if metric not in METRIC_BY_KEY:
            errors[f"{where}.metric"] = "未知指标 / unknown metric"
            continue
        if metric in seen:
            errors[f"{where}.metric"] = "重复的指标 / duplicate metric"
        seen.add(str(metric))
        kind_of = METRIC_BY_KEY[str(metric)].kind
        if mode not in ("rate", "inverse", "target"):
            errors[f"{where}.mode"] = "应为 rate、inverse 或 target / rate, inverse or target"
            continue
        if mode in ("rate", "inverse") and kind_of != "rate":
            errors[f"{where}.mode"] = "该指标不是比率 / not a rate metric"
        if mode == "target" and kind_of != "count":
            errors[f"{where}.mode"] = "目标计分只适用于计数指标 / target mode needs a count"
        if mode == "target" and (target is None or target <= 0):
            errors[f"{where}.target"] = "需要正数目标 / a positive target is required"
        if weight is None or weight < 0:
            errors[f"{where}.weight"] = "权重应为非负数 / weight must be a number ≥ 0"
            continue
        indicators.append(Indicator(str(metric), mode, weight, target))
    if indicators and not any(i.weight > 0 for i in indicators):
        errors["indicators"] = "权重之和应大于 0 / the weights must not all be 0"
    grades: list[tuple[str, float]] = []
    raw_grades = data.get("grades", [{"grade": g, "min": s} for g, s in DEFAULT_GRADES])
    if not isinstance(raw_grades, list):
        errors["grades"] = "应为列表 / must be a list"
        raw_grades = []
    for n, item in enumerate(raw_grades):
        g = item.get("grade") if isinstance(item, Mapping) else None
        s = _number(item.get("min")) if isinstance(item, Mapping) else None
        if not isinstance(g, str) or not g.strip() or len(g) > 8 or s is None or not 0 <= s <= 100:
            errors[f"grades[{n}]"] = "应为 {grade: 文本, min: 0–100} / {grade, min 0-100}"
            continue
        grades.append((g.strip(), s))
    mins = [s for _, s in grades]
    if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
        errors["grades"] = "分数线应从高到低且不重复 / thresholds must strictly decrease"
    lowest = data.get("lowest", LOWEST_GRADE)
    if not isinstance(lowest, str) or not lowest.strip() or len(lowest) > 8:
        errors["lowest"] = "应为文本 / must be text"
        lowest = LOWEST_GRADE
    if errors:
        raise ConfigError(errors)
    return ScorecardConfig(kind, tuple(indicators), tuple(grades), lowest.strip())


def grade(score: float | None, config: ScorecardConfig) -> str | None:
    """The grade of a score: the first band whose minimum it reaches (A ≥ 90, B ≥ 75 …)."""
    if score is None:
        return None
    for letter, minimum in config.grades:
        if score >= minimum:
            return letter
    return config.lowest


def indicator_score(ind: Indicator, value: float | None, days: int) -> float | None:
    """0–100 for one indicator, or None when the metric has no value (nothing to judge)."""
    if value is None:
        return None
    if ind.mode == "rate":
        return max(0.0, min(100.0, 100.0 * value))
    if ind.mode == "inverse":
        return max(0.0, min(100.0, 100.0 * (1.0 - value)))
    target = (ind.target or 0) * days / 30
    if target <= 0:
        return None
    return max(0.0, min(100.0, 100.0 * value / target))


@dataclass
class Scorecard:
    subject: Any
    score: float | None
    grade: str | None
    lines: list[dict[str, Any]] = field(default_factory=list)
    rank: int | None = None


def score_card(
    subject: Any, values: Mapping[str, Any], config: ScorecardConfig, days: int
) -> Scorecard:
    """Weighted mean of the indicator scores that have a value (weights renormalised).

    An indicator with no value (e.g. no dispatches, so no 按期处置率) neither helps nor hurts;
    a subject with no indicator at all gets no score and no grade.
    """
    lines = []
    total = weight = 0.0
    for ind in config.indicators:
        value = values.get(ind.metric)
        s = indicator_score(ind, value, days)
        lines.append(
            {
                "metric": ind.metric,
                "mode": ind.mode,
                "weight": ind.weight,
                "target": ind.target,
                "value": value,
                "score": None if s is None else round(s, 2),
            }
        )
        if s is not None and ind.weight > 0:
            total += s * ind.weight
            weight += ind.weight
    score = round(total / weight, 2) if weight else None
    return Scorecard(subject, score, grade(score, config), lines)


def rank(cards: Iterable[Scorecard]) -> list[Scorecard]:
    """Best first; equal scores share a rank (1, 2, 2, 4); unscored cards last, unranked."""
    ordered = sorted(cards, key=lambda c: (c.score is None, -(c.score or 0)))
    previous: float | None = None
    for n, card in enumerate(ordered, start=1):
        if card.score is None:
            card.rank = None
            continue
        if card.score != previous:
            current = n
        card.rank = current
        previous = card.score
    return ordered
