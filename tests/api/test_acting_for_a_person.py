"""Acting for a person (DESIGN 12): a server key with X-Team-Id and X-Acting-User calls a team's
routes with that person's role there, as if they had called; nobody else may act for anyone."""

from __future__ import annotations

from teamgate.storage.models import AuditEvent, ServerKey
from tests.factories import (
    acting,
    add_member,
    count_rows,
    dump_database,
    issue_server_key,
    key_headers,
    make_api_key,
    make_team,
    make_user,
    problem,
    revoke_server_key,
    sign_in,
)

API = "/api/v1"


async def world(harness):
    """Acme: an owner (u-olivia), an admin (u-ada) and a member (u-max); Globex with its owner (u-gus);
    a server key."""
    rt = harness.rt
    acme = await make_team(rt, "olivia@acme.example", name="Acme", owner_external_id="u-olivia")
    await add_member(rt, acme.id, "ada@acme.example", role="admin", external_id="u-ada")
    await add_member(rt, acme.id, "max@acme.example", role="member", external_id="u-max")
    globex = await make_team(rt, "gus@globex.example", name="Globex", owner_external_id="u-gus")
    server = (await issue_server_key(rt)).secret
    return acme, globex, server


class TestActingAsTheirRole:
    async def test_an_admin_invites_resends_lists_and_cancels_as_themselves(self, harness):
        acme, _, server = await world(harness)
        client, as_ada = harness.client(), acting(server, acme.id, "u-ada")
        created = await client.post(f"{API}/team-invitations", headers=as_ada,
                                    json={"email": "new@example.com", "role": "member"})
        assert created.status_code == 201, created.text
        assert created.json()["invitedBy"]["type"] == "user"
        assert created.json()["invitedBy"]["name"] == "Test Person"  # Ada's names, as the invitee sees them
        invitation_id = created.json()["id"]
        resent = await client.post(f"{API}/team-invitations/{invitation_id}/resend", headers=as_ada, json={})
        assert resent.status_code == 200, resent.text
        listed = await client.get(f"{API}/team-invitations", headers=as_ada)
        assert [i["id"] for i in listed.json()["data"]] == [invitation_id]
        cancelled = await client.delete(f"{API}/team-invitations/{invitation_id}", headers=as_ada)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "revoked"

    async def test_a_plain_member_is_refused_where_a_member_is_refused(self, harness):
        acme, _, server = await world(harness)
        client, as_max = harness.client(), acting(server, acme.id, "u-max")
        before = await dump_database(harness)
        problem(await client.post(f"{API}/team-invitations", headers=as_max,
                                  json={"email": "new@example.com", "role": "member"}), 403, "forbidden")
        problem(await client.get(f"{API}/team-invitations", headers=as_max), 403, "forbidden")
        problem(await client.get(f"{API}/audit-events", headers=as_max), 403, "forbidden")
        problem(await client.post(f"{API}/tasks", headers=as_max, json={"title": "x"}), 403, "forbidden")
        assert await dump_database(harness) == before
        members = await client.get(f"{API}/team-members", headers=as_max)  # what a member may do, they may
        assert members.status_code == 200, members.text

    async def test_an_admin_may_not_grant_above_their_rank_through_the_key_either(self, harness):
        acme, _, server = await world(harness)
        problem(await harness.client().post(f"{API}/team-invitations", headers=acting(server, acme.id, "u-ada"),
                                            json={"email": "boss@example.com", "role": "owner"}),
                403, "role_not_allowed")

    async def test_team_members_show_each_persons_external_id(self, harness):
        acme, _, server = await world(harness)
        await add_member(harness.rt, acme.id, "plain@acme.example")  # teamgate's own account: none
        response = await harness.client().get(f"{API}/team-members", headers=acting(server, acme.id, "u-max"))
        assert response.status_code == 200, response.text
        assert {m["email"]: m["externalId"] for m in response.json()["data"]} == {
            "olivia@acme.example": "u-olivia", "ada@acme.example": "u-ada", "max@acme.example": "u-max",
            "plain@acme.example": None}

    async def test_a_member_acting_through_the_key_may_leave_as_they_could_themselves(self, harness):
        acme, _, server = await world(harness)
        members = (await harness.client().get(f"{API}/team-members", headers=acting(server, acme.id, "u-max"))).json()
        max_id = next(m["userId"] for m in members["data"] if m["externalId"] == "u-max")
        left = await harness.client().delete(f"{API}/team-members/{max_id}", headers=acting(server, acme.id, "u-max"))
        assert left.status_code == 204, left.text


class TestWhomAKeyMayActFor:
    async def test_a_person_not_in_the_team_is_404_and_so_is_an_unknown_one(self, harness):
        acme, globex, server = await world(harness)
        client = harness.client()
        for headers in (acting(server, acme.id, "u-gus"), acting(server, globex.id, "u-ada"),
                        acting(server, acme.id, "u-nobody"), acting(server, acme.id, "u/../ada"),
                        acting(server, "team_01NOTATEAM0000000000000000", "u-ada")):
            problem(await client.get(f"{API}/team-members", headers=headers), 404, "not_found")

    async def test_a_system_owner_not_in_the_team_lends_no_rights_through_the_key(self, harness):
        acme, _, server = await world(harness)
        await make_user(harness.rt, "root@example.com", system_owner=True, external_id="u-root")
        problem(await harness.client().get(f"{API}/team-members", headers=acting(server, acme.id, "u-root")),
                404, "not_found")

    async def test_without_x_acting_user_the_key_has_no_role_in_any_team(self, harness):
        acme, _, server = await world(harness)
        problem(await harness.client().get(f"{API}/team", headers=acting(server, acme.id)), 403, "forbidden")
        problem(await harness.client().get(f"{API}/team", headers=acting(server, None, "u-ada")), 400, "bad_request")

    async def test_a_team_api_key_or_a_session_cannot_act_for_anyone(self, harness):
        acme, _, _ = await world(harness)
        key = await make_api_key(harness.rt, acme.id, role="admin")
        person = await add_member(harness.rt, acme.id, "admin2@acme.example", role="admin")
        signed_in = harness.client()
        csrf = await sign_in(signed_in, person)
        before = await dump_database(harness)
        for client, headers in ((harness.client(), {**key_headers(key), "X-Acting-User": "u-max"}),
                                (harness.client(), {"Authorization": f"Bearer {key}", "X-Acting-User": "u-max"}),
                                (signed_in, {**csrf, "X-Team-Id": acme.id, "X-Acting-User": "u-max"})):
            problem(await client.get(f"{API}/team-members", headers=headers), 403, "forbidden")
            problem(await client.post(f"{API}/tasks", headers=headers, json={"title": "as Max"}), 403, "forbidden")
            problem(await client.get(f"{API}/me", headers=headers), 403, "forbidden")
        assert await dump_database(harness) == before

    async def test_a_revoked_server_key_is_401_everywhere(self, harness):
        acme, _, _ = await world(harness)
        issued = await issue_server_key(harness.rt, name="leaked")
        assert (await harness.client().get(f"{API}/team", headers=acting(issued.secret, acme.id, "u-ada"))
                ).status_code == 200
        await revoke_server_key(harness.rt, issued.server_key.id)
        client = harness.client()
        problem(await client.get(f"{API}/team", headers=acting(issued.secret, acme.id, "u-ada")),
                401, "unauthenticated")
        problem(await client.get(f"{API}/users/by-external-id/u-ada", headers=acting(issued.secret)),
                401, "unauthenticated")
        problem(await client.get(f"{API}/team", headers={"X-API-Key": issued.secret, "X-Team-Id": acme.id,
                                                          "X-Acting-User": "u-ada"}), 401, "unauthenticated")

    async def test_a_server_key_has_no_session_semantics(self, harness):
        acme, _, server = await world(harness)
        client = harness.client()
        for method, path in (("GET", "/me"), ("GET", "/teams"), ("POST", "/teams"), ("POST", "/auth/logout"),
                             ("GET", "/me/sessions"), ("PUT", "/me/active-team")):
            body = {"name": "Mine"} if path == "/teams" else {"teamId": acme.id} if path == "/me/active-team" else None
            response = await client.request(method, f"{API}{path}", headers=acting(server, acme.id, "u-ada"),
                                            json=body)
            problem(response, 403, "forbidden")

    async def test_it_cannot_make_api_keys_even_for_the_owner(self, harness):
        acme, _, server = await world(harness)
        before = await dump_database(harness)
        problem(await harness.client().post(f"{API}/api-keys", headers=acting(server, acme.id, "u-olivia"),
                                            json={"name": "forever", "role": "member"}), 403, "forbidden")
        assert await dump_database(harness) == before


class TestEveryUseIsAudited:
    async def test_events_name_the_person_and_the_key_and_reads_are_recorded_too(self, harness):
        acme, _, _ = await world(harness)
        issued = await issue_server_key(harness.rt)
        as_ada = acting(issued.secret, acme.id, "u-ada")
        client = harness.client()
        assert (await client.get(f"{API}/team-members", headers=as_ada)).status_code == 200
        created = await client.post(f"{API}/tasks", headers=as_ada, json={"title": "Onboarding"})
        assert created.status_code == 201
        trail = (await client.get(f"{API}/audit-events", headers=as_ada)).json()["data"]
        ada = next(m["userId"] for m in (await client.get(f"{API}/team-members", headers=as_ada)).json()["data"]
                   if m["externalId"] == "u-ada")
        by_action = {}
        for event in trail:
            by_action.setdefault(event["action"], []).append(event)
        [made] = by_action["task.created"]
        assert made["actor"] == {"type": "user", "id": ada, "name": None, "serverKeyId": issued.server_key.id}
        uses = [e["data"]["use"] for e in by_action["server_key.used"]]
        assert "GET /api/v1/team-members" in uses and "POST /api/v1/tasks" in uses
        assert all(e["actor"]["serverKeyId"] == issued.server_key.id for e in by_action["server_key.used"])

    async def test_a_lookup_by_external_id_is_audited_outside_any_team(self, harness):
        _, _, _ = await world(harness)
        issued = await issue_server_key(harness.rt)
        assert (await harness.client().get(f"{API}/users/by-external-id/u-ada",
                                           headers=acting(issued.secret))).status_code == 200
        assert await count_rows(harness, AuditEvent, AuditEvent.action == "server_key.used",
                                AuditEvent.team_id.is_(None), AuditEvent.actor_type == "server_key",
                                AuditEvent.actor_server_key_id == issued.server_key.id) == 1

    async def test_the_key_records_when_it_was_last_used(self, harness):
        acme, _, _ = await world(harness)
        issued = await issue_server_key(harness.rt)
        this = ServerKey.id == issued.server_key.id
        assert await count_rows(harness, ServerKey, this, ServerKey.last_used_at.is_(None)) == 1
        await harness.client().get(f"{API}/team", headers=acting(issued.secret, acme.id, "u-ada"))
        assert await count_rows(harness, ServerKey, this, ServerKey.last_used_at == harness.clock.now()) == 1


class TestWhoIsWho:
    async def test_a_person_by_external_id_with_each_team_role_and_permissions(self, harness):
        acme, _, server = await world(harness)
        response = await harness.client().get(f"{API}/users/by-external-id/u-ada", headers=acting(server))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["externalId"] == "u-ada" and body["email"] == "ada@acme.example"
        assert body["memberships"] == [{"teamId": acme.id, "teamName": "Acme", "role": "admin", "permissions": [
            "api_keys:manage", "audit:read", "invitations:manage", "members:manage", "tasks:manage", "team:read",
            "webhooks:manage"]}]
        max_ = (await harness.client().get(f"{API}/users/by-external-id/u-max", headers=acting(server))).json()
        assert max_["memberships"][0]["permissions"] == ["team:read"]
        problem(await harness.client().get(f"{API}/users/by-external-id/u-nobody", headers=acting(server)),
                404, "not_found")

    async def test_only_a_server_key_may_look_people_up(self, harness):
        acme, _, _ = await world(harness)
        key = await make_api_key(harness.rt, acme.id, role="admin")
        signed_in = harness.client()
        await sign_in(signed_in, await add_member(harness.rt, acme.id, "admin2@acme.example", role="admin"))
        problem(await harness.client().get(f"{API}/users/by-external-id/u-ada"), 401, "unauthenticated")
        problem(await harness.client().get(f"{API}/users/by-external-id/u-ada", headers=key_headers(key)),
                403, "forbidden")
        problem(await harness.client().get(f"{API}/users/by-external-id/u-ada",
                                           headers={"Authorization": f"Bearer {key}"}), 403, "forbidden")
        problem(await signed_in.get(f"{API}/users/by-external-id/u-ada"), 403, "forbidden")


class TestTheDocument:
    async def test_the_openapi_document_describes_server_keys_and_the_new_fields(self, client):
        document = (await client.get("/openapi.json")).json()
        schemes = document["components"]["securitySchemes"]
        assert schemes["serverKey"]["scheme"] == "bearer" and schemes["serverKey"]["bearerFormat"] == "tgs_..."
        assert "X-Acting-User" in schemes["serverKey"]["description"]
        assert "X-Team-Id" in schemes["serverKey"]["description"]
        assert {"apiKey", "bearer", "session"} <= set(schemes)
        paths = document["paths"]
        assert paths["/api/v1/users/by-external-id/{external_id}"]["get"]["security"] == [{"serverKey": []}]
        assert {"serverKey": []} in paths["/api/v1/team-invitations"]["post"]["security"]
        assert paths["/api/v1/me"]["get"]["security"] == [{"session": []}]
        assert paths["/api/v1/team-invitations/accept"]["post"]["security"] == [{}, {"session": []},
                                                                               {"serverKey": []}]
        schemas = document["components"]["schemas"]
        assert "externalId" in schemas["UserOut"]["properties"] and "externalId" in schemas["MemberOut"]["properties"]
        assert "user" in schemas["AcceptIn"]["properties"]
        assert set(schemas["OnBehalfIn"]["required"]) == {"externalId", "email"}
        assert "memberships" in schemas["PersonOut"]["properties"]
        assert "serverKeyId" in schemas["ActorRef"]["properties"]
