"""server/domain/{metric_definitions,periods,scorecards}.py: rates, buckets, scorecards (no DB)."""

from __future__ import annotations

from datetime import date

import pytest

from server.domain import metric_definitions as md
from server.domain import periods
from server.domain import scorecards as scoring


def test_period_and_month() -> None:
    p = periods.Period.month("2026-02")
    assert (p.start, p.end, p.days) == (date(2026, 2, 1), date(2026, 2, 28), 28)
    assert periods.Period.month("2026-12").end == date(2026, 12, 31)
    with pytest.raises(ValueError):
        periods.Period(date(2026, 2, 2), date(2026, 2, 1))


def test_buckets_are_clipped_iso_weeks_and_months() -> None:
    weeks = periods.buckets(periods.Period(date(2026, 11, 1), date(2026, 11, 30)), "week")
    assert [b.key for b in weeks] == [
        "2026-W44",
        "2026-W45",
        "2026-W46",
        "2026-W47",
        "2026-W48",
        "2026-W49",
    ]
    assert (weeks[0].start, weeks[0].end) == (date(2026, 11, 1), date(2026, 11, 1))
    assert (weeks[-1].start, weeks[-1].end) == (date(2026, 11, 30), date(2026, 11, 30))
    months = periods.buckets(periods.Period(date(2025, 12, 15), date(2026, 2, 3)), "month")
    assert [(b.key, b.start, b.end) for b in months] == [
        ("2025-12", date(2025, 12, 15), date(2025, 12, 31)),
        ("2026-01", date(2026, 1, 1), date(2026, 1, 31)),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 3)),
    ]
    # ISO years: 2026-12-31 is in week 53 of 2026, 2027-01-01 too
    assert (
        periods.buckets(periods.Period(date(2026, 12, 31), date(2027, 1, 1)), "week")[0].key
        == "2026-W53"
    )


def test_derive() -> None:
    counts = {k: 0 for k in md.COUNT_KEYS} | {
        "closed": 3,
        "due": 4,
        "handled": 2,
        "handling_us": 3 * 3_600_000_000,
    }
    values = md.derive(counts)
    assert values["closure_rate"] == 0.75
    assert values["rework_rate"] is None  # no resolutions: no rate, not 0
    assert values["avg_handling_hours"] == 1.5
    assert md.derive({"reported": None})["valid_report_rate"] is None


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (100, "A"),
        (90, "A"),
        (89.99, "B"),
        (75, "B"),
        (60, "C"),
        (40, "D"),
        (39.99, "E"),
        (0, "E"),
        (None, None),
    ],
)
def test_grades(score: float | None, grade: str | None) -> None:
    assert scoring.grade(score, scoring.default_scorecard("department")) == grade


def test_indicator_scores() -> None:
    assert scoring.indicator_score(scoring.Indicator("closure_rate", "rate", 1), 0.9, 30) == 90
    assert scoring.indicator_score(scoring.Indicator("return_rate", "inverse", 1), 0.05, 30) == 95
    target = scoring.Indicator("reported", "target", 1, target=20)
    assert scoring.indicator_score(target, 10, 30) == 50
    assert scoring.indicator_score(target, 10, 15) == 100  # half a month: target 10
    assert scoring.indicator_score(target, 100, 30) == 100  # capped
    assert scoring.indicator_score(target, None, 30) is None


def test_missing_indicators_are_left_out_and_ranks_tie() -> None:
    config = scoring.default_scorecard("department")
    full = scoring.score_card(
        "a",
        {
            "on_time_handling_rate": 1,
            "rework_rate": 0,
            "return_rate": 0,
            "extension_rate": 0,
            "satisfaction_rate": 1,
        },
        config,
        30,
    )
    partial = scoring.score_card("b", {"on_time_handling_rate": 1}, config, 30)
    empty = scoring.score_card("c", {}, config, 30)
    assert (full.score, partial.score, empty.score, empty.grade) == (100, 100, None, None)
    ranked = scoring.rank([empty, partial, full])
    assert [c.rank for c in ranked] == [1, 1, None]


def test_parse_scorecard_errors() -> None:
    with pytest.raises(scoring.ConfigError) as err:
        scoring.parse_scorecard(
            "worker",
            {
                "indicators": [
                    {"metric": "nope", "mode": "rate", "weight": 1},
                    {"metric": "reported", "mode": "target", "weight": 1},
                    {"metric": "closure_rate", "mode": "rate", "weight": True},
                ],
                "grades": [{"grade": "A", "min": 101}],
                "lowest": "",
            },
        )
    assert set(err.value.fields) == {
        "indicators[0].metric",
        "indicators[1].target",
        "indicators[2].weight",
        "grades[0]",
        "lowest",
    }
    ok = scoring.parse_scorecard("worker", scoring.default_scorecard("worker").to_json())
    assert ok == scoring.default_scorecard("worker")
