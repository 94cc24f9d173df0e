"""Small steps webhook tests share: a team with an admin key, an endpoint made through the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update

from teamgate.storage.models import OutboxMessage

from tests.factories import key_headers, make_api_key, make_team


@dataclass
class Caller:
    team_id: str
    client: httpx.AsyncClient
    headers: dict[str, str]

    async def post(self, path: str, **kwargs) -> httpx.Response:
        return await self.client.post(f"/api/v1{path}", headers=self.headers, **kwargs)

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(f"/api/v1{path}", headers=self.headers)


async def team_caller(h, owner_email: str = "owner@example.com", name: str = "Acme") -> Caller:
    team = await make_team(h.rt, owner_email, name=name)
    return Caller(team.id, h.client(), key_headers(await make_api_key(h.rt, team.id)))


async def endpoint(caller: Caller, url: str, **fields) -> dict:
    response = await caller.post("/webhooks", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(caller: Caller, webhook_id: str) -> list[dict]:
    response = await caller.get(f"/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def make_due(h) -> None:
    """Queued deliveries due now. On PostgreSQL the claim trusts the caller's clock only a day
    ahead of the database's (migration 0007), so a test that moves its clock further makes its
    deliveries due this way instead: before both the database's clock and the test's."""
    due = min(datetime.now(UTC), h.clock.now()) - timedelta(seconds=1)
    async with h.owner() as db:
        await db.execute(update(OutboxMessage).where(OutboxMessage.status == "queued").values(next_attempt_at=due))
