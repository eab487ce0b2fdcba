"""Address search by words, building/room and 门牌: the place, its grid and community, inside
the caller's jurisdiction. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from server.domain.address_text import query_tokens, tokens
from tests.base_io.conftest import client_of, seed_rooms
from tests.workflow.world import G1, G2, World


def _search(c: Any, q: str) -> list[dict[str, Any]]:
    resp = c.get("/api/v1/base/addresses", query_string={"q": q})
    assert resp.status_code == 200, resp.get_json()
    return list(resp.get_json()["items"])


def test_tokens() -> None:
    assert query_tokens("幸福路 12 号") == ["幸福", "福路", "福路>12号", "12号"]
    assert "福路>12号" in tokens("幸福小区 3栋 幸福路12号 1单元 101")
    assert set(query_tokens("幸福路１２号３单元５０２")) == {
        "幸福",
        "福路",
        "福路>12号",
        "12号",
        "3单元",
        "#502",
    }
    assert "12号" in tokens("幸福路12号") and "#12" in tokens("幸福路12号")
    assert query_tokens("阳光小区五栋")[-1] == "5栋"
    assert query_tokens("3号楼") == query_tokens("3栋")


def test_search_by_words_building_room_and_door(any_world: World) -> None:
    w = any_world
    admin = client_of(w, "admin")
    seed_rooms(admin, G1, "幸福路12号", 8)
    seed_rooms(admin, G2, "和平街3号", 4, estate="阳光小区", building="5栋")
    hits = _search(admin, "幸福路 12 号")
    assert hits[0]["place"]["kind"] == "building"
    assert hits[0]["place"]["address"] == "幸福路12号"
    assert hits[0]["grid"]["code"] == G1
    assert hits[0]["community"]["name"] == "第一社区"
    assert hits[0]["town"]["name"] == "城区街道"
    assert len(hits) == 1 + 1 + 8  # the building, its unit, its rooms
    room = _search(admin, "幸福路12号 3栋 1单元 202")
    assert [h["place"]["kind"] for h in room] == ["room"]
    assert room[0]["place"]["full_address"] == "幸福路12号3栋1单元202室"
    five = _search(admin, "阳光小区 5栋")[0]["place"]
    assert (five["kind"], five["name"], five["address"]) == ("building", "5栋", "和平街3号")
    assert _search(admin, "和平街 3 号 102")[0]["grid"]["code"] == G2
    assert _search(admin, "幸福路 13 号") == []
    assert _search(admin, "幸福路 12 栋") == []


def test_search_is_inside_the_jurisdiction(world: World) -> None:
    admin = client_of(world, "admin")
    seed_rooms(admin, G1, "幸福路12号", 2)
    assert _search(client_of(world, "wg1"), "幸福路12号")
    assert _search(client_of(world, "wg2"), "幸福路12号") == []
    assert _search(client_of(world, "disp"), "幸福路12号")
    assert _search(client_of(world, "dispb"), "幸福路12号") == []
    assert client_of(world, "h1").get("/api/v1/base/addresses?q=幸福路").status_code == 403
    assert world.app.test_client().get("/api/v1/base/addresses?q=x").status_code == 401


def _token_statistics(w: World) -> tuple[int, int, int | None]:
    """Rows in address_tokens, rows the planner's statistics say, and (PostgreSQL) the manual
    ANALYZEs of the table so far."""
    with w.session() as db:
        rows = int(db.scalar(text("SELECT count(*) FROM address_tokens")) or 0)
        if db.get_bind().dialect.name == "postgresql":
            planned, analyzes = db.execute(
                text(
                    "SELECT c.reltuples, s.analyze_count FROM pg_class c JOIN pg_stat_user_tables s"
                    " ON s.relid = c.oid WHERE c.relname = 'address_tokens'"
                )
            ).one()
            return rows, int(planned), int(analyzes)
        stat = db.scalar(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'address_tokens'"))
        return rows, int(str(stat).split()[0]) if stat else -1, None


def test_reindex_leaves_fresh_planner_statistics(any_world: World) -> None:
    """``flask addresses reindex`` rebuilt the tokens and left the planner counting from the
    statistics of before (PostgreSQL until autovacuum came by; SQLite's sqlite_stat1 until
    someone ran ANALYZE): now it refreshes them (VACUUM (ANALYZE) / ANALYZE)."""
    w = any_world
    admin = client_of(w, "admin")
    seed_rooms(admin, G1, "幸福路12号", 4)
    with w.session() as db:
        db.execute(text("ANALYZE address_tokens"))  # statistics of a smaller index
        db.commit()
    seed_rooms(admin, G2, "和平街3号", 12, estate="阳光小区", building="5栋")
    rows, planned, analyzes = _token_statistics(w)
    assert planned < rows
    runner = w.app.test_cli_runner()
    done = runner.invoke(args=["addresses", "reindex"])
    assert done.exit_code == 0, done.output
    after = _token_statistics(w)
    assert after[:2] == (rows, rows), (rows, planned, after)
    if analyzes is not None:
        assert after[2] == analyzes + 1
    assert f"{rows} tokens" in done.output and "ANALYZE" in done.output
    assert _search(admin, "幸福路 12 号") and _search(admin, "和平街 3 号 102")
