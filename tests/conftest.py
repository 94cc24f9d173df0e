"""Test harness: each storage and API test runs on SQLite and on PostgreSQL.

Both databases are made by the Alembic migrations (so the migrations are tested), once per
session; every test starts from empty tables. PostgreSQL is the machine's (127.0.0.1:5432,
user postgres, trust auth, or TEAMGATE_TEST_PG); when CI=true a missing server fails the run.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from teamgate.app import create_app
from teamgate.config import Settings
from teamgate.email.senders import MemorySender
from teamgate.storage.db import make_engine, migrate, session_factory, unit_of_work
from teamgate.storage.models import Base

PG_SERVER = os.environ.get("TEAMGATE_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
SERVICE_ROLE = "teamgate_test_service"  # what the app under test connects as: no superuser, no BYPASSRLS, owns nothing
IN_CI = os.environ.get("CI", "").lower() == "true"
ENGINES = ["sqlite", "postgresql"]


def _pg_available() -> bool:
    async def probe() -> None:
        conn = await asyncpg.connect(f"{PG_SERVER}/postgres", timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
        return True
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False


async def _run_admin(sql: str) -> None:
    conn = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(url: str, service_url: str | None = None) -> None:
    engine = make_engine(url)
    try:
        await migrate(engine, service_url=service_url)
    finally:
        await engine.dispose()


async def _migrate_one_at_a_time(url: str, service_url: str) -> None:
    """Parallel test workers each migrate their own database, but the service role is one for
    the whole server: creating or altering it at the same moment would collide."""
    conn = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await conn.execute("SELECT pg_advisory_lock(7400601)")
        await _migrate(url, service_url)
    finally:
        await conn.close()  # releases the lock


@dataclass(frozen=True)
class Database:
    url: str  # what the service connects with
    owner_url: str | None = None  # the tables' owner (PostgreSQL), for migrations, setup and inspection


@pytest.fixture(scope="session")
def postgresql_db() -> AsyncIterator[Database]:
    if not _pg_available():
        message = f"PostgreSQL is not reachable at {PG_SERVER}"
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing PostgreSQL is a failure)")
        pytest.skip(message)
    name = f"teamgate_test_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_run_admin(f'CREATE DATABASE "{name}"'))
    server = PG_SERVER.replace("postgresql://", "postgresql+asyncpg://")
    owner_url = f"{server}/{name}"
    service_url = f"{server.split('://')[0]}://{SERVICE_ROLE}@{server.split('@', 1)[1]}/{name}"
    asyncio.run(_migrate_one_at_a_time(owner_url, service_url))
    yield Database(url=service_url, owner_url=owner_url)
    asyncio.run(_run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_db(tmp_path_factory) -> Database:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'teamgate.db'}"
    asyncio.run(_migrate(url))
    return Database(url=url)


def pytest_generate_tests(metafunc) -> None:
    """Every test that touches the database runs once per engine (PostgreSQL-only ones once)."""
    if "engine_name" in metafunc.fixturenames:
        only_pg = metafunc.definition.get_closest_marker("postgres_only") is not None
        metafunc.parametrize("engine_name", ["postgresql"] if only_pg else ENGINES)


@pytest.fixture
def database(engine_name, request) -> Database:
    return request.getfixturevalue(f"{engine_name}_db")


@pytest.fixture
def database_url(database) -> str:
    return database.url


class FrozenClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings(database, tmp_path) -> Settings:
    return Settings(_env_file=None, database_url=database.url, migration_database_url=database.owner_url,
                    data_dir=tmp_path / "data", email_backend="memory",
                    secret_key="test-secret-key-not-for-production", base_url="http://127.0.0.1:8000",
                    argon2_memory_kib=1024, argon2_time_cost=1)


@dataclass
class Harness:
    """The app under test with the handles tests need: runtime, clock, sent mail, HTTP clients."""

    app: object
    clock: FrozenClock
    mail: MemorySender
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def rt(self):
        return self.app.state.rt

    @property
    def dispatcher(self):
        return self.app.state.dispatcher

    @dispatcher.setter
    def dispatcher(self, replacement) -> None:
        self.app.state.dispatcher = replacement

    @asynccontextmanager
    async def owner(self):
        """A transaction as the tables' owner, past row-level security: for setting up and inspecting."""
        engine = make_engine(self.rt.settings.migration_database)
        try:
            async with unit_of_work(session_factory(engine)) as db:
                yield db
        finally:
            await engine.dispose()

    def client(self) -> httpx.AsyncClient:
        """A new HTTP client with its own cookie jar (one per person in a test)."""
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://127.0.0.1:8000")
        self.clients.append(client)
        return client

    async def send_mail(self) -> list:
        """Run the dispatcher until the outbox is empty; returns what was sent by this call."""
        before = len(self.mail.sent)
        await self.dispatcher.drain()
        return self.mail.sent[before:]


async def _empty_tables(settings: Settings) -> None:
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    engine = make_engine(settings.migration_database)
    try:
        async with engine.begin() as conn:
            for name in names:  # children first; on these small tables DELETE is ten times faster than TRUNCATE
                await conn.execute(text(f"DELETE FROM {name}"))
    finally:
        await engine.dispose()


async def _close(h: Harness) -> None:
    for client in h.clients:
        await client.aclose()
    await h.rt.engine.dispose()


@pytest.fixture
async def harness_with(settings, clock, tmp_path):
    """Builds the app with other settings (`roles=` a TOML role catalog, or any setting), on the
    same clean database and clock: `h = await harness_with(roles=AGENCY_ROLES)`."""
    built: list[Harness] = []

    async def build(roles: str | None = None, **overrides) -> Harness:
        if roles is not None:
            overrides["roles_file"] = tmp_path / f"roles{len(built)}.toml"
            overrides["roles_file"].write_text(roles)
        mail = MemorySender()
        configured = settings.model_copy(update=overrides)
        sender = mail if configured.email_backend == "memory" else None  # else the configured backend
        app = create_app(configured, clock=clock, sender=sender, run_dispatcher=False)
        h = Harness(app=app, clock=clock, mail=mail)
        await _empty_tables(configured)
        built.append(h)
        return h

    yield build
    for h in built:
        await _close(h)


@pytest.fixture
async def harness(harness_with) -> Harness:
    return await harness_with()


@pytest.fixture
async def client(harness) -> httpx.AsyncClient:
    return harness.client()
