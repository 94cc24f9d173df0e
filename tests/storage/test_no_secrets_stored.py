"""No raw token, API key, session token or password is stored anywhere: every table is dumped
after the whole lifecycle has run, and searched as text and as bytes."""

from sqlalchemy import text

from teamgate.services import accounts
from teamgate.storage.db import unit_of_work
from tests.factories import PASSWORD, dump_database, invite, key_headers, make_api_key, make_team, sign_in


async def test_no_secret_is_stored_in_plain_text(harness, client):
    async with unit_of_work(harness.rt.sessions) as db:
        setup_url = await accounts.new_setup_link(db, harness.rt)
    setup_token = setup_url.split("token=")[1]
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    created = await invite(client, key, "first@example.com")
    resent = (await client.post(f"/api/v1/team-invitations/{created['id']}/resend", headers=key_headers(key))).json()
    second = await invite(client, key, "second@example.com")
    sent_then_erased = await invite(client, key, "sent@example.com")
    await harness.send_mail()
    queued = await invite(client, key, "queued@example.com")  # its email stays in the outbox, sealed

    invitee = harness.client()
    accepted = await invitee.post("/api/v1/team-invitations/accept", json={
        "token": second["token"], "password": "a brand new passphrase", "firstName": "S", "lastName": "P"})
    assert accepted.status_code == 200
    session_token = invitee.cookies["teamgate_session"]
    owner = harness.client()
    await sign_in(owner, team.owner)
    owner_session = owner.cookies["teamgate_session"]
    # answers kept for idempotency keys hold a link token, an API key's secret, a webhook secret: sealed
    kept = (await client.post("/api/v1/team-invitations/bulk", headers={**key_headers(key), "Idempotency-Key": "k1"},
                              json={"invitations": [{"email": "kept@example.com", "role": "member"}],
                                    "sendEmail": False})).json()
    csrf = (await owner.get("/api/v1/me")).json()["csrfToken"]
    made_key = (await owner.post("/api/v1/api-keys", json={"name": "ci", "role": "member"}, headers={
        "X-CSRF-Token": csrf, "X-Team-Id": team.id, "Idempotency-Key": "k2"})).json()
    whsec = (await client.post("/api/v1/webhooks", headers={**key_headers(key), "Idempotency-Key": "k3"},
                               json={"url": "https://hooks.example.com/in"})).json()["secret"]

    dump = await dump_database(harness)
    assert b"first@example.com" in dump  # the dump really holds the data
    async with harness.owner() as db:
        sealed = await db.scalar(text("SELECT count(*) FROM outbox_messages WHERE body IS NOT NULL"))
    # the queued invitation's body, and the verification link that the link-token accept sent, are
    # in the dump, encrypted
    assert sealed == 2
    secrets = [setup_token, key, created["token"], resent["token"], second["token"], sent_then_erased["token"],
               queued["token"], kept["results"][0]["invitation"]["token"], made_key["key"], whsec,
               session_token, owner_session, PASSWORD, "a brand new passphrase"]
    for secret in secrets:
        assert secret.encode() not in dump, f"found a secret in the database: {secret[:6]}..."
