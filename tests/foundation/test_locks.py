"""The Python locks (``make lock``) are current: every direct pin of requirements*.txt is in its
lock at that version, with hashes, and the two locks agree on what they share.

Adding a dependency: edit requirements.txt (or requirements-dev.txt), run ``make lock``, commit
all four files. This test fails when the second step was forgotten.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#\\]+)")


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def direct_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        m = PIN.match(line)
        assert m, f"{path.name}: not an exact pin (name==version): {line!r}"
        pins[_name(m[1])] = m[2]
    return pins


def locked(path: Path) -> dict[str, str]:
    """Name → version of each package in a lock; asserts that each has a hash."""
    text = path.read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    out = {}
    for entry in entries:
        m = PIN.match(entry.strip())
        if not m:
            continue
        assert "--hash=sha256:" in entry, f"{path.name}: {m[1]} has no hash"
        out[_name(m[1])] = m[2]
    return out


@pytest.mark.parametrize(
    ("direct", "lock"),
    [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")],
)
def test_every_direct_pin_is_locked_at_its_version(direct: str, lock: str) -> None:
    pins = direct_pins(ROOT / direct)
    if direct == "requirements-dev.txt":
        pins |= direct_pins(ROOT / "requirements.txt")
    have = locked(ROOT / lock)
    stale = {n: (v, have.get(n)) for n, v in pins.items() if have.get(n) != v}
    assert not stale, f"{lock} is not current (pinned, locked): {stale}: run `make lock`"


def test_the_dev_lock_installs_what_production_installs() -> None:
    prod, dev = locked(ROOT / "requirements.lock"), locked(ROOT / "requirements-dev.lock")
    differ = {n: (v, dev.get(n)) for n, v in prod.items() if dev.get(n) != v}
    assert not differ, f"the locks disagree: {differ}: run `make lock`"


def test_venv_installs_from_the_lock_with_hashes() -> None:
    assert "--require-hashes -r requirements-dev.lock" in (ROOT / "Makefile").read_text()
