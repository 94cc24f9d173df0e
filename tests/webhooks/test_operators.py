"""What operators see of webhook deliveries in the shared outbox: `teamgate outbox list` tells
them from emails (and filters by kind), and `teamgate outbox retry` records a webhook delivery's
retry as one."""

from __future__ import annotations

import json
import subprocess

from sqlalchemy import update

from teamgate.storage.models import OutboxMessage
from tests.factories import cli_env
from tests.live import TEAMGATE
from tests.webhooks.helpers import endpoint, team_caller


def outbox(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TEAMGATE, "outbox", *args], env=cli_env(settings), capture_output=True, text=True,
                          timeout=60)


def listed(settings, *args: str) -> list[dict]:
    done = outbox(settings, "list", "--status", "all", "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["data"]


async def test_outbox_list_tells_emails_from_webhook_deliveries(harness_with, settings):
    h = await harness_with(webhook_allow_http=True)
    caller = await team_caller(h)
    hook = await endpoint(caller, "http://10.0.0.1/hook")
    created = await caller.post("/team-invitations", json={"email": "ann@example.com", "role": "member"})
    assert created.status_code == 201, created.text

    everything = listed(settings)
    assert sorted(m["kind"] for m in everything) == ["email", "webhook"]
    [email] = listed(settings, "--kind", "email")
    [delivery] = listed(settings, "--kind", "webhook")
    assert email["recipient"] == "ann@example.com" and email["invitationId"] == created.json()["id"]
    assert email["eventId"] is None
    assert delivery["recipient"] == hook["id"] and delivery["subject"] == "invitation.created"
    assert delivery["eventId"].startswith("evt_") and delivery["status"] == "queued"

    text = outbox(settings, "list", "--status", "all", "--kind", "webhook")
    assert text.returncode == 0 and "webhook" in text.stdout and "invitation.created" in text.stdout
    assert "ann@example.com" not in text.stdout
    refused = outbox(settings, "list", "--kind", "sms")
    assert refused.returncode == 2 and "--kind must be email, webhook or all" in refused.stderr


async def test_outbox_retry_of_a_failed_webhook_delivery_is_audited_as_one(harness_with, settings):
    h = await harness_with(webhook_allow_http=True)
    caller = await team_caller(h)
    hook = await endpoint(caller, "http://10.0.0.1/hook")
    await caller.post("/team-invitations", json={"email": "ann@example.com", "role": "member", "sendEmail": False})
    async with h.owner() as db:  # its schedule spent
        await db.execute(update(OutboxMessage).values(status="failed"))
    [failed] = listed(settings, "--kind", "webhook")

    done = outbox(settings, "retry", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"retried": [failed["id"]], "skipped": {}}
    [again] = listed(settings)
    assert again["status"] == "queued" and again["attempts"] == 0
    audit = (await caller.get("/audit-events")).json()["data"]
    [retried] = [e for e in audit if e["action"] == "webhook.delivery_retried"]
    assert retried["target"]["id"] == hook["id"] and retried["data"]["deliveryId"] == failed["id"]
    assert not [e for e in audit if e["action"] == "email.retried"]
