"""One rule of what a stated reason shows (server/domain/fields.py), two thresholds: a case's
reason needs one character that shows; a reason to read or change people's data needs two
letters, digits or CJK characters that show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.domain.fields import has_visible_text, is_stated_reason, visible_count

INVISIBLE = ["", "   ", "\u200b\u200b", "\ufeff\u2060", "\u00ad\u00ad", " \u202e\u2066 ",
             "\u3164\u3164", "\u115f\u1160", "\uffa0\u2800", "\u3000\u00a0\t"]  # fmt: skip


@pytest.mark.parametrize("value", INVISIBLE)
def test_nothing_that_shows_is_no_reason_for_anyone(value: str) -> None:
    assert visible_count(value) == 0
    assert not has_visible_text(value)
    assert not is_stated_reason(value)


@pytest.mark.parametrize("value", ["..", "?", "a", "a\u200b", "核", "—\u3164"])
def test_a_case_takes_any_character_that_shows_but_people_data_needs_two_letters(
    value: str,
) -> None:
    assert has_visible_text(value)
    assert not is_stated_reason(value)


@pytest.mark.parametrize("value", ["核对", "ab", "12", "a\u200bb", "\u3164核对\u3164"])
def test_two_letters_digits_or_cjk_state_a_reason(value: str) -> None:
    assert is_stated_reason(value) and has_visible_text(value)


def test_counts_see_the_same_characters() -> None:
    value = "\u3164核.对\u200b!"
    assert visible_count(value) == 4  # 核 . 对 !
    assert visible_count(value, words_only=True) == 2  # 核 对


def test_the_shared_examples() -> None:
    """The examples the phone's copy of the rule is tested with (webapp/tests/reason.test.ts)."""
    fixture = Path(__file__).parents[1] / "fixtures" / "stated_reasons.json"
    for value, stated in json.loads(fixture.read_text(encoding="utf-8"))["cases"]:
        assert is_stated_reason(value) is stated, value
