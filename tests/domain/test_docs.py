"""docs/workflow.md and the code must agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.domain.fields import TOKENS
from server.domain.workflow import (
    RULES,
    Action,
    Rule,
    State,
    action_labels,
    role_labels,
    rule_row,
    rules_markdown,
    rules_table,
    state_labels,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "workflow.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("rule", RULES, ids=[r.action.value for r in RULES])
def test_doc_has_a_row_for_each_rule(doc: str, rule: Rule) -> None:
    assert rule_row(rule) in doc.splitlines(), f"docs/workflow.md is stale for {rule.action}"


def test_doc_table_is_the_generated_table(doc: str) -> None:
    assert rules_markdown() in doc
    rows = [line for line in doc.splitlines() if line.startswith("| `") and "|" in line[3:]]
    action_rows = [r for r in rows if r.split("|")[1].strip().strip("`") in set(Action)]
    assert len(action_rows) == len(RULES)


def test_doc_lists_every_state_and_token(doc: str) -> None:
    for state, labels in state_labels().items():
        assert f"| `{state}` | {labels['zh']} |" in doc
    for token in TOKENS:
        assert f"| `{token}` |" in doc


def test_rules_table_is_json_and_complete() -> None:
    table = rules_table()
    json.dumps(table, ensure_ascii=False)
    assert [row["action"] for row in table] == [a.value for a in Action]
    verify = next(row for row in table if row["action"] == "verify")
    assert verify["to_state"] == "closed" and verify["fail_to_state"] == "dispatched"
    assert verify["requires_on_fail"] == ["reason"]
    report = next(row for row in table if row["action"] == "report")
    assert report["from_states"] is None


def test_labels_are_bilingual() -> None:
    assert set(state_labels()) == {s.value for s in State}
    assert state_labels()["suspended"] == {"zh": "挂账", "en": "Suspended"}
    assert action_labels()["supervise"]["zh"] == "督办"
    assert role_labels()["grid_worker"]["zh"] == "网格员"
    for labels in (state_labels(), action_labels(), role_labels()):
        assert all(v["zh"] and v["en"] for v in labels.values())
