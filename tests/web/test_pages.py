"""The pages over HTTP: the invite page's states, sign-in, the console's actions, and that
every form POST from another site (or without this browser's token) is refused."""

import re

import pytest

from tests.factories import add_member, invite, key_headers, make_api_key, make_team, make_user

PAGE_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "cache-control": "no-store"}
NEW_PERSON = {"first_name": "Nia", "last_name": "New", "password": "a long new password"}


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
async def acme(harness):
    team = await make_team(harness.rt)
    return team, await make_api_key(harness.rt, team.id)


async def open_invite(client, token: str):
    response = await client.get(f"/invite?token={token}")
    return response, (csrf_of(response.text) if 'name="csrf"' in response.text else None)


async def member_emails(client, key) -> set[str]:
    data = (await client.get("/api/v1/team-members", headers=key_headers(key))).json()["data"]
    return {m["email"] for m in data}


async def test_the_invite_page_shows_team_inviter_role_expiry_and_tasks_with_strict_headers(harness, acme):
    team, key = acme
    admin = harness.client()
    task = (await admin.post("/api/v1/tasks", headers=key_headers(key), json={"title": "Ship the docs"})).json()
    created = await invite(admin, key, "nia@example.com", role="admin", taskIds=[task["id"]])
    response, _ = await open_invite(harness.client(), created["token"])
    assert response.status_code == 200
    for text in ("Join Acme", "nia@example.com", "as <strong>admin</strong>", "Ship the docs", "Create your account",
                 "Decline this invitation"):
        assert text in response.text
    for name, value in PAGE_HEADERS.items():
        assert response.headers[name] == value
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp and "script-src 'self'" in csp
    assert "<script>" not in response.text  # no inline script at all


async def test_viewing_the_invite_page_changes_nothing(harness, acme):
    _, key = acme
    created = await invite(harness.client(), key, "nia@example.com")
    for _ in range(3):
        await harness.client().get(f"/invite?token={created['token']}")
    state = (await harness.client().get(f"/api/v1/team-invitations/{created['id']}", headers=key_headers(key))).json()
    assert state["status"] == "pending"


async def test_a_new_person_accepts_with_the_form_and_lands_signed_in_as_a_member(harness, acme):
    _, key = acme
    created = await invite(harness.client(), key, "nia@example.com")
    browser = harness.client()
    _, csrf = await open_invite(browser, created["token"])
    response = await browser.post("/invite/accept", data={"token": created["token"], "csrf": csrf, **NEW_PERSON})
    assert response.status_code == 303 and response.headers["location"].startswith("/console")
    console = await browser.get(response.headers["location"])
    assert console.status_code == 200 and "Welcome! You are now a member" in console.text
    assert "nia@example.com" in await member_emails(harness.client(), key)


@pytest.mark.parametrize("forgery", ["no token", "wrong token", "other site"])
async def test_a_forged_accept_is_refused_and_changes_nothing(harness, acme, forgery):
    _, key = acme
    created = await invite(harness.client(), key, "nia@example.com")
    browser = harness.client()
    _, csrf = await open_invite(browser, created["token"])
    form = {"token": created["token"], **NEW_PERSON, "csrf": {"no token": "", "wrong token": "x" * 64}.get(forgery, csrf)}
    headers = {"Origin": "https://evil.example"} if forgery == "other site" else {}
    response = await browser.post("/invite/accept", data=form, headers=headers)
    assert response.status_code == 403 and "text/html" in response.headers["content-type"]
    assert "nia@example.com" not in await member_emails(harness.client(), key)


async def test_an_existing_account_is_asked_to_sign_in_and_comes_back_to_accept(harness, acme):
    team, key = acme
    person = await make_user(harness.rt, "sam@example.com")
    created = await invite(harness.client(), key, "sam@example.com")
    browser = harness.client()
    page, _ = await open_invite(browser, created["token"])
    assert "Sign in to accept" in page.text
    login_url = re.search(r'href="(/login\?next=[^"]+)"', page.text).group(1)
    form = await browser.get(login_url)
    signed_in = await browser.post("/login", data={"email": person.email, "password": person.password,
                                                   "csrf": csrf_of(form.text),
                                                   "next": re.search(r'name="next" value="([^"]+)"',
                                                                     form.text).group(1)})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == f"/invite?token={created['token']}"
    page, csrf = await open_invite(browser, created["token"])
    assert "Accept as sam@example.com" in page.text
    accepted = await browser.post("/invite/accept", data={"token": created["token"], "csrf": csrf})
    assert accepted.status_code == 303
    assert "sam@example.com" in await member_emails(harness.client(), key)


async def test_someone_signed_in_as_another_person_sees_the_mismatch_and_is_not_added(harness, acme):
    team, key = acme
    other = await add_member(harness.rt, team.id, "other@example.com")
    created = await invite(harness.client(), key, "nia@example.com")
    browser = harness.client()
    form = await browser.get("/login")
    await browser.post("/login", data={"email": other.email, "password": other.password, "csrf": csrf_of(form.text)})
    page, csrf = await open_invite(browser, created["token"])
    assert "but this invitation is for" in page.text and "Switch account" in page.text
    refused = await browser.post("/invite/accept", data={"token": created["token"], "csrf": csrf})
    assert refused.status_code == 403 and "different email" in refused.text
    assert "nia@example.com" not in await member_emails(harness.client(), key)


@pytest.mark.parametrize(("state", "status", "title"), [
    ("unknown", 404, "This link does not work"), ("expired", 410, "This invitation has expired"),
    ("accepted", 410, "already accepted"), ("revoked", 410, "was withdrawn"), ("declined", 410, "You declined")])
async def test_each_unusable_link_has_its_own_page_saying_what_to_do(harness, acme, state, status, title):
    _, key = acme
    admin = harness.client()
    created = await invite(admin, key, "nia@example.com")
    token = created["token"]
    if state == "unknown":
        token = "x" * 43
    elif state == "expired":
        harness.clock.advance(days=8)
    elif state == "accepted":
        await harness.client().post("/api/v1/team-invitations/accept", json={"token": token, "password": "a long new "
                                    "password", "firstName": "N", "lastName": "N"})
    elif state == "revoked":
        await admin.delete(f"/api/v1/team-invitations/{created['id']}", headers=key_headers(key))
    else:
        await harness.client().post("/api/v1/team-invitations/decline", json={"token": token})
    response = await harness.client().get(f"/invite?token={token}")
    assert response.status_code == status and title in response.text
    assert "ask" in response.text.lower() or "sign in" in response.text.lower()


async def test_declining_from_the_page_closes_the_invitation(harness, acme):
    _, key = acme
    created = await invite(harness.client(), key, "nia@example.com")
    browser = harness.client()
    _, csrf = await open_invite(browser, created["token"])
    response = await browser.post("/invite/decline", data={"token": created["token"], "csrf": csrf})
    assert response.status_code == 200 and "declined" in response.text
    state = (await harness.client().get(f"/api/v1/team-invitations/{created['id']}", headers=key_headers(key))).json()
    assert state["status"] == "declined"


async def test_a_cross_site_sign_in_is_refused(harness, acme):
    team, _ = acme
    browser = harness.client()
    form = await browser.get("/login")
    response = await browser.post("/login", data={"email": team.owner.email, "password": team.owner.password,
                                                  "csrf": csrf_of(form.text)},
                                  headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403 and "teamgate_session" not in browser.cookies


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil.example"])
async def test_sign_in_never_redirects_off_site(harness, acme, target):
    team, _ = acme
    browser = harness.client()
    form = await browser.get("/login")
    response = await browser.post("/login", data={"email": team.owner.email, "password": team.owner.password,
                                                  "csrf": csrf_of(form.text), "next": target})
    assert response.status_code == 303 and response.headers["location"] == "/console"


async def signed_in_console(harness, person):
    browser = harness.client()
    form = await browser.get("/login")
    await browser.post("/login", data={"email": person.email, "password": person.password, "csrf": csrf_of(form.text)})
    console = await browser.get("/console")
    assert console.status_code == 200
    return browser, csrf_of(console.text) if 'name="csrf"' in console.text else None


async def test_the_console_shows_why_an_email_failed_without_the_servers_details(harness, acme):
    team, key = acme

    class Unreachable:
        async def send_many(self, messages, stop=None):
            return [ConnectionRefusedError(111, "Connect call failed ('10.1.2.3', 2525) /etc/teamgate/smtp.toml")
                    for _ in messages]

    harness.dispatcher.sender = Unreachable()
    await invite(harness.client(), key, "nia@example.com")
    await harness.dispatcher.drain()
    browser, _ = await signed_in_console(harness, team.owner)
    page = (await browser.get("/console")).text
    assert "The mail server could not be reached." in page and 'data-error-code="smtp_unreachable"' in page
    for internal in ("10.1.2.3", "/etc/teamgate", "Connect call failed"):
        assert internal not in page
    # the port on its own, not inside a random CSRF token or id that happens to hold its digits
    assert not re.search(r"(?<![\w-])2525(?![\w-])", page)


async def test_an_admin_invites_from_the_console_gets_the_link_and_can_resend_and_cancel(harness, acme):
    team, key = acme
    browser, csrf = await signed_in_console(harness, team.owner)
    created = await browser.post("/console/invitations", data={"csrf": csrf, "email": "nia@example.com",
                                                               "role": "member", "no_email": "true"})
    assert created.status_code == 200 and "Invited nia@example.com" in created.text
    link = re.search(r'id="issued-link" value="([^"]+)"', created.text).group(1)
    assert (await harness.client().get(link.replace("http://127.0.0.1:8000", ""))).status_code == 200
    assert await harness.send_mail() == []  # "give me the link": no email

    listed = (await harness.client().get("/api/v1/team-invitations", headers=key_headers(key))).json()["data"]
    [invitation] = listed
    resent = await browser.post(f"/console/invitations/{invitation['id']}/resend", data={"csrf": csrf})
    assert resent.status_code == 200 and "new link" in resent.text
    assert (await harness.client().get(link.replace("http://127.0.0.1:8000", ""))).status_code == 404  # old link dead
    assert [m.recipient for m in await harness.send_mail()] == ["nia@example.com"]

    cancelled = await browser.post(f"/console/invitations/{invitation['id']}/cancel", data={"csrf": csrf})
    assert cancelled.status_code == 200 and "cancelled" in cancelled.text
    state = (await harness.client().get(f"/api/v1/team-invitations/{invitation['id']}", headers=key_headers(key)))
    assert state.json()["status"] == "revoked"


@pytest.mark.parametrize("action", ["invite", "cancel", "resend", "switch"])
async def test_console_actions_from_another_site_are_refused(harness, acme, action):
    team, key = acme
    created = await invite(harness.client(), key, "nia@example.com")
    browser, csrf = await signed_in_console(harness, team.owner)
    path, form = {"invite": ("/console/invitations", {"email": "x@example.com", "role": "member"}),
                  "cancel": (f"/console/invitations/{created['id']}/cancel", {}),
                  "resend": (f"/console/invitations/{created['id']}/resend", {}),
                  "switch": ("/console/team", {"team_id": team.id})}[action]
    forged = await browser.post(path, data={"csrf": csrf, **form}, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    tokenless = await browser.post(path, data=form)
    assert tokenless.status_code in (403, 422)
    listed = (await harness.client().get("/api/v1/team-invitations?status=all", headers=key_headers(key))).json()
    assert [(i["email"], i["status"], i["sendCount"]) for i in listed["data"]] == [("nia@example.com", "pending", 1)]


async def test_a_member_sees_the_team_but_not_the_invitation_tools(harness, acme):
    team, _ = acme
    member = await add_member(harness.rt, team.id, "mo@example.com")
    browser, _ = await signed_in_console(harness, member)
    console = await browser.get("/console")
    assert "Members" in console.text and "Invite someone" not in console.text


async def test_the_console_needs_a_signed_in_person(harness):
    response = await harness.client().get("/console")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
