"""The console's webhooks pages over HTTP (DESIGN 11), on both engines: add an endpoint and see
its secret once, send a test, retry, rotate, enable, delete; a receiver's hostile answer shown only
as text; and the refusals: another site's form, a member without `webhooks:manage`, another
team's endpoint. Deliveries go to a real receiver on loopback."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, update
from standardwebhooks import Webhook

from teamgate.services import webhooks
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import OutboxMessage, WebhookEndpoint
from tests.factories import add_member, key_headers, make_api_key, make_team
from tests.web.test_pages import csrf_of, signed_in_console
from tests.webhooks import conftest as webhook_fixtures
from tests.webhooks.helpers import Caller, deliveries, endpoint, make_due

# the fixtures: loopback receivers, and an app allowed to call them
local, receivers = webhook_fixtures.local, webhook_fixtures.receivers

HOME = "/console/webhooks"
SECRET = re.compile(r'id="issued-secret" value="(whsec_[^"]+)"')
HOSTILE = (b'<script>alert("owned")</script><img src=x onerror=alert(1)>'
           b'<a href="javascript:alert(2)">fix it here</a>')


async def acme_admin(h):
    """Team Acme: its owner signed in to the console, and an admin API key for checking."""
    team = await make_team(h.rt)
    browser, csrf = await signed_in_console(h, team.owner)
    return team, browser, csrf, Caller(team.id, h.client(), key_headers(await make_api_key(h.rt, team.id)))


async def add(browser, csrf: str, url: str, **form):
    return await browser.post(HOME, data={"csrf": csrf, "url": url, **form})


async def only_endpoint_id(caller: Caller) -> str:
    [found] = (await caller.get("/webhooks")).json()["data"]
    return found["id"]


async def snapshot(h) -> list[tuple]:
    """Every endpoint's columns and every delivery's status: what a refused action must leave alone."""
    async with h.owner() as db:
        endpoints = [(e.id, e.url, e.secret, e.previous_secret, e.disabled_at)
                     for e in await db.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))]
        messages = [(m.id, m.status, m.attempts) for m in await db.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "webhook").order_by(OutboxMessage.id))]
    return endpoints + messages


class TestAdding:
    async def test_an_owner_adds_an_endpoint_sees_its_secret_once_and_it_signs_the_test_event(self, local, receivers):
        receiver = await receivers()
        _, browser, csrf, caller = await acme_admin(local)
        console = await browser.get("/console")
        assert 'href="/console/webhooks"' in console.text
        assert "No endpoints yet" in (await browser.get(HOME)).text

        added = await add(browser, csrf, receiver.url, description="Billing <b>sync</b>", scope="some",
                          events=["membership.created", "invitation.accepted"])
        assert added.status_code == 200 and "Endpoint added" in added.text
        secret = SECRET.search(added.text).group(1)
        [listed] = (await caller.get("/webhooks")).json()["data"]
        assert listed["events"] == ["invitation.accepted", "membership.created"]
        assert listed["description"] == "Billing <b>sync</b>" and listed["url"] == receiver.url

        for path in (HOME, f"{HOME}/{listed['id']}", "/console"):
            shown = await browser.get(path)
            assert shown.status_code == 200
            assert secret not in shown.text and "whsec_" not in shown.text
        detail = (await browser.get(f"{HOME}/{listed['id']}")).text
        assert "Billing &lt;b&gt;sync&lt;/b&gt;" in detail and "<b>sync</b>" not in detail

        tested = await browser.post(f"{HOME}/{listed['id']}/test", data={"csrf": csrf})
        assert tested.status_code == 200 and "webhook.test event is on its way" in tested.text
        await local.dispatcher.drain()
        [hit] = receiver.hits
        assert Webhook(secret).verify(hit.body, hit.headers)["type"] == "webhook.test"
        detail = (await browser.get(f"{HOME}/{listed['id']}")).text
        assert hit.headers["webhook-id"] in detail and "badge-delivered" in detail and "HTTP 200" in detail
        audit = (await caller.get("/audit-events")).json()["data"]
        acted = {e["action"]: e["actor"] for e in audit if e["action"].startswith("webhook.")}
        assert acted.keys() == {"webhook.created", "webhook.tested"}
        assert {a["type"] for a in acted.values()} == {"user"}  # the signed-in person, as through the API

    async def test_all_events_is_the_default_and_is_stored_as_no_list(self, local, receivers):
        receiver = await receivers()
        _, browser, csrf, caller = await acme_admin(local)
        added = await add(browser, csrf, receiver.url, events=["membership.created"])  # scope left at "all"
        assert added.status_code == 200
        [listed] = (await caller.get("/webhooks")).json()["data"]
        assert listed["events"] == [] and "all events" in (await browser.get(HOME)).text

    @pytest.mark.parametrize(("form", "said"), [
        ({"url": "http://example.com/hook"}, "URL: must be https."),
        ({"url": "https://user:pw@example.com/hook"}, "URL: must not carry credentials."),
        ({"url": "https://example.com/hook", "scope": "some"}, "Events: choose at least one, or all events."),
        ({"url": "https://example.com/hook", "scope": "some", "events": ["invitation.eaten"]},
         "Events: unknown event types: invitation.eaten."),
        ({"url": "https://example.com/hook", "description": "bell\x07"}, "Description: must not contain"),
    ])
    async def test_a_refused_form_says_why_keeps_what_was_typed_and_adds_nothing(self, harness, form, said):
        _, browser, csrf, caller = await acme_admin(harness)
        refused = await add(browser, csrf, **{"description": "kept text", **form})
        assert refused.status_code == 422 and said in refused.text
        if "bell" not in form.get("description", ""):
            assert 'value="kept text"' in refused.text
        assert (await caller.get("/webhooks")).json()["data"] == []


class TestDeliveries:
    async def test_a_hostile_receivers_answer_is_shown_only_as_escaped_text(self, local, receivers):
        receiver = await receivers(answers=[500], body=HOSTILE)
        _, browser, csrf, caller = await acme_admin(local)
        await add(browser, csrf, receiver.url)
        webhook_id = await only_endpoint_id(caller)
        await browser.post(f"{HOME}/{webhook_id}/test", data={"csrf": csrf})
        await local.dispatcher.drain()

        page = (await browser.get(f"{HOME}/{webhook_id}")).text
        assert "HTTP 500" in page and "badge-queued" in page and "The endpoint answered with HTTP 500." in page
        assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        for raw in ("<script>alert", "<img src=x", 'href="javascript:', "onerror=alert(1)>"):
            assert raw not in page
        assert re.findall(r"<script\b[^>]*>", page) == ['<script src="/static/console.js" defer>']
        [record] = await deliveries(caller, webhook_id)
        assert record["lastResponseExcerpt"].startswith('<script>alert("owned")')  # what the page escaped

    async def test_a_failed_delivery_is_retried_from_the_page_and_arrives_with_the_same_event_id(
            self, local, receivers):
        receiver = await receivers()
        _, browser, csrf, caller = await acme_admin(local)
        secret = SECRET.search((await add(browser, csrf, receiver.url)).text).group(1)
        webhook_id = await only_endpoint_id(caller)
        disabled = await browser.post(f"{HOME}/{webhook_id}/disable", data={"csrf": csrf})
        assert disabled.status_code == 200 and "Endpoint disabled" in disabled.text
        await browser.post(f"{HOME}/{webhook_id}/test", data={"csrf": csrf})
        await local.dispatcher.drain()  # a disabled endpoint's delivery fails at once
        [failed] = await deliveries(caller, webhook_id)
        assert failed["status"] == "failed" and receiver.hits == []
        page = (await browser.get(f"{HOME}/{webhook_id}")).text
        assert "badge-failed" in page and f"Retry delivery of {failed['eventId']}" in page

        enabled = await browser.post(f"{HOME}/{webhook_id}/enable", data={"csrf": csrf})
        assert enabled.status_code == 200 and "Endpoint enabled" in enabled.text
        retried = await browser.post(f"{HOME}/{webhook_id}/deliveries/{failed['id']}/retry", data={"csrf": csrf})
        assert retried.status_code == 200 and "queued again" in retried.text
        await local.dispatcher.drain()
        [hit] = receiver.hits
        assert hit.headers["webhook-id"] == failed["eventId"]
        Webhook(secret).verify(hit.body, hit.headers)
        [delivered] = await deliveries(caller, webhook_id)
        assert delivered["status"] == "delivered"

        again = await browser.post(f"{HOME}/{webhook_id}/deliveries/{failed['id']}/retry", data={"csrf": csrf})
        assert again.status_code == 409 and "only a failed one can be retried" in again.text
        assert (await deliveries(caller, webhook_id))[0]["status"] == "delivered"


    async def test_deliveries_are_listed_newest_first_fifty_to_a_page(self, harness):
        _, browser, _, caller = await acme_admin(harness)
        created = await endpoint(caller, "https://hooks.example.com/in")
        for _ in range(52):
            await caller.post(f"/webhooks/{created['id']}/test")
        listed = (await caller.get(f"/webhooks/{created['id']}/deliveries?limit=100")).json()["data"]
        made = [d["eventId"] for d in listed]  # the API's order: newest first
        first = (await browser.get(f"{HOME}/{created['id']}")).text
        shown = re.findall(r"<code>(evt_\w+)</code>", first)
        assert len(shown) == 50 and shown == made[:50]
        older = re.search(r'href="(/console/webhooks/\w+\?before=\w+)">Older deliveries', first).group(1)
        second = (await browser.get(older)).text
        assert re.findall(r"<code>(evt_\w+)</code>", second) == made[50:52]
        assert "Older deliveries" not in second and "Newest deliveries" in second


class TestSecrets:
    async def test_rotating_shows_the_new_secret_once_and_both_sign_until_the_overlap_ends(self, local, receivers):
        receiver = await receivers()
        _, browser, csrf, caller = await acme_admin(local)
        first = SECRET.search((await add(browser, csrf, receiver.url)).text).group(1)
        webhook_id = await only_endpoint_id(caller)
        rotated = await browser.post(f"{HOME}/{webhook_id}/rotate-secret", data={"csrf": csrf})
        assert rotated.status_code == 200 and "keeps signing beside it for 24 hours" in rotated.text
        second = SECRET.search(rotated.text).group(1)
        assert second != first and first not in rotated.text

        for path in (HOME, f"{HOME}/{webhook_id}"):
            shown = (await browser.get(path)).text
            assert "previous secret signs too until" in shown and "whsec_" not in shown
        await browser.post(f"{HOME}/{webhook_id}/test", data={"csrf": csrf})
        await local.dispatcher.drain()
        [hit] = receiver.hits
        Webhook(first).verify(hit.body, hit.headers)
        Webhook(second).verify(hit.body, hit.headers)

        local.clock.advance(hours=25)
        assert "previous secret signs too" not in (await browser.get(f"{HOME}/{webhook_id}")).text


class TestStates:
    async def test_an_endpoint_disabled_after_five_days_of_failure_says_so_visibly_and_can_be_enabled(
            self, harness_with):
        h = await harness_with(webhook_allow_http=True)  # private addresses refused: every delivery fails
        team = await make_team(h.rt)
        caller = Caller(team.id, h.client(), key_headers(await make_api_key(h.rt, team.id)))
        created = await endpoint(caller, "http://10.0.0.1/hook")

        async def event_fails() -> None:
            async with unit_of_work(h.rt.sessions) as db:
                await webhooks.emit(db, h.rt, team_id=team.id, type="membership.created", data={})
            await make_due(h)
            await h.dispatcher.drain()

        await event_fails()
        browser, csrf = await signed_in_console(h, team.owner)
        assert "badge-queued\">failing" in (await browser.get(HOME)).text
        assert "If no delivery succeeds for 5 days" in (await browser.get(f"{HOME}/{created['id']}")).text

        h.clock.advance(days=5)
        await event_fails()
        browser, csrf = await signed_in_console(h, team.owner)  # five days on: a new session
        assert "disabled after failures" in (await browser.get(HOME)).text
        page = (await browser.get(f"{HOME}/{created['id']}")).text
        assert "every delivery had failed since" in page and "Nothing is sent to it now" in page
        assert f'action="/console/webhooks/{created["id"]}/enable"' in page

        enabled = await browser.post(f"{HOME}/{created['id']}/enable", data={"csrf": csrf})
        assert enabled.status_code == 200 and "badge-enabled" in enabled.text
        state = (await caller.get(f"/webhooks/{created['id']}")).json()
        assert state["enabled"] is True and state["failingSince"] is None


class TestDeleting:
    async def test_delete_asks_first_then_removes_the_endpoint_and_its_deliveries(self, harness):
        _, browser, _, caller = await acme_admin(harness)
        created = await endpoint(caller, "https://hooks.example.com/in")
        await caller.post(f"/webhooks/{created['id']}/test")
        asked = await browser.get(f"{HOME}/{created['id']}/delete")
        assert asked.status_code == 200 and "Delete this endpoint?" in asked.text
        assert "https://hooks.example.com/in" in asked.text
        assert (await caller.get(f"/webhooks/{created['id']}")).status_code == 200  # asking changed nothing

        deleted = await browser.post(f"{HOME}/{created['id']}/delete", data={"csrf": csrf_of(asked.text)})
        assert deleted.status_code == 200 and "Endpoint https://hooks.example.com/in deleted" in deleted.text
        assert (await caller.get(f"/webhooks/{created['id']}")).status_code == 404
        assert (await browser.get(f"{HOME}/{created['id']}")).status_code == 404
        async with harness.owner() as db:
            assert await db.scalar(select(func.count()).select_from(OutboxMessage)
                                   .where(OutboxMessage.kind == "webhook")) == 0


ACTIONS = ["add", "test", "rotate-secret", "enable", "disable", "delete", "retry"]


def action_path(action: str, webhook_id: str, delivery_id: str) -> tuple[str, dict]:
    if action == "add":
        return HOME, {"url": "https://hooks.example.com/new"}
    if action == "retry":
        return f"{HOME}/{webhook_id}/deliveries/{delivery_id}/retry", {}
    return f"{HOME}/{webhook_id}/{action}", {}


async def failed_delivery(h, caller: Caller) -> tuple[str, str]:
    """An endpoint with one failed delivery (so that every action, retry too, has something to act on)."""
    created = await endpoint(caller, "https://hooks.example.com/in")
    await caller.post(f"/webhooks/{created['id']}/test")
    async with h.owner() as db:
        await db.execute(update(OutboxMessage).values(status="failed"))
    [found] = await deliveries(caller, created["id"])
    return created["id"], found["id"]


class TestRefusals:
    async def test_signed_out_people_are_sent_to_sign_in(self, harness):
        for path in (HOME, f"{HOME}/01JAAAAAAAAAAAAAAAAAAAAAAA", f"{HOME}/01JAAAAAAAAAAAAAAAAAAAAAAA/delete"):
            response = await harness.client().get(path)
            assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")

    async def test_a_member_without_the_permission_gets_no_link_and_every_page_and_action_is_refused(self, harness):
        team, _, _, caller = await acme_admin(harness)
        webhook_id, delivery_id = await failed_delivery(harness, caller)
        member = await add_member(harness.rt, team.id, "mo@example.com")
        browser, _ = await signed_in_console(harness, member)
        assert 'href="/console/webhooks"' not in (await browser.get("/console")).text
        csrf = csrf_of((await browser.get("/account")).text)  # the session's token; their console has no form
        before = await snapshot(harness)

        for path in (HOME, f"{HOME}/{webhook_id}", f"{HOME}/{webhook_id}/delete"):
            refused = await browser.get(path)
            assert refused.status_code == 403 and "webhooks:manage" in refused.text
        for action in ACTIONS:
            path, form = action_path(action, webhook_id, delivery_id)
            refused = await browser.post(path, data={"csrf": csrf, **form})
            assert refused.status_code == 403, action
            assert "webhooks:manage" in refused.text and "text/html" in refused.headers["content-type"]
        assert await snapshot(harness) == before

    async def test_another_teams_endpoint_is_not_found_on_every_page_and_action(self, harness):
        _, browser, csrf, _ = await acme_admin(harness)
        other = await make_team(harness.rt, "boss@globex.example", name="Globex")
        theirs = Caller(other.id, harness.client(), key_headers(await make_api_key(harness.rt, other.id)))
        webhook_id, delivery_id = await failed_delivery(harness, theirs)
        before = await snapshot(harness)

        for path in (f"{HOME}/{webhook_id}", f"{HOME}/{webhook_id}/delete"):
            assert (await browser.get(path)).status_code == 404
        for action in ACTIONS[1:]:
            path, form = action_path(action, webhook_id, delivery_id)
            refused = await browser.post(path, data={"csrf": csrf, **form})
            assert refused.status_code == 404, action
            assert "https://hooks.example.com/in" not in refused.text
        assert await snapshot(harness) == before

    @pytest.mark.parametrize("action", ACTIONS)
    async def test_a_form_from_another_site_or_without_the_token_changes_nothing(self, harness, action):
        _, browser, csrf, caller = await acme_admin(harness)
        webhook_id, delivery_id = await failed_delivery(harness, caller)
        before = await snapshot(harness)
        path, form = action_path(action, webhook_id, delivery_id)
        forged = await browser.post(path, data={"csrf": csrf, **form}, headers={"Origin": "https://evil.example"})
        assert forged.status_code == 403
        wrong = await browser.post(path, data={"csrf": "x" * 64, **form})
        assert wrong.status_code == 403
        tokenless = await browser.post(path, data=form)
        assert tokenless.status_code in (403, 422)
        assert await snapshot(harness) == before
