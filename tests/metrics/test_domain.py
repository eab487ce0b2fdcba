"""server/domain/metrics.py: periods, buckets, rates and scorecards (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from server.domain import metrics as dm


def test_period_and_month() -> None:
    p = dm.Period.month("2026-02")
    assert (p.start, p.end, p.days) == (date(2026, 2, 1), date(2026, 2, 28), 28)
    assert dm.Period.month("2026-12").end == date(2026, 12, 31)
    with pytest.raises(ValueError):
        dm.Period(date(2026, 2, 2), date(2026, 2, 1))


def test_buckets_are_clipped_iso_weeks_and_months() -> None:
    weeks = dm.buckets(dm.Period(date(2026, 11, 1), date(2026, 11, 30)), "week")
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
    months = dm.buckets(dm.Period(date(2025, 12, 15), date(2026, 2, 3)), "month")
    assert [(b.key, b.start, b.end) for b in months] == [
        ("2025-12", date(2025, 12, 15), date(2025, 12, 31)),
        ("2026-01", date(2026, 1, 1), date(2026, 1, 31)),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 3)),
    ]
    # ISO years: 2026-12-31 is in week 53 of 2026, 2027-01-01 too
    assert dm.buckets(dm.Period(date(2026, 12, 31), date(2027, 1, 1)), "week")[0].key == "2026-W53"


def test_derive() -> None:
    counts = {k: 0 for k in dm.COUNT_KEYS} | {
        "closed": 3,
        "due": 4,
        "handled": 2,
        "handling_us": 3 * 3_600_000_000,
    }
    values = dm.derive(counts)
    assert values["closure_rate"] == 0.75
    assert values["rework_rate"] is None  # no resolutions: no rate, not 0
    assert values["avg_handling_hours"] == 1.5
    assert dm.derive({"reported": None})["valid_report_rate"] is None


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
    assert dm.grade(score, dm.default_scorecard("department")) == grade


def test_indicator_scores() -> None:
    assert dm.indicator_score(dm.Indicator("closure_rate", "rate", 1), 0.9, 30) == 90
    assert dm.indicator_score(dm.Indicator("return_rate", "inverse", 1), 0.05, 30) == 95
    target = dm.Indicator("reported", "target", 1, target=20)
    assert dm.indicator_score(target, 10, 30) == 50
    assert dm.indicator_score(target, 10, 15) == 100  # half a month: target 10
    assert dm.indicator_score(target, 100, 30) == 100  # capped
    assert dm.indicator_score(target, None, 30) is None


def test_missing_indicators_are_left_out_and_ranks_tie() -> None:
    config = dm.default_scorecard("department")
    full = dm.score_card(
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
    partial = dm.score_card("b", {"on_time_handling_rate": 1}, config, 30)
    empty = dm.score_card("c", {}, config, 30)
    assert (full.score, partial.score, empty.score, empty.grade) == (100, 100, None, None)
    ranked = dm.rank([empty, partial, full])
    assert [c.rank for c in ranked] == [1, 1, None]


def test_parse_scorecard_errors() -> None:
    with pytest.raises(dm.ConfigError) as err:
        dm.parse_scorecard(
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
    ok = dm.parse_scorecard("worker", dm.default_scorecard("worker").to_json())
    assert ok == dm.default_scorecard("worker")
