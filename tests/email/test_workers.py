"""Separate `teamgate worker` processes share one database without sending anything twice,
and operators can list and retry failed messages with `teamgate outbox`."""

import asyncio
import json
import subprocess

import pytest
from sqlalchemy import func, select

from teamgate.services import invitations
from teamgate.services.context import Actor, TeamContext, system_owner_role
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import OutboxMessage
from teamgate.storage.scope import act_for
from tests.email.smtp_server import Inbox, start_server
from tests.email.test_delivery import FlakySender
from tests.factories import cli_env, dump_database, invite, key_headers, make_api_key, make_team
from tests.live import TEAMGATE, Worker, eventually


async def queue_invitations(rt, team_id: str, count: int, *, send_email: bool = True) -> list[str]:
    """`count` invitations (with their emails queued, unless told not to), in one transaction;
    returns their tokens."""
    ctx = TeamContext(actor=Actor.system(), team_id=team_id, role=system_owner_role(rt.catalog), is_owner=True)
    async with unit_of_work(rt.sessions) as db:
        await act_for(db, team_id=team_id)
        return [(await invitations.create(db, rt, ctx, email=f"person{i}@example.com", role="member",
                                          send_email=send_email)).token
                for i in range(count)]


async def count_messages(harness, status: str) -> int:
    async with harness.owner() as db:
        return await db.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == status))


async def _all_sent(harness, count: int) -> bool:
    return await count_messages(harness, "sent") == count


@pytest.mark.postgres_only
async def test_two_workers_deliver_two_hundred_messages_exactly_once(harness, settings, unused_tcp_port, tmp_path):
    inbox = Inbox()
    server = start_server(unused_tcp_port, inbox)
    team = await make_team(harness.rt)
    tokens = await queue_invitations(harness.rt, team.id, 200)
    env = cli_env(settings, TEAMGATE_EMAIL_BACKEND="smtp", TEAMGATE_SMTP_HOST="127.0.0.1",
                  TEAMGATE_SMTP_PORT=str(unused_tcp_port))
    workers = [Worker(tmp_path, env, batch_size=5) for _ in range(2)]
    try:
        await eventually(lambda: _all_sent(harness, 200), what="200 emails sent")
        await asyncio.sleep(1)  # both workers poll again: nothing more may be sent
    finally:
        codes = [worker.stop() for worker in workers]
        server.stop()

    assert codes == [0, 0], [w.printed() for w in workers]
    assert all("stopped" in w.printed() for w in workers)
    assert len(inbox.messages) == 200
    assert sorted(inbox.recipients()) == sorted(f"person{i}@example.com" for i in range(200))
    dump = await dump_database(harness)
    assert not any(token.encode() in dump for token in tokens)


async def test_outbox_commands_list_and_retry_failed_messages(harness, settings, client):
    harness.rt.settings.email_max_attempts = 1
    harness.dispatcher.sender = FlakySender(failures=1)
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    created = await invite(client, key, "unlucky@example.com")
    await harness.dispatcher.drain()
    env = cli_env(settings)

    listed = subprocess.run([TEAMGATE, "outbox", "list", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    [message] = json.loads(listed.stdout)["data"]
    assert message["recipient"] == "unlucky@example.com" and message["status"] == "failed"
    assert message["invitationId"] == created["id"] and message["lastErrorCode"] == "smtp_unreachable"
    assert "smtp down" not in message["lastError"]  # operators read the exception in the log

    retried = subprocess.run([TEAMGATE, "outbox", "retry", "--json"], env=env, capture_output=True, text=True,
                             timeout=60)
    assert json.loads(retried.stdout) == {"retried": [message["id"]], "skipped": {}}
    invitation = (await client.get(f"/api/v1/team-invitations/{created['id']}", headers=key_headers(key))).json()
    assert invitation["delivery"]["status"] == "queued"

    harness.clock.advance(minutes=1)  # the command queued it at the real time, a moment after the test's clock
    await harness.dispatcher.drain()  # the sender works again
    assert [m.recipient for m in harness.dispatcher.sender.sent] == ["unlucky@example.com"]
    again = subprocess.run([TEAMGATE, "outbox", "retry", message["id"], "--json"], env=env, capture_output=True,
                           text=True, timeout=60)
    assert json.loads(again.stdout)["skipped"] == {message["id"]: "it is sent, not failed"}
