"""Password reset and address verification through the API (DESIGN 10), on both engines.

Links are read from the mail the dispatcher sends; the clock is moved by hand."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from teamgate.storage.models import AccountToken, OutboxMessage
from tests.factories import count_rows, make_user, problem, sign_in
from tests.recovery_helpers import (NEW_PASSWORD, VERIFY_LINK, actions_for, ask_reset, confirm_reset, login_status,
                                    mailed_tokens, mark_verified, reset_token, verified_at)

EMAIL = "rosa@example.com"


class TestAskingForAReset:
    async def test_an_unknown_address_gets_202_and_nothing_is_sent(self, harness, client):
        response = await ask_reset(client, "nobody@example.com")
        assert response.status_code == 202
        assert response.json()["status"] == "accepted"
        assert await harness.send_mail() == []
        assert await count_rows(harness, OutboxMessage) == 0
        assert await count_rows(harness, AccountToken) == 0

    async def test_an_invalid_address_gets_the_same_202(self, harness, client):
        known = await ask_reset(client, "not an address")
        assert known.status_code == 202
        assert await harness.send_mail() == []

    async def test_a_known_address_gets_the_same_answer_and_one_link(self, harness, client):
        await make_user(harness.rt, EMAIL)
        unknown = await ask_reset(client, "nobody@example.com")
        known = await ask_reset(client, EMAIL.upper())
        assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
        sent = await harness.send_mail()
        assert [m.recipient for m in sent] == [EMAIL]
        assert "reset-password?token=" in sent[0].text and sent[0].subject == "Reset your teamgate password"

    async def test_the_token_is_stored_only_hashed_and_the_outbox_body_is_erased_once_sent(self, harness, client):
        await make_user(harness.rt, EMAIL)
        token = await reset_token(harness, client, EMAIL)
        async with harness.owner() as db:
            stored = (await db.scalars(select(AccountToken))).one()
            bodies = list(await db.scalars(select(OutboxMessage.body)))
        assert token.encode() not in stored.token_hash and len(stored.token_hash) == 32
        assert bodies == [None]

    async def test_a_new_link_kills_the_older_unused_one(self, harness, client):
        await make_user(harness.rt, EMAIL)
        first = await reset_token(harness, client, EMAIL)
        second = await reset_token(harness, client, EMAIL)
        problem(await confirm_reset(harness.client(), first), 400, "token_invalid")
        assert (await confirm_reset(harness.client(), second)).status_code == 200

    async def test_the_link_comes_from_the_base_url_never_from_the_host_header(self, harness, client):
        await make_user(harness.rt, EMAIL)
        await client.post("/api/v1/auth/password-reset", json={"email": EMAIL},
                          headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
        [message] = await harness.send_mail()
        assert "evil.example" not in message.text + message.html
        assert "http://127.0.0.1:8000/reset-password?token=" in message.text

    async def test_unknown_fields_and_a_missing_email_are_422(self, harness, client):
        problem(await client.post("/api/v1/auth/password-reset", json={"email": EMAIL, "role": "owner"}),
                422, "validation_error")
        problem(await client.post("/api/v1/auth/password-reset", json={}), 422, "validation_error")
        problem(await client.post("/api/v1/auth/password-reset", json={"email": ["a@b.c"]}), 422, "validation_error")


class TestResetRateLimits:
    async def test_the_sixth_request_for_one_address_in_an_hour_is_429(self, harness, client):
        await make_user(harness.rt, EMAIL)
        statuses = [(await ask_reset(client, EMAIL, **{"X-Forwarded-For": f"198.51.100.{n}"})).status_code
                    for n in range(6)]
        assert statuses == [202] * 5 + [429]
        assert len(await mailed_tokens(harness)) == 5

    async def test_an_unknown_address_is_limited_the_same_way(self, harness, client):
        statuses = [(await ask_reset(client, "ghost@example.com")).status_code for _ in range(6)]
        assert statuses == [202] * 5 + [429]

    async def test_one_client_spraying_many_addresses_is_429_after_thirty(self, harness, client):
        statuses = [(await ask_reset(client, f"p{n}@example.com")).status_code for n in range(31)]
        assert statuses == [202] * 30 + [429]
        response = await ask_reset(client, "another@example.com")
        body = problem(response, 429, "rate_limited")
        assert int(response.headers["Retry-After"]) == body["retryAfter"] >= 1


class TestConfirmingAReset:
    async def test_the_new_password_works_the_old_fails_and_the_person_is_signed_in(self, harness, client):
        person = await make_user(harness.rt, EMAIL)
        token = await reset_token(harness, client, EMAIL)
        browser = harness.client()
        response = await confirm_reset(browser, token)
        assert response.status_code == 200, response.text
        assert response.json()["user"]["email"] == EMAIL and response.json()["csrfToken"]
        assert "teamgate_session" in response.cookies
        assert (await browser.get("/api/v1/me")).status_code == 200
        assert await login_status(harness, EMAIL, NEW_PASSWORD) == 200
        assert await login_status(harness, EMAIL, person.password) == 401

    async def test_the_link_works_once(self, harness, client):
        await make_user(harness.rt, EMAIL)
        token = await reset_token(harness, client, EMAIL)
        assert (await confirm_reset(harness.client(), token)).status_code == 200
        problem(await confirm_reset(harness.client(), token, "yet another passphrase"), 400, "token_invalid")
        assert await login_status(harness, EMAIL, "yet another passphrase") == 401

    async def test_the_link_expires_after_an_hour(self, harness, client):
        person = await make_user(harness.rt, EMAIL)
        token = await reset_token(harness, client, EMAIL)
        harness.clock.advance(minutes=60, seconds=1)
        problem(await confirm_reset(harness.client(), token), 400, "token_invalid")
        assert await login_status(harness, EMAIL, person.password) == 200

    async def test_unknown_and_oversized_tokens_are_token_invalid_or_422(self, harness, client):
        problem(await confirm_reset(client, "x" * 43), 400, "token_invalid")
        problem(await confirm_reset(client, "x" * 129), 422, "validation_error")

    async def test_a_weak_password_is_422_and_the_link_still_works(self, harness, client):
        await make_user(harness.rt, EMAIL)
        token = await reset_token(harness, client, EMAIL)
        body = problem(await confirm_reset(harness.client(), token, "short"), 422, "validation_error")
        assert body["errors"][0]["field"] == "password"
        assert (await confirm_reset(harness.client(), token)).status_code == 200

    async def test_it_ends_every_other_session_of_the_account(self, harness, client):
        person = await make_user(harness.rt, EMAIL)
        laptop, phone = harness.client(), harness.client()
        await sign_in(laptop, person)
        await sign_in(phone, person)
        token = await reset_token(harness, client, EMAIL)
        assert (await confirm_reset(harness.client(), token)).status_code == 200
        for old in (laptop, phone):
            problem(await old.get("/api/v1/me"), 401, "unauthenticated")

    async def test_it_kills_the_accounts_other_links(self, harness, client):
        person = await make_user(harness.rt, EMAIL)
        phone = harness.client()
        csrf = await sign_in(phone, person)
        assert (await phone.post("/api/v1/me/verify-email", headers=csrf)).status_code == 202
        [verify] = await mailed_tokens(harness, VERIFY_LINK)
        token = await reset_token(harness, client, EMAIL)
        assert (await confirm_reset(harness.client(), token)).status_code == 200
        problem(await client.post("/api/v1/auth/verify-email", json={"token": verify}), 400, "token_invalid")

    async def test_a_verified_account_records_password_reset(self, harness, client):
        person = await make_user(harness.rt, EMAIL)
        await mark_verified(harness, person.id)
        token = await reset_token(harness, client, EMAIL)
        assert (await confirm_reset(harness.client(), token)).status_code == 200
        actions = await actions_for(harness, person.id)
        assert "password.reset" in actions and "account.reclaimed" not in actions

    async def test_a_verification_link_is_not_a_reset_link(self, harness, client):
        person = await make_user(harness.rt, EMAIL)
        phone = harness.client()
        csrf = await sign_in(phone, person)
        await phone.post("/api/v1/me/verify-email", headers=csrf)
        [verify] = await mailed_tokens(harness, VERIFY_LINK)
        problem(await confirm_reset(harness.client(), verify), 400, "token_invalid")
        assert await login_status(harness, EMAIL, person.password) == 200


class TestTheMailboxOwnerWins:
    async def test_a_reset_of_an_unverified_account_takes_it_over(self, harness, client):
        squatter = await make_user(harness.rt, EMAIL, first_name="Not", last_name="Rosa")
        squatting = harness.client()
        await sign_in(squatting, squatter)
        assert await verified_at(harness, squatter.id) is None
        token = await reset_token(harness, client, EMAIL)  # only the mailbox's owner reads this
        owner = harness.client()
        response = await confirm_reset(owner, token)
        assert response.status_code == 200, response.text
        assert response.json()["user"]["emailVerified"] is True
        assert await login_status(harness, EMAIL, NEW_PASSWORD) == 200
        assert await login_status(harness, EMAIL, squatter.password) == 401
        problem(await squatting.get("/api/v1/me"), 401, "unauthenticated")
        assert (await owner.get("/api/v1/me")).json()["user"]["emailVerified"] is True
        actions = await actions_for(harness, squatter.id)
        assert "account.reclaimed" in actions and "password.reset" not in actions


class TestConcurrentConfirms:
    async def test_two_confirms_of_one_link_make_exactly_one_winner(self, harness, client, engine_name):
        await make_user(harness.rt, EMAIL)
        token = await reset_token(harness, client, EMAIL)
        first, second = harness.client(), harness.client()
        results = await asyncio.gather(confirm_reset(first, token, "first passphrase!"),
                                       confirm_reset(second, token, "second passphrase"))
        statuses = sorted(r.status_code for r in results)
        assert statuses == [200, 400], [r.text for r in results]
        winner = "first passphrase!" if results[0].status_code == 200 else "second passphrase"
        loser = "second passphrase" if winner == "first passphrase!" else "first passphrase!"
        assert await login_status(harness, EMAIL, winner) == 200
        assert await login_status(harness, EMAIL, loser) == 401


class TestVerification:
    async def test_asking_sends_a_link_and_using_it_verifies_the_address(self, harness, client):
        person = await make_user(harness.rt, EMAIL)
        csrf = await sign_in(client, person)
        response = await client.post("/api/v1/me/verify-email", headers=csrf)
        assert response.status_code == 202, response.text
        [token] = await mailed_tokens(harness, VERIFY_LINK, to=EMAIL)
        assert (await client.get("/api/v1/me")).json()["user"]["emailVerified"] is False
        confirmed = await client.post("/api/v1/auth/verify-email", json={"token": token}, headers=csrf)
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["emailVerified"] is True
        assert (await client.get("/api/v1/me")).json()["user"]["emailVerified"] is True
        assert "email.verified" in await actions_for(harness, person.id)
        problem(await client.post("/api/v1/auth/verify-email", json={"token": token}, headers=csrf), 400,
                "token_invalid")

    async def test_only_the_accounts_own_session_can_use_the_link_and_a_refusal_keeps_it(self, harness, client):
        """The link proves the mailbox, not who set the password: whoever reads the mailbox but
        cannot sign in (the account may be a squatter's) must not verify it for them."""
        person = await make_user(harness.rt, EMAIL)
        csrf = await sign_in(client, person)
        await client.post("/api/v1/me/verify-email", headers=csrf)
        [token] = await mailed_tokens(harness, VERIFY_LINK, to=EMAIL)
        someone_else = harness.client()
        other_csrf = await sign_in(someone_else, await make_user(harness.rt, "other@example.com"))

        problem(await harness.client().post("/api/v1/auth/verify-email", json={"token": token}), 401,
                "unauthenticated")
        problem(await someone_else.post("/api/v1/auth/verify-email", json={"token": token}, headers=other_csrf), 401,
                "unauthenticated")
        assert await verified_at(harness, person.id) is None
        assert (await client.post("/api/v1/auth/verify-email", json={"token": token}, headers=csrf)).status_code == 200

    async def test_an_already_verified_address_is_409(self, harness, client):
        person = await make_user(harness.rt, EMAIL)
        await mark_verified(harness, person.id)
        csrf = await sign_in(client, person)
        problem(await client.post("/api/v1/me/verify-email", headers=csrf), 409, "email_already_verified")
        assert await harness.send_mail() == []

    async def test_the_link_expires_after_48_hours(self, harness, client):
        person = await make_user(harness.rt, EMAIL)
        csrf = await sign_in(client, person)
        await client.post("/api/v1/me/verify-email", headers=csrf)
        [token] = await mailed_tokens(harness, VERIFY_LINK)
        harness.clock.advance(hours=48, seconds=1)
        problem(await harness.client().post("/api/v1/auth/verify-email", json={"token": token}), 400, "token_invalid")
        assert await verified_at(harness, person.id) is None

    async def test_a_reset_link_does_not_verify_through_the_verification_route(self, harness, client):
        person = await make_user(harness.rt, EMAIL)
        token = await reset_token(harness, client, EMAIL)
        problem(await client.post("/api/v1/auth/verify-email", json={"token": token}), 400, "token_invalid")
        assert await verified_at(harness, person.id) is None

    async def test_asking_needs_a_session_not_an_api_key(self, harness, client):
        problem(await client.post("/api/v1/me/verify-email"), 401, "unauthenticated")
