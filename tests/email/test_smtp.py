"""Delivery through a real SMTP server: what arrives, one connection per batch, TLS and login,
a server that is down, and addresses that keep failing."""

import re

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from teamgate.storage.models import OutboxMessage

from tests.email.smtp_server import Inbox, self_signed_context, start_server
from tests.factories import NEW_PERSON, invite, key_headers, make_api_key, make_team



@pytest.fixture
def inbox():
    return Inbox()


@pytest.fixture
def smtp(inbox, unused_tcp_port):
    controller = start_server(unused_tcp_port, inbox)
    yield unused_tcp_port
    controller.stop()


async def smtp_harness(harness_with, port: int, **settings):
    h = await harness_with(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port,
                           email_from="Acme Invitations <invites@teams.example.com>", **settings)
    team = await make_team(h.rt)
    return h, h.client(), await make_api_key(h.rt, team.id)


def assert_no_internals(text: str, port: int) -> None:
    """What a team admin reads names neither the mail server, its port, nor a path on the host."""
    for internal in ("127.0.0.1", "localhost", str(port), "/", "Errno", "SMTP" + "Connect"):
        assert internal not in text, (internal, text)


async def outbox_errors(h) -> list[tuple[str, str]]:
    async with h.owner() as db:
        return [tuple(r) for r in (await db.execute(select(OutboxMessage.last_error_code, OutboxMessage.last_error)))]


async def delivery(client, key, invitation_id: str) -> dict:
    return (await client.get(f"/api/v1/team-invitations/{invitation_id}", headers=key_headers(key))).json()["delivery"]


async def test_the_message_arrives_with_headers_both_parts_and_a_link_that_accepts(harness_with, smtp, inbox):
    h, client, key = await smtp_harness(harness_with, smtp)
    await invite(client, key, "grace@example.com", role="admin")
    await h.dispatcher.drain()

    [message] = inbox.messages
    assert message["From"] == "Acme Invitations <invites@teams.example.com>"
    assert message["To"] == "grace@example.com"
    assert message["Subject"] == "Acme invited you to join Acme on teamgate"  # a key made by no one speaks for the team
    assert message["Date"] and message["Message-ID"].endswith("@teams.example.com>")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "as admin" in text and "expires in 7 days" in text and "UTC" in text
    assert "<strong>Acme</strong>" in html
    link = re.search(r"http://127\.0\.0\.1:8000/invite\?token=([A-Za-z0-9_-]{43})", text)
    assert link and link.group(0) in html

    accepted = await h.client().post("/api/v1/team-invitations/accept", json={"token": link.group(1), **NEW_PERSON})
    assert accepted.status_code == 200, accepted.text


async def test_a_batch_goes_over_one_connection(harness_with, smtp, inbox):
    h, client, key = await smtp_harness(harness_with, smtp)
    for i in range(5):
        await invite(client, key, f"person{i}@example.com")
    assert await h.dispatcher.drain() == 5
    assert sorted(inbox.recipients()) == [f"person{i}@example.com" for i in range(5)]
    assert inbox.sessions == 1


async def test_starttls_and_login_are_used_when_configured(harness_with, inbox, unused_tcp_port, tmp_path):
    controller = start_server(unused_tcp_port, inbox, tls_context=self_signed_context(tmp_path),
                              require_starttls=True, authenticator=inbox.authenticate, auth_require_tls=True)
    try:
        h, client, key = await smtp_harness(harness_with, unused_tcp_port, smtp_starttls=True,
                                            smtp_validate_certs=False, smtp_username="mailer",
                                            smtp_password=SecretStr("mail-password"))
        await invite(client, key, "secure@example.com")
        await h.dispatcher.drain()
    finally:
        controller.stop()
    assert inbox.logins == [("mailer", "mail-password")]
    assert inbox.recipients() == ["secure@example.com"]


async def test_implicit_tls_is_used_when_configured(harness_with, inbox, unused_tcp_port, tmp_path):
    controller = start_server(unused_tcp_port, inbox, ssl_context=self_signed_context(tmp_path))
    try:
        h, client, key = await smtp_harness(harness_with, unused_tcp_port, smtp_tls=True, smtp_validate_certs=False)
        await invite(client, key, "tls@example.com")
        await h.dispatcher.drain()
    finally:
        controller.stop()
    assert inbox.recipients() == ["tls@example.com"]


async def test_a_wrong_smtp_password_leaves_the_message_queued_with_the_reason(harness_with, inbox, unused_tcp_port,
                                                                               tmp_path):
    controller = start_server(unused_tcp_port, inbox, tls_context=self_signed_context(tmp_path),
                              authenticator=inbox.authenticate, auth_require_tls=True)
    try:
        h, client, key = await smtp_harness(harness_with, unused_tcp_port, smtp_starttls=True,
                                            smtp_validate_certs=False, smtp_username="mailer",
                                            smtp_password=SecretStr("wrong"), smtp_timeout=2)
        created = await invite(client, key, "waiting@example.com")
        await h.dispatcher.drain()
        state = await delivery(client, key, created["id"])
    finally:
        controller.stop()
    assert inbox.messages == [] and ("mailer", "wrong") in inbox.logins
    # aiosmtpd does not answer a refused login before the client gives up, so this reads as a timeout
    # (a server that answers 535 gives smtp_auth_failed: tests/email/test_failures.py)
    assert state["status"] == "queued" and state["attempts"] == 1 and state["lastErrorCode"] == "timeout"
    assert_no_internals(state["lastError"], unused_tcp_port)


async def test_smtp_down_keeps_the_invitation_and_delivers_exactly_once_when_it_returns(harness_with, inbox,
                                                                                       unused_tcp_port):
    h, client, key = await smtp_harness(harness_with, unused_tcp_port)  # nothing listens there yet
    created = await invite(client, key, "patient@example.com")
    await h.dispatcher.drain()
    state = await delivery(client, key, created["id"])
    assert state["status"] == "queued" and state["attempts"] == 1 and state["lastErrorCode"] == "smtp_unreachable"

    controller = start_server(unused_tcp_port, inbox)
    try:
        await h.dispatcher.drain()
        assert inbox.messages == []  # not due yet: the retry waits for its backoff
        h.clock.advance(minutes=2)
        await h.dispatcher.drain()
        h.clock.advance(hours=2)
        await h.dispatcher.drain()
    finally:
        controller.stop()
    assert inbox.recipients() == ["patient@example.com"]
    state = await delivery(client, key, created["id"])
    assert state["status"] == "sent" and state["attempts"] == 2 and state["lastError"] is None


async def test_a_refused_address_ends_failed_and_does_not_hold_back_the_others(harness_with, smtp, inbox):
    inbox.refuse.add("bounce@example.com")
    h, client, key = await smtp_harness(harness_with, smtp, email_max_attempts=3)
    bounce = await invite(client, key, "bounce@example.com")
    await invite(client, key, "fine@example.com")
    for _ in range(5):
        await h.dispatcher.drain()
        h.clock.advance(hours=2)

    assert inbox.recipients() == ["fine@example.com"]
    state = await delivery(client, key, bounce["id"])
    assert state["status"] == "failed" and state["attempts"] == 3 and state["lastErrorCode"] == "recipient_refused"
    assert "550" in state["lastError"]  # the reply number helps the admin; the server's own words stay out
    failed = (await client.get("/api/v1/team-invitations?delivery=failed", headers=key_headers(key))).json()["data"]
    assert [i["id"] for i in failed] == [bounce["id"]]

    inbox.refuse.clear()  # the mailbox is fixed; the admin resends
    resent = await client.post(f"/api/v1/team-invitations/{bounce['id']}/resend", headers=key_headers(key))
    assert resent.status_code == 200
    await h.dispatcher.drain()
    assert inbox.recipients() == ["fine@example.com", "bounce@example.com"]
    assert (await delivery(client, key, bounce["id"]))["status"] == "sent"
    resent_mail = inbox.messages[-1].get_body(("plain",)).get_content()
    assert "/invite?token=" in resent_mail and resent.json()["token"] not in resent_mail  # a new mail token


async def test_operators_can_override_a_template(harness_with, smtp, inbox, tmp_path):
    (tmp_path / "custom").mkdir()
    (tmp_path / "custom" / "invitation_subject.txt").write_text("Welcome aboard {{ team }}, from {{ inviter }}\n")
    h, client, key = await smtp_harness(harness_with, smtp, templates_dir=tmp_path / "custom")
    await invite(client, key, "custom@example.com")
    await h.dispatcher.drain()
    [message] = inbox.messages
    assert message["Subject"] == "Welcome aboard Acme, from Acme"
    assert "expires in 7 days" in message.get_body(("plain",)).get_content()  # the other templates stay


class TestDeliveryErrorsSayWhyWithoutInternals:
    async def test_a_refused_recipient_gives_its_code_and_a_plain_sentence(self, harness_with, smtp, inbox):
        inbox.refuse.add("bounce@example.com")
        h, client, key = await smtp_harness(harness_with, smtp)
        created = await invite(client, key, "bounce@example.com")
        await h.dispatcher.drain()
        state = await delivery(client, key, created["id"])
        assert state["lastErrorCode"] == "recipient_refused"
        assert state["lastError"] == ("The recipient's mail server refused the address (SMTP 550). "
                                      "Check the address, then resend.")
        assert_no_internals(state["lastError"], smtp)
        assert "mailbox unavailable" not in state["lastError"]  # the server's own words stay in the log
        assert await outbox_errors(h) == [("recipient_refused", state["lastError"])]

    async def test_an_unreachable_server_gives_its_code_and_no_host_or_port(self, harness_with, unused_tcp_port):
        h, client, key = await smtp_harness(harness_with, unused_tcp_port)  # nothing listens there
        created = await invite(client, key, "patient@example.com")
        await h.dispatcher.drain()
        state = await delivery(client, key, created["id"])
        assert (state["lastErrorCode"], state["lastError"]) == ("smtp_unreachable", "The mail server could not be reached.")
        assert_no_internals(state["lastError"], unused_tcp_port)
        [(code, message)] = await outbox_errors(h)
        assert code == "smtp_unreachable"
        assert_no_internals(message, unused_tcp_port)

    async def test_a_certificate_that_does_not_verify_gives_tls_failed(self, harness_with, inbox, unused_tcp_port,
                                                                     tmp_path):
        controller = start_server(unused_tcp_port, inbox, ssl_context=self_signed_context(tmp_path))
        try:
            h, client, key = await smtp_harness(harness_with, unused_tcp_port, smtp_tls=True, smtp_timeout=5)
            created = await invite(client, key, "tls@example.com")
            await h.dispatcher.drain()
            state = await delivery(client, key, created["id"])
        finally:
            controller.stop()
        assert state["lastErrorCode"] == "tls_failed"
        assert_no_internals(state["lastError"], unused_tcp_port)

    async def test_a_file_backend_that_cannot_write_names_no_path(self, harness_with, tmp_path):
        blocked = tmp_path / "not-a-directory"
        blocked.write_text("a file where the directory should be")
        h = await harness_with(email_backend="file", email_dir=blocked / "emails")
        key = await make_api_key(h.rt, (await make_team(h.rt)).id)
        client = h.client()
        created = await invite(client, key, "ann@example.com")
        await h.dispatcher.drain()
        state = await delivery(client, key, created["id"])
        assert state["lastErrorCode"] == "unknown"
        assert_no_internals(state["lastError"], 0)
        assert "not-a-directory" not in state["lastError"]
