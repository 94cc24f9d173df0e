"""Hostile input, systematically: every write route (and the pages' forms) against CRLF header
injection, wrong JSON types, smuggled fields, 1 MB bodies and passwords, malformed JSON, wrong
content types, odd Unicode (NUL, lone surrogates, bidi overrides, zero-width joiners, full-width
@, homoglyphs, 10k-character names) and absurd query parameters.

The contract (DESIGN section 5): inputs are closed and bounded, so each case is a 4xx
`application/problem+json` with a stable code (pages: a 4xx HTML page), never a 500, never an
echo of a megabyte, and the database is byte-for-byte what it was before (`dump_database`).

Each test is one route family looping over a list of cases, so one run reports every case that
misbehaves, each with what was sent and what came back. test_invitations_create.py checks a few
of these one by one; this file is the sweep.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.factories import (acting, add_member, dump_database, invite, issue_server_key, key_headers, make_api_key,
                             make_team, sign_in)

API = "/api/v1"
NOTHING = object()  # no body at all
MB = 1_000_000
PASSWORD = "zebra crossing lamp"


@dataclass(frozen=True)
class Case:
    """One hostile request and the answer it must get."""

    what: str
    body: Any = NOTHING  # a JSON value, serialised with ASCII escapes (so a lone surrogate survives the trip)
    raw: bytes | None = None  # sent as is instead of `body`
    content_type: str = "application/json"
    path: str | None = None  # a hostile path segment in place of the real id
    params: dict[str, Any] | None = None
    form: dict[str, Any] | None = None  # for pages: form fields
    status: int = 422
    code: str = "validation_error"
    field: str | None = None  # the field the problem's `errors` must name


# --- the cases ------------------------------------------------------------------------------

CRLF_EMAIL = "a@example.com\r\nBcc: x@evil.com"

# Text that no name, title or id may hold: the API refuses all of these with 422.
HOSTILE_TEXT = {
    "a CRLF header injection": "Ada\r\nBcc: x@evil.com",
    "a bare line feed": "Ada\nLovelace",
    "a NUL byte": "Ada\x00Lovelace",
    "a lone surrogate": "Ada\ud800",
    "a right-to-left override": "Ada\u202egnp.exe",
    "10,000 characters": "A" * 10_000,
}
WRONG_TYPES = {"an array": ["Ada"], "an object": {"name": "Ada"}, "a number": 42, "true": True}

HOSTILE_EMAILS = {
    "a CRLF Bcc header injection": CRLF_EMAIL,
    "a bare line feed": "a@example.com\nBcc: x@evil.com",
    "a NUL byte": "a\x00@example.com",
    "a lone surrogate": "\ud800@example.com",
    "a right-to-left override": "a\u202e@example.com",
    "a zero-width joiner": "a\u200d@example.com",
    "a full-width at sign": "a\uff20example.com",
    "10,000 characters": "a" * 10_000 + "@example.com",
    "1 MB": "a" * MB + "@example.com",
    "nothing but spaces": "   ",
    "no at sign": "not-an-email",
}
# Emails that pass as text (no control characters) and are refused only as addresses.
NOT_TEXT_PROBLEMS = ("a zero-width joiner", "a full-width at sign", "nothing but spaces", "no at sign")
# Over a form's length bound (a 422 of their own), or not encodable in a form at all.
TOO_LONG_OR_UNSENDABLE = ("10,000 characters", "1 MB", "a lone surrogate")


def json_cases(valid: dict, *, optional_body: bool = False) -> list[Case]:
    """What any JSON route must refuse, whatever its fields: a broken or mistyped body."""
    text = json.dumps(valid)
    cases = [
        Case("JSON cut off mid-way", raw=text[:-3].encode(), status=400, code="bad_request"),
        Case("JSON with a trailing comma", raw=b'{"a": 1,}', status=400, code="bad_request"),
        Case("bytes that are not UTF-8", raw=b'{"email": "\xff\xfe@example.com"}', status=400, code="bad_request"),
        Case("JSON nested 100,000 deep", raw=b"[" * 100_000 + b"]" * 100_000, status=400, code="bad_request"),
        Case("a number with 5,000 digits", raw=text[:-1].encode() + b', "n": ' + b"9" * 5000 + b"}",
             status=400, code="bad_request"),
        Case("a JSON array around the right object", body=[valid], field="body"),
        Case("a bare JSON string", body="hello", field="body"),
        Case("the right JSON sent as text/plain", raw=text.encode(), content_type="text/plain", field="body"),
        Case("the right fields form-encoded", raw=urlencode(valid).encode(),
             content_type="application/x-www-form-urlencoded", field="body"),
        Case("a 1 MB body (an unknown field full of junk)", body={**valid, "junk": "x" * MB}, field="junk"),
    ]
    if not optional_body:
        cases += [Case("an empty body", raw=b"", field="body"), Case("JSON null", body=None, field="body")]
    return cases


def text_cases(valid: dict, name: str, values: dict[str, Any] | None = None, *, required: bool = True) -> list[Case]:
    """`name` replaced by each hostile text and each wrong type: 422 naming the field."""
    values = {**(HOSTILE_TEXT if values is None else values), **WRONG_TYPES,
              **({"null": None, "an empty string": ""} if required else {})}
    return [Case(f"{name} as {what}", body={**valid, name: value}, field=name) for what, value in values.items()]


def smuggled(valid: dict, **fields: Any) -> list[Case]:
    """Fields the route does not take (inputs are closed): 422 naming each."""
    return [Case(f"a smuggled {name!r}", body={**valid, name: value}, field=name) for name, value in fields.items()]


def path_cases(code: str) -> list[Case]:
    """Ids that cannot exist: 404 with the route's not-found code (a NUL must not reach the database as text)."""
    return [Case(f"an id that is {what}", path=segment, status=404, code=code) for what, segment in {
        "a NUL byte": "inv_%00", "a CRLF": "inv_%0D%0ABcc:%20x", "a lone surrogate (encoded)": "%ED%A0%80",
        "a right-to-left override": "inv_\u202e", "10,000 characters": "x" * 10_000, "a SQL fragment": "'%20OR%201=1--",
    }.items()]


# --- running them ---------------------------------------------------------------------------

@dataclass
class World:
    """A team with an admin key, a signed-in owner, a member, a task and a pending invitation."""

    harness: Any
    team: Any
    key: str
    api: httpx.AsyncClient  # sends the admin key
    owner: httpx.AsyncClient  # the owner's browser: session cookie
    csrf: dict[str, str]
    invitation: dict
    member_id: str
    task_id: str
    baseline: bytes = b""
    failures: list[str] = field(default_factory=list)

    async def settle(self) -> None:
        """Take the database as it is now as the state every refusal must leave untouched."""
        self.baseline = await dump_database(self.harness)

    async def judge(self, case: Case, response: httpx.Response, *, page: bool = False) -> None:
        if (problem := verdict(case, response, page=page)) is not None:
            self.failures.append(problem)
        if (now := await dump_database(self.harness)) != self.baseline:
            self.failures.append(f"{case.what}: {describe(response)} changed the database")
            self.baseline = now  # so later cases are judged on their own

    def report(self) -> None:
        assert not self.failures, f"{len(self.failures)} hostile input(s) mishandled:\n- " + "\n- ".join(self.failures)


@pytest.fixture
async def world(harness) -> World:
    rt = harness.rt
    team = await make_team(rt, owner_external_id="u-owner")
    key = await make_api_key(rt, team.id)
    api = harness.client()
    api.headers.update(key_headers(key))
    invitation = await invite(api, key, "invitee@example.com", send_email=False)
    member = await add_member(rt, team.id, "member@example.com")
    task = await api.post(f"{API}/tasks", json={"title": "Onboarding"})
    assert task.status_code == 201, task.text
    owner = harness.client()
    csrf = await sign_in(owner, team.owner)
    assert (await api.get(f"{API}/team")).status_code == 200  # the key's last use is recorded before the baseline
    w = World(harness=harness, team=team, key=key, api=api, owner=owner, csrf=csrf, invitation=invitation,
              member_id=member.id, task_id=task.json()["id"])
    await w.settle()
    return w


def describe(response: httpx.Response) -> str:
    request = response.request
    return f"{request.method} {str(request.url.raw_path, 'ascii')[:80]} -> {response.status_code}"


def gist(response: httpx.Response) -> str:
    """The part of an answer that says what it is: a page's title, else the start of the body."""
    if title := re.search(r"<title>(.*?)</title>", response.text, re.S):
        return f"page {' '.join(title.group(1).split())!r}"
    return " ".join(response.text.split())[:240] or "(empty)"


def verdict(case: Case, response: httpx.Response, *, page: bool) -> str | None:
    """What is wrong with `response` as the answer to `case`, or None."""
    said = f"{case.what}: {describe(response)}"
    kind = response.headers.get("content-type", "").split(";")[0] or "no content type"
    if response.status_code >= 500:
        return f"{said}, a server error: {gist(response)}"
    if len(response.content) > 64_000:
        return f"{said}, and a {len(response.content)}-byte answer (the input is echoed back)"
    if page:
        if response.status_code != case.status or kind != "text/html":
            return f"{said} ({kind}), expected a {case.status} HTML page: {gist(response)}"
        return None
    if response.status_code != case.status or kind != "application/problem+json":
        return f"{said} ({kind}), expected a {case.status} problem: {gist(response)}"
    body = response.json()
    if body.get("code") != case.code or body.get("status") != case.status or not body.get("requestId"):
        return f"{said}, expected code {case.code!r} with status and requestId: {body}"
    if case.field is not None:
        named = {e["field"].split(".")[0] for e in body.get("errors", [])}
        if case.field not in named:
            return f"{said}, expected a field error on {case.field!r}, got {body.get('errors')}"
    if "Traceback" in response.text:
        return f"{said}, with a stack trace"
    return None


def request_kwargs(case: Case, headers: dict[str, str] | None = None) -> dict[str, Any]:
    headers = dict(headers or {})
    content = case.raw
    if content is None and case.body is not NOTHING:
        content = json.dumps(case.body).encode()  # ensure_ascii: "\ud800" goes as an escape, as a client would send it
    if content is not None:
        headers["content-type"] = case.content_type
    return {"content": content, "headers": headers, "params": case.params}


async def sweep(w: World, client: httpx.AsyncClient, method: str, url: str, cases: list[Case],
                headers: dict[str, str] | None = None, *, path_url: str | None = None) -> None:
    """Send each case (`path_url` with `{id}` for the cases that replace the id) and judge the answer."""
    for case in cases:
        target = path_url.format(id=case.path) if case.path is not None else url
        await w.judge(case, await client.request(method, target, **request_kwargs(case, headers)))


# --- the API --------------------------------------------------------------------------------

async def test_creating_an_invitation_refuses_every_hostile_body_and_writes_nothing(world):
    valid = {"email": "new@example.com", "role": "member"}
    cases = [
        *json_cases(valid),
        *[Case(f"an email with {what}", body={**valid, "email": value}, field="email")
          for what, value in HOSTILE_EMAILS.items()],
        *[Case(f"an email given as {what}", body={**valid, "email": value}, field="email")
          for what, value in {**WRONG_TYPES, "null": None, "a list of two": ["a@example.com", "b@example.com"]}.items()],
        *text_cases(valid, "role", {k: HOSTILE_TEXT[k] for k in ("a CRLF header injection", "a NUL byte",
                                                               "a lone surrogate", "10,000 characters")}),
        Case("a role no catalog knows", body={**valid, "role": "superuser"}, field="role"),
        Case("the owner role", body={**valid, "role": "owner"}, status=403, code="role_not_allowed"),
        *[Case(f"taskIds as {what}", body={**valid, "taskIds": value}, field="taskIds") for what, value in {
            "a string": "task_1", "an object": {"id": "task_1"}, "a list holding a NUL": ["task_\x00"],
            "a list holding 10,000 characters": ["t" * 10_000], "a list of 101 ids": [f"task_{i}" for i in range(101)],
            "a list of lists": [["task_1"]], "a list of numbers": [1, 2], "an unknown id": ["task_unknown"]}.items()],
        *[Case(f"expiresInDays of {what}", body={**valid, "expiresInDays": value}, field="expiresInDays")
          for what, value in {"-1": -1, "0": 0, "31": 31, "10**9": 10**9, "1e308": 1e308, "7.5": 7.5,
                              "a word": "seven", "a list": [7]}.items()],
        Case("expiresInDays of NaN", raw=b'{"email": "new@example.com", "role": "member", "expiresInDays": NaN}',
             field="expiresInDays"),
        *[Case(f"sendEmail of {what}", body={**valid, "sendEmail": value}, field="sendEmail")
          for what, value in {"a word": "maybe", "a list": [True], "an object": {}}.items()],
        *smuggled(valid, teamId=world.team.id, status="accepted", token="x" * 43, invitedBy="usr_x", id="inv_x"),
    ]
    await sweep(world, world.api, "POST", f"{API}/team-invitations", cases)
    world.report()


async def test_resending_refuses_hostile_bodies_and_ids_and_writes_nothing(world):
    valid = {"sendEmail": False}
    cases = [
        *json_cases(valid, optional_body=True),
        *[Case(f"expiresInDays of {what}", body={**valid, "expiresInDays": value}, field="expiresInDays")
          for what, value in {"-1": -1, "10**9": 10**9, "a word": "seven", "null-byte text": "\x00"}.items()],
        *smuggled(valid, email="attacker@example.com", role="admin", token="x" * 43, teamId=world.team.id),
        *path_cases("invitation_not_found"),
    ]
    url = f"{API}/team-invitations/{world.invitation['id']}/resend"
    await sweep(world, world.api, "POST", url, cases, path_url=f"{API}/team-invitations/{{id}}/resend")
    world.report()


def accept_cases(token: str) -> list[Case]:
    # Each body would create an account and a membership if it got through; none may.
    valid = {"token": token, "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace"}
    return [
        *json_cases(valid),
        *text_cases(valid, "token", {"10,000 characters": "t" * 10_000}),
        Case("a token that is a NUL byte", body={**valid, "token": "\x00"}, status=404, code="invitation_not_found"),
        Case("a token with a CRLF", body={**valid, "token": token + "\r\nX: y"}, status=404,
             code="invitation_not_found"),
        *text_cases(valid, "firstName", required=False),
        *text_cases(valid, "lastName", {k: HOSTILE_TEXT[k] for k in ("a CRLF header injection", "a NUL byte",
                                                                   "a right-to-left override")}, required=False),
        Case("a first name of only spaces", body={**valid, "firstName": "   "}, field="firstName"),
        *[Case(f"a password of {what}", body={**valid, "password": value}, field="password") for what, value in {
            "1 MB": "p" * MB, "257 characters": "p" * 257, "a lone surrogate": "correct horse\ud800",
            "7 characters": "p" * 7, "a common one": "password123", "an array": [PASSWORD], "a number": 12345678,
            "an empty string": ""}.items()],
        *smuggled(valid, role="owner", teamId="team_x", email="attacker@example.com", status="accepted",
                  isSystemOwner=True, userId="usr_x"),
    ]


async def test_accepting_refuses_hostile_bodies_and_leaves_the_invitation_pending(world):
    stranger = world.harness.client()
    await sweep(world, stranger, "POST", f"{API}/team-invitations/accept", accept_cases(world.invitation["token"]))
    world.report()
    assert (await stranger.get(f"{API}/team-invitations/validate/{world.invitation['token']}")).status_code == 200
    assert "teamgate_session" not in stranger.cookies


async def test_declining_refuses_hostile_bodies_and_leaves_the_invitation_pending(world):
    token = world.invitation["token"]
    valid = {"token": token}
    cases = [
        *json_cases(valid),
        *text_cases(valid, "token", {"10,000 characters": "t" * 10_000, "1 MB": "t" * MB}),
        Case("a token that is a NUL byte", body={"token": "\x00"}, status=404, code="invitation_not_found"),
        Case("a token with a right-to-left override", body={"token": token + "\u202e"}, status=404,
             code="invitation_not_found"),
        *smuggled(valid, reason="spam", email="invitee@example.com", status="declined"),
    ]
    stranger = world.harness.client()
    await sweep(world, stranger, "POST", f"{API}/team-invitations/decline", cases)
    world.report()
    assert (await stranger.get(f"{API}/team-invitations/validate/{token}")).status_code == 200


async def test_validating_a_hostile_token_is_a_problem_not_a_crash(world):
    cases = [
        Case("a 129-character token", path="t" * 129, field="token"),
        Case("a 10,000-character token", path="t" * 10_000, field="token"),
        *[Case(f"a token that is {what}", path=segment, status=404, code="invitation_not_found")
          for what, segment in {"a NUL byte": "%00", "a CRLF": "%0D%0ASet-Cookie:%20x=y",
                                "a lone surrogate (encoded)": "%ED%A0%80", "a right-to-left override": "\u202e",
                                "a zero-width joiner": "\u200d", "a SQL fragment": "'%20OR%201=1--"}.items()],
    ]
    await sweep(world, world.harness.client(), "GET", "", cases, path_url=f"{API}/team-invitations/validate/{{id}}")
    world.report()


async def test_signing_in_with_hostile_credentials_is_refused_without_a_session(world):
    owner = world.team.owner
    valid = {"email": owner.email, "password": "not the password"}
    cases = [
        *json_cases(valid),
        *[Case(f"an email with {what}", body={**valid, "email": value}, field="email")
          for what, value in HOSTILE_EMAILS.items() if what not in NOT_TEXT_PROBLEMS],
        Case("the owner's email with a Bcc header after a CRLF, with the right password",
             body={"email": owner.email + "\r\nBcc: x@evil.com", "password": owner.password}, field="email"),
        Case("the owner's email with a NUL in it, with the right password",
             body={"email": owner.email.replace("@", "\x00@"), "password": owner.password}, field="email"),
        *[Case(f"an email with {what}", body={**valid, "email": value}, status=401, code="invalid_credentials")
          for what, value in {"a zero-width joiner": "owner\u200d@example.com",
                              "a full-width at sign": "owner\uff20example.com", "nothing but spaces": "   ",
                              "no at sign": "owner.example.com",
                              "a homoglyph domain (Cyrillic a)": "owner@ex\u0430mple.com",
                              "a right-to-left mark": "owner@example.com\u200f"}.items()],
        *[Case(f"an email given as {what}", body={**valid, "email": value}, field="email")
          for what, value in {**WRONG_TYPES, "null": None, "a list of the owner's email": [owner.email]}.items()],
        *[Case(f"a password of {what}", body={**valid, "password": value}, field="password") for what, value in {
            "1 MB": "p" * MB, "a lone surrogate": "pass\ud800word", "an array": [owner.password],
            "null": None, "an object": {"$ne": ""}}.items()],
        *smuggled(valid, role="owner", isSystemOwner=True, teamId="team_x"),
    ]
    stranger = world.harness.client()
    await sweep(world, stranger, "POST", f"{API}/auth/login", cases)
    world.report()
    assert "teamgate_session" not in stranger.cookies


async def test_creating_a_team_refuses_hostile_names_and_seat_limits(world):
    valid = {"name": "Hostile Inc"}
    cases = [
        *json_cases(valid),
        *text_cases(valid, "name"),
        *[Case(f"a seat limit of {what}", body={**valid, "seatLimit": value}, field="seatLimit")
          for what, value in {"-1": -1, "0": 0, "10**9": 10**9, "1e308": 1e308, "a word": "many",
                              "a list": [5], "2.5": 2.5}.items()],
        *smuggled(valid, ownerId="usr_x", id="team_x", createdAt="2020-01-01T00:00:00Z"),
    ]
    await sweep(world, world.owner, "POST", f"{API}/teams", cases, world.csrf)
    world.report()


def task_field_cases(valid: dict, *, title_required: bool) -> list[Case]:
    return [
        *text_cases(valid, "title", required=title_required),
        *[Case(f"a description with {what}", body={**valid, "description": value}, field="description")
          for what, value in {"a NUL byte": "Step one\x00", "a lone surrogate": "Step \ud800",
                              "a right-to-left override": "Step \u202eeno", "5,001 characters": "d" * 5001,
                              "an escape sequence": "\x1b[31mred"}.items()],
        *[Case(f"assigneeIds as {what}", body={**valid, "assigneeIds": value}, field="assigneeIds")
          for what, value in {"a string": "usr_x", "a list holding a NUL": ["usr_\x00"],
                              "a list holding 10,000 characters": ["u" * 10_000],
                              "a list of 101 ids": [f"usr_{i}" for i in range(101)], "a list of numbers": [1],
                              "an unknown user": ["usr_unknown"]}.items()],
        *smuggled(valid, teamId="team_x", id="task_x", createdAt="2020-01-01T00:00:00Z"),
    ]


async def test_creating_a_task_refuses_hostile_fields_and_writes_nothing(world):
    valid = {"title": "Hostile task"}
    cases = [*json_cases(valid), *task_field_cases(valid, title_required=True)]
    await sweep(world, world.api, "POST", f"{API}/tasks", cases)
    world.report()


async def test_editing_a_task_refuses_hostile_fields_and_ids_and_writes_nothing(world):
    valid = {"title": "Renamed"}
    cases = [
        *json_cases(valid),
        *task_field_cases(valid, title_required=False),
        *[Case(c.what, path=c.path, body=valid, status=404, code="not_found") for c in path_cases("not_found")],
    ]
    await sweep(world, world.api, "PATCH", f"{API}/tasks/{world.task_id}", cases, path_url=f"{API}/tasks/{{id}}")
    world.report()


async def test_creating_and_revoking_api_keys_refuses_hostile_input(world):
    valid = {"name": "Hostile key", "role": "member"}
    cases = [
        *json_cases(valid),
        *text_cases(valid, "name"),
        *text_cases(valid, "role", {k: HOSTILE_TEXT[k] for k in ("a NUL byte", "a lone surrogate",
                                                               "10,000 characters")}),
        Case("a role no catalog knows", body={**valid, "role": "root"}, field="role"),
        Case("the owner role", body={**valid, "role": "owner"}, status=403, code="role_not_allowed"),
        *smuggled(valid, teamId="team_x", key="tgk_chosen_by_the_caller", prefix="tgk_", createdBy="usr_x"),
    ]
    await sweep(world, world.owner, "POST", f"{API}/api-keys", cases, world.csrf)  # people make keys; keys cannot
    await sweep(world, world.api, "DELETE", "", path_cases("not_found"), path_url=f"{API}/api-keys/{{id}}")
    world.report()


async def test_changing_a_members_role_refuses_hostile_roles_and_ids(world):
    valid = {"role": "admin"}  # a real change: were any case let through, the database would show it
    cases = [
        *json_cases(valid),
        *text_cases(valid, "role", {k: HOSTILE_TEXT[k] for k in ("a CRLF header injection", "a NUL byte",
                                                               "a lone surrogate", "10,000 characters")}),
        Case("a role no catalog knows", body={"role": "superuser"}, field="role"),
        Case("the owner role", body={"role": "owner"}, status=403, code="role_not_allowed"),
        *smuggled(valid, isOwner=True, teamId="team_x", email="attacker@example.com", userId="usr_x"),
        *[Case(c.what, path=c.path, body=valid, status=404, code="not_found") for c in path_cases("not_found")],
    ]
    await sweep(world, world.api, "PATCH", f"{API}/team-members/{world.member_id}", cases,
                path_url=f"{API}/team-members/{{id}}")
    world.report()


async def test_choosing_the_active_team_refuses_hostile_team_ids(world):
    valid = {"teamId": world.team.id}
    cases = [
        *json_cases(valid),
        *text_cases(valid, "teamId"),
        Case("a team that does not exist", body={"teamId": "team_01J0000000000000000000000"}, status=404,
             code="not_found"),
        Case("a SQL fragment", body={"teamId": "' OR 1=1--"}, status=404, code="not_found"),
        *smuggled(valid, userId="usr_x", role="owner"),
    ]
    await sweep(world, world.owner, "PUT", f"{API}/me/active-team", cases, world.csrf)
    world.report()


def b64(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


QUERY_CASES = [
    *[Case(f"limit={value}", params={"limit": value}, field="limit")
      for value in ("-1", "0", "101", str(10**9), str(10**30), "abc", "1e3", "", "1.5", "\x00")],
    *[Case(f"a cursor that is {what}", params={"cursor": value}, field="cursor") for what, value in {
        "punctuation": "!!!", "percent signs": "%%%", "10,000 characters": "c" * 10_000,
        "a NUL-bearing id": b64(b"inv_\x00"), "a lone NUL": b64(b"\x00_"), "not UTF-8": b64(b"\xff\xfe_x"),
        "a non-ASCII id": b64("inv_\u00e9".encode()), "a SQL fragment": b64(b"x_' OR 1=1--"),
        "an id of 41 characters": b64(b"inv_" + b"A" * 37)}.items()],
]


@pytest.mark.parametrize("route, extra", [
    ("/team-invitations", [Case(f"status={v!r}", params={"status": v}, field="status") for v in ("bogus", "", "\x00")]
     + [Case(f"delivery={v!r}", params={"delivery": v}, field="delivery") for v in ("bogus", "x" * 10_000)]),
    ("/tasks", []),
    ("/api-keys", []),
    ("/audit-events", [Case(f"an action of {what}", params={"action": v}, field="action")
                       for what, v in {"65 characters": "a" * 65, "a NUL byte": "invitation\x00"}.items()]),
], ids=["team-invitations", "tasks", "api-keys", "audit-events"])
async def test_list_routes_refuse_absurd_limits_and_forged_cursors(world, route, extra):
    await sweep(world, world.api, "GET", f"{API}{route}", QUERY_CASES + extra)
    world.report()


# --- the pages ------------------------------------------------------------------------------

def csrf_of(html: str) -> str:
    """The form's CSRF token ("" when the page has no form: the case before got through)."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    return found.group(1) if found else ""


async def form_sweep(w: World, client: httpx.AsyncClient, url: str, cases: list[Case], base: dict[str, Any],
                     form_page: str, *, path_url: str | None = None, token: str = "") -> None:
    """Post each case as the form on `form_page` would (with that page's fresh CSRF token, so one
    case that got through cannot make the next fail for the wrong reason) and judge the page.
    `{token}` in a field (or raw body) stands for `token`, `{csrf}` in a raw body for the CSRF token."""
    for case in cases:
        csrf = csrf_of((await client.get(form_page)).text)
        if not csrf:
            page = form_page.split("?")[0]
            w.failures.append(f"{case.what}: not tried, {page} shows no form any more (a case before got through)")
            continue
        target = path_url.format(id=case.path) if case.path is not None else url
        if case.raw is not None:
            body = case.raw.replace(b"{csrf}", csrf.encode()).replace(b"{token}", token.encode())
            response = await client.post(target, content=body, headers={"content-type": case.content_type})
        else:
            fields = {**base, "csrf": csrf, **(case.form or {})}
            response = await client.post(target, data={k: v.replace("{token}", token) if isinstance(v, str) else v
                                                       for k, v in fields.items()})
        await w.judge(case, response, page=True)


def page_text_cases(name: str, values: dict[str, str], status: int) -> list[Case]:
    return [Case(f"{name} with {what}", form={name: value}, status=status) for what, value in values.items()]


async def test_the_sign_in_form_answers_hostile_posts_with_a_page(world):
    browser = world.harness.client()
    owner = world.team.owner
    base = {"email": owner.email, "password": "not the password"}
    cases = [
        *page_text_cases("email", {**{k: v for k, v in HOSTILE_EMAILS.items() if k not in TOO_LONG_OR_UNSENDABLE},
                                   "a homoglyph domain": "owner@ex\u0430mple.com"}, 401),
        Case("an email of 10,000 characters", form={"email": HOSTILE_EMAILS["10,000 characters"]}, status=422),
        Case("the owner's email with a Bcc header after a CRLF, with the right password",
             form={"email": owner.email + "\r\nBcc: x@evil.com", "password": owner.password}, status=401),
        Case("the owner's email with a NUL in it, with the right password",
             form={"email": owner.email.replace("@", "\x00@"), "password": owner.password}, status=401),
        Case("an email of 1 MB", form={"email": "a" * MB + "@example.com"}, status=422),
        Case("a password of 1 MB", form={"password": "p" * MB}, status=422),
        Case("no password at all", raw=f"email={owner.email}&csrf={{csrf}}".encode(),
             content_type="application/x-www-form-urlencoded", status=422),
        Case("a lone surrogate, percent-encoded", raw=b"email=%ED%A0%80&password=x&csrf={csrf}",
             content_type="application/x-www-form-urlencoded", status=401),
        Case("JSON instead of a form", raw=json.dumps({**base, "csrf": "{csrf}"}).encode(), status=422),
        Case("a next= pointing elsewhere with a CRLF", form={"next": "/console\r\nLocation: https://evil.example"},
             status=401),
    ]
    await form_sweep(world, browser, "/login", cases, base, "/login")
    world.report()
    assert "teamgate_session" not in browser.cookies


async def test_the_invitation_forms_answer_hostile_posts_with_a_page(world):
    """Each case posts to an invitation of its own from a browser of its own, so one case that gets
    through (and accepts its invitation) cannot hide what the others do."""
    base = {"token": "{token}", "first_name": "Ada", "last_name": "Lovelace", "password": PASSWORD}
    names = {k: v for k, v in HOSTILE_TEXT.items() if k not in ("10,000 characters", "a lone surrogate")}
    accept = [
        *page_text_cases("first_name", names, 422),
        *page_text_cases("last_name", names, 422),
        Case("a first name of 10,000 characters", form={"first_name": "A" * 10_000}, status=422),
        Case("a password of 1 MB", form={"password": "p" * MB}, status=422),
        Case("a token of 1 MB", form={"token": "t" * MB}, status=422),
        Case("a token that is a NUL byte", form={"token": "\x00"}, status=404),
        Case("a token with a CRLF", form={"token": "{token}\r\nX: y"}, status=404),
        Case("JSON instead of a form", raw=json.dumps({**base, "csrf": "{csrf}"}).encode(), status=422),
    ]
    decline = [Case("a token of 1 MB", form={"token": "t" * MB}, status=422),
               Case("a token that is a NUL byte", form={"token": "\x00"}, status=404),
               Case("no token at all", raw=b"csrf={csrf}", content_type="application/x-www-form-urlencoded",
                    status=422)]
    plan = [("/invite/accept", case) for case in accept] + [("/invite/decline", case) for case in decline]
    tokens = [(await invite(world.api, world.key, f"form{i}@example.com", send_email=False))["token"]
              for i in range(len(plan))]
    await world.settle()
    for (url, case), token in zip(plan, tokens, strict=True):
        browser = world.harness.client()
        await form_sweep(world, browser, url, [case], base, f"/invite?token={token}", token=token)
        if "teamgate_session" in browser.cookies:
            world.failures.append(f"{case.what}: {url} signed the browser in")
    world.report()


async def test_a_role_or_team_smuggled_into_the_accept_form_is_ignored(world):
    """A form is not a closed model (browsers send what the page has), but extra fields change nothing."""
    token = world.invitation["token"]
    browser = world.harness.client()
    csrf = csrf_of((await browser.get(f"/invite?token={token}")).text)
    response = await browser.post("/invite/accept", data={
        "token": token, "csrf": csrf, "first_name": "Ada", "last_name": "Lovelace", "password": PASSWORD,
        "role": "owner", "team_id": "team_elsewhere", "is_owner": "true", "email": "attacker@example.com"})
    assert response.status_code == 303, response.text
    members = (await world.api.get(f"{API}/team-members")).json()["data"]
    joined = next(m for m in members if m["email"] == "invitee@example.com")
    assert (joined["role"], joined["isOwner"]) == ("member", False)
    assert not any(m["email"] == "attacker@example.com" for m in members)


async def test_the_console_forms_answer_hostile_posts_with_a_page(world):
    browser = world.owner  # signed in; the console's forms carry the session's CSRF token
    base = {"email": "new@example.com", "role": "member"}
    invitation_cases = [
        *page_text_cases("email", {k: v for k, v in HOSTILE_EMAILS.items() if k not in TOO_LONG_OR_UNSENDABLE}, 422),
        Case("an email of 10,000 characters", form={"email": HOSTILE_EMAILS["10,000 characters"]}, status=422),
        Case("an email of 1 MB", form={"email": "a" * MB + "@example.com"}, status=422),
        Case("a role with a NUL byte", form={"role": "member\x00"}, status=422),
        Case("the owner role", form={"role": "owner"}, status=403),
        Case("a task id with a NUL byte", form={"task_ids": ["task_\x00"]}, status=422),
        Case("101 task ids", form={"task_ids": [f"task_{i}" for i in range(101)]}, status=422),
        Case("JSON instead of a form", raw=json.dumps({**base, "csrf": "{csrf}"}).encode(), status=422),
        Case("a form that does not parse", raw=b"csrf={csrf}&%%%&&&===",
             content_type="application/x-www-form-urlencoded", status=422),
    ]
    await form_sweep(world, browser, "/console/invitations", invitation_cases, base, "/console")
    for action in ("cancel", "resend"):
        await form_sweep(world, browser, "", [Case(c.what, path=c.path, status=404) for c in path_cases("")],
                         {}, "/console", path_url=f"/console/invitations/{{id}}/{action}")
    switch = [Case("a team id with a NUL byte", form={"team_id": "team_\x00"}, status=404),
              Case("a team id of 10,000 characters", form={"team_id": "t" * 10_000}, status=422),
              Case("a team that does not exist", form={"team_id": "team_01J0000000000000000000000"}, status=404)]
    await form_sweep(world, browser, "/console/team", switch, {}, "/console")
    world.report()


async def test_a_homoglyph_domain_is_a_different_address_not_the_member_it_imitates(world):
    """email-validator accepts internationalised domains, so `member@exаmple.com` (Cyrillic а) is a
    valid, different address: it must neither collide with `member@example.com` (409) nor crash."""
    response = await world.api.post(f"{API}/team-invitations",
                                    json={"email": "member@ex\u0430mple.com", "role": "member", "sendEmail": False})
    assert response.status_code == 201, response.text
    assert response.json()["email"] == "member@ex\u0430mple.com"
    again = await world.api.post(f"{API}/team-invitations", json={"email": "member@example.com", "role": "member"})
    assert again.status_code == 409 and again.json()["code"] == "already_member", again.text


async def test_an_address_whose_case_fold_outgrows_the_column_is_refused_or_stored_never_a_500(world):
    """ΐ (2 bytes) folds to three code points, so a valid 219-character address has a 283-character
    matching form: more than the String(254) columns hold (see tests/domain/test_properties.py)."""
    email = "\u0390" * 32 + "@" + ".".join(["a" * 60] * 3) + ".com"
    response = await world.api.post(f"{API}/team-invitations", json={"email": email, "role": "member",
                                                                      "sendEmail": False})
    assert response.status_code in (201, 422), f"{response.status_code}: {gist(response)}"
    if response.status_code == 422:
        assert response.json()["code"] == "validation_error"
        assert await dump_database(world.harness) == world.baseline
    else:
        listed = (await world.api.get(f"{API}/team-invitations/{response.json()['id']}")).json()
        assert listed["email"] == email


# --- a product's server key (DESIGN 12) -----------------------------------------------------

async def product_of(world: World) -> httpx.AsyncClient:
    """A client with a server key, used once so that its last use is part of the baseline."""
    product = world.harness.client()
    product.headers.update(acting((await issue_server_key(world.harness.rt)).secret))
    assert (await product.get(f"{API}/users/by-external-id/u-nobody")).status_code == 404
    await world.settle()
    return product


async def test_accepting_on_behalf_refuses_hostile_people_and_leaves_the_invitation_pending(world):
    product = await product_of(world)
    person = {"externalId": "u-invitee", "email": "invitee@example.com"}
    valid = {"token": world.invitation["token"], "user": person}

    def as_user(what: str, **fields: Any) -> Case:
        return Case(what, body={**valid, "user": {**person, **fields}}, field="user")

    cases = [
        *json_cases(valid),
        *[as_user(f"an externalId with {what}", externalId=value) for what, value in {
            **HOSTILE_TEXT, "a slash": "a/b", "a space": "a b", "a percent-encoded slash": "a%2Fb", "an accent": "é",
            "256 characters": "x" * 256, "an empty string": "", **WRONG_TYPES, "null": None}.items()],
        *[as_user(f"an email with {what}", email=value) for what, value in HOSTILE_EMAILS.items()
          if what not in ("a zero-width joiner",)],
        *[as_user(f"a first name with {what}", firstName=value) for what, value in HOSTILE_TEXT.items()],
        as_user("a last name of only spaces", lastName="   "),
        *[as_user(f"a smuggled {name!r} for the person", **{name: value}) for name, value in {
            "role": "owner", "teamId": "team_x", "isSystemOwner": True, "emailVerified": False, "password": PASSWORD,
            "id": "usr_x"}.items()],
        Case("a user that is a string", body={**valid, "user": "u-invitee"}, field="user"),
        Case("a user that is a list", body={**valid, "user": [person]}, field="user"),
        Case("a password beside the user", body={**valid, "password": PASSWORD}, field="password"),
        Case("another address than the invited one", body={**valid, "user": {**person, "email": "x@example.com"}},
             status=403, code="email_mismatch"),
    ]
    await sweep(world, product, "POST", f"{API}/team-invitations/accept", cases)
    world.report()
    assert (await product.get(f"{API}/team-invitations/validate/{world.invitation['token']}")).status_code == 200


async def test_a_hostile_acting_person_or_team_is_404_and_writes_nothing(world):
    product = await product_of(world)
    body = {"email": "new@example.com", "role": "member"}
    cases = [Case(f"X-Acting-User {what}", body=body, status=404, code="not_found") for what in HOSTILE_HEADERS]
    for case, value in zip(cases, HOSTILE_HEADERS.values(), strict=True):
        for name, headers in (("X-Acting-User", {"X-Team-Id": world.team.id, "X-Acting-User": value}),
                              ("X-Team-Id", {"X-Team-Id": value, "X-Acting-User": "u-owner"})):
            named = Case(case.what.replace("X-Acting-User", name), body=body, status=404, code="not_found")
            await world.judge(named, await product.post(f"{API}/team-invitations",
                                                        **request_kwargs(named, headers)))
    world.report()


async def test_looking_up_a_hostile_external_id_is_a_problem_not_a_crash(world):
    product = await product_of(world)
    await sweep(world, product, "GET", "", path_cases("not_found"),
                path_url=f"{API}/users/by-external-id/{{id}}")
    world.report()


# header values a client can send (bytes: not all of them are ASCII)
HOSTILE_HEADERS: dict[str, bytes] = {
    "of 10,000 characters": b"u" * 10_000, "with a SQL fragment": b"' OR 1=1 --", "with a NUL escape": b"%00",
    "walking up a path": b"../../u-owner", "with a latin-1 byte": b"u-\xe9", "with a wildcard": b"u-%",
    "with a UTF-8 right-to-left override": "u-\u202e".encode(), "of spaces": b"   x",
}
