"""Publish: the researchers' file is the warehouse's marts, copied whole or, after a build that
recomputed a few episodes, as the previous file with those episodes replaced; either way the same
rows (on a small warehouse built by hand)."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.publish import Build, PublishError, publish

EPISODES = frozenset({"fct_sessions"})


def warehouse(path, sessions, changed=()):
    """marts.fct_sessions (episode-keyed), marts.dim_sites (copied whole), the changed episodes."""
    with duckdb.connect(str(path)) as con:
        for schema in ("marts", "intermediate"):
            con.execute(f"create schema if not exists {schema}")
        con.execute("create or replace table marts.fct_sessions (episode_key varchar, session_number integer, "
                    "alliance double)")
        con.execute("comment on column marts.fct_sessions.alliance is 'WAI-SR mean'")
        if sessions:
            con.executemany("insert into marts.fct_sessions values (?, ?, ?)", sessions)
        con.execute("create or replace table marts.dim_sites as select 'BOS01' as site_id")
        con.execute("create or replace table intermediate.int_episodes_changed (episode_key varchar)")
        if changed:
            con.executemany("insert into intermediate.int_episodes_changed values (?)", [(e,) for e in changed])


def rows(path, table):
    with duckdb.connect(str(path), read_only=True) as con:
        return sorted(con.execute(f"select * from {table}").fetchall())


@pytest.fixture
def first(tmp_path):
    """A warehouse of two episodes, published whole by build b1."""
    wh, pub, record = tmp_path / "wh.duckdb", tmp_path / "published" / "registry.duckdb", tmp_path / "from.json"
    warehouse(wh, [("e1", 1, 3.0), ("e1", 2, 3.5), ("e2", 1, 4.0)], changed=["e1", "e2"])
    done = publish(wh, pub, Build("b1", None, EPISODES), record)
    assert done.replaced_episodes is None and done.counts == {"dim_sites": 1, "fct_sessions": 3}
    return wh, pub, record


def test_the_next_build_replaces_only_the_changed_episodes_and_equals_a_whole_copy(first, tmp_path):
    wh, pub, record = first
    # build b2 changed e1 (one session dropped, one corrected) and added e3; e2 is as it was
    warehouse(wh, [("e1", 1, 2.5), ("e2", 1, 4.0), ("e3", 1, 5.0)], changed=["e1", "e3"])
    done = publish(wh, pub, Build("b2", "b1", EPISODES), record)
    assert done.replaced_episodes == 2 and done.counts == {"dim_sites": 1, "fct_sessions": 3}
    assert rows(pub, "fct_sessions") == [("e1", 1, 2.5), ("e2", 1, 4.0), ("e3", 1, 5.0)]
    whole = tmp_path / "whole.duckdb"
    publish(wh, whole)
    for table in ("fct_sessions", "dim_sites"):
        assert rows(pub, table) == rows(whole, table)
    with duckdb.connect(str(pub), read_only=True) as con:
        assert con.execute("select comment from duckdb_columns() where column_name = 'alliance'"
                           ).fetchone() == ("WAI-SR mean",)


def test_a_file_made_from_another_build_is_copied_whole(first):
    wh, pub, record = first
    warehouse(wh, [("e1", 1, 2.5)], changed=["e1"])
    # b2 changed the warehouse from b0, not from b1 (which the published file was made from)
    done = publish(wh, pub, Build("b2", "b0", EPISODES), record)
    assert done.replaced_episodes is None and rows(pub, "fct_sessions") == [("e1", 1, 2.5)]


def test_a_copy_that_does_not_match_the_warehouse_is_thrown_away(first):
    """A changed-episode list that misses an episode the build changed leaves the row counts apart:
    nothing of the copy is trusted and the file is copied whole."""
    wh, pub, record = first
    warehouse(wh, [("e1", 1, 3.0), ("e1", 2, 3.5), ("e2", 1, 4.0), ("e3", 1, 5.0)], changed=[])
    done = publish(wh, pub, Build("b2", "b1", EPISODES), record)
    assert done.replaced_episodes is None and len(rows(pub, "fct_sessions")) == 4


def test_raw_identifier_columns_are_refused(tmp_path):
    wh = tmp_path / "wh.duckdb"
    warehouse(wh, [])
    with duckdb.connect(str(wh)) as con:
        con.execute("create table marts.leak as select 'C-1' as client_id")
    with pytest.raises(PublishError, match="client_id"):
        publish(wh, tmp_path / "registry.duckdb")
    assert not (tmp_path / "registry.duckdb").exists()
