"""Accept on behalf (DESIGN 12): a product that signs its own people in accepts an invitation for
one of them with its server key, the same single-use, seat and inviter rules as every accept."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from teamgate.storage.models import Membership, Session, User
from tests.factories import (
    PASSWORD,
    acting,
    add_member,
    count_rows,
    dump_database,
    invite,
    issue_server_key,
    key_headers,
    make_api_key,
    make_team,
    make_user,
    problem,
    revoke_server_key,
    sign_in,
)

ACCEPT = "/api/v1/team-invitations/accept"


def on_behalf(token: str, external_id: str = "u-grace", email: str = "grace@example.com", **names) -> dict:
    return {"token": token, "user": {"externalId": external_id, "email": email, **names}}


async def setup(harness, **team):
    """A team, an admin key that invites, and a server key."""
    made = await make_team(harness.rt, **team)
    key = await make_api_key(harness.rt, made.id)
    server = await issue_server_key(harness.rt)
    return made, key, server.secret


class TestAcceptOnBehalf:
    async def test_a_new_person_gets_a_verified_account_without_password_and_no_session(self, harness):
        team, key, server = await setup(harness)
        client = harness.client()
        invitation = await invite(client, key, "Grace@Example.com", taskIds=[])
        response = await client.post(ACCEPT, headers=acting(server), json=on_behalf(
            invitation["token"], email="grace@EXAMPLE.com", firstName="Grace", lastName="Hopper"))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["user"]["externalId"] == "u-grace" and body["user"]["emailVerified"] is True
        assert body["user"]["email"] == "Grace@example.com"  # as invited (the domain part is folded)
        assert (body["user"]["firstName"], body["user"]["lastName"]) == ("Grace", "Hopper")
        assert body["team"]["id"] == team.id and body["role"] == "member" and body["accountCreated"] is True
        assert body["invitation"]["status"] == "accepted" and body["invitation"]["acceptedBy"] == body["user"]["id"]
        assert "csrfToken" not in body and "set-cookie" not in response.headers
        assert await count_rows(harness, Session) == 0
        # no password: nobody signs in to teamgate as this person, whatever they try
        for password in ("", "!", PASSWORD):
            signed = await harness.client().post("/api/v1/auth/login",
                                                 json={"email": "grace@example.com", "password": password or "x"})
            problem(signed, 401, "invalid_credentials")

    async def test_names_are_optional(self, harness):
        _, key, server = await setup(harness)
        invitation = await invite(harness.client(), key, "grace@example.com")
        response = await harness.client().post(ACCEPT, headers=acting(server), json=on_behalf(invitation["token"]))
        assert response.status_code == 200, response.text
        assert (response.json()["user"]["firstName"], response.json()["user"]["lastName"]) == ("", "")

    async def test_an_external_id_joining_a_second_team_reuses_its_account(self, harness):
        first, key, server = await setup(harness)
        second = await make_team(harness.rt, "owner@globex.example", name="Globex")
        other_key = await make_api_key(harness.rt, second.id)
        client = harness.client()
        one = await client.post(ACCEPT, headers=acting(server),
                                json=on_behalf((await invite(client, key, "grace@example.com"))["token"]))
        two = await client.post(ACCEPT, headers=acting(server),
                                json=on_behalf((await invite(client, other_key, "grace@example.com"))["token"]))
        assert one.status_code == 200 and two.status_code == 200, (one.text, two.text)
        assert one.json()["user"]["id"] == two.json()["user"]["id"]
        assert (one.json()["accountCreated"], two.json()["accountCreated"]) == (True, False)
        assert await count_rows(harness, User, User.external_id == "u-grace") == 1
        person = await client.get("/api/v1/users/by-external-id/u-grace", headers=acting(server))
        assert sorted(m["teamId"] for m in person.json()["memberships"]) == sorted([first.id, second.id])

    async def test_a_different_email_is_403_email_mismatch_and_changes_nothing(self, harness):
        _, key, server = await setup(harness)
        invitation = await invite(harness.client(), key, "grace@example.com")
        before = await dump_database(harness)
        response = await harness.client().post(ACCEPT, headers=acting(server), json=on_behalf(
            invitation["token"], email="mallory@example.com"))
        problem(response, 403, "email_mismatch")
        assert await dump_database(harness) == before  # not even the key's last use

    async def test_an_external_id_whose_account_has_another_email_is_403_and_changes_nothing(self, harness):
        _, key, server = await setup(harness)
        client = harness.client()
        first = await client.post(ACCEPT, headers=acting(server),
                                  json=on_behalf((await invite(client, key, "grace@example.com"))["token"]))
        assert first.status_code == 200, first.text
        invitation = await invite(client, key, "someone.else@example.com")
        before = await dump_database(harness)
        response = await client.post(ACCEPT, headers=acting(server), json=on_behalf(
            invitation["token"], email="someone.else@example.com"))  # the product says u-grace has this address
        problem(response, 403, "email_mismatch")
        assert await dump_database(harness) == before

    async def test_an_address_that_belongs_to_another_external_id_is_409_account_exists(self, harness):
        _, key, server = await setup(harness)
        await make_user(harness.rt, "grace@example.com", external_id="u-grace-elsewhere")
        invitation = await invite(harness.client(), key, "grace@example.com")
        before = await dump_database(harness)
        response = await harness.client().post(ACCEPT, headers=acting(server), json=on_behalf(invitation["token"]))
        problem(response, 409, "account_exists")
        assert await dump_database(harness) == before

    async def test_a_system_owners_account_is_neither_linked_nor_taken_over(self, harness):
        _, key, server = await setup(harness)
        await make_user(harness.rt, "root@example.com", system_owner=True)  # unverified, as the setup link makes it
        invitation = await invite(harness.client(), key, "root@example.com")
        before = await dump_database(harness)
        problem(await harness.client().post(ACCEPT, headers=acting(server), json=on_behalf(
            invitation["token"], external_id="u-root", email="root@example.com")), 409, "account_exists")
        assert await dump_database(harness) == before

    async def test_a_verified_account_with_the_address_is_linked_to_the_external_id(self, harness):
        _, key, server = await setup(harness)
        person = await make_user(harness.rt, "grace@example.com", first_name="Grace", last_name="Hopper")
        async with harness.owner() as db:
            user = await db.get(User, person.id)
            user.email_verified_at = harness.clock.now()
        invitation = await invite(harness.client(), key, "grace@example.com")
        response = await harness.client().post(ACCEPT, headers=acting(server), json=on_behalf(invitation["token"]))
        assert response.status_code == 200, response.text
        assert response.json()["user"]["id"] == person.id and response.json()["accountCreated"] is False
        assert response.json()["user"]["externalId"] == "u-grace"
        await sign_in(harness.client(), person)  # its own password still works

    async def test_an_unverified_account_with_the_address_is_taken_over_as_the_mailbox_owner_would(self, harness):
        _, key, server = await setup(harness)
        squatter = await make_user(harness.rt, "grace@example.com", first_name="Not", last_name="Grace")
        squatting = harness.client()
        await sign_in(squatting, squatter)
        invitation = await invite(harness.client(), key, "grace@example.com")
        response = await harness.client().post(ACCEPT, headers=acting(server), json=on_behalf(
            invitation["token"], firstName="Grace", lastName="Hopper"))
        assert response.status_code == 200, response.text
        assert response.json()["user"]["id"] == squatter.id
        assert response.json()["user"]["emailVerified"] is True and response.json()["user"]["firstName"] == "Grace"
        problem(await squatting.get("/api/v1/me"), 401, "unauthenticated")  # their session ended
        problem(await harness.client().post("/api/v1/auth/login", json={"email": squatter.email,
                                                                        "password": PASSWORD}),
                401, "invalid_credentials")  # their password too

    async def test_a_member_already_is_409_already_member(self, harness):
        team, key, server = await setup(harness)
        person = await make_user(harness.rt, "grace@example.com", external_id="u-grace")
        invitation = await invite(harness.client(), key, "grace@example.com")
        async with harness.owner() as db:  # she joined meanwhile, another way
            db.add(Membership(team_id=team.id, user_id=person.id, role="member", is_owner=False,
                              created_at=harness.clock.now()))
        problem(await harness.client().post(ACCEPT, headers=acting(server), json=on_behalf(invitation["token"])),
                409, "already_member")


class TestTheRulesOfEveryAccept:
    async def test_a_used_token_is_400_invitation_accepted(self, harness):
        _, key, server = await setup(harness)
        invitation = await invite(harness.client(), key, "grace@example.com")
        assert (await harness.client().post(ACCEPT, headers=acting(server),
                                            json=on_behalf(invitation["token"]))).status_code == 200
        problem(await harness.client().post(ACCEPT, headers=acting(server), json=on_behalf(invitation["token"])),
                400, "invitation_accepted")

    async def test_the_seat_limit_is_checked_again(self, harness):
        team, key, server = await setup(harness, seat_limit=2)
        invitation = await invite(harness.client(), key, "grace@example.com")  # owner + 1 pending = 2
        await add_member(harness.rt, team.id, "walked.in@example.com")  # the team is now over its seats
        problem(await harness.client().post(ACCEPT, headers=acting(server), json=on_behalf(invitation["token"])),
                409, "seat_limit_reached")
        assert await count_rows(harness, User, User.external_id == "u-grace") == 0

    async def test_an_inviter_who_can_no_longer_grant_leaves_the_invitation_unusable(self, harness):
        team, _, server = await setup(harness)
        admin = await add_member(harness.rt, team.id, "admin@example.com", role="admin")
        client = harness.client()
        headers = await sign_in(client, admin)
        created = await client.post("/api/v1/team-invitations", headers={**headers, "X-Team-Id": team.id},
                                    json={"email": "grace@example.com", "role": "admin"})
        assert created.status_code == 201, created.text
        owner = harness.client()
        owner_headers = await sign_in(owner, team.owner)
        lowered = await owner.patch(f"/api/v1/team-members/{admin.id}", headers={**owner_headers, "X-Team-Id": team.id},
                                    json={"role": "member"})
        assert lowered.status_code == 200, lowered.text
        problem(await harness.client().post(ACCEPT, headers=acting(server), json=on_behalf(created.json()["token"])),
                400, "invitation_revoked")

    async def test_ten_concurrent_accepts_on_behalf_of_one_token_make_one_membership(self, harness):
        team, key, server = await setup(harness)
        invitation = await invite(harness.client(), key, "racer@example.com")
        responses = await asyncio.gather(*(
            harness.client().post(ACCEPT, headers=acting(server), json=on_behalf(
                invitation["token"], external_id="u-racer", email="racer@example.com"))
            for _ in range(10)))
        assert sorted((r.status_code, r.json().get("code")) for r in responses) == \
            [(200, None)] + [(400, "invitation_accepted")] * 9
        [winner] = [r.json()["user"]["id"] for r in responses if r.status_code == 200]
        async with harness.owner() as db:
            assert await db.scalar(select(func.count()).select_from(User).where(
                User.email_normalized == "racer@example.com")) == 1
            assert await db.scalar(select(func.count()).select_from(Membership).where(
                Membership.team_id == team.id, Membership.user_id == winner)) == 1


class TestWhoMayAcceptOnBehalf:
    async def test_the_user_field_without_a_server_key_is_refused_and_changes_nothing(self, harness):
        team, key, _ = await setup(harness)
        member = await add_member(harness.rt, team.id, "member@example.com")
        signed_in = harness.client()
        csrf = await sign_in(signed_in, member)
        invitation = await invite(harness.client(), key, "grace@example.com")
        body = on_behalf(invitation["token"])
        before = await dump_database(harness)
        problem(await harness.client().post(ACCEPT, json=body), 401, "unauthenticated")
        problem(await harness.client().post(ACCEPT, headers=key_headers(key), json=body), 403, "forbidden")
        problem(await harness.client().post(ACCEPT, headers={"Authorization": f"Bearer {key}"}, json=body),
                403, "forbidden")
        problem(await signed_in.post(ACCEPT, headers=csrf, json=body), 403, "forbidden")
        assert await dump_database(harness) == before

    async def test_a_server_key_must_say_whom_it_accepts_for_and_sends_no_password(self, harness):
        _, key, server = await setup(harness)
        invitation = await invite(harness.client(), key, "grace@example.com")
        before = await dump_database(harness)
        problem(await harness.client().post(ACCEPT, headers=acting(server), json={
            "token": invitation["token"], "password": "a long new password", "firstName": "G", "lastName": "H"}),
            422, "validation_error")
        with_password = on_behalf(invitation["token"])
        with_password["password"] = "a long new password"
        problem(await harness.client().post(ACCEPT, headers=acting(server), json=with_password),
                422, "validation_error")
        assert await dump_database(harness) == before

    async def test_a_revoked_or_unknown_server_key_is_401(self, harness):
        _, key, _ = await setup(harness)
        revoked = await issue_server_key(harness.rt, name="old")
        await revoke_server_key(harness.rt, revoked.server_key.id)
        invitation = await invite(harness.client(), key, "grace@example.com")
        for secret in (revoked.secret, "tgs_" + "A" * 43, "tgs_"):
            problem(await harness.client().post(ACCEPT, headers=acting(secret), json=on_behalf(invitation["token"])),
                    401, "unauthenticated")

    @pytest.mark.parametrize("external_id", ["", "a/b", "a b", "é", "x" * 256, "a\x00b", "../../etc"])
    async def test_an_external_id_that_cannot_be_one_is_422(self, harness, external_id):
        _, key, server = await setup(harness)
        invitation = await invite(harness.client(), key, "grace@example.com")
        problem(await harness.client().post(ACCEPT, headers=acting(server), json=on_behalf(
            invitation["token"], external_id=external_id)), 422, "validation_error")
