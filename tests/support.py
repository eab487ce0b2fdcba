"""Helpers for tests: skip-or-fail for optional infrastructure, and small builders."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier
from typing import TypeVar

import pytest

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


def require(available: bool, reason: str, require_var: str) -> None:
    """Skip with ``reason`` when something optional is missing, unless ``require_var`` is set.

    CI sets WANGGE_REQUIRE_PG / WANGGE_REQUIRE_BROWSER (and CI=true for shared data) so that a
    missing PostgreSQL or browser fails the run instead of letting it pass by skipping.
    """
    if available:
        return
    if _truthy(require_var):
        pytest.fail(f"{reason} — and {require_var} is set, so this is a failure, not a skip")
    pytest.skip(reason)


def shared_data() -> Path:
    require(
        SHARED_DATA.is_dir(),
        f"../shared/data not found at {SHARED_DATA}: real-data tests skipped",
        "CI",
    )
    return SHARED_DATA


def at_once(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``calls`` in threads released together by a barrier (an outside audit's shape: the
    same requests sent at once); their results in the order given."""
    gate = Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        gate.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [r.result() for r in [pool.submit(run, c) for c in calls]]
