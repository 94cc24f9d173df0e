"""/healthz says the process is alive; /readyz that it can serve: database reachable, migrations
at head, and the in-process dispatcher running when this process sends the email."""

from sqlalchemy import text


async def test_a_migrated_database_is_ready(harness, client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


async def test_a_database_behind_the_newest_migration_is_not_ready(harness, client):
    async with harness.owner() as db:
        head = await db.scalar(text("SELECT version_num FROM alembic_version"))
        await db.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    try:
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["migrations"] == "behind"
    finally:
        async with harness.owner() as db:
            await db.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})


async def test_a_process_whose_dispatcher_stopped_is_not_ready(harness, client):
    harness.app.state.runs_dispatcher = True  # as `teamgate serve` without --no-dispatcher
    harness.dispatcher.start()
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["dispatcher"] == "ok"
    await harness.dispatcher.stop()
    stopped = await client.get("/readyz")
    assert stopped.status_code == 503 and stopped.json()["checks"]["dispatcher"] == "stopped"
