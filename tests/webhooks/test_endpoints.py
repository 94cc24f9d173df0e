"""Managing endpoints: secrets shown once and never again, another team's endpoint is not found,
every change audited (the full who-may-call table is tests/api/test_authorization_matrix.py)."""

from __future__ import annotations

from sqlalchemy import select

from teamgate.storage.models import AuditEvent
from tests.factories import key_headers, make_api_key
from tests.webhooks.helpers import endpoint, team_caller


class TestSecrets:
    async def test_the_secret_is_in_the_create_answer_only_never_in_list_get_update_or_audit(self, harness):
        caller = await team_caller(harness)
        created = await endpoint(caller, "https://hooks.example.com/in", description="CRM")
        secret = created["secret"]
        answers = [await caller.get("/webhooks"), await caller.get(f"/webhooks/{created['id']}"),
                   await caller.client.patch(f"/api/v1/webhooks/{created['id']}", headers=caller.headers,
                                             json={"events": ["invitation.accepted"]}),
                   await caller.get(f"/webhooks/{created['id']}/deliveries"),
                   await caller.get("/audit-events")]
        for answer in answers:
            assert answer.status_code == 200, answer.text
            assert secret not in answer.text and "whsec_" not in answer.text and '"secret"' not in answer.text
        async with harness.owner() as db:
            stored = [e.data for e in await db.scalars(select(AuditEvent))]
        assert secret not in repr(stored)


class TestTeams:
    async def test_another_teams_endpoint_is_not_found_and_a_member_key_is_refused(self, harness):
        ours = await team_caller(harness)
        theirs = await team_caller(harness, "owner@globex.example", name="Globex")
        created = await endpoint(ours, "https://hooks.example.com/in")
        for method, path in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/rotate-secret"),
                             ("POST", "/test"), ("GET", "/deliveries")]:
            response = await theirs.client.request(method, f"/api/v1/webhooks/{created['id']}{path}",
                                                   headers=theirs.headers, json={} if method == "PATCH" else None)
            assert response.status_code == 404 and response.json()["code"] == "not_found", (method, path)
        member_key = key_headers(await make_api_key(harness.rt, ours.team_id, role="member"))
        response = await ours.client.get("/api/v1/webhooks", headers=member_key)
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
        assert (await ours.get(f"/webhooks/{created['id']}")).status_code == 200


class TestChanges:
    async def test_create_update_rotate_test_and_delete_are_audited(self, harness):
        caller = await team_caller(harness)
        created = await endpoint(caller, "https://hooks.example.com/in")
        path = f"/api/v1/webhooks/{created['id']}"
        changed = await caller.client.patch(path, headers=caller.headers,
                                            json={"url": "https://hooks.example.com/v2", "enabled": False})
        assert changed.json()["url"] == "https://hooks.example.com/v2" and changed.json()["enabled"] is False
        await caller.post(f"/webhooks/{created['id']}/rotate-secret")
        await caller.post(f"/webhooks/{created['id']}/test")
        assert (await caller.client.delete(path, headers=caller.headers)).status_code == 204
        assert (await caller.get(f"/webhooks/{created['id']}")).status_code == 404
        actions = [e["action"] for e in (await caller.get("/audit-events")).json()["data"]]
        for action in ("webhook.created", "webhook.updated", "webhook.secret_rotated", "webhook.tested",
                       "webhook.deleted"):
            assert action in actions
