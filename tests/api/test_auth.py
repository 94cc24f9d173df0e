"""Sign-in, sessions, CSRF, the current team, first-owner setup, and the shape of every error."""

from __future__ import annotations

import httpx
import pytest

from teamgate.app import create_app
from teamgate.email.senders import MemorySender
from teamgate.services import accounts
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import Membership
from tests.factories import problem, PASSWORD, add_member, key_headers, make_api_key, make_team, make_user, sign_in

PAGE_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}



def session_cookie(response: httpx.Response) -> str:
    """The raw Set-Cookie header that sets the session cookie."""
    found = [v for v in response.headers.get_list("set-cookie") if v.startswith("teamgate_session=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


def cookie_attributes(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def setup_link(harness) -> str:
    async with unit_of_work(harness.rt.sessions) as db:
        return await accounts.new_setup_link(db, harness.rt)


async def join(harness, team_id: str, user_id: str, role: str = "member") -> None:
    """An existing user joins a second team."""
    async with harness.owner() as db:
        db.add(Membership(team_id=team_id, user_id=user_id, role=role, is_owner=False, created_at=harness.clock.now()))


def setup_body(url: str, **override) -> dict:
    return {"token": url.split("token=", 1)[1], "email": "root@example.com", "password": "a long root password",
            "firstName": "Rita", "lastName": "Root", **override}


# --- sign-in and sessions -------------------------------------------------------------------

async def test_login_sets_an_httponly_lax_session_cookie_and_returns_a_csrf_token(harness, client):
    person = await make_user(harness.rt, "ann@example.com")
    response = await login(client, person.email)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == person.id
    assert len(response.json()["csrfToken"]) >= 32
    header = session_cookie(response)
    assert {"httponly", "samesite", "path"} <= cookie_attributes(header)
    assert "samesite=lax" in header.lower()
    assert "secure" not in cookie_attributes(header)  # base_url is plain http on 127.0.0.1


async def test_the_session_cookie_is_secure_when_the_base_url_is_https(harness, settings):
    await make_user(harness.rt, "ann@example.com")
    app = create_app(settings.model_copy(update={"base_url": "https://teams.example.com"}), clock=harness.clock,
                     sender=MemorySender(), run_dispatcher=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://teams.example.com") as c:
            response = await login(c, "ann@example.com")
    finally:
        await app.state.rt.engine.dispose()
    assert response.status_code == 200, response.text
    assert {"secure", "httponly"} <= cookie_attributes(session_cookie(response))


async def test_a_wrong_password_and_an_unknown_email_get_the_same_401(harness, client):
    await make_user(harness.rt, "ann@example.com")
    wrong_password = problem(await login(client, "ann@example.com", "not the password"), 401, "invalid_credentials")
    unknown_email = problem(await login(client, "nobody@example.com"), 401, "invalid_credentials")
    assert wrong_password.pop("requestId") != unknown_email.pop("requestId")
    assert wrong_password == unknown_email
    assert "teamgate_session" not in client.cookies


async def test_me_without_a_session_is_401_unauthenticated(client):
    problem(await client.get("/api/v1/me"), 401, "unauthenticated")


async def test_me_with_an_api_key_is_403_forbidden(harness, client):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    problem(await client.get("/api/v1/me", headers=key_headers(key)), 403, "forbidden")


async def test_me_shows_the_user_their_teams_the_active_team_and_the_csrf_token(harness, client):
    team = await make_team(harness.rt)
    csrf = await sign_in(client, team.owner)
    me = (await client.get("/api/v1/me")).json()
    assert me["user"]["email"] == team.owner.email
    assert [(m["team"]["id"], m["role"], m["isOwner"]) for m in me["memberships"]] == [(team.id, "owner", True)]
    assert me["activeTeamId"] == team.id
    assert me["csrfToken"] == csrf["X-CSRF-Token"]


async def test_logout_ends_the_session_and_the_old_cookie_stops_working(harness, client):
    person = await make_user(harness.rt, "ann@example.com")
    csrf = await sign_in(client, person)
    old_cookie = client.cookies["teamgate_session"]
    response = await client.post("/api/v1/auth/logout", headers=csrf)
    assert response.status_code == 204
    problem(await client.get("/api/v1/me"), 401, "unauthenticated")
    replay = harness.client()
    replay.cookies.set("teamgate_session", old_cookie)
    problem(await replay.get("/api/v1/me"), 401, "unauthenticated")


@pytest.mark.parametrize("csrf", [None, "0" * 64], ids=["missing", "wrong"])
async def test_a_cookie_write_without_the_right_csrf_token_is_refused_and_changes_nothing(harness, client, csrf):
    person = await make_user(harness.rt, "ann@example.com")
    await sign_in(client, person)
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    problem(await client.post("/api/v1/teams", json={"name": "Forged"}, headers=headers), 403, "csrf_failed")
    assert (await client.get("/api/v1/teams")).json()["data"] == []


async def test_logout_without_the_csrf_token_is_refused_and_the_session_lives_on(harness, client):
    person = await make_user(harness.rt, "ann@example.com")
    await sign_in(client, person)
    problem(await client.post("/api/v1/auth/logout"), 403, "csrf_failed")
    assert (await client.get("/api/v1/me")).status_code == 200


# --- the current team -------------------------------------------------------------------------

async def test_the_active_team_cannot_be_a_team_the_user_is_not_in(harness, client):
    mine = await make_team(harness.rt, "ann@example.com")
    theirs = await make_team(harness.rt, "bob@example.com", name="Other")
    csrf = await sign_in(client, mine.owner)
    response = await client.put("/api/v1/me/active-team", json={"teamId": theirs.id}, headers=csrf)
    problem(response, 404, "not_found")
    assert (await client.get("/api/v1/me")).json()["activeTeamId"] == mine.id


async def test_the_active_team_can_be_switched_to_another_team_of_mine(harness, client):
    first = await make_team(harness.rt, "ann@example.com")
    second = await make_team(harness.rt, "bob@example.com", name="Second")
    member = await add_member(harness.rt, first.id, "carl@example.com")
    await join(harness, second.id, member.id)
    csrf = await sign_in(client, member)
    target = second.id if (await client.get("/api/v1/me")).json()["activeTeamId"] == first.id else first.id
    response = await client.put("/api/v1/me/active-team", json={"teamId": target}, headers=csrf)
    assert response.status_code == 200, response.text
    assert response.json()["activeTeamId"] == target
    assert (await client.get("/api/v1/team")).json()["id"] == target


async def test_the_x_team_id_header_wins_over_the_sessions_active_team(harness, client):
    first = await make_team(harness.rt, "ann@example.com", name="First")
    second = await make_team(harness.rt, "bob@example.com", name="Second")
    member = await add_member(harness.rt, first.id, "carl@example.com")
    await join(harness, second.id, member.id)
    await sign_in(client, member)
    active = (await client.get("/api/v1/me")).json()["activeTeamId"]
    other = second.id if active == first.id else first.id
    assert (await client.get("/api/v1/team")).json()["id"] == active
    assert (await client.get("/api/v1/team", headers={"X-Team-Id": other})).json()["id"] == other


async def test_an_x_team_id_the_user_does_not_belong_to_is_404(harness, client):
    mine = await make_team(harness.rt, "ann@example.com")
    theirs = await make_team(harness.rt, "bob@example.com", name="Other")
    await sign_in(client, mine.owner)
    problem(await client.get("/api/v1/team-members", headers={"X-Team-Id": theirs.id}), 404, "not_found")


async def test_an_api_key_sent_with_another_teams_id_is_403(harness, client):
    mine = await make_team(harness.rt, "ann@example.com")
    theirs = await make_team(harness.rt, "bob@example.com", name="Other")
    key = await make_api_key(harness.rt, mine.id)
    response = await client.get("/api/v1/team", headers={**key_headers(key), "X-Team-Id": theirs.id})
    problem(response, 403, "forbidden")


async def test_a_signed_in_user_with_no_current_team_gets_400(harness, client):
    person = await make_user(harness.rt, "ann@example.com")
    await sign_in(client, person)
    problem(await client.get("/api/v1/team"), 400, "bad_request")


# --- errors and the schema --------------------------------------------------------------------

async def test_a_problem_has_every_rfc_9457_field_and_the_request_id_of_the_response(client):
    response = await client.get("/api/v1/me")
    body = problem(response, 401, "unauthenticated")
    assert body["type"] == "urn:teamgate:problem:unauthenticated"
    assert body["status"] == 401
    assert body["title"] and body["detail"]
    assert body["requestId"] == response.headers["x-request-id"]


async def test_a_sane_incoming_request_id_is_kept(client):
    response = await client.get("/api/v1/me", headers={"X-Request-Id": "trace-abc-123"})
    assert response.headers["x-request-id"] == "trace-abc-123"
    assert response.json()["requestId"] == "trace-abc-123"


async def test_an_unknown_route_is_a_404_problem(client):
    response = await client.get("/api/v1/no-such-thing")
    body = problem(response, 404, "not_found")
    assert body["requestId"] == response.headers["x-request-id"]


async def test_malformed_json_is_400_bad_request(client):
    response = await client.post("/api/v1/auth/login", content=b"{not json",
                                 headers={"content-type": "application/json"})
    problem(response, 400, "bad_request")


async def test_the_openapi_document_is_served_and_lists_the_invitations_api(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/team-invitations" in response.json()["paths"]


# --- first-owner setup --------------------------------------------------------------------------

async def test_a_setup_link_creates_the_first_system_owner_and_signs_them_in(harness, client):
    url = await setup_link(harness)
    assert url.startswith("http://127.0.0.1:8000/setup?token=")
    response = await client.post("/api/v1/setup", json=setup_body(url))
    assert response.status_code == 201, response.text
    assert response.json()["user"]["isSystemOwner"] is True
    assert session_cookie(response)
    me = await client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["user"]["email"] == "root@example.com"


async def test_a_setup_link_works_only_once(harness, client):
    url = await setup_link(harness)
    assert (await client.post("/api/v1/setup", json=setup_body(url))).status_code == 201
    again = await harness.client().post("/api/v1/setup", json=setup_body(url, email="second@example.com"))
    problem(again, 404, "not_found")
    problem(await login(harness.client(), "second@example.com", "a long root password"), 401, "invalid_credentials")


async def test_an_unknown_setup_token_is_404_and_creates_no_account(harness, client):
    await setup_link(harness)
    problem(await client.post("/api/v1/setup", json=setup_body("x?token=made-up-token")), 404, "not_found")
    problem(await login(client, "root@example.com", "a long root password"), 401, "invalid_credentials")


async def test_the_setup_page_serves_a_form_with_strict_page_headers(harness, client):
    url = await setup_link(harness)
    response = await client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/setup">' in response.text
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert PAGE_HEADERS.items() <= {k: response.headers.get(k) for k in PAGE_HEADERS}.items()


async def test_the_setup_page_with_a_bad_token_is_a_404_html_page(harness, client):
    await setup_link(harness)
    response = await client.get("/setup", params={"token": "made-up-token"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<form" not in response.text
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert PAGE_HEADERS.items() <= {k: response.headers.get(k) for k in PAGE_HEADERS}.items()
