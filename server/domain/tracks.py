"""Patrol tracks: which positions of a chunk are kept and why the others are dropped, and what a
patrol's close (or a new chunk) makes of its summary. Plain code — no Flask, no database.

The rules (docs/field-work.md, "Patrols and tracks"; the contract of issue 17): a chunk is a list
of ``[t_ms, lon, lat, accuracy_m]`` (Unix epoch milliseconds, WGS84 degrees, metres). Each
position dropped is named with its index in the chunk as sent and one reason, checked in this
order — :data:`DROP_REASONS` is the one table of them:

1. ``bad_value``: not four finite numbers, lon/lat out of range, a negative accuracy;
2. ``inaccurate``: accuracy worse than :data:`MAX_ACCURACY_M`;
3. ``outside_time``: before the patrol's start − 1 min, after now + 5 min, after its end, or
   after the start of the worker's next patrol;
4. ``duplicate``: the same instant as a position kept before (stored, or earlier in the chunk);
5. ``teleport``: faster than :data:`MAX_SPEED_MPS` from the previous kept position in time.

Positions out of order are sorted by time, not dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from shapely.geometry.base import BaseGeometry

from geo.tracks import coverage_share, haversine_m, path_length_m

#: the most positions one chunk may carry (the phone cuts one every 60 or 5 minutes)
MAX_POINTS: Final = 2000
#: a fix less precise than this (metres) says little about where the worker walked
MAX_ACCURACY_M: Final = 100.0
#: 70 m/s = 252 km/h: faster than anyone patrols a grid, slower than any GPS jump worth a name
MAX_SPEED_MPS: Final = 70.0
#: a position may precede the patrol's start by this much (the first fix before the tap)
EARLY_SLACK_MS: Final = 60_000
#: and lie this far ahead of the server's clock (a phone's clock runs fast)
FUTURE_SLACK_MS: Final = 300_000

#: reason → (中文, English): the one table of why a position was not kept
DROP_REASONS: Final[dict[str, tuple[str, str]]] = {
    "bad_value": ("数值无效（非有限数或超出范围）", "not a finite, in-range value"),
    "inaccurate": ("定位精度差于 100 米", "accuracy worse than 100 m"),
    "outside_time": ("不在巡查时间内", "outside the patrol's time"),
    "duplicate": ("与已保存的位置同一时刻", "same instant as a kept position"),
    "teleport": ("与上一位置相比速度超过 70 米/秒", "faster than 70 m/s from the previous one"),
}

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def epoch_ms(at: datetime) -> int:
    """``at`` (aware) as Unix epoch milliseconds."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    return round(at.timestamp() * 1000)


def from_epoch_ms(t_ms: int) -> datetime:
    return datetime.fromtimestamp(t_ms / 1000, tz=UTC)


@dataclass(frozen=True)
class Window:
    """The instants a patrol's positions may have: from its start (less a minute) to its end,
    never beyond the server's now (plus five minutes), nor beyond the start of the worker's next
    patrol (``next_ms``: a patrol delivered late, before a later one, may not run into it)."""

    start_ms: int
    end_ms: int | None
    now_ms: int
    next_ms: int | None = None

    @property
    def earliest_ms(self) -> int:
        return self.start_ms - EARLY_SLACK_MS

    @property
    def latest_ms(self) -> int:
        bounds = (self.now_ms + FUTURE_SLACK_MS, self.end_ms, self.next_ms)
        return min(b for b in bounds if b is not None)


@dataclass(frozen=True)
class Anchor:
    """A stored position next to the chunk in time (for speeds and distances)."""

    t_ms: int
    lon: float
    lat: float


@dataclass
class Screened:
    """What is kept of a chunk (sorted by time) and what is dropped ({index, reason})."""

    t_ms: IntArray
    lon: FloatArray
    lat: FloatArray
    accuracy_m: FloatArray
    dropped: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.t_ms)

    def rows(self) -> list[tuple[int, float, float, float]]:
        """(t_ms, lon, lat, accuracy_m) tuples, for a bulk insert."""
        return list(
            zip(
                self.t_ms.tolist(),
                self.lon.tolist(),
                self.lat.tolist(),
                self.accuracy_m.tolist(),
                strict=True,
            )
        )


def _number(value: Any) -> float | None:
    """A JSON number as float (booleans and everything else are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond a double
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Parsed:
    """A chunk's points as an (n, 4) array and the mask of those that are four finite numbers
    in range (the others are ``bad_value``)."""

    arr: FloatArray
    ok: npt.NDArray[np.bool_]


_NUMBER_TYPES = (int, float)


def parse_points(points: Sequence[Any]) -> Parsed:
    """Read a chunk's points once (the JSON as sent)."""
    n = len(points)
    # the usual chunk: lists of four JSON numbers (not booleans: type(), not isinstance)
    if all(
        type(p) is list and len(p) == 4 and all(type(v) in _NUMBER_TYPES for v in p) for p in points
    ):
        try:
            arr = np.array(points, dtype=np.float64).reshape(n, 4)
            ok = np.isfinite(arr).all(axis=1)
        except OverflowError:  # an integer beyond a double: the slow path names it
            arr, ok = _parse_slowly(points)
    else:
        arr, ok = _parse_slowly(points)
    with np.errstate(invalid="ignore"):
        t, lon, lat, acc = arr.T
        ok &= (t >= 0) & (t < 1e14) & (t == np.floor(t))
        ok &= (lon >= -180) & (lon <= 180) & (lat >= -90) & (lat <= 90) & (acc >= 0)
    arr = np.where(ok[:, None], arr, np.nan)
    return Parsed(arr, ok)


def _parse_slowly(points: Sequence[Any]) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    n = len(points)
    arr = np.full((n, 4), np.nan)
    ok = np.zeros(n, dtype=bool)
    for i, point in enumerate(points):
        if not isinstance(point, list | tuple) or len(point) != 4:
            continue
        values = [_number(v) for v in point]
        if any(v is None for v in values):
            continue
        arr[i] = values
        ok[i] = True
    return arr, ok


def _first_checks(parsed: Parsed, window: Window) -> tuple[npt.NDArray[np.object_], Any]:
    """Reasons after the checks of a position on its own (value, accuracy, time), and the mask
    of the positions still in the running."""
    arr, ok = parsed.arr, parsed.ok.copy()
    reason = np.full(len(arr), "", dtype=object)
    reason[~ok] = "bad_value"
    t, _lon, _lat, acc = arr.T
    with np.errstate(invalid="ignore"):
        bad_acc = ok & (acc > MAX_ACCURACY_M)
        reason[bad_acc] = "inaccurate"
        ok &= ~bad_acc
        bad_time = ok & ((t < window.earliest_ms) | (t > window.latest_ms))
    reason[bad_time] = "outside_time"
    ok &= ~bad_time
    return reason, ok


def candidate_span(parsed: Parsed, window: Window) -> tuple[int, int] | None:
    """The first and last instant (ms) a chunk may add, before stored positions are looked at;
    None when nothing in it can be kept."""
    _reason, ok = _first_checks(parsed, window)
    if not ok.any():
        return None
    t = parsed.arr[ok, 0]
    return int(t.min()), int(t.max())


def screen_chunk(
    points: Sequence[Any] | Parsed,
    window: Window,
    *,
    stored_times: npt.ArrayLike = (),
    before: Anchor | None = None,
) -> Screened:
    """Keep the positions of a chunk the rules allow, sorted by time; name the others.

    ``stored_times``: instants (ms) the patrol already holds within the chunk's time span
    (duplicates); ``before``: the stored position just before the chunk's first, which the
    chunk's first position is measured from for speed."""
    parsed = points if isinstance(points, Parsed) else parse_points(points)
    arr = parsed.arr
    reason, ok = _first_checks(parsed, window)
    t, lon, lat, acc = arr.T

    # sort the candidates by time (stable: of two at the same instant the first sent stays)
    idx = np.flatnonzero(ok)
    idx = idx[np.argsort(t[idx], kind="stable")]
    ts = t[idx].astype(np.int64)
    dup = np.zeros(len(idx), dtype=bool)
    if len(idx) > 1:
        dup[1:] = ts[1:] == ts[:-1]
    stored = np.asarray(stored_times, dtype=np.int64)
    if stored.size:
        dup |= np.isin(ts, stored)
    reason[idx[dup]] = "duplicate"
    idx = idx[~dup]

    keep = _not_teleporting(t[idx], lon[idx], lat[idx], before)
    reason[idx[~keep]] = "teleport"
    idx = idx[keep]

    dropped = [{"index": int(i), "reason": str(reason[i])} for i in np.flatnonzero(reason != "")]
    return Screened(
        t_ms=t[idx].astype(np.int64),
        lon=lon[idx].copy(),
        lat=lat[idx].copy(),
        accuracy_m=acc[idx].copy(),
        dropped=dropped,
    )


def _not_teleporting(
    t: FloatArray, lon: FloatArray, lat: FloatArray, before: Anchor | None
) -> npt.NDArray[np.bool_]:
    """Which sorted positions are reachable at ≤ 70 m/s from the previous kept one."""
    n = len(t)
    keep = np.ones(n, dtype=bool)
    if n == 0:
        return keep
    if before is not None:
        t0 = np.concatenate([[before.t_ms], t])
        x0 = np.concatenate([[before.lon], lon])
        y0 = np.concatenate([[before.lat], lat])
    else:
        t0, x0, y0 = t, lon, lat
    dist = haversine_m(x0[:-1], y0[:-1], x0[1:], y0[1:])
    dt = np.diff(t0) / 1000.0
    if not np.any(dist > MAX_SPEED_MPS * dt):
        return keep  # the usual case: every step plausible, no walk needed

    # walk: a dropped position is not the previous one for the next. A patrol's first position
    # (no stored one before it) is not yet confirmed by a plausible step after it: when the next
    # position is out of reach of it but the one after that is within reach of the next, the
    # first was the jump (a cold GPS start) and goes, instead of everything after it.
    def reachable(a: int | None, b: int) -> bool:
        if a is None:
            assert before is not None
            ta, xa, ya = float(before.t_ms), before.lon, before.lat
        else:
            ta, xa, ya = float(t[a]), float(lon[a]), float(lat[a])
        step = float(haversine_m(xa, ya, lon[b], lat[b]))
        return step <= MAX_SPEED_MPS * (float(t[b]) - ta) / 1000.0

    prev: int | None = None  # index of the previous kept position (None: the stored anchor)
    started = before is not None
    confirmed = before is not None
    for i in range(n):
        if not started:
            prev, started = i, True
            continue
        if reachable(prev, i):
            prev, confirmed = i, True
            continue
        if not confirmed and prev is not None and i + 1 < n and reachable(i, i + 1):
            keep[prev] = False
            prev = i
            continue
        keep[i] = False
    return keep


# --- a patrol's summary ---------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """A patrol's figures: positions kept, distance walked, time spent, area covered."""

    points: int
    distance_m: float
    duration_s: int
    coverage: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "distance_m": round(self.distance_m, 1),
            "duration_s": self.duration_s,
            "coverage": None if self.coverage is None else round(self.coverage, 4),
        }


def duration_s(start_ms: int, end_ms: int | None, last_point_ms: int | None) -> int:
    """From the start to the end; for an open patrol, to its latest position (0 before any)."""
    until = end_ms if end_ms is not None else last_point_ms
    if until is None:
        return 0
    return max(0, round((until - start_ms) / 1000))


def summarise(
    start_ms: int,
    end_ms: int | None,
    t_ms: npt.ArrayLike,
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    area: BaseGeometry | None,
) -> Summary:
    """The summary from all of a patrol's positions (any order). Coverage is computed for an
    ended patrol only (``None`` while open, or when the worker has no grid)."""
    t = np.asarray(t_ms, dtype=np.int64)
    order = np.argsort(t, kind="stable")
    x = np.asarray(lon, dtype=np.float64)[order]
    y = np.asarray(lat, dtype=np.float64)[order]
    last = int(t[order[-1]]) if len(t) else None
    coverage = coverage_share(x, y, area) if end_ms is not None else None
    return Summary(
        points=len(t),
        distance_m=path_length_m(x, y),
        duration_s=duration_s(start_ms, end_ms, last),
        coverage=coverage,
    )


def distance_added(chunk: Screened, before: Anchor | None, after: Anchor | None) -> float:
    """How much a chunk lengthens the path when none of the stored positions lies inside its
    time span: its own length, joined to the positions before and after it, less the step it
    replaces between those two."""
    if not len(chunk):
        return 0.0
    added = path_length_m(chunk.lon, chunk.lat)
    first, last = (chunk.lon[0], chunk.lat[0]), (chunk.lon[-1], chunk.lat[-1])
    if before is not None:
        added += float(haversine_m(before.lon, before.lat, *first))
    if after is not None:
        added += float(haversine_m(*last, after.lon, after.lat))
    if before is not None and after is not None:
        added -= float(haversine_m(before.lon, before.lat, after.lon, after.lat))
    return added


def end_of_superseded(start_ms: int, last_point_ms: int | None, new_start_ms: int) -> int:
    """Where an open patrol ends when its worker starts another: at its last position (at its
    start if it has none), and never after the new patrol's start."""
    end = last_point_ms if last_point_ms is not None else start_ms
    return max(start_ms, min(end, new_start_ms))
