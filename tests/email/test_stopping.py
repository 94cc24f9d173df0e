"""Stopping a dispatcher in the middle of a batch loses and duplicates nothing: it finishes the
message in hand, records what it sent and hands the rest back, due at once, for the next one."""

import asyncio

import pytest
from sqlalchemy import select

from teamgate.storage.models import OutboxMessage
from tests.email.smtp_server import Inbox, start_server
from tests.email.test_workers import count_messages, queue_invitations
from tests.factories import cli_env, make_team
from tests.live import Worker


class StopsAfter:
    """A sender that asks its dispatcher to stop while sending message number `n`."""

    def __init__(self, dispatcher, n: int) -> None:
        self.dispatcher, self.n, self.sent = dispatcher, n, []

    async def send_many(self, messages, stop=None):
        outcomes = []
        for message in messages:
            if stop is not None and stop.is_set():
                break
            self.sent.append(message.recipient)
            outcomes.append(None)
            if len(self.sent) == self.n:
                self.dispatcher.request_stop()
        return outcomes


async def rows(harness) -> list[OutboxMessage]:
    async with harness.owner() as db:
        return list(await db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_a_dispatcher_stopped_mid_batch_records_what_it_sent_and_hands_back_the_rest(harness):
    team = await make_team(harness.rt)
    await queue_invitations(harness.rt, team.id, 10)
    dispatcher = harness.dispatcher
    dispatcher.batch_size = 10
    dispatcher.sender = StopsAfter(dispatcher, 3)

    await dispatcher.run_forever()  # returns once stopped

    found = await rows(harness)
    sent = [r for r in found if r.status == "sent"]
    back = [r for r in found if r.status == "queued"]
    assert sorted(r.recipient for r in sent) == sorted(dispatcher.sender.sent) and len(sent) == 3
    assert len(back) == 7
    assert all(r.claim_id is None and r.attempts == 0 and r.next_attempt_at <= harness.clock.now() for r in back)
    # the next dispatcher sends exactly the rest
    harness.dispatcher = type(dispatcher)(harness.rt, harness.mail)
    await harness.send_mail()
    assert sorted(m.recipient for m in harness.mail.sent) == sorted(r.recipient for r in back)


@pytest.mark.postgres_only
async def test_sigterm_to_a_worker_in_the_middle_of_a_batch_loses_and_repeats_nothing(harness, settings,
                                                                                      unused_tcp_port, tmp_path):
    inbox = Inbox()
    inbox.delay = 0.05  # a slow server: the batch of 40 takes two seconds
    server = start_server(unused_tcp_port, inbox)
    team = await make_team(harness.rt)
    await queue_invitations(harness.rt, team.id, 40)
    env = cli_env(settings, TEAMGATE_EMAIL_BACKEND="smtp", TEAMGATE_SMTP_HOST="127.0.0.1",
                  TEAMGATE_SMTP_PORT=str(unused_tcp_port))

    try:
        first = Worker(tmp_path, env, batch_size=40)
        for _ in range(600):  # bounded: 60 s
            if len(inbox.messages) >= 3:
                break
            await asyncio.sleep(0.1)
        assert first.stop() == 0, first.printed()
        delivered_by_first = len(inbox.messages)
        assert 3 <= delivered_by_first < 40  # it stopped in the middle of its one batch
        assert await count_messages(harness, "sent") == delivered_by_first
        assert await count_messages(harness, "queued") == 40 - delivered_by_first  # handed back, not leased

        second = Worker(tmp_path, env, batch_size=40)
        for _ in range(600):
            if await count_messages(harness, "sent") == 40:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # it polls again: nothing more may go out
        assert second.stop() == 0, second.printed()
    finally:
        server.stop()
    assert sorted(inbox.recipients()) == sorted(f"person{i}@example.com" for i in range(40))
