"""Ready offline: how long the field app takes to fetch and store one worker's offline data.

Issue 16 asks that a grid worker's offline data (about 500 households) be ready offline in under
2 s. This measures it through the app's own code, in Chromium on a phone viewport: a demo-seeded
scratch instance (as the e2e tests make it) gets about 500 households with their residents
imported into the demo grid worker's (``wgy``) grids, the app is served by gunicorn, the worker
signs in, and on 走访 (``#/base``) the 更新 button runs the app's ``refreshBase()``: GET
``/base/offline`` (gzipped), GET ``/base/vocabulary``, the bundle written to IndexedDB, then
shown. The time is taken in the page from the click until ``base.loading`` is false with a newer
``fetchedAt`` (both set after the IndexedDB write has completed); so it includes the server's
work (queries, the read log of every resident, JSON, gzip), the transfer over loopback, parsing
and the IndexedDB transaction, but no mobile network. Printed: the median and worst of
``--runs`` refreshes, the first fetch after sign-in, and the answer's size on the wire
(Resource Timing: encoded, decoded).

    .venv/bin/python bench/base_offline_ready.py            # ~500 households
    .venv/bin/python bench/base_offline_ready.py --households 1000 --runs 10
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from server.db import make_engine, make_session_factory  # noqa: E402
from server.domain.identity import make_id_number  # noqa: E402
from server.domain.import_templates import ImportKind  # noqa: E402
from server.models import GridAssignment, Household, Resident, User  # noqa: E402
from server.usecases.base_io import imports  # noqa: E402
from server.usecases.context import Actor, Context  # noqa: E402
from tests.e2e.helpers import sign_in  # noqa: E402
from tests.live import CHROMIUM, CHROMIUM_ARGS, LiveServer, ensure_webapp_built, seed  # noqa: E402

PHONE = {"width": 390, "height": 844}


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode()


def add_households(url: str, households: int) -> dict[str, int]:
    """Import ``households`` rooms (a 小区 of 楼栋 × 单元 × 房号) and 3–4 residents per room into
    wgy's grids, through the import use case (as an admin)."""
    engine = make_engine(url)
    db = make_session_factory(engine)()
    wgy = db.scalar(select(User).where(User.username == "wgy"))
    admin = db.scalar(select(User).where(User.username == "admin"))
    assert wgy is not None and admin is not None
    grids = sorted(
        set(db.scalars(select(GridAssignment.grid_code).where(GridAssignment.user_id == wgy.id)))
    )
    actor = Actor.of(db, admin)
    ctx = Context(db=db, upload_dir=Path(tempfile.mkdtemp()))
    addresses = [["网格编码*", "小区/自然村*", "楼栋", "单元", "房号", "门牌地址*", "经度", "纬度"]]
    people = [["姓名*", "公民身份号码*", "联系电话", "户籍类别*", "与户主关系", "门牌地址*",
               "楼栋", "单元", "房号"]]  # fmt: skip
    n = 0
    per_grid = -(-households // len(grids))
    for gi, grid in enumerate(grids):
        door = f"测速路{gi + 1}号"
        for i in range(min(per_grid, households - n)):
            b, u, r = i // 40 + 1, i // 20 % 2 + 1, i % 20
            room = f"{r // 2 + 1}0{r % 2 + 1}"
            addresses.append([grid, f"测速小区{gi + 1}", f"{b}栋", f"{u}单元", room, door, "", ""])
            for k in range(3 + i % 2):
                seq = n * 4 + k
                number = make_id_number("640181", _born(seq), seq % 900 + 1)
                people.append(
                    [f"测速居民{seq}", number, f"1700001{seq:04d}", "户籍",
                     "户主" if k == 0 else "其他", door, f"{b}栋", f"{u}单元", room]
                )  # fmt: skip
            n += 1
    for kind, data in ((ImportKind.ADDRESSES, addresses), (ImportKind.RESIDENTS, people)):
        result = imports.run_import(ctx, actor, kind, _csv(data))
        assert not result.invalid, (kind, result.invalid[:3])
        db.commit()
    mine = {
        "households": db.scalar(
            select(func.count()).select_from(Household).where(Household.grid_code.in_(grids))
        )
        or 0,
        "residents": db.scalar(
            select(func.count()).select_from(Resident).where(Resident.grid_code.in_(grids))
        )
        or 0,
        "grids": len(grids),
    }
    db.close()
    engine.dispose()
    return mine


def _born(seq: int) -> Any:
    from datetime import date

    return date(1940 + seq % 70, 1 + seq // 70 % 12, 1 + seq // 840 % 28)


REFRESH = """async () => {
  const w = window.wangge
  const before = w.base.fetchedAt
  const t0 = performance.now()
  document.querySelector('[data-test=base-refresh]').click()
  while (w.base.loading || w.base.fetchedAt === before) await new Promise((r) => setTimeout(r, 2))
  const households = w.base.bundle.households.length
  return { ms: performance.now() - t0, ok: !w.base.error, households }
}"""

SIZES = """() => performance.getEntriesByType('resource')
  .filter((e) => e.name.includes('/api/v1/base/offline'))
  .map((e) => ({ encoded: e.encodedBodySize, decoded: e.decodedBodySize, ms: e.duration }))"""


def measure(base_url: str, runs: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = context.new_page()
        t = time.perf_counter()
        sign_in(page, base_url)
        page.wait_for_function("() => window.wangge.base.bundle && !window.wangge.base.loading")
        first_s = time.perf_counter() - t
        page.evaluate("() => { location.hash = '#/base' }")
        page.wait_for_selector("[data-test=base-refresh]")
        times, households = [], 0
        for _ in range(runs):
            got = page.evaluate(REFRESH)
            assert got["ok"], got
            times.append(got["ms"])
            households = got["households"]
        sizes = page.evaluate(SIZES)
        # what IndexedDB holds after the last refresh (the app's store: wangge-field, kv)
        stored = page.evaluate(
            """async () => new Promise((ok) => { const r = indexedDB.open('wangge-field');
               r.onsuccess = () => { const g = r.result.transaction('kv').objectStore('kv')
                 .get('baseBundle'); g.onsuccess = () => ok(g.result ? {
                   households: g.result.bundle.households.length,
                   residents: g.result.bundle.residents.length } : null) } })"""
        )
        browser.close()
    return {
        "bundle_households": households,
        "refresh_ms": {
            "median": round(statistics.median(times), 1),
            "max": round(max(times), 1),
            "all": [round(x) for x in times],
        },
        "sign_in_until_bundle_stored_s": round(first_s, 2),
        "wire": sizes[-1] if sizes else None,
        "indexeddb_kv_baseBundle": stored,
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--households", type=int, default=500)
    p.add_argument("--runs", type=int, default=7)
    a = p.parse_args()
    ensure_webapp_built()
    with tempfile.TemporaryDirectory() as tmp:
        instance = seed(Path(tmp) / "instance")
        url = f"sqlite:///{instance / 'wangge.db'}"
        t = time.perf_counter()
        mine = add_households(url, a.households)
        load_s = time.perf_counter() - t
        server = LiveServer(instance).start()
        try:
            figures = measure(server.url, a.runs)
        finally:
            server.stop()
    out = {"worker": "wgy", **mine, "import_s": round(load_s, 1), **figures,
           "target_s": 2.0}  # fmt: skip
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
