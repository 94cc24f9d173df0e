"""docs/webhooks.md's examples are real: one story in a team (an invitation created, emailed,
resent, accepted; a role changed; ownership handed over; others declined, cancelled, expired or
never delivered; a new link asked for an expired one; a member removed; two people asking to
join through a join link, one let in and one turned away; a test event) runs through the API,
the dispatcher and the upkeep to a real receiver, and the first body of each event type, its
signature verified, is the doc's example, with ids and times replaced by fixed ones. A change
to services/payloads.py or to an event therefore fails here until the doc shows it:
`TEAMGATE_UPDATE_DOCS=1` rewrites the examples from the story.

The doc's Python snippet is run against a real delivery too (its Node twin was run by hand
against real deliveries; see the commit that added it)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from teamgate.domain.webhooks import EVENT_TYPES
from tests.email.test_delivery import FlakySender
from tests.factories import add_member, mailed_token, make_team, sign_in
from tests.join_helpers import newcomer, verify_address
from tests.webhooks.helpers import Caller, make_due
from tests.webhooks.test_events import verified

DOC = Path(__file__).parents[2] / "docs" / "webhooks.md"
EXAMPLE = re.compile(r"(<!-- example: (?P<type>[a-z_.]+) -->\n```json\n)(?P<body>.*?)(\n```)", re.DOTALL)
SNIPPET = re.compile(r"<!-- snippet: (?P<name>[a-z-]+) -->\n```[a-z]+\n(?P<code>.*?)\n```", re.DOTALL)
ID = re.compile(r"\b([a-z]{2,8})_[0-9A-Z]{26}\b")
TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b")
SHOWN_START = datetime(2026, 12, 6, 17, 56, 12, tzinfo=UTC)  # the story's first moment, as the doc shows it
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


async def story(h, receivers) -> tuple[list[dict], datetime]:
    """Every event of the story, as its receiver got it (signature verified), in order of arrival;
    and the moment the story started."""
    h.clock.advance(days=-3)  # on PostgreSQL the database's clock bounds what is overdue: start in the past
    start = h.clock.now()
    receiver = await receivers()
    team = await make_team(h.rt, "olivia@acme.example", name="Acme")
    bob = await add_member(h.rt, team.id, "bob@acme.example", first_name="Bob", last_name="Builder")
    olivia = h.client()
    csrf = await sign_in(olivia, team.owner)
    key = (await _ok(olivia.post("/api/v1/api-keys", headers=csrf, json={"name": "backend", "role": "admin"})))["key"]
    backend = Caller(team.id, h.client(), {"X-API-Key": key})
    task = await _ok(backend.post("/tasks", json={"title": "Write the onboarding guide"}))
    hook = await _ok(olivia.post("/api/v1/webhooks", headers=csrf, json={"url": receiver.url,
                                                                          "description": "CRM sync"}))
    await _ok(olivia.post(f"/api/v1/webhooks/{hook['id']}/test", headers=csrf))

    grace = await _ok(backend.post("/team-invitations", json={"email": "grace@example.com", "role": "member",
                                                              "taskIds": [task["id"]]}))
    await h.send_mail()  # delivered
    h.clock.advance(hours=1)
    await _ok(backend.post(f"/team-invitations/{grace['id']}/resend", json={}))
    mailed = await mailed_token(h, "grace@example.com")
    h.clock.advance(minutes=7)
    accepted = await _ok(h.client().post("/api/v1/team-invitations/accept", json={
        "token": mailed, "password": "grace's own passphrase", "firstName": "Grace", "lastName": "Hopper"}))
    grace_id = accepted["user"]["id"]
    h.clock.advance(minutes=20)
    await _ok(backend.client.patch(f"/api/v1/team-members/{grace_id}", headers=backend.headers,
                                   json={"role": "admin"}))
    await _ok(olivia.post("/api/v1/team/transfer-ownership", headers=csrf, json={"userId": grace_id}))
    h.clock.advance(minutes=5)
    hal = await _ok(backend.post("/team-invitations", json={"email": "hal@example.com", "role": "member",
                                                            "sendEmail": False}))
    await _ok(h.client().post("/api/v1/team-invitations/decline", json={"token": hal["token"]}))
    ivy = await _ok(backend.post("/team-invitations", json={"email": "ivy@example.com", "role": "member",
                                                            "sendEmail": False}))
    assert (await backend.client.delete(f"/api/v1/team-invitations/{ivy['id']}", headers=backend.headers)
            ).status_code == 200
    jo = await _ok(backend.post("/team-invitations", json={"email": "jo@example.com", "role": "member",
                                                           "sendEmail": False, "expiresInDays": 1}))
    h.rt.settings.email_max_attempts = 1
    mail_server, h.dispatcher.sender = h.dispatcher.sender, FlakySender(failures=1)
    await _ok(backend.post("/team-invitations", json={"email": "kim@example.com", "role": "member"}))
    await h.dispatcher.drain()  # the mail server is down: kim's email fails for good
    h.dispatcher.sender = mail_server
    assert (await backend.client.delete(f"/api/v1/team-members/{bob.id}", headers=backend.headers)
            ).status_code == 204
    h.clock.advance(days=1, hours=1)
    await h.dispatcher.upkeep()  # jo's invitation expires
    h.clock.advance(hours=2)
    await _ok(h.client().post("/api/v1/team-invitations/request-renewal", json={"token": jo["token"]}))
    await join_requests(h, backend, olivia, csrf)
    await make_due(h)
    await h.dispatcher.drain()
    secret = hook["secret"]
    return [verified(secret, hit) for hit in receiver.hits], start


async def join_requests(h, backend: Caller, olivia, csrf: dict[str, str]) -> None:
    """Two new people use a join link that admits only verified example.com addresses, with
    approval: Lin proves her address (her request joins the queue) and Olivia lets her in; the
    backend turns Max away before he has proven his. (On PostgreSQL the database's clock bounds
    whether a verification link is still good: this runs late in the story, within its life.)"""
    h.clock.advance(minutes=3)
    link = await _ok(backend.post("/join-links", json={"role": "member", "requiresApproval": True,
                                                       "allowedDomains": ["example.com"]}))
    lin = h.client()
    used = await _ok(lin.post("/api/v1/join-links/accept", json={
        "token": link["token"], **newcomer("lin@example.com", "Lin", "Clark")}))
    h.clock.advance(minutes=2)
    verified_address = await verify_address(h, lin, "lin@example.com", used["csrfToken"])
    assert verified_address.status_code == 200, verified_address.text
    h.clock.advance(minutes=10)
    await _ok(olivia.post(f"/api/v1/join-requests/{used['joinRequest']['id']}/approve", headers=csrf))
    max_ = await _ok(h.client().post("/api/v1/join-links/accept", json={
        "token": link["token"], **newcomer("max@example.com", "Max", "Planck")}))
    h.clock.advance(minutes=5)
    await _ok(backend.post(f"/join-requests/{max_['joinRequest']['id']}/deny"))


async def _ok(response_or_call) -> dict:
    response = await response_or_call
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


def examples(events: list[dict], start: datetime) -> dict[str, dict]:
    """The first event of each type, in the doc's order, with fixed ids and times: each real id
    becomes the same made-up one wherever it appears, and each time keeps its distance from the
    story's start."""
    firsts: dict[str, dict] = {}
    for event in events:
        firsts.setdefault(event["type"], event)
    ids: dict[str, str] = {}

    def fixed_id(match: re.Match) -> str:
        return ids.setdefault(match.group(0), _made_up_id(match.group(1), len(ids)))

    def fixed_time(match: re.Match) -> str:
        moment = datetime.strptime(match.group(0), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return (SHOWN_START + (moment - start)).strftime("%Y-%m-%dT%H:%M:%SZ")

    text = json.dumps([firsts[t] for t in doc_order()])
    return {e["type"]: e for e in json.loads(TIME.sub(fixed_time, ID.sub(fixed_id, text)))}


def _made_up_id(prefix: str, n: int) -> str:
    """Shaped like ours (domain/ids.py): the shown start's milliseconds, then 80 bits from a hash."""
    value = (int((SHOWN_START + timedelta(seconds=n)).timestamp() * 1000) << 80) | int.from_bytes(
        hashlib.sha256(f"{prefix}{n}".encode()).digest()[:10])
    return prefix + "_" + "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def doc_order() -> list[str]:
    """The catalogue's order: the lifecycle of an invitation, of a membership, of a join request,
    then the rest."""
    order = ["invitation.created", "invitation.resent", "invitation.delivered", "invitation.delivery_failed",
             "invitation.accepted", "invitation.declined", "invitation.revoked", "invitation.expired",
             "invitation.renewal_requested", "membership.created", "membership.updated", "membership.deleted",
             "join_request.created", "join_request.updated", "join_request.approved", "join_request.denied",
             "team.ownership_transferred", "webhook.test"]
    assert set(order) == EVENT_TYPES
    return order


def rendered(body: dict) -> str:
    return json.dumps(body, indent=2, ensure_ascii=False)


async def test_the_docs_show_one_real_example_of_every_event_type(local, receivers):
    got, start = await story(local, receivers)
    assert {e["type"] for e in got} == EVENT_TYPES  # the story makes every event
    wanted = examples(got, start)
    text = DOC.read_text()
    if os.environ.get("TEAMGATE_UPDATE_DOCS") == "1":
        text = EXAMPLE.sub(lambda m: m.group(1) + rendered(wanted[m.group("type")]) + m.group(4), text)
        DOC.write_text(text)
    shown = {m.group("type"): json.loads(m.group("body")) for m in EXAMPLE.finditer(text)}
    assert [m.group("type") for m in EXAMPLE.finditer(text)] == doc_order()  # one each, in order
    for event_type in doc_order():
        assert shown[event_type] == wanted[event_type], (
            f"docs/webhooks.md's {event_type} is not what the code sends; TEAMGATE_UPDATE_DOCS=1 rewrites it")


def snippet(name: str) -> str:
    return {m.group("name"): m.group("code") for m in SNIPPET.finditer(DOC.read_text())}[name]


async def test_the_python_snippet_verifies_a_real_delivery_once_and_refuses_a_forged_one(local, receivers,
                                                                                          monkeypatch):
    receiver = await receivers()
    team = await make_team(local.rt)
    browser = local.client()
    csrf = await sign_in(browser, team.owner)
    hook = await _ok(browser.post("/api/v1/webhooks", headers=csrf, json={"url": receiver.url}))
    await _ok(browser.post(f"/api/v1/webhooks/{hook['id']}/test", headers=csrf))
    await local.dispatcher.drain()
    [hit] = receiver.hits

    monkeypatch.setenv("TEAMGATE_WEBHOOK_SECRET", hook["secret"])
    handled: list[dict] = []
    code = snippet("verify-python")
    namespace: dict = {}
    exec(compile(code, "docs/webhooks.md", "exec"), namespace)  # noqa: S102 - the doc's own code
    namespace["handle"] = handled.append  # what a receiver does with an event

    headers = {name.title(): value for name, value in hit.headers.items()}  # any case, as frameworks give them
    assert namespace["receive"](hit.body, headers) == 200
    assert namespace["receive"](hit.body, headers) == 200  # a retry: answered, not handled again
    assert [e["type"] for e in handled] == ["webhook.test"]
    forged = hit.body.replace(b"webhook.test", b"webhook.tesT")
    assert namespace["receive"](forged, headers) == 400
    assert len(handled) == 1
