"""The headless flow end to end (DESIGN 12, docs/headless.md): a product that signs its own people
in runs teams, invitations and roles through teamgate with one server key, and keeps its roles in
sync from the webhooks, which name each person by the product's own id."""

from __future__ import annotations

from tests.factories import acting, issue_server_key, mailed_token, make_team
from tests.webhooks.test_events import events, one, types

API = "/api/v1"
JOIN = "https://app.example/join?token="


async def test_a_product_with_its_own_sign_in_invites_accepts_and_syncs_roles_through_teamgate(harness_with,
                                                                                              receivers):
    h = await harness_with(webhook_allow_http=True, webhook_allow_private=True,
                           invite_url_template="https://app.example/join?token={token}")
    # the operator: a team whose owner the product knows as u-olivia, and the product's server key
    team = await make_team(h.rt, "olivia@acme.example", name="Acme", owner_external_id="u-olivia")
    server = await issue_server_key(h.rt, name="Partman")
    backend = h.client()
    as_olivia = acting(server.secret, team.id, "u-olivia")
    receiver = await receivers()
    hook = await backend.post(f"{API}/webhooks", headers=as_olivia, json={"url": receiver.url})
    assert hook.status_code == 201, hook.text

    # the product's admin screen invites, as Olivia
    created = await backend.post(f"{API}/team-invitations", headers=as_olivia,
                                 json={"email": "grace@example.com", "role": "member"})
    assert created.status_code == 201, created.text
    assert created.json()["acceptUrl"].startswith(JOIN)
    assert created.json()["invitedBy"] == {"type": "user", "id": team.owner.id, "name": "Olivia Owner"}

    # the email leads to the product's own page, which reads the public validate endpoint
    token = await mailed_token(h, "grace@example.com")
    assert JOIN + token in h.mail.sent[-1].text
    browser = h.client()
    preview = await browser.get(f"{API}/team-invitations/validate/{token}")
    assert preview.status_code == 200, preview.text
    assert (preview.json()["team"]["name"], preview.json()["role"]) == ("Acme", "member")

    # Grace signs in to the product; its backend accepts for her
    accepted = await backend.post(f"{API}/team-invitations/accept", headers={
        "Authorization": f"Bearer {server.secret}"}, json={"token": token, "user": {
            "externalId": "u-grace", "email": "grace@example.com", "firstName": "Grace", "lastName": "Hopper"}})
    assert accepted.status_code == 200, accepted.text
    grace = accepted.json()["user"]
    assert grace["externalId"] == "u-grace" and grace["emailVerified"] is True

    # who is who, and a role change from the product's admin screen
    person = await backend.get(f"{API}/users/by-external-id/u-grace", headers=acting(server.secret))
    assert person.json()["memberships"] == [{"teamId": team.id, "teamName": "Acme", "role": "member",
                                             "permissions": ["team:read"]}]
    promoted = await backend.patch(f"{API}/team-members/{grace['id']}", headers=as_olivia, json={"role": "admin"})
    assert promoted.status_code == 200 and promoted.json()["externalId"] == "u-grace"
    # and Grace, through the product, now invites as an admin herself
    as_grace = acting(server.secret, team.id, "u-grace")
    again = await backend.post(f"{API}/team-invitations", headers=as_grace,
                               json={"email": "ada@example.com", "role": "member", "sendEmail": False})
    assert again.status_code == 201 and again.json()["invitedBy"]["id"] == grace["id"]

    got = await events(h, receiver, hook.json()["secret"])
    assert types(got) == ["invitation.accepted", "invitation.created", "invitation.created", "invitation.delivered",
                          "membership.created", "membership.updated"]
    via_key = {"serverKeyId": server.server_key.id}
    first_created = next(e for e in got if e["type"] == "invitation.created" and e["data"]["email"] ==
                         "grace@example.com")
    assert first_created["actor"] == {"type": "user", "id": team.owner.id, "externalId": "u-olivia", **via_key}
    for type in ("invitation.accepted", "membership.created"):
        assert one(got, type)["actor"] == {"type": "user", "id": grace["id"], "externalId": "u-grace", **via_key}
    assert one(got, "membership.created")["data"]["externalId"] == "u-grace"
    updated = one(got, "membership.updated")
    assert (updated["data"]["externalId"], updated["data"]["role"]) == ("u-grace", "admin")
    assert updated["actor"]["externalId"] == "u-olivia"

    # the team's audit trail names the person and the key for each change
    trail = (await backend.get(f"{API}/audit-events", headers=as_olivia)).json()["data"]
    changes = [e for e in trail if e["action"] in ("invitation.created", "invitation.accepted", "member.role_changed")]
    assert len(changes) == 4 and all(e["actor"]["serverKeyId"] == server.server_key.id for e in changes)
