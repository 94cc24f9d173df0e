"""Faults: when PostgreSQL is unreachable or a query is cut off, the API answers 503
service_unavailable (problem+json, no stack trace), /readyz says so, and nothing is half-written:
a retry then succeeds exactly once. (SMTP being down is in tests/email/test_smtp.py: the
invitation is kept and delivered later.)"""

import asyncio

import asyncpg
import pytest
from sqlalchemy import func, select, text

from teamgate.app import create_app
from teamgate.config import Settings
from teamgate.email.senders import MemorySender
from teamgate.storage.models import Membership, User
from tests.factories import NEW_PERSON, invite, key_headers, make_api_key, make_team, problem

pytestmark = pytest.mark.postgres_only

URL = "/api/v1/team-invitations"


def no_stack_trace(response) -> None:
    assert "Traceback" not in response.text and "asyncpg" not in response.text and "SELECT" not in response.text


async def test_an_unreachable_database_gives_503_problems_and_an_unready_service(settings, engine_name):
    import httpx

    down = Settings(**{**settings.model_dump(exclude={"database_url", "migration_database_url"}),
                       "database_url": "postgresql://teamgate@127.0.0.1:1/teamgate"})
    app = create_app(down, sender=MemorySender(), run_dispatcher=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.base_url) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("unreachable")
        assert (await client.get("/healthz")).status_code == 200  # the process itself is alive

        created = await client.post(URL, headers=key_headers("tgk_" + "x" * 40), json={"email": "a@example.com",
                                                                                     "role": "member"})
        body = problem(created, 503, "service_unavailable")
        assert int(created.headers["Retry-After"]) >= 1 and body["requestId"]
        no_stack_trace(created)

        page = await client.get("/invite?token=" + "x" * 43)
        assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
        no_stack_trace(page)
    await app.state.rt.engine.dispose()


async def blocked_backend(admin: asyncpg.Connection, role: str) -> int:
    """The pid of the service's backend that waits for a lock (the accept in flight)."""
    for _ in range(500):
        pid = await admin.fetchval("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                   "AND usename = $1 AND wait_event_type = 'Lock'", role)
        if pid:
            return pid
        await asyncio.sleep(0.01)
    raise AssertionError("the accept never blocked on the held lock")


@pytest.mark.parametrize("cut", ["pg_terminate_backend", "pg_cancel_backend"])
async def test_an_accept_cut_off_mid_transaction_answers_503_leaves_it_pending_and_a_retry_wins_once(harness, cut):
    team = await make_team(harness.rt)
    admin_client = harness.client()
    created = await invite(admin_client, await make_api_key(harness.rt, team.id), "ann@example.com")
    invitee = harness.client()
    owner_url = harness.rt.settings.migration_database.replace("+asyncpg", "")
    service_role = harness.rt.engine.url.username
    admin = await asyncpg.connect(owner_url)
    try:
        async with harness.owner() as db:
            # Hold the team's row: the accept marks the invitation accepted, then waits here to
            # check seats, so it is cut off in the middle of its transaction.
            await db.execute(text("SELECT id FROM teams WHERE id = :id FOR UPDATE"), {"id": team.id})
            accepting = asyncio.create_task(invitee.post(f"{URL}/accept", json={"token": created["token"],
                                                                                 **NEW_PERSON}))
            pid = await blocked_backend(admin, service_role)
            assert await admin.fetchval(f"SELECT {cut}($1)", pid)
            response = await accepting
    finally:
        await admin.close()

    problem(response, 503, "service_unavailable")
    no_stack_trace(response)
    assert "teamgate_session" not in response.headers.get("set-cookie", "")
    async with harness.owner() as db:
        assert await db.scalar(select(func.count()).select_from(User).where(User.email_normalized == "ann@example.com")) == 0
        assert await db.scalar(select(func.count()).select_from(Membership).where(Membership.team_id == team.id)) == 1
    assert (await invitee.get(f"{URL}/validate/{created['token']}")).json()["status"] == "pending"

    retried = await invitee.post(f"{URL}/accept", json={"token": created["token"], **NEW_PERSON})
    assert retried.status_code == 200, retried.text
    again = await harness.client().post(f"{URL}/accept", json={"token": created["token"], **NEW_PERSON})
    problem(again, 400, "invitation_accepted")
    async with harness.owner() as db:
        assert await db.scalar(select(func.count()).select_from(User).where(User.email_normalized == "ann@example.com")) == 1
