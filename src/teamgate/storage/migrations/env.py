"""Alembic environment. teamgate always hands Alembic a connection (see storage/db.py)."""

from alembic import context

from teamgate.storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `teamgate migrate`, which supplies the connection")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
