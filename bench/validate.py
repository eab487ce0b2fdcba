"""Benchmark: validate a 10,000-grid plan (~100 communities). Goal: < 10 s (DESIGN §7).

Run: .venv/bin/python bench/validate.py
"""

from __future__ import annotations

import time

import numpy as np
import shapely
from _common import county_boundary

from geo import build_hierarchy, validate_plan


def main() -> None:
    boundary, name = county_boundary()
    towns = [(f"{100 + k:03d}", f"镇{k}") for k in range(1, 11)]
    t0 = time.perf_counter()
    _, communities, grids = build_hierarchy(boundary, "640181", towns, 10, 100, seed=1)
    built = time.perf_counter() - t0
    print(f"boundary: {name}")
    print(f"plan: {len(grids):,} grids in {len(communities)} communities (built in {built:.1f} s)")

    t0 = time.perf_counter()
    report = validate_plan(grids, communities)
    valid_s = time.perf_counter() - t0
    print(
        f"validate_plan (valid plan):   {valid_s:6.2f} s  valid={report.valid} "
        f"errors={len(report.errors)} warnings={len(report.warnings)}   goal < 10 s"
    )

    broken = grids.drop(index=range(0, len(grids), 97)).reset_index(drop=True)
    grown = shapely.buffer(np.asarray(broken.geometry.values[::50]), 0.001)  # ≈ 90 m
    broken.loc[::50, "geometry"] = grown
    t0 = time.perf_counter()
    report = validate_plan(broken, communities)
    broken_s = time.perf_counter() - t0
    kinds: dict[str, int] = {}
    for p in report.errors:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    print(f"validate_plan (broken plan):  {broken_s:6.2f} s  errors by kind: {kinds}")
    t0 = time.perf_counter()
    validate_plan(grids)
    print(f"validate_plan (no parents):   {time.perf_counter() - t0:6.2f} s")


if __name__ == "__main__":
    main()
