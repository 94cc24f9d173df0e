"""Token hygiene: answers that carry a token, key or session are never cached and never leak
their URL as a referrer; links are built from TEAMGATE_BASE_URL, never from the request's Host;
lists never show a token. (Logs: tests/test_logs.py. Storage: tests/storage/test_no_secrets_stored.py.)"""

import re

import pytest

from tests.factories import NEW_PERSON, invite, key_headers, make_api_key, make_team, sign_in

URL = "/api/v1/team-invitations"
HOSTILE_HOST = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}


def private(response) -> None:
    assert response.headers["cache-control"] == "no-store", (response.request.url, response.headers)
    assert response.headers["referrer-policy"] == "no-referrer", response.request.url


async def test_every_answer_that_carries_a_secret_is_private(harness, client):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    created = await client.post(URL, headers=key_headers(key), json={"email": "ann@example.com", "role": "member"})
    resent = await client.post(f"{URL}/{created.json()['id']}/resend", headers=key_headers(key))
    validated = await client.get(f"{URL}/validate/{resent.json()['token']}")
    accepted = await client.post(f"{URL}/accept", json={"token": resent.json()["token"], **NEW_PERSON})
    other = harness.client()
    csrf = await sign_in(other, team.owner)
    new_key = await other.post("/api/v1/api-keys", headers=csrf, json={"name": "ci", "role": "member"})
    me = await other.get("/api/v1/me")
    declined = await client.post(f"{URL}/decline", json={"token": (await invite(client, key, "bo@example.com"))["token"]})
    refused = await client.get(f"{URL}/validate/not-a-token")
    for response in (created, resent, validated, accepted, new_key, me, declined, refused):
        assert response.status_code < 500, response.text
        private(response)
    assert csrf["X-CSRF-Token"]


async def test_pages_that_show_a_token_are_private_too(harness, client):
    team = await make_team(harness.rt)
    created = await invite(client, await make_api_key(harness.rt, team.id), "ann@example.com")
    private(await harness.client().get(f"/invite?token={created['token']}"))


@pytest.mark.parametrize("via", ["create", "resend"])
async def test_links_come_from_the_base_url_never_from_the_host_header(harness_with, via):
    harness = await harness_with(trusted_proxies="127.0.0.1")  # even a trusted proxy's headers do not shape links
    client = harness.client()
    key = await make_api_key(harness.rt, (await make_team(harness.rt)).id)
    created = await client.post(URL, headers={**key_headers(key), **HOSTILE_HOST},
                                json={"email": "ann@example.com", "role": "member"})
    issued = created if via == "create" else await client.post(f"{URL}/{created.json()['id']}/resend",
                                                               headers={**key_headers(key), **HOSTILE_HOST})
    link = issued.json()["acceptUrl"]
    assert link == f"{harness.rt.settings.base_url}/invite?token={issued.json()['token']}"
    sent = (await harness.send_mail())[-1]
    emailed = re.search(r"\S+/invite\?token=[\w-]+", sent.text).group(0)  # the mail token's link
    assert emailed.startswith(f"{harness.rt.settings.base_url}/invite?token=") and emailed in sent.html
    assert "evil.example" not in sent.text + sent.html


async def test_lists_and_reads_never_show_a_token(harness, client):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    created = await invite(client, key, "ann@example.com")
    listed = await client.get(f"{URL}?status=all", headers=key_headers(key))
    read = await client.get(f"{URL}/{created['id']}", headers=key_headers(key))
    audit = await client.get("/api/v1/audit-events", headers=key_headers(key))
    for response in (listed, read, audit):
        assert response.status_code == 200
        assert created["token"] not in response.text and '"token"' not in response.text
