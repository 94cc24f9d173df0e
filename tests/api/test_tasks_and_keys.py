"""Tasks and their assignees, API keys (shown once, revocable, bounded by role), and the audit trail."""

from __future__ import annotations

import httpx

from tests.factories import problem, add_member, key_headers, make_api_key, make_team, make_user, sign_in



def iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def new_task(client: httpx.AsyncClient, key: dict, title: str, **fields) -> dict:
    response = await client.post("/api/v1/tasks", json={"title": title, **fields}, headers=key)
    assert response.status_code == 201, response.text
    return response.json()


async def all_pages(client: httpx.AsyncClient, path: str, headers: dict, limit: int) -> list[list[dict]]:
    """Follow nextCursor from the first page to the last; returns the pages."""
    pages, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json()["data"])
        cursor = response.json()["nextCursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "pagination does not end"


async def acme(harness):
    team = await make_team(harness.rt)
    return team, key_headers(await make_api_key(harness.rt, team.id))


async def owner_session(harness, team) -> tuple[httpx.AsyncClient, dict]:
    """The owner's browser: people make keys (a key cannot make a key)."""
    client = harness.client()
    return client, await sign_in(client, team.owner)


# --- tasks ----------------------------------------------------------------------------------------

async def test_a_task_is_created_with_member_assignees_and_read_back(harness, client):
    team, key = await acme(harness)
    member = await add_member(harness.rt, team.id, "mia@example.com")
    task = await new_task(client, key, "  Write docs ", description="All of them", assigneeIds=[member.id])
    assert task["id"].startswith("task_")
    assert (task["title"], task["description"], task["assigneeIds"]) == ("Write docs", "All of them", [member.id])
    assert (await client.get(f"/api/v1/tasks/{task['id']}", headers=key)).json() == task


async def test_a_task_can_be_renamed_and_reassigned(harness, client):
    team, key = await acme(harness)
    member = await add_member(harness.rt, team.id, "mia@example.com")
    task = await new_task(client, key, "Draft", assigneeIds=[member.id])
    response = await client.patch(f"/api/v1/tasks/{task['id']}", headers=key,
                                  json={"title": "Final", "assignee_ids": [team.owner.id]})
    assert response.status_code == 200, response.text
    read = (await client.get(f"/api/v1/tasks/{task['id']}", headers=key)).json()
    assert (read["title"], read["description"], read["assigneeIds"]) == ("Final", "", [team.owner.id])


async def test_a_deleted_task_is_gone(harness, client):
    _, key = await acme(harness)
    task = await new_task(client, key, "Temporary")
    assert (await client.delete(f"/api/v1/tasks/{task['id']}", headers=key)).status_code == 204
    problem(await client.get(f"/api/v1/tasks/{task['id']}", headers=key), 404, "not_found")
    assert (await client.get("/api/v1/tasks", headers=key)).json()["data"] == []


async def test_assigning_someone_outside_the_team_is_422_and_creates_nothing(harness, client):
    _, key = await acme(harness)
    other = await make_team(harness.rt, "bob@example.com", name="Other")
    body = problem(await client.post("/api/v1/tasks", json={"title": "X", "assigneeIds": [other.owner.id]},
                                     headers=key), 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["assigneeIds"]
    assert (await client.get("/api/v1/tasks", headers=key)).json()["data"] == []


async def test_reassigning_to_someone_outside_the_team_is_422_and_changes_nothing(harness, client):
    team, key = await acme(harness)
    outsider = await make_user(harness.rt, "out@example.com")
    task = await new_task(client, key, "Keep", assigneeIds=[team.owner.id])
    response = await client.patch(f"/api/v1/tasks/{task['id']}", json={"title": "Changed",
                                                                       "assigneeIds": [outsider.id]}, headers=key)
    assert [e["field"] for e in problem(response, 422, "validation_error")["errors"]] == ["assigneeIds"]
    assert (await client.get(f"/api/v1/tasks/{task['id']}", headers=key)).json() == task


async def test_another_teams_task_is_not_found_and_left_alone(harness, client):
    _, key = await acme(harness)
    other = await make_team(harness.rt, "bob@example.com", name="Other")
    other_key = key_headers(await make_api_key(harness.rt, other.id))
    theirs = await new_task(client, other_key, "Theirs")
    path = f"/api/v1/tasks/{theirs['id']}"
    problem(await client.get(path, headers=key), 404, "not_found")
    problem(await client.patch(path, json={"title": "Mine now"}, headers=key), 404, "not_found")
    problem(await client.delete(path, headers=key), 404, "not_found")
    assert (await client.get(path, headers=other_key)).json() == theirs


async def test_tasks_are_paged_with_limit_and_cursor(harness, client):
    _, key = await acme(harness)
    created = [(await new_task(client, key, f"Task {n}"))["id"] for n in range(5)]
    pages = await all_pages(client, "/api/v1/tasks", key, limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    listed = [t["id"] for p in pages for t in p]
    assert listed == sorted(created, reverse=True)


async def test_a_cursor_the_api_did_not_issue_is_422(harness, client):
    _, key = await acme(harness)
    body = problem(await client.get("/api/v1/tasks", params={"cursor": "!!!"}, headers=key), 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["cursor"]


# --- API keys -------------------------------------------------------------------------------------

async def test_a_new_key_is_shown_once_and_never_listed(harness, client):
    team, key = await acme(harness)
    owner, csrf = await owner_session(harness, team)
    response = await owner.post("/api/v1/api-keys", json={"name": "ci", "role": "member"}, headers=csrf)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["key"].startswith("tgk_") and len(created["key"]) > 40
    assert (created["name"], created["role"], created["prefix"]) == ("ci", "member", created["key"][:8])
    listed = await client.get("/api/v1/api-keys", headers=key)
    assert created["id"] in [k["id"] for k in listed.json()["data"]]
    assert all("key" not in k for k in listed.json()["data"])
    assert created["key"] not in listed.text


async def test_a_created_key_authenticates_with_either_header(harness, client):
    team, key = await acme(harness)
    owner, csrf = await owner_session(harness, team)
    secret = (await owner.post("/api/v1/api-keys", json={"name": "ci", "role": "admin"}, headers=csrf)).json()["key"]
    for headers in ({"X-API-Key": secret}, {"Authorization": f"Bearer {secret}"}):
        response = await client.get("/api/v1/team", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["id"] == team.id


async def test_an_unknown_key_is_401(client):
    problem(await client.get("/api/v1/team", headers={"X-API-Key": "tgk_not-a-real-key"}), 401, "unauthenticated")
    problem(await client.get("/api/v1/team", headers={"Authorization": "Bearer nope"}), 401, "unauthenticated")


async def test_a_revoked_key_stops_working(harness, client):
    team, key = await acme(harness)
    owner, csrf = await owner_session(harness, team)
    created = (await owner.post("/api/v1/api-keys", json={"name": "ci", "role": "admin"}, headers=csrf)).json()
    revoked = await client.delete(f"/api/v1/api-keys/{created['id']}", headers=key)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revokedAt"] == iso(harness.clock.now())
    problem(await client.get("/api/v1/team", headers=key_headers(created["key"])), 401, "unauthenticated")


async def test_a_key_cannot_hold_the_owner_role(harness, client):
    team, key = await acme(harness)
    admin = await add_member(harness.rt, team.id, "ada@example.com", role="admin")
    browser = harness.client()
    csrf = await sign_in(browser, admin)
    before = (await client.get("/api/v1/api-keys", headers=key)).json()["data"]
    problem(await browser.post("/api/v1/api-keys", json={"name": "root", "role": "owner"}, headers=csrf),
            403, "role_not_allowed")
    assert (await client.get("/api/v1/api-keys", headers=key)).json()["data"] == before


async def test_even_the_team_owner_cannot_make_an_owner_key(harness):
    team, key = await acme(harness)
    client = harness.client()
    csrf = await sign_in(client, team.owner)
    problem(await client.post("/api/v1/api-keys", json={"name": "root", "role": "owner"}, headers=csrf),
            403, "role_not_allowed")
    assert len((await client.get("/api/v1/api-keys", headers=key)).json()["data"]) == 1


async def test_a_key_with_an_unknown_role_is_422(harness, client):
    team, _ = await acme(harness)
    owner, csrf = await owner_session(harness, team)
    body = problem(await owner.post("/api/v1/api-keys", json={"name": "x", "role": "emperor"}, headers=csrf),
                   422, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["role"]


async def test_a_member_key_cannot_manage_keys(harness, client):
    team, key = await acme(harness)
    member_key = key_headers(await make_api_key(harness.rt, team.id, role="member"))
    admin_key_id = (await client.get("/api/v1/api-keys", headers=key)).json()["data"][0]["id"]
    problem(await client.get("/api/v1/api-keys", headers=member_key), 403, "forbidden")
    problem(await client.post("/api/v1/api-keys", json={"name": "x", "role": "member"}, headers=member_key),
            403, "forbidden")
    problem(await client.delete(f"/api/v1/api-keys/{admin_key_id}", headers=member_key), 403, "forbidden")
    assert (await client.get("/api/v1/team", headers=key)).status_code == 200


async def test_a_signed_in_member_cannot_create_keys(harness):
    team, key = await acme(harness)
    member = await add_member(harness.rt, team.id, "mia@example.com")
    client = harness.client()
    csrf = await sign_in(client, member)
    problem(await client.post("/api/v1/api-keys", json={"name": "x", "role": "member"}, headers=csrf),
            403, "forbidden")
    assert len((await client.get("/api/v1/api-keys", headers=key)).json()["data"]) == 1


async def test_another_teams_key_cannot_be_revoked(harness, client):
    _, key = await acme(harness)
    other = await make_team(harness.rt, "bob@example.com", name="Other")
    other_secret = await make_api_key(harness.rt, other.id)
    other_id = (await client.get("/api/v1/api-keys", headers=key_headers(other_secret))).json()["data"][0]["id"]
    problem(await client.delete(f"/api/v1/api-keys/{other_id}", headers=key), 404, "not_found")
    assert (await client.get("/api/v1/team", headers=key_headers(other_secret))).status_code == 200


async def test_last_used_at_is_recorded_when_a_key_is_used(harness, client):
    team, key = await acme(harness)
    owner, csrf = await owner_session(harness, team)
    created = (await owner.post("/api/v1/api-keys", json={"name": "ci", "role": "member"}, headers=csrf)).json()
    assert created["lastUsedAt"] is None
    harness.clock.advance(hours=1)
    assert (await client.get("/api/v1/team", headers=key_headers(created["key"]))).status_code == 200
    listed = {k["id"]: k for k in (await client.get("/api/v1/api-keys", headers=key)).json()["data"]}
    assert listed[created["id"]]["lastUsedAt"] == iso(harness.clock.now())


# --- audit ----------------------------------------------------------------------------------------

async def test_audit_events_come_newest_first(harness, client):
    team, key = await acme(harness)
    task = await new_task(client, key, "Audited")
    await client.patch(f"/api/v1/tasks/{task['id']}", json={"title": "Audited twice"}, headers=key)
    await client.delete(f"/api/v1/tasks/{task['id']}", headers=key)
    events = (await client.get("/api/v1/audit-events", headers=key)).json()["data"]
    assert [e["action"] for e in events[:3]] == ["task.deleted", "task.updated", "task.created"]
    assert {e["action"] for e in events[3:]} == {"team.created", "api_key.created"}
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    deleted = events[0]
    assert (deleted["actor"]["type"], deleted["target"]) == ("api_key", {"type": "task", "id": task["id"],
                                                                          "name": None})


async def test_audit_events_are_paged_with_a_cursor(harness, client):
    _, key = await acme(harness)
    for n in range(4):
        await new_task(client, key, f"Task {n}")
    everything = (await client.get("/api/v1/audit-events", params={"limit": 100}, headers=key)).json()["data"]
    assert len(everything) == 6
    pages = await all_pages(client, "/api/v1/audit-events", key, limit=4)
    assert [len(p) for p in pages] == [4, 2]
    assert [e["id"] for p in pages for e in p] == [e["id"] for e in everything]


async def test_audit_events_can_be_filtered_by_action(harness, client):
    _, key = await acme(harness)
    await new_task(client, key, "One")
    events = (await client.get("/api/v1/audit-events", params={"action": "task.created"}, headers=key)).json()
    assert [e["action"] for e in events["data"]] == ["task.created"]


async def test_audit_events_never_show_another_teams_events(harness, client):
    _, key = await acme(harness)
    other = await make_team(harness.rt, "bob@example.com", name="Other")
    other_key = key_headers(await make_api_key(harness.rt, other.id))
    await new_task(client, other_key, "Theirs")
    actions = [e["action"] for e in (await client.get("/api/v1/audit-events", headers=key)).json()["data"]]
    assert "task.created" not in actions


async def test_reading_the_audit_trail_needs_audit_read(harness, client):
    team, _ = await acme(harness)
    member_key = key_headers(await make_api_key(harness.rt, team.id, role="member"))
    problem(await client.get("/api/v1/audit-events", headers=member_key), 403, "forbidden")
