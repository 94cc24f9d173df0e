"""Teams, members, roles, removal, ownership transfer, and the system owner's reach."""

from __future__ import annotations

import httpx

from tests.factories import problem, add_member, key_headers, make_api_key, make_team, make_user, sign_in



async def members(client: httpx.AsyncClient, headers: dict) -> dict[str, dict]:
    """The current team's members by user id."""
    response = await client.get("/api/v1/team-members", headers=headers)
    assert response.status_code == 200, response.text
    return {m["userId"]: m for m in response.json()["data"]}


async def signed_in(harness, person) -> tuple[httpx.AsyncClient, dict]:
    client = harness.client()
    return client, await sign_in(client, person)


async def acme_with_people(harness):
    """Acme with an owner, an admin and a member; an admin key to look with."""
    team = await make_team(harness.rt)
    admin = await add_member(harness.rt, team.id, "adam@example.com", role="admin")
    member = await add_member(harness.rt, team.id, "mia@example.com", role="member")
    return team, admin, member, key_headers(await make_api_key(harness.rt, team.id))


# --- teams --------------------------------------------------------------------------------------

async def test_creating_a_team_makes_the_caller_its_owner(harness):
    person = await make_user(harness.rt, "ann@example.com")
    client, csrf = await signed_in(harness, person)
    response = await client.post("/api/v1/teams", json={"name": "  Beta  ", "seatLimit": 5}, headers=csrf)
    assert response.status_code == 201, response.text
    team = response.json()
    assert (team["name"], team["seatLimit"]) == ("Beta", 5) and team["id"].startswith("team_")
    listed = await members(client, {"X-Team-Id": team["id"]})
    assert [(m["role"], m["isOwner"]) for m in listed.values()] == [("owner", True)]
    assert list(listed) == [person.id]


async def test_a_new_team_becomes_the_active_team_of_a_teamless_user(harness):
    client, csrf = await signed_in(harness, await make_user(harness.rt, "ann@example.com"))
    created = (await client.post("/api/v1/teams", json={"name": "Beta"}, headers=csrf)).json()
    assert (await client.get("/api/v1/team")).json()["id"] == created["id"]


async def test_creating_a_team_needs_a_session_not_an_api_key(harness, client):
    team = await make_team(harness.rt)
    key = key_headers(await make_api_key(harness.rt, team.id))
    problem(await client.post("/api/v1/teams", json={"name": "Beta"}, headers=key), 403, "forbidden")


async def test_the_team_list_shows_only_my_teams(harness):
    mine = await make_team(harness.rt, "ann@example.com", name="Mine")
    await make_team(harness.rt, "bob@example.com", name="Theirs")
    client, _ = await signed_in(harness, mine.owner)
    listed = (await client.get("/api/v1/teams")).json()["data"]
    assert [(t["team"]["name"], t["role"], t["isOwner"]) for t in listed] == [("Mine", "owner", True)]


async def test_the_current_team_is_returned(harness, client):
    team = await make_team(harness.rt, name="Acme", seat_limit=3)
    key = key_headers(await make_api_key(harness.rt, team.id))
    body = (await client.get("/api/v1/team", headers=key)).json()
    assert (body["id"], body["name"], body["seatLimit"]) == (team.id, "Acme", 3)


# --- what a member may do -------------------------------------------------------------------------

async def test_a_member_can_list_members_and_tasks(harness):
    team, admin, member, _ = await acme_with_people(harness)
    client, _ = await signed_in(harness, member)
    assert set(await members(client, {})) == {team.owner.id, admin.id, member.id}
    assert (await client.get("/api/v1/tasks")).status_code == 200


async def test_a_member_cannot_create_a_task(harness):
    _, _, member, key = await acme_with_people(harness)
    client, csrf = await signed_in(harness, member)
    problem(await client.post("/api/v1/tasks", json={"title": "Sneaky"}, headers=csrf), 403, "forbidden")
    assert (await client.get("/api/v1/tasks", headers=key)).json()["data"] == []


async def test_a_member_cannot_invite(harness):
    _, _, member, key = await acme_with_people(harness)
    client, csrf = await signed_in(harness, member)
    response = await client.post("/api/v1/team-invitations", json={"email": "x@example.com", "role": "member"},
                                 headers=csrf)
    problem(response, 403, "forbidden")
    listed = await client.get("/api/v1/team-invitations", params={"status": "all"}, headers=key)
    assert listed.json()["data"] == []


# --- roles ----------------------------------------------------------------------------------------

async def test_an_admin_can_change_a_members_role(harness):
    _, admin, member, key = await acme_with_people(harness)
    client, csrf = await signed_in(harness, admin)
    response = await client.patch(f"/api/v1/team-members/{member.id}", json={"role": "admin"}, headers=csrf)
    assert response.status_code == 200, response.text
    assert (response.json()["userId"], response.json()["role"]) == (member.id, "admin")
    assert (await members(client, key))[member.id]["role"] == "admin"


async def test_an_admin_cannot_make_anyone_owner(harness):
    team, admin, member, key = await acme_with_people(harness)
    client, csrf = await signed_in(harness, admin)
    response = await client.patch(f"/api/v1/team-members/{member.id}", json={"role": "owner"}, headers=csrf)
    problem(response, 403, "role_not_allowed")
    after = await members(client, key)
    assert (after[member.id]["role"], after[member.id]["isOwner"]) == ("member", False)
    assert [uid for uid, m in after.items() if m["isOwner"]] == [team.owner.id]


async def test_even_the_owner_cannot_grant_the_owner_role_by_a_role_change(harness):
    team, _, member, key = await acme_with_people(harness)
    client, csrf = await signed_in(harness, team.owner)
    response = await client.patch(f"/api/v1/team-members/{member.id}", json={"role": "owner"}, headers=csrf)
    problem(response, 403, "role_not_allowed")
    assert (await members(client, key))[member.id]["role"] == "member"


async def test_nobody_can_change_the_owners_role(harness):
    team, admin, _, key = await acme_with_people(harness)
    client, csrf = await signed_in(harness, admin)
    response = await client.patch(f"/api/v1/team-members/{team.owner.id}", json={"role": "member"}, headers=csrf)
    problem(response, 403, "role_not_allowed")
    owner = (await members(client, key))[team.owner.id]
    assert (owner["role"], owner["isOwner"]) == ("owner", True)


async def test_an_unknown_role_is_a_422_on_the_role_field(harness):
    _, admin, member, key = await acme_with_people(harness)
    client, csrf = await signed_in(harness, admin)
    response = await client.patch(f"/api/v1/team-members/{member.id}", json={"role": "emperor"}, headers=csrf)
    body = problem(response, 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["role"]
    assert (await members(client, key))[member.id]["role"] == "member"


async def test_a_member_cannot_change_roles(harness):
    _, admin, member, key = await acme_with_people(harness)
    client, csrf = await signed_in(harness, member)
    response = await client.patch(f"/api/v1/team-members/{admin.id}", json={"role": "member"}, headers=csrf)
    problem(response, 403, "forbidden")
    assert (await members(client, key))[admin.id]["role"] == "admin"


async def test_another_teams_member_is_not_found(harness):
    _, admin, _, _ = await acme_with_people(harness)
    other = await make_team(harness.rt, "bob@example.com", name="Other")
    stranger = await add_member(harness.rt, other.id, "sam@example.com")
    client, csrf = await signed_in(harness, admin)
    problem(await client.patch(f"/api/v1/team-members/{stranger.id}", json={"role": "admin"}, headers=csrf),
            404, "not_found")
    problem(await client.delete(f"/api/v1/team-members/{stranger.id}", headers=csrf), 404, "not_found")
    other_key = key_headers(await make_api_key(harness.rt, other.id))
    assert (await members(client, other_key))[stranger.id]["role"] == "member"


# --- removal --------------------------------------------------------------------------------------

async def test_an_admin_can_remove_a_member_who_then_loses_access(harness):
    _, admin, member, key = await acme_with_people(harness)
    removed_client, _ = await signed_in(harness, member)
    assert (await removed_client.get("/api/v1/team")).status_code == 200
    client, csrf = await signed_in(harness, admin)
    assert (await client.delete(f"/api/v1/team-members/{member.id}", headers=csrf)).status_code == 204
    assert member.id not in await members(client, key)
    problem(await removed_client.get("/api/v1/team"), 404, "not_found")
    problem(await removed_client.get("/api/v1/tasks"), 404, "not_found")


async def test_a_member_may_leave_the_team(harness):
    _, _, member, key = await acme_with_people(harness)
    client, csrf = await signed_in(harness, member)
    assert (await client.delete(f"/api/v1/team-members/{member.id}", headers=csrf)).status_code == 204
    assert member.id not in await members(harness.client(), key)
    assert (await client.get("/api/v1/teams")).json()["data"] == []


async def test_a_member_cannot_remove_someone_else(harness):
    _, admin, member, key = await acme_with_people(harness)
    client, csrf = await signed_in(harness, member)
    problem(await client.delete(f"/api/v1/team-members/{admin.id}", headers=csrf), 403, "forbidden")
    assert admin.id in await members(client, key)


async def test_the_owner_cannot_be_removed(harness):
    team, admin, _, key = await acme_with_people(harness)
    client, csrf = await signed_in(harness, admin)
    problem(await client.delete(f"/api/v1/team-members/{team.owner.id}", headers=csrf), 403, "role_not_allowed")
    assert (await members(client, key))[team.owner.id]["isOwner"] is True


async def test_the_owner_cannot_leave_without_transferring_ownership(harness):
    team, _, _, key = await acme_with_people(harness)
    client, csrf = await signed_in(harness, team.owner)
    problem(await client.delete(f"/api/v1/team-members/{team.owner.id}", headers=csrf), 403, "role_not_allowed")
    assert (await members(client, key))[team.owner.id]["isOwner"] is True


# --- ownership ------------------------------------------------------------------------------------

async def test_the_owner_can_transfer_ownership_and_becomes_an_admin(harness):
    team, admin, _, key = await acme_with_people(harness)
    client, csrf = await signed_in(harness, team.owner)
    response = await client.post("/api/v1/team/transfer-ownership", json={"userId": admin.id}, headers=csrf)
    assert response.status_code == 200, response.text
    assert (response.json()["userId"], response.json()["role"], response.json()["isOwner"]) == (admin.id, "owner", True)
    after = await members(client, key)
    assert (after[team.owner.id]["role"], after[team.owner.id]["isOwner"]) == ("admin", False)
    assert [uid for uid, m in after.items() if m["isOwner"]] == [admin.id]
    assert [uid for uid, m in after.items() if m["role"] == "owner"] == [admin.id]


async def test_an_admin_cannot_transfer_ownership(harness):
    team, admin, member, key = await acme_with_people(harness)
    client, csrf = await signed_in(harness, admin)
    response = await client.post("/api/v1/team/transfer-ownership", json={"userId": admin.id}, headers=csrf)
    problem(response, 403, "forbidden")
    assert [uid for uid, m in (await members(client, key)).items() if m["isOwner"]] == [team.owner.id]


async def test_an_api_key_cannot_transfer_ownership(harness, client):
    team, admin, _, key = await acme_with_people(harness)
    response = await client.post("/api/v1/team/transfer-ownership", json={"userId": admin.id}, headers=key)
    problem(response, 403, "forbidden")
    assert [uid for uid, m in (await members(client, key)).items() if m["isOwner"]] == [team.owner.id]


async def test_ownership_cannot_go_to_someone_outside_the_team(harness):
    team, _, _, key = await acme_with_people(harness)
    outsider = await make_user(harness.rt, "out@example.com")
    client, csrf = await signed_in(harness, team.owner)
    response = await client.post("/api/v1/team/transfer-ownership", json={"userId": outsider.id}, headers=csrf)
    problem(response, 404, "not_found")
    assert [uid for uid, m in (await members(client, key)).items() if m["isOwner"]] == [team.owner.id]


# --- the system owner -----------------------------------------------------------------------------

async def test_a_system_owner_can_act_in_any_team_through_x_team_id(harness):
    team, _, member, key = await acme_with_people(harness)
    root = await make_user(harness.rt, "root@example.com", system_owner=True)
    client, csrf = await signed_in(harness, root)
    in_acme = {**csrf, "X-Team-Id": team.id}
    assert (await client.get("/api/v1/team", headers=in_acme)).json()["id"] == team.id
    created = await client.post("/api/v1/tasks", json={"title": "Audit", "assigneeIds": [member.id]}, headers=in_acme)
    assert created.status_code == 201, created.text
    changed = await client.patch(f"/api/v1/team-members/{member.id}", json={"role": "admin"}, headers=in_acme)
    assert changed.status_code == 200, changed.text
    assert root.id not in await members(client, key)  # acting in a team does not join it


async def test_an_ordinary_user_cannot_reach_a_team_through_x_team_id(harness):
    team, _, _, key = await acme_with_people(harness)
    outsider = await make_user(harness.rt, "out@example.com")
    client, csrf = await signed_in(harness, outsider)
    headers = {**csrf, "X-Team-Id": team.id}
    problem(await client.post("/api/v1/tasks", json={"title": "Sneaky"}, headers=headers), 404, "not_found")
    assert (await client.get("/api/v1/tasks", headers=key)).json()["data"] == []
