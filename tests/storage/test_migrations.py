"""The migrations are the schema: they build it, undo it, and match the models exactly."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from teamgate.storage.db import alembic_config, make_engine, migrate, migrations_current
from teamgate.storage.models import Base


async def test_the_migrated_schema_matches_the_models(harness):
    def diff(connection):
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)

    async with harness.rt.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_the_database_reports_it_is_at_the_newest_migration(harness):
    assert await migrations_current(harness.rt.engine)


async def test_migrations_go_down_to_nothing_and_up_again(tmp_path):
    from alembic import command

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'down.db'}")
    try:
        await migrate(engine)

        def downgrade(connection):
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "base")

        async with engine.begin() as conn:
            await conn.run_sync(downgrade)
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert tables == ["alembic_version"]
        await migrate(engine)
        assert await migrations_current(engine)
    finally:
        await engine.dispose()
