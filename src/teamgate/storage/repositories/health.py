"""What /readyz asks of the database: does it answer?"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def ping(engine: AsyncEngine) -> None:
    """One round trip on a connection of its own (raises whatever the driver raises when the
    database cannot be reached)."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
