"""A signed-in person's own account through the API: names, password, sessions, sign out
everywhere, the idle timeout; and that an API key (not a person) reaches none of it."""

from __future__ import annotations

from teamgate.storage.models import Session
from tests.factories import count_rows, key_headers, make_api_key, make_team, make_user, problem, sign_in
from tests.recovery_helpers import (NEW_PASSWORD, actions_for, ask_reset, confirm_reset, login_status, mailed_tokens,
                                    mark_verified)

EMAIL = "sam@example.com"


async def signed_in(harness, person):
    client = harness.client()
    return client, await sign_in(client, person)


class TestNames:
    async def test_patch_me_changes_the_names(self, harness):
        person = await make_user(harness.rt, EMAIL)
        client, csrf = await signed_in(harness, person)
        response = await client.patch("/api/v1/me", headers=csrf, json={"firstName": " Samira ", "lastName": "Lee"})
        assert response.status_code == 200, response.text
        user = response.json()["user"]
        assert (user["firstName"], user["lastName"]) == ("Samira", "Lee")
        assert "user.updated" in await actions_for(harness, person.id)

    async def test_one_name_alone_leaves_the_other(self, harness):
        person = await make_user(harness.rt, EMAIL, first_name="Sam", last_name="Lee")
        client, csrf = await signed_in(harness, person)
        user = (await client.patch("/api/v1/me", headers=csrf, json={"lastName": "Hopper"})).json()["user"]
        assert (user["firstName"], user["lastName"]) == ("Sam", "Hopper")

    async def test_bad_names_are_422_and_change_nothing(self, harness):
        person = await make_user(harness.rt, EMAIL, first_name="Sam", last_name="Lee")
        client, csrf = await signed_in(harness, person)
        for body in ({"firstName": "   "}, {"firstName": "x" * 101}, {"lastName": "Lee\u202e"}, {"firstName": "A\nB"},
                     {"email": "other@example.com"}, {"firstName": ["Sam"]}):
            problem(await client.patch("/api/v1/me", headers=csrf, json=body), 422, "validation_error")
        user = (await client.get("/api/v1/me")).json()["user"]
        assert (user["firstName"], user["lastName"], user["email"]) == ("Sam", "Lee", EMAIL)

    async def test_without_the_csrf_header_it_is_refused(self, harness):
        person = await make_user(harness.rt, EMAIL)
        client, _ = await signed_in(harness, person)
        problem(await client.patch("/api/v1/me", json={"firstName": "Eve"}), 403, "csrf_failed")


class TestChangingThePassword:
    async def test_it_needs_the_current_password_and_ends_the_other_sessions_only(self, harness):
        person = await make_user(harness.rt, EMAIL)
        client, csrf = await signed_in(harness, person)
        other, _ = await signed_in(harness, person)
        response = await client.post("/api/v1/me/password", headers=csrf,
                                     json={"currentPassword": person.password, "newPassword": NEW_PASSWORD})
        assert response.status_code == 204, response.text
        assert (await client.get("/api/v1/me")).status_code == 200
        problem(await other.get("/api/v1/me"), 401, "unauthenticated")
        assert await login_status(harness, EMAIL, NEW_PASSWORD) == 200
        assert await login_status(harness, EMAIL, person.password) == 401
        assert "password.changed" in await actions_for(harness, person.id)

    async def test_a_wrong_current_password_is_422_and_changes_nothing(self, harness):
        person = await make_user(harness.rt, EMAIL)
        client, csrf = await signed_in(harness, person)
        other, _ = await signed_in(harness, person)
        body = problem(await client.post("/api/v1/me/password", headers=csrf,
                                         json={"currentPassword": "not it at all", "newPassword": NEW_PASSWORD}),
                       422, "validation_error")
        assert body["errors"][0]["field"] == "currentPassword"
        assert (await other.get("/api/v1/me")).status_code == 200
        assert await login_status(harness, EMAIL, person.password) == 200

    async def test_a_weak_new_password_is_422(self, harness):
        person = await make_user(harness.rt, EMAIL)
        client, csrf = await signed_in(harness, person)
        body = problem(await client.post("/api/v1/me/password", headers=csrf,
                                         json={"currentPassword": person.password, "newPassword": "password"}),
                       422, "validation_error")
        assert body["errors"][0]["field"] == "newPassword"

    async def test_guessing_the_current_password_is_rate_limited(self, harness):
        person = await make_user(harness.rt, EMAIL)
        client, csrf = await signed_in(harness, person)  # one sign-in attempt counted
        statuses = [(await client.post("/api/v1/me/password", headers=csrf,
                                       json={"currentPassword": f"guess {n} guess", "newPassword": NEW_PASSWORD})
                     ).status_code for n in range(10)]
        assert statuses == [422] * 9 + [429]

    async def test_it_kills_an_outstanding_reset_link_of_a_verified_account(self, harness):
        """(An unverified account's links stay: tests/api/test_address_proof.py says why.)"""
        person = await make_user(harness.rt, EMAIL)
        await mark_verified(harness, person.id)
        client, csrf = await signed_in(harness, person)
        await ask_reset(harness.client(), EMAIL)
        [token] = await mailed_tokens(harness)
        await client.post("/api/v1/me/password", headers=csrf,
                          json={"currentPassword": person.password, "newPassword": NEW_PASSWORD})
        problem(await confirm_reset(harness.client(), token, "stolen link passphrase"), 400, "token_invalid")


class TestSessions:
    async def test_the_list_shows_my_sessions_marks_this_one_and_never_a_token(self, harness):
        person = await make_user(harness.rt, EMAIL)
        client, _ = await signed_in(harness, person)
        other = harness.client()
        await other.post("/api/v1/auth/login", headers={"User-Agent": "Phone/1.0"},
                         json={"email": EMAIL, "password": person.password})
        response = await client.get("/api/v1/me/sessions")
        assert response.status_code == 200
        data = response.json()["data"]
        assert len(data) == 2 and sorted(s["current"] for s in data) == [False, True]
        assert set(data[0]) == {"id", "createdAt", "lastSeenAt", "expiresAt", "ip", "userAgent", "current"}
        assert "Phone/1.0" in {s["userAgent"] for s in data}
        cookie = client.cookies.get("teamgate_session")
        assert cookie not in response.text

    async def test_ending_one_of_mine_signs_that_device_out(self, harness):
        person = await make_user(harness.rt, EMAIL)
        client, csrf = await signed_in(harness, person)
        other, _ = await signed_in(harness, person)
        [theirs] = [s["id"] for s in (await client.get("/api/v1/me/sessions")).json()["data"] if not s["current"]]
        assert (await client.delete(f"/api/v1/me/sessions/{theirs}", headers=csrf)).status_code == 204
        problem(await other.get("/api/v1/me"), 401, "unauthenticated")
        assert (await client.get("/api/v1/me")).status_code == 200
        assert "session.ended" in await actions_for(harness, theirs)

    async def test_another_persons_session_is_404_and_stays_alive(self, harness):
        me = await make_user(harness.rt, EMAIL)
        them = await make_user(harness.rt, "them@example.com")
        client, csrf = await signed_in(harness, me)
        victim, _ = await signed_in(harness, them)
        [their_id] = [s["id"] for s in (await victim.get("/api/v1/me/sessions")).json()["data"]]
        problem(await client.delete(f"/api/v1/me/sessions/{their_id}", headers=csrf), 404, "not_found")
        assert (await victim.get("/api/v1/me")).status_code == 200
        problem(await client.delete("/api/v1/me/sessions/not-an-id", headers=csrf), 404, "not_found")
        assert their_id not in (await client.get("/api/v1/me/sessions")).text

    async def test_ending_this_session_clears_the_cookie(self, harness):
        person = await make_user(harness.rt, EMAIL)
        client, csrf = await signed_in(harness, person)
        [mine] = [s["id"] for s in (await client.get("/api/v1/me/sessions")).json()["data"]]
        response = await client.delete(f"/api/v1/me/sessions/{mine}", headers=csrf)
        assert response.status_code == 204
        assert "teamgate_session" in response.headers.get("set-cookie", "")
        problem(await client.get("/api/v1/me"), 401, "unauthenticated")

    async def test_logout_all_ends_every_session_including_this_one(self, harness):
        person = await make_user(harness.rt, EMAIL)
        stranger = await make_user(harness.rt, "stranger@example.com")
        client, csrf = await signed_in(harness, person)
        other, _ = await signed_in(harness, person)
        bystander, _ = await signed_in(harness, stranger)
        response = await client.post("/api/v1/auth/logout-all", headers=csrf)
        assert response.status_code == 204
        for device in (client, other):
            problem(await device.get("/api/v1/me"), 401, "unauthenticated")
        assert (await bystander.get("/api/v1/me")).status_code == 200
        assert await count_rows(harness, Session, Session.user_id == person.id) == 0


class TestIdleTimeout:
    async def test_a_session_unused_for_72_hours_is_dead(self, harness):
        person = await make_user(harness.rt, EMAIL)
        client, _ = await signed_in(harness, person)
        harness.clock.advance(hours=72, seconds=1)
        problem(await client.get("/api/v1/me"), 401, "unauthenticated")

    async def test_a_session_in_use_lives_past_72_hours_until_its_lifetime_ends(self, harness):
        person = await make_user(harness.rt, EMAIL)
        client, _ = await signed_in(harness, person)
        for _ in range(4):  # 4 x 71 hours: used every 71 hours, never idle 72
            harness.clock.advance(hours=71)
            assert (await client.get("/api/v1/me")).status_code == 200
        harness.clock.advance(days=14)
        problem(await client.get("/api/v1/me"), 401, "unauthenticated")

    async def test_an_idle_session_is_not_listed(self, harness):
        person = await make_user(harness.rt, EMAIL)
        await signed_in(harness, person)  # then left idle
        harness.clock.advance(hours=73)
        client, _ = await signed_in(harness, person)
        assert len((await client.get("/api/v1/me/sessions")).json()["data"]) == 1


class TestNotForApiKeys:
    async def test_an_api_key_reaches_none_of_the_self_service_routes(self, harness):
        team = await make_team(harness.rt)
        headers = key_headers(await make_api_key(harness.rt, team.id, role="admin"))
        client = harness.client()
        for method, path, body in (("PATCH", "/api/v1/me", {"firstName": "Bot"}),
                                   ("POST", "/api/v1/me/password", {"currentPassword": "x", "newPassword": "y" * 9}),
                                   ("GET", "/api/v1/me/sessions", None), ("DELETE", "/api/v1/me/sessions/x", None),
                                   ("POST", "/api/v1/auth/logout-all", None), ("POST", "/api/v1/me/verify-email", None)):
            response = await client.request(method, path, headers=headers, json=body)
            problem(response, 403, "forbidden")
            problem(await harness.client().request(method, path, json=body), 401, "unauthenticated")


class TestShortIdleTimeouts:
    async def test_a_session_in_use_survives_an_idle_timeout_shorter_than_the_usual_last_seen_step(self,
                                                                                                  harness_with):
        harness = await harness_with(session_idle_hours=0.05)  # three minutes
        person = await make_user(harness.rt, EMAIL)
        client, _ = await signed_in(harness, person)
        for _ in range(5):  # used every two minutes: never idle three
            harness.clock.advance(minutes=2)
            assert (await client.get("/api/v1/me")).status_code == 200
        harness.clock.advance(minutes=3, seconds=1)
        problem(await client.get("/api/v1/me"), 401, "unauthenticated")
