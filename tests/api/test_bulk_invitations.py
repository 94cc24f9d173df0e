"""POST /api/v1/team-invitations/bulk (DESIGN 14): each row answered as a single create would
answer it, a dry run that writes and sends nothing, all or none, and the limits counting every row."""

from __future__ import annotations

import pytest

from teamgate.storage.models import AuditEvent, Invitation, OutboxMessage
from tests.factories import (
    DIRECTOR_ROLES,
    add_member,
    count_rows,
    dump_database,
    invite,
    key_headers,
    make_api_key,
    make_team,
    problem,
)

URL = "/api/v1/team-invitations"
BULK = f"{URL}/bulk"


def row(email: str, role: str = "agency_user", **extra) -> dict:
    return {"email": email, "role": role, **extra}


async def bulk(client, key: str, rows: list[dict], **options):
    response = await client.post(BULK, headers=key_headers(key), json={"invitations": rows, **options})
    assert response.status_code == 200, response.text
    return response.json()


def without_request_id(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "requestId"}


@pytest.fixture
async def agency(harness_with):
    """A team of the agency catalog with 5 seats: its director (the creator), a member, a pending
    invitation (3 used), and an agency_admin key, which may not grant `director`."""
    h = await harness_with(roles=DIRECTOR_ROLES)
    team = await make_team(h.rt, seat_limit=5)
    await add_member(h.rt, team.id, "member@example.com", role="agency_user")
    key = await make_api_key(h.rt, team.id, role="agency_admin")
    client = h.client()
    pending = await invite(client, key, "pending@example.com", role="agency_user")
    return h, team, key, client, pending


EVERY_KIND = [
    row("ada@example.com"),  # 0 valid: created (4 of 5 seats)
    row("not-an-email"),  # 1 bad email
    row("pending@example.com"),  # 2 already has a pending invitation
    row("ADA@example.com"),  # 3 the same address as row 0
    row("boss@example.com", role="director"),  # 4 above the caller's role
    row("tasky@example.com", taskIds=["task_nosuchtask"]),  # 5 unknown task
    row("member@example.com"),  # 6 already a member
    row("bob@example.com"),  # 7 valid: created (5 of 5)
    row("cy@example.com"),  # 8 no seat left
    row("late@example.com", expiresInDays=45),  # 9 a field the single create refuses too
]
EXPECTED = ["created", "error", "error", "error", "error", "error", "error", "created", "error", "error"]
CODES = [None, "validation_error", "invitation_pending", "invitation_pending", "role_not_allowed",
         "validation_error", "already_member", None, "seat_limit_reached", "validation_error"]


async def test_a_bulk_with_every_kind_of_row_answers_each_as_a_single_create_would(agency):
    h, team, key, client, pending = agency
    body = await bulk(client, key, EVERY_KIND)

    assert [r["outcome"] for r in body["results"]] == EXPECTED
    assert [r["index"] for r in body["results"]] == list(range(len(EVERY_KIND)))
    assert [r["email"] for r in body["results"]] == [r["email"] for r in EVERY_KIND]
    assert [(r["error"] or {}).get("code") for r in body["results"]] == CODES
    assert body["summary"] == {"created": 2, "wouldCreate": 0, "errors": 8, "seatsUsedAfter": 5, "seatLimit": 5,
                               "dryRun": False, "atomic": False, "rolledBack": False}
    ada, bob = body["results"][0]["invitation"], body["results"][7]["invitation"]
    assert ada["email"] == "ada@example.com" and ada["status"] == "pending" and ada["token"] and ada["acceptUrl"]
    assert body["results"][2]["error"]["invitationId"] == pending["id"]
    duplicate = body["results"][3]["error"]
    assert duplicate["invitationId"] == ada["id"] and duplicate["duplicateOf"] == 0
    assert {e["field"] for e in body["results"][1]["error"]["errors"]} == {"email"}
    assert {e["field"] for e in body["results"][9]["error"]["errors"]} == {"expiresInDays"}

    # the very problem a single create answers for that row (now, after the bulk), bar the request id
    for index, result in enumerate(body["results"]):
        if result["error"] is None:
            continue
        single = await client.post(URL, headers=key_headers(key), json=EVERY_KIND[index])
        expected = without_request_id(problem(single, single.status_code, CODES[index]))
        assert without_request_id({k: v for k, v in result["error"].items() if k != "duplicateOf"}) == expected
        assert result["error"]["status"] == single.status_code
    # what was created is exactly the two good rows, each with its email queued
    assert {i.email for i in await _pending(h)} == {"pending@example.com", "ada@example.com", bob["email"]}
    assert sorted(m.recipient for m in await h.send_mail()) == ["ada@example.com", "bob@example.com",
                                                                "pending@example.com"]


async def _pending(h) -> list[Invitation]:
    from sqlalchemy import select

    async with h.owner() as db:
        return list(await db.scalars(select(Invitation).where(Invitation.status == "pending")))


async def test_a_dry_run_writes_nothing_sends_nothing_and_says_what_would_happen(agency):
    h, team, key, client, _ = agency
    await h.send_mail()
    await client.get(URL, headers=key_headers(key))  # the key's last use is recorded now, not by the dry run
    before = await dump_database(h)

    body = await bulk(client, key, EVERY_KIND, dryRun=True)

    assert [r["outcome"] for r in body["results"]] == [
        "would_create" if outcome == "created" else outcome for outcome in EXPECTED]
    assert [(r["error"] or {}).get("code") for r in body["results"]] == CODES
    assert all(r["invitation"] is None for r in body["results"])
    duplicate = body["results"][3]["error"]
    assert duplicate["duplicateOf"] == 0 and "invitationId" not in duplicate  # row 0's invitation never existed
    assert body["summary"] == {"created": 0, "wouldCreate": 2, "errors": 8, "seatsUsedAfter": 5, "seatLimit": 5,
                               "dryRun": True, "atomic": False, "rolledBack": False}
    assert await dump_database(h) == before  # no invitation, outbox row, audit row or webhook delivery
    assert await h.send_mail() == []


async def test_a_dry_run_asks_the_rate_limits_without_spending_them(harness_with):
    h = await harness_with(rate_limit_invitations_per_team="3/hour")
    team = await make_team(h.rt)
    key = await make_api_key(h.rt, team.id)
    client = h.client()
    rows = [row(f"p{n}@example.com", role="member") for n in range(4)]
    for _ in range(3):  # asking again and again uses nothing up
        preview = await bulk(client, key, rows, dryRun=True)
        assert [r["outcome"] for r in preview["results"]] == ["would_create"] * 3 + ["error"]
        problem_ = preview["results"][3]["error"]
        assert problem_["code"] == "rate_limited" and problem_["status"] == 429 and problem_["retryAfter"] > 0
    done = await bulk(client, key, rows)
    assert [r["outcome"] for r in done["results"]] == ["created"] * 3 + ["error"]


async def test_every_row_counts_against_the_rate_limits(harness_with):
    h = await harness_with(rate_limit_invitations_per_team="3/hour")
    team = await make_team(h.rt)
    key = await make_api_key(h.rt, team.id)
    client = h.client()
    done = await bulk(client, key, [row(f"p{n}@example.com", role="member") for n in range(5)])
    assert [(r["error"] or {}).get("code") for r in done["results"]] == [None] * 3 + ["rate_limited"] * 2
    problem(await client.post(URL, headers=key_headers(key), json=row("later@example.com", role="member")), 429,
            "rate_limited")


async def test_all_or_none_creates_nothing_when_one_row_is_refused(agency):
    h, team, key, client, _ = agency
    await h.send_mail()
    await client.get(URL, headers=key_headers(key))
    before = await dump_database(h)

    body = await bulk(client, key, [row("ada@example.com"), row("member@example.com"), row("bob@example.com")],
                      atomic=True)

    assert [r["outcome"] for r in body["results"]] == ["would_create", "error", "would_create"]
    assert body["results"][1]["error"]["code"] == "already_member"
    assert body["summary"]["rolledBack"] is True and body["summary"]["created"] == 0
    assert body["summary"]["seatsUsedAfter"] == 3  # as before: nothing was written
    assert await dump_database(h) == before
    assert await h.send_mail() == []


async def test_all_or_none_creates_all_when_every_row_is_good(agency):
    h, team, key, client, _ = agency
    body = await bulk(client, key, [row("ada@example.com"), row("bob@example.com")], atomic=True)
    assert [r["outcome"] for r in body["results"]] == ["created", "created"]
    assert body["summary"]["rolledBack"] is False and body["summary"]["seatsUsedAfter"] == 5
    assert len(await _pending(h)) == 3


async def test_501_rows_are_refused_as_a_whole_and_nothing_is_written(harness_with):
    # every row counts against the limits, so a full 500 needs more than the default 300 an hour per inviter
    harness = await harness_with(rate_limit_invitations_per_inviter="1000/hour")
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    client = harness.client()
    rows = [row(f"p{n}@example.com", role="member") for n in range(501)]
    response = await client.post(BULK, headers=key_headers(key), json={"invitations": rows})
    body = problem(response, 422, "bulk_too_large")
    assert "500" in body["detail"] and body["errors"][0]["field"] == "invitations"
    assert await count_rows(harness, Invitation) == 0
    # 500 is the most, and it goes through
    done = await bulk(client, key, rows[:500], sendEmail=False)
    assert done["summary"]["created"] == 500


async def test_no_rows_is_a_validation_error(harness):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    response = await harness.client().post(BULK, headers=key_headers(key), json={"invitations": []})
    assert problem(response, 422, "validation_error")["errors"][0]["field"] == "invitations"


async def test_a_caller_without_the_permission_is_refused_before_any_row(harness):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id, role="member")
    response = await harness.client().post(BULK, headers=key_headers(key),
                                           json={"invitations": [row("a@example.com", role="member")]})
    problem(response, 403, "forbidden")
    assert await count_rows(harness, AuditEvent, AuditEvent.action == "invitation.created") == 0


async def test_send_email_false_queues_nothing_and_each_row_keeps_its_own_link(harness):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    client = harness.client()
    body = await bulk(client, key, [row("a@example.com", role="member"), row("b@example.com", role="member")],
                      sendEmail=False)
    tokens = {r["invitation"]["token"] for r in body["results"]}
    assert len(tokens) == 2
    assert await count_rows(harness, OutboxMessage, OutboxMessage.kind == "invitation") == 0
    assert {r["invitation"]["delivery"]["status"] for r in body["results"]} == {"skipped"}


async def test_a_row_that_is_not_an_object_is_that_rows_error(harness):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    body = await bulk(harness.client(), key, ["just-a-string", row("a@example.com", role="member", extra="field")])
    assert [r["outcome"] for r in body["results"]] == ["error", "error"]
    assert body["results"][0]["error"]["code"] == "validation_error"
    assert {e["field"] for e in body["results"][1]["error"]["errors"]} == {"extra"}
