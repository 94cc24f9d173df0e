"""Hostile input to the recovery and self-service routes: every refusal is a 4xx problem with a
stable code (never a 500), sends no mail and leaves the database byte for byte as it was."""

from __future__ import annotations

from tests.api import test_hostile_input
from tests.api.test_hostile_input import (API, HOSTILE_EMAILS, MB, NOT_TEXT_PROBLEMS, WRONG_TYPES, Case, json_cases,
                                          smuggled, sweep, text_cases)

world = test_hostile_input.world  # the fixture: a team, its owner signed in, and the database as it stands

TOKEN = "t" * 43
STRONG = "a fine new passphrase"
HOSTILE_TOKENS = {"a NUL byte": "tok\x00en", "a CRLF": "tok\r\nSet-Cookie: x=y",
                  "a right-to-left override": "tok\u202e", "a SQL fragment": "' OR 1=1--"}


def passwords(valid: dict, name: str) -> list[Case]:
    return [Case(f"{name} of {what}", body={**valid, name: value}, field=name) for what, value in {
        "1 MB": "p" * MB, "an array": [STRONG], "null": None, "an object": {"$ne": ""}, "an empty string": ""}.items()]


async def test_asking_for_a_reset_refuses_hostile_bodies_and_sends_nothing(world):
    valid = {"email": world.team.owner.email}
    cases = [*json_cases(valid),
             *[Case(f"an email with {what}", body={"email": value}, field="email")
               for what, value in HOSTILE_EMAILS.items() if what not in NOT_TEXT_PROBLEMS],
             *[Case(f"an email given as {what}", body={"email": value}, field="email")
               for what, value in {**WRONG_TYPES, "null": None, "a list of the owner's email": [valid["email"]]}.items()],
             *smuggled(valid, password="x", role="owner")]
    await sweep(world, world.harness.client(), "POST", f"{API}/auth/password-reset", cases)
    world.report()
    assert await world.harness.send_mail() == []


async def test_confirming_a_reset_refuses_hostile_tokens_and_passwords(world):
    valid = {"token": TOKEN, "password": STRONG}
    cases = [*json_cases(valid),
             *[Case(f"a token with {what}", body={**valid, "token": value}, status=400, code="token_invalid")
               for what, value in HOSTILE_TOKENS.items()],
             Case("a token of 129 characters", body={**valid, "token": "t" * 129}, field="token"),
             Case("a token with a lone surrogate", body={**valid, "token": "tok\ud800"}, field="token"),
             Case("a password with a lone surrogate", body={**valid, "password": "pass\ud800word"}, field="password"),
             *passwords(valid, "password"), *smuggled(valid, email="a@b.c", userId="usr_x")]
    client = world.harness.client()
    await sweep(world, client, "POST", f"{API}/auth/password-reset/confirm", cases)
    world.report()
    assert "teamgate_session" not in client.cookies


async def test_verifying_refuses_hostile_tokens(world):
    valid = {"token": TOKEN}
    cases = [*json_cases(valid),
             *[Case(f"a token with {what}", body={"token": value}, status=400, code="token_invalid")
               for what, value in HOSTILE_TOKENS.items()],
             Case("a token with a lone surrogate", body={"token": "tok\ud800"}, field="token"),
             *smuggled(valid, emailVerified=True)]
    await sweep(world, world.harness.client(), "POST", f"{API}/auth/verify-email", cases)
    world.report()


async def test_self_service_refuses_hostile_names_passwords_and_session_ids(world):
    names = {"firstName": "Olivia"}
    await sweep(world, world.owner, "PATCH", f"{API}/me",
                [*json_cases(names), *text_cases(names, "firstName", required=False),
                 *text_cases({"lastName": "Owner"}, "lastName", required=False),
                 Case("an empty first name", body={"firstName": ""}, field="firstName"),
                 *smuggled(names, email="evil@example.com", isSystemOwner=True, emailVerified=True)],
                world.csrf)
    change = {"currentPassword": world.team.owner.password, "newPassword": STRONG}
    await sweep(world, world.owner, "POST", f"{API}/me/password",
                [*json_cases(change), *passwords(change, "newPassword"), *passwords(change, "currentPassword"),
                 Case("a current password with a lone surrogate", body={**change, "currentPassword": "x\ud800"},
                      field="currentPassword"),
                 Case("a new password with a lone surrogate", body={**change, "newPassword": "a long one \ud800"},
                      field="newPassword"),
                 *smuggled(change, userId="usr_x")], world.csrf)
    await sweep(world, world.owner, "DELETE", "", [
        Case(f"a session id that is {what}", path=segment, status=404, code="not_found") for what, segment in {
            "a NUL byte": "ses_%00", "a CRLF": "ses_%0D%0ABcc:%20x", "a lone surrogate (encoded)": "%ED%A0%80",
            "10,000 characters": "x" * 10_000, "a SQL fragment": "'%20OR%201=1--"}.items()],
        world.csrf, path_url=f"{API}/me/sessions/{{id}}")
    world.report()
    assert (await world.owner.get(f"{API}/me")).status_code == 200
