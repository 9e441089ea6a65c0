"""What the import contract (pyproject.toml, `lint-imports`) cannot say, and the store's seams."""
from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from pipeline.errors import StoreError
from pipeline.store import open_store


def test_no_module_imports_itself_through_a_cycle():
    # The acyclic_siblings contract compares siblings; this also covers a package's __init__
    # and its own modules, and lazy imports inside functions.
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("pipeline", "flows", "callqa")
    cycles = sorted(
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.find_shortest_chain(importer=imported, imported=module)
    )
    assert cycles == []


def test_another_package_keeps_its_own_tables_in_the_store_database(tmp_path):
    own = MetaData()
    sessions = Table("web_sessions", own, Column("id", Integer, primary_key=True), Column("user", String(64)))
    with open_store(f"sqlite:///{tmp_path / 'callqa.db'}") as store:
        own.create_all(store.engine)
        with store.begin() as conn:
            conn.execute(insert(sessions).values(user="qa1"))
        with store.connect() as conn:
            assert conn.execute(select(sessions.c.user)).scalars().all() == ["qa1"]
        assert "web_sessions" not in store.metadata.tables  # the store's own schema is untouched
        assert set(store.row_counts()) == set(store.metadata.tables)
        with pytest.raises(StoreError, match="write failed and was rolled back"), store.begin() as conn:
            conn.execute(insert(sessions).values(id=1, user="duplicate key"))
