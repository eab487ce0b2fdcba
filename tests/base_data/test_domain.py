"""The domain rules of base data, without HTTP or a database: check characters (GB 11643,
GB 32100), masks, life events, visit cycles."""

from __future__ import annotations

from datetime import date

import pytest

from server.domain import base_data as bd
from server.domain import identity as idn

TODAY = date(2026, 11, 29)  # a Sunday


# --- 公民身份号码 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "born", "sex"),
    [
        ("11010519491231002X", date(1949, 12, 31), idn.Sex.FEMALE),  # GB 11643's own example
        ("11010519491231002x", date(1949, 12, 31), idn.Sex.FEMALE),  # lower-case x
        ("440524188001010014", date(1880, 1, 1), None),  # too old: refused below
        ("640181198005061232", date(1980, 5, 6), idn.Sex.MALE),
        (" 640181 198005061232 ", date(1980, 5, 6), idn.Sex.MALE),  # spaces ignored
    ],
)
def test_valid_identity_numbers_give_birth_date_and_sex(
    number: str, born: date, sex: idn.Sex | None
) -> None:
    if sex is None:
        with pytest.raises(idn.IdentityError) as err:
            idn.parse_id_number(number, today=TODAY)
        assert err.value.code == "bad_birth_date"
        return
    got = idn.parse_id_number(number, today=TODAY)
    assert (got.birth_date, got.sex) == (born, sex)
    assert got.value == got.value.upper() and len(got.value) == 18


def test_every_check_digit_but_one_is_refused() -> None:
    first17 = "64018119800506123"
    right = idn.id_check_character(first17)
    for ch in "0123456789X":
        number = first17 + ch
        if ch == right:
            assert idn.parse_id_number(number, today=TODAY).value == number
        else:
            with pytest.raises(idn.IdentityError) as err:
                idn.parse_id_number(number, today=TODAY)
            assert err.value.code == "bad_check_digit"
            assert err.value.field == "id_number"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("6401811980050612", "bad_id_number"),  # 16 characters
        ("6401811980050612345", "bad_id_number"),  # 19
        ("64018119800506123A", "bad_id_number"),  # check character not a digit or X
        ("6401811980O506123X", "bad_id_number"),  # a letter O among the digits
        ("６４０１８１１９８００５０６１２３２", "bad_id_number"),  # full-width digits
        (
            idn.make_id_number("640181", date(1980, 1, 1), 1)[:10] + "0230" + "0011",
            "bad_birth_date",
        ),
        ("640181198002300011", "bad_birth_date"),  # 30 February
        ("640181203001010011", "bad_birth_date"),  # born in the future
    ],
)
def test_impossible_identity_numbers_are_refused(number: str, code: str) -> None:
    with pytest.raises(idn.IdentityError) as err:
        idn.parse_id_number(number, today=TODAY)
    assert err.value.code == code


def test_masks() -> None:
    assert idn.mask_id_number("640181198005061232") == "6401**********1232"
    assert idn.mask_id_number("1234") == "****"


# --- 统一社会信用代码 ---------------------------------------------------------------------------


def test_credit_codes() -> None:
    assert idn.check_credit_code("91350100M000100Y43") == "91350100M000100Y43"  # a published one
    assert idn.check_credit_code(" 91350100m000100y43 ") == "91350100M000100Y43"
    made = idn.make_credit_code("91640181MA0000001")
    assert idn.check_credit_code(made) == made
    for ch in idn.CREDIT_ALPHABET:
        if ch != made[-1]:
            with pytest.raises(idn.CreditCodeError) as err:
                idn.check_credit_code(made[:-1] + ch)
            assert err.value.code == "bad_check_character"
    for bad in ("91350100M000100Y4", "91350100I000100Y43", "91350100M000100Y43X"):
        with pytest.raises(idn.CreditCodeError) as err:
            idn.check_credit_code(bad)
        assert err.value.code == "bad_credit_code"


# --- life events -------------------------------------------------------------------------------


def test_life_events_follow_the_status() -> None:
    s, e = bd.ResidentStatus, bd.LifeEventKind
    assert bd.apply_event(s.ACTIVE, e.MOVE_OUT).to_status is s.MOVED_OUT
    assert bd.apply_event(s.MOVED_OUT, e.MOVE_IN).to_status is s.ACTIVE
    assert bd.apply_event(s.CANCELLED, e.RESTORE).to_status is s.ACTIVE
    for status, kind in ((s.DECEASED, e.MOVE_IN), (s.ACTIVE, e.RESTORE), (s.MOVED_OUT, e.MOVE_OUT)):
        with pytest.raises(bd.LifeEventRefused):
            bd.apply_event(status, kind)


# --- visit cycles ------------------------------------------------------------------------------


def test_week_of() -> None:
    assert bd.week_of(date(2026, 11, 25)) == (date(2026, 11, 23), date(2026, 11, 29))


@pytest.mark.parametrize(
    ("last", "visited", "today", "status", "due_on"),
    [
        # every two weeks: last visit on the 12th → due the 26th (this week), today the 25th
        (date(2026, 11, 12), False, date(2026, 11, 25), bd.DueStatus.DUE, date(2026, 11, 26)),
        (date(2026, 11, 12), True, date(2026, 11, 25), bd.DueStatus.DONE, date(2026, 11, 26)),
        (date(2026, 11, 16), False, date(2026, 11, 25), bd.DueStatus.LATER, date(2026, 11, 30)),
        (None, False, date(2026, 11, 25), bd.DueStatus.OVERDUE, date(2026, 1, 8)),
        (date(2026, 11, 20), False, date(2026, 11, 24), bd.DueStatus.LATER, date(2026, 12, 20)),
    ],
)
def test_visit_due(
    last: date | None, visited: bool, today: date, status: bd.DueStatus, due_on: date
) -> None:
    cycle = bd.Cycle.MONTHLY if last == date(2026, 11, 20) else bd.Cycle.BIWEEKLY
    if last is None:
        cycle = bd.Cycle.WEEKLY
    got = bd.visit_due(
        since=date(2026, 1, 1),
        cycle=cycle,
        last_before_week=last,
        visited_this_week=visited,
        today=today,
    )
    assert got.status is status
    assert got.due_on == due_on


def test_weekly_overdue() -> None:
    got = bd.visit_due(
        since=date(2026, 1, 1),
        cycle=bd.Cycle.WEEKLY,
        last_before_week=date(2026, 11, 16),
        visited_this_week=False,
        today=date(2026, 11, 25),
    )
    assert (got.due_on, got.status) == (date(2026, 11, 23), bd.DueStatus.OVERDUE)


def test_builtin_kinds_are_the_issue_list() -> None:
    names = [k.name for k in bd.BUILTIN_KINDS]
    assert names == [
        "留守老人",
        "留守儿童",
        "留守妇女",
        "独居老人",
        "残疾人",
        "低保/特困",
        "严重精神障碍患者",
        "社区矫正对象",
        "刑满释放人员",
        "吸毒人员",
        "重点青少年",
    ]
    assert {k.code for k in bd.BUILTIN_KINDS if k.sensitive} == {
        "mental_disorder",
        "community_correction",
        "released_prisoner",
        "drug_user",
        "key_youth",
    }


def test_a_newborns_today_is_the_countys_day_not_utcs() -> None:
    """At 03:21 in Beijing (19:21 UTC the day before) a child born that morning is born today:
    the birth-registration checks use the county's date (found by an outside tester: a birth
    date of "today" was "in the future" from 00:00 to 08:00 every day)."""
    from datetime import UTC, date, datetime
    from typing import Any, cast

    from server.usecases.base_data.residents import _today
    from server.usecases.context import Context

    ctx = Context(db=cast(Any, None), clock=lambda: datetime(2026, 11, 29, 19, 21, tzinfo=UTC))
    assert _today(ctx) == date(2026, 11, 30)
