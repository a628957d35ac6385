"""The database handle: connection pool, SQLite tuning, migrations and transactions.

SQLite (the embedded default) gets WAL, `synchronous=NORMAL`, a busy timeout and foreign keys
on every connection, and all writes of this process go through one lock so two coroutines
never contend for SQLite's single writer (no SQLITE_BUSY from an upgrade of a read
transaction). PostgreSQL needs no lock; the same statements run on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Table, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert

from bot.errors import StartupError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The PostgreSQL advisory lock every starting process takes around its migrations (an
#: arbitrary constant: "drillbot" in ASCII), so replicas starting together migrate once.
MIGRATION_LOCK = 0x6472696C6C626F74


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "busy_timeout=5000",
        "foreign_keys=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _insert(on_sqlite: bool, table: Table) -> sqlite.Insert | postgresql.Insert:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return sqlite.insert(table) if on_sqlite else postgresql.insert(table)


def upsert(conn: AsyncConnection, table: Table, values: dict[str, Any], keys: list[str]) -> Insert:
    """INSERT that updates every non-key column of an existing row with the same keys."""
    insert = _insert(conn.dialect.name == "sqlite", table).values(values)
    return insert.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={k: insert.excluded[k] for k in values if k not in keys},
    )


def is_storage_error(exc: BaseException) -> bool:
    """Whether `exc` is the database failing (refused, full, read-only, corrupt, gone) rather
    than a bug of ours: the caller can then say plainly that nothing was saved."""
    return isinstance(exc, (sa_exc.DBAPIError, sa_exc.TimeoutError, OSError))


def storage_trouble(exc: BaseException) -> str:
    """What a user is told of a storage failure, in words and without the driver's text."""
    said = str(getattr(exc, "orig", None) or exc).lower()
    if "full" in said or "no space" in said:
        return "drillbot's database is full"
    if "readonly" in said or "read-only" in said or "read only" in said:
        return "drillbot's database is read-only"
    return "drillbot's database is unavailable"


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


class Database:
    """One SQLAlchemy engine per process; `write()` for a short write transaction, `read()`
    for queries."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        parsed = make_url(url)
        self.shown_url = parsed.render_as_string(hide_password=True)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if (
            self.is_sqlite
            and parsed.database
            and parsed.database != ":memory:"
            and not parsed.database.startswith("file:")  # a URI (`?mode=ro&uri=true`)
        ):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: an error's text (logged, shown in a traceback) never holds the bound
        # values, which are answers and names that `forget-me` must be able to purge.
        self.engine: AsyncEngine = create_async_engine(
            url, **{"hide_parameters": True, **engine_options}
        )
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        """Migrate and refresh statistics at start-up; a database that cannot be used
        (corrupt, read-only, unreachable) is a `StartupError` of one line. Nothing is changed
        then: the migration runs in one transaction and SQLite refuses a corrupt file before
        writing."""
        try:
            await self.migrate()
            await self.optimize()
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise StartupError(
                f"the database {self.shown_url} cannot be used: {reason} (is it drillbot's "
                "database, reachable and writable?)"
            ) from exc

    async def migrate(self) -> None:
        """Bring the schema to the latest revision (run at start-up). On PostgreSQL under a
        transaction-scoped advisory lock: processes starting together wait for the first,
        then find the schema current and change nothing."""
        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            await conn.run_sync(_upgrade)

    async def optimize(self) -> None:
        """Refresh the query planner's statistics (SQLite; PostgreSQL's autovacuum does it).

        Without statistics SQLite may pick a narrower index for a board and scan a whole
        workspace; the tick runs this daily and start-up runs it once."""
        if self.is_sqlite:
            async with self.write() as conn:
                await conn.exec_driver_sql("ANALYZE")

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction, committed on exit; serialised in-process on SQLite."""
        guard: AbstractAsyncContextManager[Any] = (
            self._write_lock if self.is_sqlite else nullcontext()
        )
        async with guard, self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def ping(self) -> None:
        """One round-trip to the database; raises whatever the driver raises when it fails."""
        async with self.read() as conn:
            await conn.exec_driver_sql("SELECT 1")

    def insert_ignore(self, table: Table) -> Insert:
        """INSERT that silently skips a row whose key exists (the idempotency primitive)."""
        return _insert(self.is_sqlite, table).on_conflict_do_nothing()

    async def close(self) -> None:
        await self.engine.dispose()
