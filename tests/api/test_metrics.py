"""/metrics: Prometheus' text format; the counters move by exactly what happened, and the outbox
figures are read from the database at each scrape."""

from sqlalchemy import update

from teamgate.storage.models import OutboxMessage
from tests.factories import NEW_PERSON, invite, key_headers, make_api_key, make_team, metric_samples
from tests.webhooks.helpers import endpoint, team_caller

URL = "/api/v1/team-invitations"


async def scrape(client) -> dict[tuple, float]:
    """Every sample as {(name, sorted labels): value}."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return metric_samples(response.text)


def moved(before: dict, after: dict, name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0) - before.get(key, 0)


async def test_counters_move_by_what_happened(harness, client):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    before = await scrape(client)

    first = await invite(client, key, "ann@example.com")
    second = await invite(client, key, "bob@example.com")
    third = await invite(client, key, "cy@example.com", sendEmail=False)
    await client.post(URL, headers=key_headers(key), json={"email": "ann@example.com", "role": "member"})  # 409
    assert (await harness.client().post(f"{URL}/accept", json={"token": first["token"], **NEW_PERSON})).status_code == 200
    assert (await client.post(f"{URL}/decline", json={"token": second["token"]})).status_code == 200
    assert (await client.delete(f"{URL}/{third['id']}", headers=key_headers(key))).status_code == 200
    await harness.send_mail()

    after = await scrape(client)
    assert moved(before, after, "teamgate_invitations_total", event="created") == 3  # the 409 created nothing
    assert moved(before, after, "teamgate_invitations_total", event="accepted") == 1
    assert moved(before, after, "teamgate_invitations_total", event="declined") == 1
    assert moved(before, after, "teamgate_invitations_total", event="revoked") == 1
    assert moved(before, after, "teamgate_http_requests_total", method="POST", route=URL, status="201") == 3
    assert moved(before, after, "teamgate_http_requests_total", method="POST", route=URL, status="409") == 1
    assert moved(before, after, "teamgate_http_requests_total", method="GET", route="/metrics", status="200") == 1
    assert moved(before, after, "teamgate_http_request_duration_seconds_count", method="POST", route=URL) == 4
    # ann's and bob's invitations, and the verification link sent after ann's link-token accept
    assert moved(before, after, "teamgate_emails_total", outcome="sent") == 3


def outbox(figures: dict, kind: str) -> tuple[float, float, float]:
    """(waiting, oldest waiting age, failed) of one kind of outbox message."""
    return tuple(figures[(f"teamgate_outbox_{name}", (("kind", kind),))]
                 for name in ("waiting_messages", "oldest_waiting_age_seconds", "failed_messages"))


async def test_the_outbox_figures_come_from_the_database(harness, client):
    key = await make_api_key(harness.rt, (await make_team(harness.rt)).id)
    await invite(client, key, "ann@example.com")
    harness.clock.advance(minutes=5)
    await invite(client, key, "bob@example.com")
    figures = await scrape(client)
    assert outbox(figures, "email") == (2, 300, 0)
    assert outbox(figures, "webhook") == (0, 0, 0)
    await harness.send_mail()
    figures = await scrape(client)
    assert outbox(figures, "email") == (0, 0, 0)


async def test_webhook_deliveries_are_counted_apart_from_email(harness_with):
    harness = await harness_with(webhook_allow_http=True)  # a private address: refused, nothing is connected
    caller = await team_caller(harness)
    await endpoint(caller, "http://10.0.0.1/hook")
    await invite(caller.client, caller.headers["X-API-Key"], "ann@example.com")  # an email and invitation.created
    harness.clock.advance(minutes=5)
    await invite(caller.client, caller.headers["X-API-Key"], "bob@example.com", sendEmail=False)
    figures = await scrape(caller.client)
    assert outbox(figures, "email") == (1, 300, 0)
    assert outbox(figures, "webhook") == (2, 300, 0)

    await harness.send_mail()  # the email goes (invitation.delivered is queued); each delivery fails, to retry
    figures = await scrape(caller.client)
    assert outbox(figures, "email") == (0, 0, 0)
    assert outbox(figures, "webhook") == (3, 300, 0)
    async with harness.owner() as db:  # the schedule spent
        await db.execute(update(OutboxMessage).where(OutboxMessage.kind == "webhook").values(status="failed"))
    assert outbox(await scrape(caller.client), "webhook") == (0, 0, 3)
    assert outbox(await scrape(caller.client), "email") == (0, 0, 0)


async def test_rate_limit_refusals_are_counted_by_limit(harness_with):
    harness = await harness_with(rate_limit_token_use_per_ip="2/minute")
    client = harness.client()
    before = await scrape(client)
    for n in range(5):
        await client.get(f"{URL}/validate/guess{n}")
    after = await scrape(client)
    assert moved(before, after, "teamgate_rate_limit_refusals_total", limit="token-use") == 3


async def test_routes_are_labelled_by_template_so_no_token_reaches_the_metrics(harness, client):
    key = await make_api_key(harness.rt, (await make_team(harness.rt)).id)
    created = await invite(client, key, "ann@example.com")
    await client.get(f"{URL}/validate/{created['token']}")
    await client.get(f"/invite?token={created['token']}")
    text = (await client.get("/metrics")).text
    assert created["token"] not in text and key not in text
    assert 'route="/api/v1/team-invitations/validate/{token}"' in text
