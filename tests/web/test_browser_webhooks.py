"""A real browser (Debian's Chromium through Playwright) runs a team's webhooks as a person would,
against `teamgate serve` and a real receiver on loopback that checks every signature with the
`standardwebhooks` library: add -> the secret, once -> send a test -> the delivery arrives and is
listed -> rotate -> delete. Saves the webhooks screenshot (docs/screenshots with
TEAMGATE_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from standardwebhooks import Webhook

from tests.live import Service
from tests.web import test_browser
from tests.web.test_browser import OWNER, SCREENSHOTS, sign_in
from tests.webhooks.receiver import in_thread

browser, person = test_browser.browser, test_browser.person  # the fixtures: one Chromium, one context per person

ALLOW_LOOPBACK = {"TEAMGATE_WEBHOOK_ALLOW_HTTP": "true", "TEAMGATE_WEBHOOK_ALLOW_PRIVATE": "true"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = Service(tmp_path_factory.mktemp("live-webhooks"), env=ALLOW_LOOPBACK)
    svc.cli("users", "create", "--email", OWNER["email"], "--first-name", "Olivia", "--last-name", "Owner",
            "--password-stdin", stdin=OWNER["password"] + "\n")
    svc.team = svc.cli("teams", "create", "--name", "Acme", "--owner", OWNER["email"])["id"]
    svc.key = svc.cli("api-keys", "create", "--team", svc.team, "--role", "admin", "--name", "backend")["key"]
    yield svc
    svc.stop()


def until(check, what: str):
    """The dispatcher sends right after the commit; wait (bounded) until `check()` is true."""
    for _ in range(200):
        if found := check():
            return found
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def api_webhooks(service: Service) -> list[dict]:
    return httpx.get(f"{service.url}/api/v1/webhooks", headers={"X-API-Key": service.key}).json()["data"]


def test_an_owner_adds_an_endpoint_tests_it_rotates_its_secret_and_deletes_it(service, person):
    with in_thread() as receiver:
        page = person()
        sign_in(page, service, OWNER["email"], OWNER["password"])
        page.wait_for_url(re.compile(r"/console"))
        page.get_by_role("navigation", name="Team sections").get_by_role("link", name="Webhooks").click()
        page.wait_for_url(re.compile(r"/console/webhooks$"))
        assert page.get_by_text("No endpoints yet.").is_visible()

        page.get_by_label("URL").fill(receiver.url)
        page.get_by_label("Description").fill("Billing sync")
        page.get_by_label("Only the ones checked below").check()
        page.get_by_label("invitation.accepted").check()
        page.get_by_label("membership.created").check()
        page.get_by_role("button", name="Add endpoint").click()
        page.get_by_text("Endpoint added.").wait_for()  # shown once the form's post has answered
        secret = page.get_by_label(re.compile("Signing secret for .*, shown only now")).input_value()
        assert secret.startswith("whsec_")
        [listed] = api_webhooks(service)
        assert listed["events"] == ["invitation.accepted", "membership.created"] and "secret" not in listed

        page.goto(f"{service.url}/console/webhooks")  # the page again: the secret is gone for good
        assert secret not in page.content() and page.locator("#issued-secret").count() == 0
        page.get_by_role("link", name=receiver.url).click()
        page.wait_for_url(re.compile(rf"/console/webhooks/{listed['id']}$"))
        assert secret not in page.content()

        page.get_by_role("button", name="Send test event").click()
        page.get_by_text("A webhook.test event is on its way").wait_for()
        hit = until(lambda: receiver.hits[:1], "the test event arrives")[0]
        event = Webhook(secret).verify(hit.body, hit.headers)
        assert event["type"] == "webhook.test" and event["data"] == {"webhookId": listed["id"]}

        def listed_as_delivered() -> bool:
            page.goto(f"{service.url}/console/webhooks/{listed['id']}")  # not reload: that would post the test again
            row = page.get_by_role("row").filter(has_text=hit.headers["webhook-id"])
            return row.count() == 1 and "delivered" in row.inner_text() and "HTTP 200" in row.inner_text()

        until(listed_as_delivered, "the delivery is listed as delivered")
        page.screenshot(path=SCREENSHOTS / "webhooks.png", full_page=True)

        page.get_by_role("button", name="Rotate secret").click()
        page.get_by_text("New signing secret made.").wait_for()
        new_secret = page.get_by_label(re.compile("Signing secret for .*, shown only now")).input_value()
        assert new_secret.startswith("whsec_") and new_secret != secret
        assert page.get_by_text(re.compile("previous secret signs too until")).first.is_visible()
        page.get_by_role("button", name="Send test event").click()
        page.get_by_text("A webhook.test event is on its way").wait_for()
        second = until(lambda: receiver.hits[1:2], "the second test event arrives")[0]
        Webhook(new_secret).verify(second.body, second.headers)
        Webhook(secret).verify(second.body, second.headers)  # the old secret signs too, for a day

        page.get_by_role("link", name="Delete…").click()
        assert page.get_by_role("heading", name="Delete this endpoint?").is_visible()
        assert api_webhooks(service) != []  # asking deleted nothing
        page.get_by_role("button", name="Delete endpoint").click()
        page.get_by_text(f"Endpoint {receiver.url} deleted").wait_for()
        assert page.get_by_text("No endpoints yet.").is_visible()
        assert api_webhooks(service) == []


def test_a_member_sees_no_webhooks_link_and_is_refused_the_page(service, person):
    service.cli("users", "create", "--email", "mo@example.com", "--first-name", "Mo", "--last-name", "Member",
                "--password-stdin", stdin="mo's own passphrase\n")
    invited = httpx.post(f"{service.url}/api/v1/team-invitations", headers={"X-API-Key": service.key},
                         json={"email": "mo@example.com", "role": "member"}).json()
    page = person()
    sign_in(page, service, "mo@example.com", "mo's own passphrase")
    page.wait_for_url(re.compile(r"/console"))
    page.goto(invited["acceptUrl"])
    page.get_by_role("button", name="Accept as mo@example.com").click()
    page.wait_for_url(re.compile(r"/console"))
    assert page.get_by_role("link", name="Webhooks").count() == 0
    response = page.goto(f"{service.url}/console/webhooks")
    assert response.status == 403
    assert page.get_by_text("webhooks:manage").is_visible()
