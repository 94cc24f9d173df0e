"""Persistence: engines and dialect quirks, models, repositories and Alembic migrations."""
