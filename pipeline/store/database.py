"""The connection: opening a database by URL, transactions whose errors name it, and upserts."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Table, create_engine, delete, insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from pipeline.errors import StoreError
from pipeline.store.schema import metadata

DEFAULT_URL = "sqlite:///reports/callqa.db"


def open_engine(url: str | None = None) -> Engine:
    """An engine on the database at a SQLAlchemy URL, with the store's tables created if needed."""
    url = url or DEFAULT_URL
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StoreError(
            f"database URL {url!r} is not a SQLAlchemy URL; use e.g. sqlite:///reports/callqa.db "
            "or postgresql+psycopg://user:pass@host/db"
        ) from e
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(parsed, future=True)
        metadata.create_all(engine)
    except ModuleNotFoundError as e:
        raise StoreError(
            f"the database driver for {parsed.drivername!r} is not installed ({e}); "
            "for PostgreSQL install callqa[postgres]"
        ) from e
    except SQLAlchemyError as e:
        raise StoreError(
            f"cannot open database {parsed.render_as_string(hide_password=True)}: {database_reason(e)}"
        ) from e
    return engine


def database_reason(error: SQLAlchemyError) -> str:
    """The driver's one-line reason, without SQLAlchemy's SQL echo, parameters and help link.

    The parameters may hold personal data from transcripts, and the multi-line text breaks the
    one-line error a nightly log shows per call.
    """
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class Database:
    """An engine with transactions whose database errors become a :class:`StoreError`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.metadata = metadata

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def begin(self) -> AbstractContextManager[Connection]:
        """One transaction; database errors become a StoreError naming the database."""
        return self._naming_errors(self.engine.begin, "write failed and was rolled back")

    def connect(self) -> AbstractContextManager[Connection]:
        """A connection for reading; database errors become a StoreError naming the database."""
        return self._naming_errors(self.engine.connect, "read failed")

    @contextmanager
    def _naming_errors(
        self, open_connection: Callable[[], AbstractContextManager[Connection]], failure: str
    ) -> Iterator[Connection]:
        try:
            with open_connection() as conn:
                yield conn
        except SQLAlchemyError as e:
            raise StoreError(f"database {self.url}: {failure}: {database_reason(e)}") from e

    def read_frame(self, query: Any) -> pd.DataFrame:
        """The rows of a query, with its columns even when there are none."""
        with self.connect() as conn:
            result = conn.execute(query)
            return pd.DataFrame(result.mappings().all(), columns=list(result.keys()))


def upsert_statement(dialect: str, table: Table, row: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE`` for SQLite and PostgreSQL (same syntax, two dialects)."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        raise StoreError(f"no native upsert for database dialect {dialect!r}; use SQLite or PostgreSQL")
    stmt = dialect_insert(table).values(**row)
    changed = {k: stmt.excluded[k] for k in row if k not in keys}
    if not changed:
        return stmt.on_conflict_do_nothing(index_elements=list(keys))
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=changed)


def upsert(conn: Connection, table: Table, rows: list[Mapping[str, Any]], keys: tuple[str, ...]) -> None:
    """Insert rows, or update every non-key column where a row with the same key exists."""
    dialect = conn.dialect.name
    for row in rows:
        if dialect in ("sqlite", "postgresql"):
            conn.execute(upsert_statement(dialect, table, row, keys))
        else:
            # Other databases: portable delete-then-insert inside the caller's transaction.
            conn.execute(delete(table).where(*(table.c[k] == row[k] for k in keys)))
            conn.execute(insert(table).values(**row))
