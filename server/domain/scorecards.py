"""Scorecards (考核, DESIGN §4 and §11): indicators, weights, grades, ranks.

Kinds: departments, grid workers, dispatchers (受理派遣: the one role that takes hotline calls,
accepts and dispatches) and towns. No Flask and no SQL here. Each indicator is a metric of
:mod:`server.domain.metric_definitions` or of its sibling table
:mod:`server.domain.assessment_metrics`, scored 0–100; the defaults below (modelled on the
published weights of DESIGN §11) apply until an admin stores a setting (docs/metrics.md,
"Scorecards").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from server.domain.assessment_metrics import ALL_BY_KEY as METRIC_BY_KEY
from server.domain.metric_definitions import METRIC_KEYS
from server.domain.names import name_problem

ScorecardKind = Literal["department", "worker", "dispatcher", "town"]
SCORECARD_KINDS: tuple[ScorecardKind, ...] = ("department", "worker", "dispatcher", "town")
KIND_LABELS: dict[str, tuple[str, str]] = {
    "worker": ("网格员", "Grid workers"),
    "dispatcher": ("受理派遣", "Dispatchers"),
    "town": ("乡镇", "Towns"),
    "department": ("部门", "Departments"),
}
#: The families of the assessment indicators each kind may weigh, besides the case metrics
#: (none for dispatchers: the case metrics count grid workers' reports, departments' handling
#: and places, not a dispatcher's desk).
_CASE = frozenset(METRIC_KEYS)
ALLOWED_METRICS: dict[str, frozenset[str]] = {
    "department": _CASE,
    "worker": _CASE | {k for k, m in METRIC_BY_KEY.items() if m.family in ("grid", "field")},
    "dispatcher": frozenset(k for k, m in METRIC_BY_KEY.items() if m.family == "desk"),
    "town": _CASE,
}
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
    # DESIGN §11: grid inspectors 40 % 有效上报率 + 20 % 漏报率 + 20 % + 20 % timeliness; here
    # with the field work (patrols, visits) the issue asks counties to judge.
    "worker": (
        Indicator("valid_report_rate", "rate", 20),
        Indicator("missed_report_rate", "inverse", 15),
        Indicator("verification_on_time_rate", "rate", 15),
        Indicator("reported", "target", 10, target=20),
        Indicator("patrol_days", "target", 15, target=22),
        Indicator("patrol_distance", "target", 5, target=100),
        Indicator("patrol_coverage", "rate", 5),
        Indicator("visits_done_rate", "rate", 15),
    ),
    # DESIGN §11: dispatchers 0.2 × dispatches + 0.4 × 按时派遣率 + 0.4 × 准确派遣率, call-takers
    # 25 % volume + 40 % + 35 %: one role here does both.
    "dispatcher": (
        Indicator("desk_volume", "target", 20, target=300),
        Indicator("accept_on_time_rate", "rate", 25),
        Indicator("dispatch_on_time_rate", "rate", 25),
        Indicator("accurate_dispatch_rate", "rate", 30),
    ),
    "town": (
        Indicator("on_time_closure_rate", "rate", 30),
        Indicator("closure_rate", "rate", 20),
        Indicator("local_resolution_rate", "rate", 20),
        Indicator("satisfaction_rate", "rate", 15),
        Indicator("valid_report_rate", "rate", 15),
    ),
}


#: Points taken off a score per 督办 card (yellow, red) of the period: a department answers for
#: the cards of its handle stage (server/usecases/stages.py), a town for every card raised on
#: a case of the town; grid workers and dispatchers get none by default.
DEFAULT_DEDUCTIONS: dict[ScorecardKind, tuple[float, float]] = {
    "department": (2.0, 5.0),
    "worker": (0.0, 0.0),
    "dispatcher": (0.0, 0.0),
    "town": (1.0, 3.0),
}
MAX_DEDUCTION = 100.0
#: Weights are shares, like the defaults' percentages: 0 (left out) or 0.01–100. The weighted
#: mean divides by their sum, so a weight of 1e308 overflowed it (inf ÷ inf) and every subject
#: scored 0.00, grade E, all ranked 1; a weight of 1e-320 loses its digits the same way.
MIN_WEIGHT, MAX_WEIGHT = 0.01, 100.0
#: A count target per 30 days above this is a typo (300 dispatches, 22 patrol days, 100 km):
#: a target of 1e308 made every ``target`` score 0.
MAX_TARGET = 1_000_000.0


@dataclass(frozen=True)
class ScorecardConfig:
    kind: ScorecardKind
    indicators: tuple[Indicator, ...]
    grades: tuple[tuple[str, float], ...] = DEFAULT_GRADES
    lowest: str = LOWEST_GRADE
    #: points off per yellow and per red card
    card_deductions: tuple[float, float] = (0.0, 0.0)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "indicators": [
                {"metric": i.metric, "mode": i.mode, "weight": i.weight, "target": i.target}
                for i in self.indicators
            ],
            "grades": [{"grade": g, "min": s} for g, s in self.grades],
            "lowest": self.lowest,
            "card_deductions": {"yellow": self.card_deductions[0], "red": self.card_deductions[1]},
        }


def default_scorecard(kind: ScorecardKind) -> ScorecardConfig:
    return ScorecardConfig(kind, DEFAULT_SCORECARDS[kind], card_deductions=DEFAULT_DEDUCTIONS[kind])


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
        if not isinstance(metric, str) or metric not in METRIC_BY_KEY:
            errors[f"{where}.metric"] = "未知指标 / unknown metric"
            continue
        if metric not in ALLOWED_METRICS[kind]:
            errors[f"{where}.metric"] = "该指标不适用于此类考核 / not an indicator of this kind"
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
        elif target is not None and not 0 < target <= MAX_TARGET:
            errors[f"{where}.target"] = (
                f"目标应在 0–{MAX_TARGET:g} 之间 / target must be above 0 and at most "
                f"{MAX_TARGET:g}"
            )
        if weight is None or not (weight == 0 or MIN_WEIGHT <= weight <= MAX_WEIGHT):
            errors[f"{where}.weight"] = (
                f"权重应为 0 或 {MIN_WEIGHT:g}–{MAX_WEIGHT:g} / weight must be 0 or "
                f"{MIN_WEIGHT:g}-{MAX_WEIGHT:g}"
            )
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
        if bad := name_problem(g.strip(), 8):
            errors[f"grades[{n}]"] = bad
            continue
        grades.append((g.strip(), s))
    mins = [s for _, s in grades]
    if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
        errors["grades"] = "分数线应从高到低且不重复 / thresholds must strictly decrease"
    lowest = data.get("lowest", LOWEST_GRADE)
    if not isinstance(lowest, str) or not lowest.strip() or len(lowest) > 8:
        errors["lowest"] = "应为文本 / must be text"
        lowest = LOWEST_GRADE
    elif bad := name_problem(lowest.strip(), 8):
        errors["lowest"] = bad
        lowest = LOWEST_GRADE
    deductions = list(DEFAULT_DEDUCTIONS[kind])
    raw_deductions = data.get("card_deductions")
    if raw_deductions is not None:
        if not isinstance(raw_deductions, Mapping) or set(raw_deductions) - {"yellow", "red"}:
            errors["card_deductions"] = "应为 {yellow, red} / must be {yellow, red}"
        else:
            for n, color in enumerate(("yellow", "red")):
                if color not in raw_deductions:
                    continue
                points = _number(raw_deductions[color])
                if points is None or not 0 <= points <= MAX_DEDUCTION:
                    errors[f"card_deductions.{color}"] = "应为 0–100 / points 0–100"
                else:
                    deductions[n] = points
    if errors:
        raise ConfigError(errors)
    return ScorecardConfig(
        kind, tuple(indicators), tuple(grades), lowest.strip(), (deductions[0], deductions[1])
    )


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
    #: the 督办 cards of the period and the points they took off
    cards: dict[str, float] = field(default_factory=dict)


def score_card(
    subject: Any,
    values: Mapping[str, Any],
    config: ScorecardConfig,
    days: int,
    cards: tuple[int, int] = (0, 0),
) -> Scorecard:
    """Weighted mean of the indicator scores that have a value (weights renormalised), less
    the card deductions (``cards``: yellow and red cards of the period), never below 0.

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
    deduction = cards[0] * config.card_deductions[0] + cards[1] * config.card_deductions[1]
    score = round(max(0.0, total / weight - deduction), 2) if weight else None
    summary = {"yellow": cards[0], "red": cards[1], "deduction": round(deduction, 2)}
    return Scorecard(subject, score, grade(score, config), lines, cards=summary)


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
