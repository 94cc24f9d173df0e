"""The shortest path through the product: invite, validate, accept, and the token is spent."""

import re

from tests.factories import invite, make_api_key, make_team


async def test_invitation_round_trip(harness, client):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    created = await invite(client, key, "new.person@example.com")
    assert created["acceptUrl"] == f"http://127.0.0.1:8000/invite?token={created['token']}"

    sent = await harness.send_mail()
    assert [m.recipient for m in sent] == ["new.person@example.com"]
    # the email carries its own link (the mail token), not the one returned to the creator
    emailed = re.search(r"http://127\.0\.0\.1:8000/invite\?token=([\w-]+)", sent[0].text).group(1)
    assert emailed in sent[0].html and emailed != created["token"] and created["token"] not in sent[0].text

    preview = await client.get(f"/api/v1/team-invitations/validate/{emailed}")
    assert preview.status_code == 200, preview.text
    assert preview.json()["team"]["name"] == "Acme"

    invitee = harness.client()
    accepted = await invitee.post("/api/v1/team-invitations/accept", json={
        "token": emailed, "password": "a long new password", "firstName": "New", "lastName": "Person"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["accountCreated"] is True and accepted.json()["user"]["emailVerified"] is True
    assert "teamgate_session" in invitee.cookies

    again = await harness.client().post("/api/v1/team-invitations/accept", json={
        "token": created["token"], "password": "a long new password", "firstName": "New", "lastName": "Person"})
    assert again.status_code == 400
    assert again.json()["code"] == "invitation_accepted"
