"""The batch record (`teamgate_outbox_record`, migration 0015) crosses the teams' walls, so it is
narrow: as the service role with raw SQL, it finishes only the emails its claim holds, mirrors
only their invitations, and tells only what its teams' endpoints want; and the migration goes
down and up again on PostgreSQL."""

import secrets

import asyncpg
import pytest
from alembic import command
from sqlalchemy import text

from teamgate.domain.ids import new_id
from teamgate.domain.tokens import hash_token
from teamgate.storage.db import alembic_config, make_engine, migrate
from tests.conftest import PG_SERVER
from tests.factories import make_team
from tests.storage.test_service_role_limits import as_service

pytestmark = pytest.mark.postgres_only

RECORD = "SELECT * FROM teamgate_outbox_record(:claim, CAST(:ids AS text[]), now())"
DELIVERED = ("SELECT * FROM teamgate_outbox_record_delivered(:claim, CAST(:ids AS text[]), "
             "CAST(:statuses AS integer[]), CAST(:excerpts AS text[]), now())")


async def _invitation(db, team_id: str) -> str:
    invitation_id = new_id("inv")
    await db.execute(text(
        "INSERT INTO invitations (id, team_id, email, email_normalized, role, task_ids, token_hash, status, "
        "expires_at, lifetime_seconds, inviter_name, created_at, send_count, delivery_status, delivery_attempts) "
        "VALUES (:id, :t, :e, :e, 'member', '[]', :h, 'pending', now() + interval '1 day', 86400, 'x', now(), 1, "
        "'queued', 0)"),
        {"id": invitation_id, "t": team_id, "e": f"{invitation_id}@x.io", "h": hash_token(invitation_id)})
    return invitation_id


async def _message(db, team_id: str | None, invitation_id: str | None, *, claim: str | None, status: str = "sending",
                   kind: str = "invitation", endpoint_id: str | None = None) -> str:
    message_id = new_id("msg")
    await db.execute(text(
        "INSERT INTO outbox_messages (id, team_id, invitation_id, kind, recipient, subject, body, status, attempts, "
        "claim_id, next_attempt_at, created_at, webhook_endpoint_id) VALUES (:id, :t, :i, :k, 'x@x.io', 's', :b, :s, "
        "2, :c, now() + interval '5 minutes', now(), :w)"),
        {"id": message_id, "t": team_id, "i": invitation_id, "k": kind, "b": b"sealed", "s": status, "c": claim,
         "w": endpoint_id})
    return message_id


async def _endpoint(db, team_id: str, *, events: str = "[]", disabled: str = "NULL", failing: str = "NULL") -> str:
    endpoint_id = new_id("whk")
    await db.execute(text(
        "INSERT INTO webhook_endpoints (id, team_id, url, description, events, secret, disabled_at, failing_since, "
        f"created_at) VALUES (:id, :t, 'https://h.example/', '', CAST(:e AS json), :s, {disabled}, {failing}, now())"),
        {"id": endpoint_id, "t": team_id, "e": events, "s": b"sealed"})
    return endpoint_id


async def _states(harness, table: str, column: str, ids: list[str]) -> dict[str, str]:
    async with harness.owner() as db:
        rows = await db.execute(text(f"SELECT id, {column} FROM {table} WHERE id = ANY(CAST(:ids AS text[]))"),
                                {"ids": ids})
        return dict(rows.all())


async def test_it_records_only_the_emails_its_claim_holds_and_only_their_invitations(harness):
    mine, other = await make_team(harness.rt), await make_team(harness.rt, "other@example.com")
    async with harness.owner() as db:
        held = [await _invitation(db, team.id) for team in (mine, other)]
        untouched = [await _invitation(db, team.id) for team in (mine, other, mine, mine)]
        ours = [await _message(db, team.id, invitation, claim="ours")
                for team, invitation in zip((mine, other), held, strict=True)]
        account = await _message(db, None, None, claim="ours", kind="password_reset")
        theirs = [
            await _message(db, other.id, untouched[1], claim="theirs"),  # another dispatcher's claim
            await _message(db, mine.id, untouched[0], claim=None, status="queued"),  # nobody's
            await _message(db, mine.id, untouched[2], claim="ours", status="failed"),  # ours once, finished since
            await _message(db, mine.id, None, claim="ours", kind="webhook"),  # a webhook keeps its own record
        ]
        await db.execute(text("UPDATE outbox_messages SET invitation_id = :i WHERE id = :m"),
                         {"i": untouched[3], "m": theirs[3]})  # as if it pointed at one: still not touched

    everything = [*ours, account, *theirs]
    recorded = await as_service(harness, RECORD, {"claim": "ours", "ids": everything})
    assert sorted(row.id for row in recorded) == sorted([*ours, account])
    assert await as_service(harness, RECORD, {"claim": "ours", "ids": everything}) == []  # done: not again
    assert await as_service(harness, RECORD, {"claim": "guess", "ids": everything}) == []

    statuses = await _states(harness, "outbox_messages", "status", everything)
    assert [statuses[m] for m in [*ours, account]] == ["sent"] * 3
    assert [statuses[m] for m in theirs] == ["sending", "queued", "failed", "sending"]
    bodies = await _states(harness, "outbox_messages", "body", everything)
    assert [bodies[m] for m in ours] == [None, None] and all(bodies[m] == b"sealed" for m in theirs)
    mirrors = await _states(harness, "invitations", "delivery_status", held + untouched)
    assert [mirrors[i] for i in held] == ["sent", "sent"]
    assert [mirrors[i] for i in untouched] == ["queued"] * 4
    assert (await _states(harness, "invitations", "delivery_attempts", held)) == dict.fromkeys(held, 2)


async def test_it_tells_each_recorded_team_only_its_own_enabled_endpoints_events(harness):
    hooked, bare = await make_team(harness.rt), await make_team(harness.rt, "bare@example.com")
    async with harness.owner() as db:
        for events, disabled in (('["invitation.delivered"]', "NULL"), ('["membership.created"]', "NULL"),
                                 ("[]", "now()")):
            await _endpoint(db, hooked.id, events=events, disabled=disabled)
        sent = [await _message(db, team.id, await _invitation(db, team.id), claim="c") for team in (hooked, bare)]
    rows = {row.team_id: row.endpoint_events for row in await as_service(harness, RECORD, {"claim": "c", "ids": sent})}
    assert sorted(map(sorted, rows[hooked.id])) == [["invitation.delivered"], ["membership.created"]]
    assert rows[bare.id] is None


async def test_delivered_webhooks_are_recorded_only_where_the_claim_holds_them_with_their_streaks(harness):
    mine, other = await make_team(harness.rt), await make_team(harness.rt, "other@example.com")
    async with harness.owner() as db:
        failing = await _endpoint(db, mine.id, failing="now() - interval '1 day'")
        fine = await _endpoint(db, other.id)
        ours = [await _message(db, mine.id, None, claim="ours", kind="webhook", endpoint_id=failing),
                await _message(db, other.id, None, claim="ours", kind="webhook", endpoint_id=fine)]
        theirs = [await _message(db, mine.id, None, claim="theirs", kind="webhook", endpoint_id=failing),
                  await _message(db, mine.id, None, claim="ours", status="queued", kind="webhook", endpoint_id=failing),
                  await _message(db, mine.id, None, claim="ours")]  # an email: not a delivery
    everything = [*ours, *theirs]
    answers = {"ids": everything, "statuses": [204] * 5, "excerpts": ["x" * 500] * 5}
    recorded = await as_service(harness, DELIVERED, {"claim": "ours", **answers})
    assert sorted((row.id, row.endpoint_id, row.failing_since is not None) for row in recorded) == sorted(
        [(ours[0], failing, True), (ours[1], fine, False)])
    assert await as_service(harness, DELIVERED, {"claim": "ours", **answers}) == []
    statuses = await _states(harness, "outbox_messages", "status", everything)
    assert [statuses[m] for m in everything] == ["sent", "sent", "sending", "queued", "sending"]
    excerpts = await _states(harness, "outbox_messages", "last_response_excerpt", everything)
    assert [len(excerpts[m] or "") for m in everything] == [200, 200, 0, 0, 0]
    assert await _states(harness, "webhook_endpoints", "failing_since IS NOT NULL", [failing]) == {failing: True}


async def test_the_migration_goes_down_and_up_again_on_postgresql():
    name = f"teamgate_test_record_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(f"{PG_SERVER.replace('postgresql://', 'postgresql+asyncpg://')}/{name}")
    exists = text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'teamgate\\_outbox\\_record%'")

    def to(revision: str, step):
        def run(connection):
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            step(cfg, revision)
        return run

    try:
        await migrate(engine)
        async with engine.begin() as conn:
            assert await conn.scalar(exists) == 2
            await conn.run_sync(to("0015-1", command.downgrade))  # the one before, however the chain runs
            assert await conn.scalar(exists) == 0
            await conn.run_sync(to("head", command.upgrade))
            assert await conn.scalar(exists) == 2
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
