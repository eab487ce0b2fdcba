"""docs/metrics.md and the code must agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.domain import assessment_metrics as am
from server.domain import metric_definitions as md
from server.domain import scorecards as scoring

KEYS = (*md.METRIC_KEYS, *am.INDICATOR_KEYS)
METRICS = (*md.METRICS, *am.INDICATORS)

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _sections(doc: str) -> dict[str, str]:
    """{metric key: its section text} for every '### `key` 名称' heading."""
    parts = re.split(r"^### `([a-z_]+)` (.+)$", doc, flags=re.M)
    out = {}
    for n in range(1, len(parts), 3):
        out[parts[n]] = parts[n + 1].strip() + "\n" + parts[n + 2]
    return out


def test_every_metric_has_a_section(doc: str) -> None:
    sections = _sections(doc)
    missing = [k for k in KEYS if k not in sections]
    assert not missing, f"docs/metrics.md has no section for {missing}"


def test_no_section_for_a_metric_that_does_not_exist(doc: str) -> None:
    assert set(_sections(doc)) == set(KEYS)


@pytest.mark.parametrize("metric", METRICS, ids=KEYS)
def test_section_names_the_metric_and_has_formula_and_example(doc: str, metric: md.Metric) -> None:
    text = _sections(doc)[metric.key]
    assert text.startswith(metric.zh), f"heading of {metric.key} should name {metric.zh}"
    assert "**Formula.**" in text and "**Example.**" in text, metric.key
    if metric.numerator and metric.kind == "rate":
        assert metric.numerator in text and metric.denominator in text  # type: ignore[operator]


def test_sections_follow_the_order_of_the_code(doc: str) -> None:
    assert list(_sections(doc)) == list(KEYS)


def test_default_scorecards_are_documented(doc: str) -> None:
    for kind in scoring.SCORECARD_KINDS:
        for ind in scoring.DEFAULT_SCORECARDS[kind]:
            name = am.ALL_BY_KEY[ind.metric].zh
            assert re.search(rf"{name}\s+{ind.weight:g}", doc), (kind, ind.metric)
    assert "A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, else E" in doc
