"""The join pages over HTTP, both engines: `/join` for new and signed-in people and for links that
no longer work, the console's join links and join-request queue, and the expired invitation's
"ask for a new link". Forms from another site or without this browser's token are refused."""

from __future__ import annotations

import re

import pytest

from tests.factories import add_member, invite, make_team
from tests.join_helpers import team_admin, uses_of
from tests.web.test_pages import PAGE_HEADERS, csrf_of, signed_in_console

NEW = {"email": "nia@example.com", "first_name": "Nia", "last_name": "New", "password": "a long new password"}


async def open_join(client, token: str):
    response = await client.get(f"/join?token={token}")
    return response, (csrf_of(response.text) if 'name="csrf"' in response.text else None)


class TestTheJoinPage:
    async def test_shows_the_team_the_role_and_who_shared_it_and_changes_nothing(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(role="admin", requiresApproval=True, allowedDomains=["example.com"])
        response, _ = await open_join(harness.client(), made["token"])
        assert response.status_code == 200
        for text in ("Join Acme", "as <strong>admin</strong>", "example.com", "Someone in the team lets you in",
                     "Create your account", "Create account and ask to join"):
            assert text in response.text, text
        for name, value in PAGE_HEADERS.items():
            assert response.headers[name] == value
        assert "<script>" not in response.text
        assert await uses_of(harness, made["id"]) == 0

    async def test_a_new_person_creates_an_account_and_lands_in_the_team(self, harness):
        admin = await team_admin(harness)
        made = await admin.link()
        browser = harness.client()
        _, csrf = await open_join(browser, made["token"])
        response = await browser.post("/join", data={"token": made["token"], "csrf": csrf, **NEW})
        assert response.status_code == 303 and response.headers["location"].startswith("/console?joined=")
        console = await browser.get(response.headers["location"])
        assert "Welcome! You are now a member" in console.text
        assert "nia@example.com" in await admin.members()

    async def test_a_person_who_must_wait_is_told_so_and_signed_in(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(requiresApproval=True)
        browser = harness.client()
        _, csrf = await open_join(browser, made["token"])
        response = await browser.post("/join", data={"token": made["token"], "csrf": csrf, **NEW})
        assert response.status_code == 202 and "Request sent" in response.text
        again, _ = await open_join(browser, made["token"])
        assert "You asked to join" in again.text and "Join as" not in again.text

    async def test_a_refused_form_is_shown_again_with_why_and_what_was_typed(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(allowedDomains=["example.com"])
        browser = harness.client()
        _, csrf = await open_join(browser, made["token"])
        response = await browser.post("/join", data={"token": made["token"], "csrf": csrf,
                                                     **NEW, "email": "eve@evil.example"})
        assert response.status_code == 403 and "admits only addresses at example.com" in response.text
        assert 'value="eve@evil.example"' in response.text and 'value="Nia"' in response.text
        assert await uses_of(harness, made["id"]) == 0

    async def test_a_signed_in_person_joins_with_one_button(self, harness):
        admin = await team_admin(harness)
        made = await admin.link()
        other = await make_team(harness.rt, "o2@example.com", name="Globex")
        sam = await add_member(harness.rt, other.id, "sam@example.com")
        browser, _ = await signed_in_console(harness, sam)
        page, csrf = await open_join(browser, made["token"])
        assert "Join as sam@example.com" in page.text and "Create your account" not in page.text
        response = await browser.post("/join", data={"token": made["token"], "csrf": csrf})
        assert response.status_code == 303
        assert "sam@example.com" in await admin.members()
        page, _ = await open_join(browser, made["token"])
        assert "You are already a member of Acme" in page.text

    async def test_a_signed_in_person_outside_the_allowed_domains_is_asked_to_switch(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(allowedDomains=["acme.example"])
        other = await make_team(harness.rt, "o2@example.com", name="Globex")
        sam = await add_member(harness.rt, other.id, "sam@example.com")
        browser, _ = await signed_in_console(harness, sam)
        page, _ = await open_join(browser, made["token"])
        assert "admits only addresses at acme.example" in page.text and "Switch account" in page.text

    @pytest.mark.parametrize(("state", "status", "title"), [
        ("unknown", 404, "This link does not work"), ("expired", 410, "This join link no longer works"),
        ("used_up", 410, "This join link no longer works"), ("deleted", 410, "This join link no longer works")])
    async def test_a_link_that_does_not_work_has_its_own_page(self, harness, state, status, title):
        admin = await team_admin(harness)
        made = await admin.link(maxUses=1, expiresInDays=1)
        token = made["token"]
        if state == "unknown":
            token = "x" * 43
        elif state == "expired":
            harness.clock.advance(days=2)
        elif state == "used_up":
            browser = harness.client()
            _, csrf = await open_join(browser, token)
            await browser.post("/join", data={"token": token, "csrf": csrf, **NEW})
        else:
            await admin.client.delete(f"/api/v1/join-links/{made['id']}", headers=admin.headers)
        response = await harness.client().get(f"/join?token={token}")
        assert response.status_code == status and title in response.text
        assert "Ask the team" in response.text

    async def test_a_forged_join_is_refused_and_changes_nothing(self, harness):
        admin = await team_admin(harness)
        made = await admin.link()
        browser = harness.client()
        _, csrf = await open_join(browser, made["token"])
        forged = await browser.post("/join", data={"token": made["token"], "csrf": csrf, **NEW},
                                    headers={"Origin": "https://evil.example"})
        assert forged.status_code == 403
        tokenless = await browser.post("/join", data={"token": made["token"], "csrf": "x" * 64, **NEW})
        assert tokenless.status_code == 403
        assert await uses_of(harness, made["id"]) == 0


class TestTheConsole:
    async def test_an_admin_makes_a_link_sees_it_once_and_deletes_it(self, harness):
        team = await make_team(harness.rt)
        browser, csrf = await signed_in_console(harness, team.owner)
        page = await browser.get("/console/join-links")
        assert page.status_code == 200 and "Make a join link" in page.text
        made = await browser.post("/console/join-links", data={
            "csrf": csrf, "role": "member", "max_uses": "3", "expires_in_days": "5",
            "allowed_domains": "example.com, example.org", "requires_approval": "true"})
        assert made.status_code == 200 and "Join link made." in made.text
        url = re.search(r'id="issued-link" value="([^"]+)"', made.text).group(1)
        assert url.startswith("http://127.0.0.1:8000/join?token=")
        assert "example.com, example.org" in made.text and "0 of 3" in made.text
        again = await browser.get("/console/join-links")
        assert url not in again.text  # shown once
        link_id = re.search(r'/console/join-links/([^/]+)/delete', again.text).group(1)
        deleted = await browser.post(f"/console/join-links/{link_id}/delete", data={"csrf": csrf})
        assert deleted.status_code == 200 and "it no longer works" in deleted.text
        assert (await harness.client().get(url.replace("http://127.0.0.1:8000", ""))).status_code == 410

    async def test_a_refused_link_says_why(self, harness):
        team = await make_team(harness.rt)
        browser, csrf = await signed_in_console(harness, team.owner)
        refused = await browser.post("/console/join-links", data={"csrf": csrf, "role": "member",
                                                                   "allowed_domains": "not a domain!"})
        assert refused.status_code == 422 and "is not a domain" in refused.text

    async def test_an_admin_approves_and_denies_from_the_queue(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(requiresApproval=True)
        for email in ("ann@example.com", "eve@example.com"):
            browser = harness.client()
            _, csrf = await open_join(browser, made["token"])
            assert (await browser.post("/join", data={"token": made["token"], "csrf": csrf, **NEW,
                                                      "email": email})).status_code == 202
        browser, csrf = await signed_in_console(harness, admin.owner)
        queue = await browser.get("/console/join-requests")
        assert "ann@example.com" in queue.text and "eve@example.com" in queue.text
        [ann, eve] = [r["id"] for r in sorted(await admin.requests(), key=lambda r: r["email"])]
        approved = await browser.post(f"/console/join-requests/{ann}/approve", data={"csrf": csrf})
        assert approved.status_code == 200 and "they are a member now" in approved.text
        denied = await browser.post(f"/console/join-requests/{eve}/deny", data={"csrf": csrf})
        assert denied.status_code == 200 and "Denied." in denied.text
        assert "ann@example.com" in await admin.members() and "eve@example.com" not in await admin.members()
        refused = await browser.post(f"/console/join-requests/{eve}/approve", data={"csrf": csrf})
        assert refused.status_code == 409 and "only a pending one" in refused.text

    async def test_a_member_may_not_see_the_links_or_the_queue(self, harness):
        team = await make_team(harness.rt)
        member = await add_member(harness.rt, team.id, "mo@example.com")
        browser, _ = await signed_in_console(harness, member)
        assert (await browser.get("/console/join-links")).status_code == 403
        assert (await browser.get("/console/join-requests")).status_code == 403
        assert "Join links" not in (await browser.get("/console")).text

    async def test_console_join_actions_from_another_site_are_refused(self, harness):
        team = await make_team(harness.rt)
        browser, csrf = await signed_in_console(harness, team.owner)
        forged = await browser.post("/console/join-links", data={"csrf": csrf, "role": "member"},
                                    headers={"Origin": "https://evil.example"})
        assert forged.status_code == 403
        assert "No join links." in (await browser.get("/console/join-links")).text


class TestAskingForANewLink:
    async def test_the_expired_page_asks_the_inviter_once(self, harness):
        harness.clock.advance(days=-2)
        admin = await team_admin(harness)
        created = await invite(admin.client, admin.headers["X-API-Key"], "nia@example.com", expiresInDays=1)
        await harness.send_mail()
        harness.clock.advance(days=2)
        browser = harness.client()
        page = await browser.get(f"/invite?token={created['token']}")
        assert page.status_code == 410 and "Ask for a new link" in page.text
        asked = await browser.post("/invite/renew", data={"token": created["token"], "csrf": csrf_of(page.text)})
        assert asked.status_code == 200 and "We told Olivia Owner" in asked.text
        assert [m.recipient for m in await harness.send_mail()] == ["owner@example.com"]
        again = await browser.post("/invite/renew", data={"token": created["token"], "csrf": csrf_of(page.text)})
        assert again.status_code == 429 and "You asked already" in again.text and again.headers["retry-after"]

    async def test_only_an_expired_invitations_page_offers_it(self, harness):
        admin = await team_admin(harness)
        created = await invite(admin.client, admin.headers["X-API-Key"], "nia@example.com")
        await admin.client.delete(f"/api/v1/team-invitations/{created['id']}", headers=admin.headers)
        page = await harness.client().get(f"/invite?token={created['token']}")
        assert page.status_code == 410 and "Ask for a new link" not in page.text
