"""Engines and every dialect quirk in one place; the unit of work; running migrations.

SQLite: foreign keys on, WAL, a busy timeout, and `BEGIN IMMEDIATE` emitted by us (pysqlite's
own transaction handling is off) so that writers queue instead of failing to upgrade a lock.
Both: statement parameters are kept out of error messages (and so out of logs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from teamgate.storage.roles import ensure_service_role

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _sqlite_quirks(engine)
        return engine
    # No pre-ping (a round trip on every checkout): a connection found dead fails its request with
    # 503 and is discarded, and the next request gets a fresh one. No overflow: past the pool's
    # size a request waits for a connection (up to 30 s, then 503) rather than opening one that is
    # closed again as soon as it is returned, a new PostgreSQL backend each time under load.
    return create_async_engine(url, pool_size=pool_size, max_overflow=0, hide_parameters=True)


def _sqlite_quirks(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A transaction that commits if the block succeeds and rolls back if it raises."""
    async with factory() as session, session.begin():
        yield session


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def migrate(engine: AsyncEngine, revision: str = "head", *, service_url: str | None = None) -> str | None:
    """Upgrade the schema on a connection of this engine (Alembic's connection-sharing recipe);
    on PostgreSQL, then create or update the service's role (named in `service_url`) and its grants.
    Returns the service role's name, or None when there is no separate one."""

    def upgrade(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(upgrade)
        if service_url and engine.dialect.name == "postgresql":
            return await ensure_service_role(conn, service_url)
    return None


@cache
def _head_revision() -> str | None:
    """The newest migration this code ships (read from disk once: /readyz asks every few seconds)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def migrations_current(engine: AsyncEngine) -> bool:
    """True when the database is at the newest migration."""

    def check(connection: Connection) -> bool:
        return MigrationContext.configure(connection).get_current_revision() == _head_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(check)


# SQLSTATE classes that mean "the database could not serve this now", not "this request is wrong":
# 08 connection, 40 serialization failure or deadlock, 53 out of resources, 57 cancelled or shut down.
UNAVAILABLE_SQLSTATE_CLASSES = {"08", "40", "53", "57"}


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database is unreachable, gone mid-query, busy or cut the query
    off; the transaction did not commit, so the caller may simply try again."""
    if isinstance(exc, (OSError, sa_exc.TimeoutError)):  # refused, unreachable, pool exhausted
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
            return True
        state = getattr(exc.orig, "sqlstate", None)
        if state:
            return state[:2] in UNAVAILABLE_SQLSTATE_CLASSES
        return isinstance(exc, sa_exc.OperationalError) and "locked" in str(exc.orig)  # SQLite's busy writer
    return False


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE changed (SQLAlchemy types `execute()` as any kind of result)."""
    return cast(CursorResult[Any], result).rowcount


def is_refused_value(exc: BaseException) -> bool:
    """True when the database refused a value itself (SQLSTATE class 22: a NUL byte in text, a
    number out of range, a string too long): bad input, not a fault."""
    state = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, sa_exc.DBAPIError) and isinstance(state, str) and state.startswith("22")

