"""`teamgate migrate` sets up the service's role; the service refuses a role RLS does not bind."""

import asyncio
import os
import secrets
import signal
import subprocess

import pytest

from tests.conftest import PG_SERVER, _run_admin
from tests.email.test_workers import TEAMGATE

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def empty_database(postgresql_db):  # postgresql_db: fails in CI, and skips elsewhere, without PostgreSQL
    name = f"teamgate_roles_{secrets.token_hex(4)}"
    role = f"teamgate_svc_{secrets.token_hex(4)}"
    asyncio.run(_run_admin(f'CREATE DATABASE "{name}"'))
    yield name, role
    asyncio.run(_run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_run_admin(f'DROP ROLE IF EXISTS "{role}"'))


def run(env: dict, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([TEAMGATE, *args], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout)


async def role_attributes(role: str) -> tuple:
    import asyncpg

    conn = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        return tuple(await conn.fetchrow(
            "SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = $1", role))
    finally:
        await conn.close()


def test_migrate_creates_the_service_role_and_the_service_runs_only_as_it(empty_database, tmp_path):
    name, role = empty_database
    host = PG_SERVER.split("@", 1)[1]
    owner_url, service_url = f"{PG_SERVER}/{name}", f"postgresql://{role}:a-service-password@{host}/{name}"
    env = {"TEAMGATE_MIGRATION_DATABASE_URL": owner_url, "TEAMGATE_DATABASE_URL": service_url,
           "TEAMGATE_DATA_DIR": str(tmp_path), "TEAMGATE_SECRET_KEY": "k" * 32}

    migrated = run(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert f"service role '{role}'" in migrated.stderr
    assert asyncio.run(role_attributes(role)) == (True, False, False, False)

    as_owner = run({**env, "TEAMGATE_DATABASE_URL": owner_url}, "worker")
    assert as_owner.returncode == 1
    assert "superuser" in as_owner.stderr and "TEAMGATE_DEVELOPMENT" in as_owner.stderr

    worker = subprocess.Popen([TEAMGATE, "worker", "--poll-seconds", "0.2"], env={**os.environ, **env},
                              stderr=subprocess.PIPE, text=True)
    try:
        printed = []
        while len(printed) < 20 and "teamgate worker: sending" not in "".join(printed):  # logs, then the start line
            printed.append(worker.stderr.readline())
        assert "teamgate worker: sending" in printed[-1], printed  # started: it passed the role check
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0

    again = run(env, "migrate")  # idempotent: the role is updated, not created twice
    assert again.returncode == 0, again.stderr
