"""Email through the outbox: what the message carries, where it goes, and retries."""

import asyncio
import email
import io
from datetime import timedelta
from email import policy

from httpx import ASGITransport, AsyncClient

from teamgate.app import create_app
from teamgate.config import Settings
from teamgate.email.messages import Outgoing, Templates
from teamgate.email.senders import ConsoleSender, FileSender, MemorySender
from tests.conftest import _empty_tables
from tests.factories import invite, key_headers, make_api_key, make_team


class FlakySender(MemorySender):
    """Fails the first `failures` sends, like an SMTP server that is down for a while."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def send(self, message):
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionRefusedError("smtp down")
        await super().send(message)


def _outgoing() -> Outgoing:
    return Outgoing(id="msg_1", recipient="to@example.com", subject="Join Acme", text="plain https://x/invite?token=t",
                    html="<p>html <a href='https://x/invite?token=t'>x</a></p>")


async def test_file_backend_writes_a_multipart_eml_with_proper_headers(tmp_path):
    settings = Settings(_env_file=None, email_dir=tmp_path, email_from="teamgate <noreply@teams.example.com>")
    await FileSender(settings).send(_outgoing())
    message = email.message_from_bytes((tmp_path / "msg_1.eml").read_bytes(), policy=policy.default)
    assert message["To"] == "to@example.com" and message["Subject"] == "Join Acme"
    assert message["From"] == "teamgate <noreply@teams.example.com>"
    assert message["Date"] and message["Message-ID"].endswith("@teams.example.com>")
    assert message.get_body(("plain",)).get_content().startswith("plain https://x/invite?token=t")
    assert "<a href=" in message.get_body(("html",)).get_content()


async def test_console_backend_prints_the_link():
    stream = io.StringIO()
    await ConsoleSender(Settings(_env_file=None), stream=stream).send(_outgoing())
    assert "Email to to@example.com" in stream.getvalue() and "https://x/invite?token=t" in stream.getvalue()


def test_the_email_names_team_inviter_role_link_and_expiry(clock):
    now = clock.now()
    rendered = Templates().invitation(product="teamgate", team="Acme", inviter="Olivia Owner", role="admin",
                                url="https://t.example/invite?token=abc", expires_at=now + timedelta(days=7),
                                now=now, resend=False)
    for part in (rendered.text, rendered.html):
        assert "Acme" in part and "Olivia Owner" in part and "admin" in part
        assert "https://t.example/invite?token=abc" in part
        assert "expires in 7 days" in part and (now + timedelta(days=7)).strftime("%Y-%m-%d") in part
        assert "not expecting" in part
    assert rendered.subject == "Olivia Owner invited you to join Acme on teamgate"


def test_user_text_cannot_inject_headers_or_markup(clock):
    now = clock.now()
    rendered = Templates().invitation(product="teamgate", team="<script>x</script>\r\nBcc: evil@example.com",
                                inviter="Eve", role="member", url="https://t/invite?token=a",
                                expires_at=now + timedelta(days=1), now=now, resend=True)
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    assert rendered.subject.startswith("Reminder: ")
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html


async def test_a_failed_send_is_retried_later_and_then_delivered(harness, client):
    harness.dispatcher.sender = FlakySender(failures=1)
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    created = await invite(client, key, "later@example.com")

    await harness.dispatcher.drain()
    state = (await client.get(f"/api/v1/team-invitations/{created['id']}", headers=key_headers(key))).json()
    assert state["delivery"]["status"] == "queued" and state["delivery"]["attempts"] == 1
    assert state["delivery"]["lastErrorCode"] == "smtp_unreachable"
    assert state["delivery"]["lastError"] == "The mail server could not be reached."  # not the exception's text

    harness.clock.advance(minutes=1)
    await harness.dispatcher.drain()
    state = (await client.get(f"/api/v1/team-invitations/{created['id']}", headers=key_headers(key))).json()
    assert state["delivery"]["status"] == "sent" and state["delivery"]["sentAt"].endswith("Z")
    assert [m.recipient for m in harness.dispatcher.sender.sent] == ["later@example.com"]


async def test_an_address_that_keeps_failing_ends_failed(harness, client):
    harness.rt.settings.email_max_attempts = 3
    harness.dispatcher.sender = FlakySender(failures=100)
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    created = await invite(client, key, "never@example.com")
    for _ in range(5):
        await harness.dispatcher.drain()
        harness.clock.advance(hours=2)
    state = (await client.get(f"/api/v1/team-invitations/{created['id']}", headers=key_headers(key))).json()
    assert state["delivery"] == {"status": "failed", "attempts": 3, "lastError": "The mail server could not be reached.",
                                 "lastErrorCode": "smtp_unreachable", "sentAt": None}


async def test_the_running_service_sends_right_after_the_commit(settings, clock):
    mail = MemorySender()
    app = create_app(settings, clock=clock, sender=mail)
    async with app.router.lifespan_context(app):
        rt = app.state.rt
        await _empty_tables(settings)
        team = await make_team(rt)
        key = await make_api_key(rt, team.id)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://127.0.0.1:8000") as client:
            await invite(client, key, "prompt@example.com")
            for _ in range(500):  # woken by the commit; bounded, never a fixed sleep
                if mail.sent:
                    break
                await asyncio.sleep(0.01)
    assert [m.recipient for m in mail.sent] == ["prompt@example.com"]


async def test_a_dispatcher_whose_lease_ran_out_cannot_overwrite_the_one_that_took_over(harness, client):
    harness.clock.advance(minutes=-11)  # on PostgreSQL a lease runs out by the database's clock: start in the past
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    created = await invite(client, key, "leased@example.com")
    stalled = harness.dispatcher
    claimed = await stalled._claim("stalled-claim")  # it claims, then hangs before sending
    assert [c.invitation_id for c in claimed] == [created["id"]]
    assert await stalled.run_once() == 0  # while the lease holds nobody else takes the message

    harness.clock.advance(minutes=11)  # the lease runs out; another dispatcher takes over and sends
    assert await harness.dispatcher.run_once() == 1
    await stalled._record("stalled-claim", claimed, {claimed[0].id: ConnectionRefusedError("late failure")})

    state = (await client.get(f"/api/v1/team-invitations/{created['id']}", headers=key_headers(key))).json()
    assert state["delivery"]["status"] == "sent" and state["delivery"]["lastError"] is None
    assert [m.recipient for m in harness.mail.sent] == ["leased@example.com"]
