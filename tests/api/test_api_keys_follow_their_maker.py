"""Through the API: a key acts with at most its maker's current rights, and a key cannot make a key."""

from __future__ import annotations

from tests.factories import DIRECTOR_ROLES, add_member, key_headers, make_api_key, make_team, problem, sign_in

KEYS = "/api/v1/api-keys"


async def key_made_in_browser(harness, person, role: str, name: str) -> dict:
    browser = harness.client()
    csrf = await sign_in(browser, person)
    response = await browser.post(KEYS, json={"name": name, "role": role}, headers=csrf)
    assert response.status_code == 201, response.text
    return response.json()


async def audit(client, key: str, action: str) -> list[dict]:
    response = await client.get("/api/v1/audit-events", params={"action": action}, headers=key_headers(key))
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_a_removed_admins_key_stops_working_and_the_audit_trail_says_why(harness, client):
    team = await make_team(harness.rt)
    ada = await add_member(harness.rt, team.id, "ada@example.com", role="admin")
    made = await key_made_in_browser(harness, ada, "admin", "ada's integration")
    assert (await client.get("/api/v1/team", headers=key_headers(made["key"]))).status_code == 200
    owner = harness.client()
    csrf = await sign_in(owner, team.owner)

    assert (await owner.delete(f"/api/v1/team-members/{ada.id}", headers=csrf)).status_code == 204

    problem(await client.get("/api/v1/team", headers=key_headers(made["key"])), 401, "unauthenticated")
    operator = await make_api_key(harness.rt, team.id)
    [event] = await audit(client, operator, "api_key.revoked")
    assert (event["target"]["id"], event["data"]["reason"], event["actor"]["id"]) == (made["id"], "creator_left",
                                                                                     team.owner.id)


async def test_a_demoted_directors_key_is_lowered_and_can_no_longer_grant_above_the_new_role(harness_with):
    harness = await harness_with(roles=DIRECTOR_ROLES)
    client = harness.client()
    team = await make_team(harness.rt)
    dan = await add_member(harness.rt, team.id, "dan@example.com", role="director")
    made = await key_made_in_browser(harness, dan, "director", "dan's")
    owner = harness.client()
    csrf = await sign_in(owner, team.owner)

    changed = await owner.patch(f"/api/v1/team-members/{dan.id}", json={"role": "agency_admin"}, headers=csrf)
    assert changed.status_code == 200, changed.text

    listed = {k["id"]: k for k in (await client.get(KEYS, headers=key_headers(made["key"]))).json()["data"]}
    assert (listed[made["id"]]["role"], listed[made["id"]]["revokedAt"]) == ("agency_admin", None)
    problem(await client.post("/api/v1/team-invitations", headers=key_headers(made["key"]),
                              json={"email": "new@example.com", "role": "director"}), 403, "role_not_allowed")
    [event] = await audit(client, made["key"], "api_key.role_lowered")
    assert event["data"] == {"name": "dan's", "previous": "director", "role": "agency_admin",
                             "reason": "creator_demoted", "creator": dan.id}


async def test_a_member_demoted_out_of_key_management_loses_the_keys_above_the_new_role(harness, client):
    team = await make_team(harness.rt)
    ada = await add_member(harness.rt, team.id, "ada@example.com", role="admin")
    made = await key_made_in_browser(harness, ada, "admin", "ada's")
    owner = harness.client()
    csrf = await sign_in(owner, team.owner)

    assert (await owner.patch(f"/api/v1/team-members/{ada.id}", json={"role": "member"}, headers=csrf)).status_code == 200

    problem(await client.get("/api/v1/team", headers=key_headers(made["key"])), 401, "unauthenticated")
    [event] = await audit(client, await make_api_key(harness.rt, team.id), "api_key.revoked")
    assert (event["target"]["id"], event["data"]["reason"]) == (made["id"], "creator_demoted")


async def test_a_key_cannot_make_a_key_even_as_admin(harness, client):
    team = await make_team(harness.rt)
    admin_key = await make_api_key(harness.rt, team.id, role="admin")
    body = problem(await client.post(KEYS, json={"name": "child", "role": "member"}, headers=key_headers(admin_key)),
                   403, "forbidden")
    assert "API key cannot create" in body["detail"]
    assert len((await client.get(KEYS, headers=key_headers(admin_key))).json()["data"]) == 1
