"""What the service's role cannot do even when it runs any SQL it likes (an injection, a stolen
connection): make a system owner, or stretch a definer function past the step it serves. Each
test acts as the service role with raw SQL, as test_row_level_security.py does."""

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from teamgate.domain.ids import new_id
from teamgate.domain.tokens import hash_token
from teamgate.http.cookies import SESSION_COOKIE
from teamgate.storage.models import OutboxMessage, Session
from teamgate.storage.scope import act_for
from tests.factories import count_rows, make_team, sign_in

pytestmark = pytest.mark.postgres_only

FAR = "now() + interval '100 years'"


async def as_service(harness, sql: str, params: dict | None = None, *, user_id: str | None = None):
    async with harness.rt.sessions() as db, db.begin():
        if user_id:
            await act_for(db, user_id=user_id)
        return (await db.execute(text(sql), params or {})).all()


async def add_outbox(harness, team_id: str, count: int, *, due: str = "now()", status: str = "queued",
                     made: str = "now()", body: bool = True) -> None:
    async with harness.owner() as db:
        for _ in range(count):
            await db.execute(text(
                "INSERT INTO outbox_messages (id, team_id, kind, recipient, subject, body, status, attempts, "
                f"next_attempt_at, created_at) VALUES (:id, :t, 'invitation', 'x@example.com', 's', :b, :s, 0, {due}, "
                f"{made})"), {"id": new_id("msg"), "t": team_id, "b": b"sealed" if body else None, "s": status})


class TestUsersColumns:
    async def test_the_service_role_cannot_make_its_own_user_a_system_owner(self, harness):
        team = await make_team(harness.rt)
        with pytest.raises(DBAPIError, match="permission denied"):
            await as_service(harness, "UPDATE users SET is_system_owner = true WHERE id = :u RETURNING id",
                             {"u": team.owner.id}, user_id=team.owner.id)
        for column, value in (("email_normalized", "'evil@example.com'"), ("id", "'usr_other'")):
            with pytest.raises(DBAPIError, match="permission denied"):
                await as_service(harness, f"UPDATE users SET {column} = {value} WHERE id = :u RETURNING id",
                                 {"u": team.owner.id}, user_id=team.owner.id)
        async with harness.owner() as db:
            assert await db.scalar(text("SELECT is_system_owner FROM users WHERE id = :u"), {"u": team.owner.id}) is False

    async def test_an_operator_can_still_make_a_system_owner(self, harness):
        """The owner role (what `teamgate users create --system-owner` connects as) is not narrowed."""
        team = await make_team(harness.rt)
        async with harness.owner() as db:
            await db.execute(text("UPDATE users SET is_system_owner = true WHERE id = :u"), {"u": team.owner.id})
        async with harness.owner() as db:
            assert await db.scalar(text("SELECT is_system_owner FROM users WHERE id = :u"), {"u": team.owner.id})

    async def test_the_columns_the_service_writes_stay_writable(self, harness):
        team = await make_team(harness.rt)
        updated = await as_service(
            harness, "UPDATE users SET first_name = 'Liv', last_name = 'O', password_hash = password_hash, "
                     "email_verified_at = now() WHERE id = :u RETURNING id", {"u": team.owner.id}, user_id=team.owner.id)
        assert updated == [(team.owner.id,)]

    async def test_the_service_role_cannot_insert_a_second_system_owner(self, harness):
        await make_team(harness.rt)  # a user exists: the setup link's one-time exception is over
        new = new_id("usr")
        with pytest.raises(DBAPIError, match="only an operator"):
            await as_service(harness, "INSERT INTO users (id, email, email_normalized, first_name, last_name, "
                                      "password_hash, is_system_owner, created_at) VALUES (:u, 'e@example.com', "
                                      "'e@example.com', 'E', 'E', 'x', true, now()) RETURNING id", {"u": new},
                             user_id=new)


class TestDefinerArgumentsAreClamped:
    async def test_purge_with_far_future_arguments_leaves_live_sessions_and_recent_records(self, harness):
        team = await make_team(harness.rt)
        await sign_in(harness.client(), team.owner)
        await add_outbox(harness, team.id, 1, status="sent", body=False)  # sent a moment ago: kept a day at least
        old = "now() - interval '40 days'"
        await add_outbox(harness, team.id, 1, made=old)  # unsent mail, however old, is never purged
        await add_outbox(harness, team.id, 1, status="failed", made=old)
        [(outbox, sessions)] = await as_service(harness, f"SELECT * FROM teamgate_purge({FAR}, {FAR})")
        assert (outbox, sessions) == (0, 0)
        assert await count_rows(harness, Session) == 1
        assert await count_rows(harness, OutboxMessage) == 3

    async def test_purge_still_removes_what_has_really_ended(self, harness):
        team = await make_team(harness.rt)
        await sign_in(harness.client(), team.owner)
        async with harness.owner() as db:
            await db.execute(text("UPDATE sessions SET expires_at = now() - interval '1 minute'"))
        await add_outbox(harness, team.id, 1, status="sent", body=False, made="now() - interval '40 days'")
        [(outbox, sessions)] = await as_service(harness, f"SELECT * FROM teamgate_purge({FAR}, {FAR})")
        assert (outbox, sessions) == (1, 1)

    async def test_an_outbox_claim_with_a_huge_limit_takes_at_most_the_cap_under_a_bounded_lease(self, harness):
        team = await make_team(harness.rt)
        await add_outbox(harness, team.id, 120)
        await add_outbox(harness, team.id, 3, due="now() + interval '30 days'")  # not due: never taken early
        claimed = await as_service(harness, f"SELECT id FROM teamgate_outbox_claim({FAR}, 1000000, 'x', {FAR})")
        assert len(claimed) == 100
        async with harness.owner() as db:
            leases = (await db.execute(text(
                "SELECT count(*), max(next_attempt_at) <= now() + interval '1 hour' FROM outbox_messages "
                "WHERE status = 'sending'"))).one()
        assert tuple(leases) == (100, True)
        none = await as_service(harness, "SELECT id FROM teamgate_outbox_claim(now(), NULL, 'y', now())")
        assert none == []  # a NULL limit is no batch at all, not an unlimited one
        rest = await as_service(harness, f"SELECT id FROM teamgate_outbox_claim({FAR}, 500, 'z', {FAR})")
        assert len(rest) == 20  # the other due ones: not the 100 held under a live lease, not those due in a month
        async with harness.owner() as db:
            assert await db.scalar(text("SELECT count(*) FROM outbox_messages WHERE status = 'queued' "
                                        "AND next_attempt_at > now() + interval '29 days'")) == 3

    async def test_a_negative_claim_limit_is_an_empty_batch_not_an_error(self, harness):
        team = await make_team(harness.rt)
        await add_outbox(harness, team.id, 2)
        assert await as_service(harness, "SELECT id FROM teamgate_outbox_claim(now(), -5, 'x', now())") == []

    async def test_the_overdue_list_holds_only_what_is_overdue_by_the_databases_clock(self, harness):
        team = await make_team(harness.rt)
        async with harness.owner() as db:
            await db.execute(text(
                "INSERT INTO invitations (id, team_id, email, email_normalized, role, task_ids, token_hash, status, "
                "expires_at, lifetime_seconds, inviter_name, created_at, send_count, delivery_status, delivery_attempts) "
                "VALUES (:id, :t, 'a@x.io', 'a@x.io', 'member', '[]', :h, 'pending', now() + interval '1 day', 86400, "
                "'x', now(), 0, 'skipped', 0)"), {"id": new_id("inv"), "t": team.id, "h": hash_token("live")})
        assert await as_service(harness, f"SELECT * FROM teamgate_overdue_invitations({FAR}, 1000000)") == []

    async def test_the_reminder_list_holds_only_what_is_due_by_the_databases_clock_within_its_bounds(self, harness):
        team = await make_team(harness.rt)
        async with harness.owner() as db:
            for days in (3, 29):  # lifetimes of 30 days, emailed, expiring in 3 and 29 days
                await db.execute(text(
                    "INSERT INTO invitations (id, team_id, email, email_normalized, role, task_ids, token_hash, "
                    "status, expires_at, lifetime_seconds, inviter_name, created_at, send_count, last_sent_at, "
                    "delivery_status, delivery_attempts) VALUES (:id, :t, :e, :e, 'member', '[]', :h, 'pending', "
                    f"now() + interval '{days} days', 2592000, 'x', now(), 1, now() - interval '1 day', 'sent', 1)"),
                    {"id": new_id("inv"), "t": team.id, "e": f"p{days}@x.io", "h": hash_token(f"t{days}")})
        far_window = 100 * 365 * 86400
        assert await as_service(harness, f"SELECT * FROM teamgate_invitations_to_remind({FAR}, 48 * 3600, 10)") == []
        assert await as_service(harness, "SELECT * FROM teamgate_invitations_to_remind(now(), 48 * 3600, 10)") == []
        huge = await as_service(harness, f"SELECT * FROM teamgate_invitations_to_remind(now(), {far_window}, 10)")
        assert len(huge) == 0  # a window past the longest lifetime (30 days) is clamped, and none outlives it
        week = await as_service(harness, "SELECT * FROM teamgate_invitations_to_remind(now(), 7 * 86400, 1000000)")
        assert len(week) == 1  # the one expiring in 3 days
        assert await as_service(harness, "SELECT * FROM teamgate_invitations_to_remind(now(), NULL, NULL)") == []

    async def test_an_old_now_does_not_revive_an_ended_session(self, harness):
        team = await make_team(harness.rt)
        client = harness.client()
        await sign_in(client, team.owner)
        token = client.cookies[SESSION_COOKIE]
        live = await as_service(harness, "SELECT id FROM teamgate_session_by_hash(:h, now())", {"h": hash_token(token)})
        assert len(live) == 1
        async with harness.owner() as db:
            await db.execute(text("UPDATE sessions SET expires_at = now() - interval '1 minute'"))
        past = "now() - interval '10 days'"
        found = await as_service(harness, f"SELECT * FROM teamgate_session_by_hash(:h, {past})", {"h": hash_token(token)})
        assert found == []

    async def test_the_service_still_works_through_them(self, harness):
        """The clamps leave the real callers' arguments alone: a claim of the dispatcher's size."""
        team = await make_team(harness.rt)
        await add_outbox(harness, team.id, 3)
        now = harness.clock.now()
        claimed = await as_service(harness, "SELECT id FROM teamgate_outbox_claim(:n, 20, 'd', :l)",
                                   {"n": now + timedelta(seconds=5), "l": now + timedelta(minutes=10)})
        assert len(claimed) == 3
