"""Storage that refuses writes, as a full or read-only disk does, for tests on a real database.

SQLite gets `PRAGMA query_only` and PostgreSQL `default_transaction_read_only` on every new
connection (the pool is emptied first), so each write fails in the driver exactly where a
read-only file or volume would make it fail, and every read still works.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from bot.store.db import Database


async def refuse_writes(db: Database) -> None:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if db.is_sqlite:
            dbapi_connection.execute("PRAGMA query_only = ON")
        else:  # on the asyncpg connection itself: the adapter's cursor runs in a transaction
            dbapi_connection.run_async(
                lambda conn: conn.execute("SET default_transaction_read_only = on")
            )

    event.listen(db.engine.sync_engine, "connect", on_connect)
    await db.engine.dispose()
