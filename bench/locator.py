"""Benchmark: GridLocator against raw vectorised Shapely STRtree (DESIGN §7).

Goals: bulk ≥ 0.8 × raw ``STRtree.query(points, predicate="intersects")``; one point well under
1 ms; < 100 MB held for 10,000 grids. Run: .venv/bin/python bench/locator.py
"""

from __future__ import annotations

import gc
import time
import tracemalloc

import numpy as np
import shapely
from _common import county_boundary

from geo import GridLocator, voronoi_partition

N_POINTS = 1_000_000


def best_of(runs: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    boundary, name = county_boundary()
    grids = np.array(voronoi_partition(boundary, 3000, seed=1), dtype=object)
    codes = [f"640181000000{i:03d}" if i < 1000 else f"64018100{i:07d}" for i in range(len(grids))]
    print(f"boundary: {name}; {len(grids):,} grids; {N_POINTS:,} random points in its bbox")
    rng = np.random.default_rng(0)
    minx, miny, maxx, maxy = boundary.bounds
    lons = rng.uniform(minx, maxx, N_POINTS)
    lats = rng.uniform(miny, maxy, N_POINTS)

    t0 = time.perf_counter()
    locator = GridLocator(grids, codes, tolerance_m=30)
    print(f"GridLocator built in {time.perf_counter() - t0:.2f} s")

    tree = shapely.STRtree(grids)
    points = shapely.points(lons, lats)
    raw = best_of(3, lambda: tree.query(points, predicate="intersects"))
    raw_with_points = best_of(
        3, lambda: tree.query(shapely.points(lons, lats), predicate="intersects")
    )
    bulk = best_of(3, lambda: locator.locate_many(lons, lats))
    _ids, how = locator.locate_many(lons, lats)
    print(
        f"raw STRtree.query(points, 'intersects') (points prebuilt): {N_POINTS / raw:12,.0f} pts/s"
    )
    print(
        f"raw STRtree.query incl. building the points:               "
        f"{N_POINTS / raw_with_points:12,.0f} pts/s"
    )
    print(
        f"GridLocator.locate_many(lons, lats):                       {N_POINTS / bulk:12,.0f} pts/s"
    )
    print(f"ratio locate_many / raw (prebuilt points): {raw / bulk:.2f}   goal ≥ 0.80")
    print(f"ratio locate_many / raw incl. points:      {raw_with_points / bulk:.2f}")
    print(f"outcome counts inside/nearest/outside: {np.bincount(how, minlength=3)[[1, 2, 0]]}")

    sample = rng.integers(0, N_POINTS, 10_000)
    lat_ns = []
    for k in sample:
        x, y = float(lons[k]), float(lats[k])
        t0 = time.perf_counter_ns()
        locator.locate(x, y)
        lat_ns.append(time.perf_counter_ns() - t0)
    lat_us = np.array(lat_ns) / 1000
    print(
        f"locate() one point: median {np.median(lat_us):.1f} µs, "
        f"p99 {np.percentile(lat_us, 99):.1f} µs   goal ≪ 1000 µs"
    )

    big = np.array(voronoi_partition(boundary, 10_000, seed=2), dtype=object)
    big_ids = list(range(len(big)))
    gc.collect()
    rss_before = rss_bytes()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    big_locator = GridLocator(big, big_ids)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    gc.collect()
    rss_held = rss_bytes() - rss_before
    coords = int(shapely.get_num_coordinates(big).sum())
    print(
        f"memory held by GridLocator for {len(big_locator):,} grids ({coords:,} vertices): "
        f"{held / 2**20:.1f} MB Python (tracemalloc), {rss_held / 2**20:.1f} MB RSS growth "
        f"incl. GEOS (trees, prepared polygons, projected copy)   goal < 100 MB"
    )


def rss_bytes() -> int:
    """Resident memory of this process (Linux), to see GEOS allocations tracemalloc misses."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    main()
