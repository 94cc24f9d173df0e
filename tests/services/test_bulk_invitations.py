"""services/bulk_invitations.py without HTTP, on both engines: rows count against each other, a
refused row leaves nothing half-written, a dry run and a refused all-or-none batch leave nothing
at all, and lists are read into rows with tasks named by title or id."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from teamgate import errors
from teamgate.domain.bulk import ListedRow, RowOutcome
from teamgate.services import bulk_invitations as bulk
from teamgate.services import invitations
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import AuditEvent, Invitation, OutboxMessage, Task
from tests.factories import add_member, count_rows, make_team
from tests.services.test_role_rules import act


def rows(*emails: str, role: str = "member") -> list[bulk.Row]:
    return [bulk.Row(email=e, role=role) for e in emails]


async def run(harness, team, rows_, **options) -> bulk.Batch:
    return await act(harness.rt, team.id, team.owner.id,
                     lambda db, ctx: bulk.create_many(db, harness.rt, ctx, rows_, **options))


@pytest.fixture
async def team(harness):
    return await make_team(harness.rt, seat_limit=4)


class TestRowsCountAgainstEachOther:
    async def test_seats_fill_row_by_row_and_the_rest_are_refused(self, harness, team):
        batch = await run(harness, team, rows("a@example.com", "b@example.com", "c@example.com", "d@example.com"))
        assert [r.outcome for r in batch.results] == [RowOutcome.CREATED] * 3 + [RowOutcome.ERROR]
        assert isinstance(batch.results[3].error, errors.SeatLimitReached)
        assert (batch.seats_used, batch.seat_limit) == (4, 4)

    async def test_an_address_twice_in_the_list_is_refused_the_second_time_naming_the_first_row(self, harness, team):
        batch = await run(harness, team, rows("a@example.com", "b@example.com", "A@Example.com"))
        error = batch.results[2].error
        assert isinstance(error, errors.InvitationPending)
        assert error.extra["duplicateOf"] == 0
        assert error.extra["invitationId"] == batch.results[0].issued.invitation.id

    async def test_a_row_refused_by_the_api_field_checks_keeps_its_place_and_error(self, harness, team):
        refused = errors.ValidationFailed("email", "too long")
        batch = await run(harness, team, [bulk.Row(email="x", role="", refused=refused), *rows("a@example.com")])
        assert batch.results[0].error is refused and batch.results[1].outcome == RowOutcome.CREATED


class TestNothingHalfWritten:
    async def test_a_row_refused_after_it_began_writing_leaves_nothing_of_itself(self, harness, team):
        """An overdue pending invitation for the address is marked expired (with its audit event
        and webhook event) before the seat check refuses the row: all of that is undone."""
        await add_member(harness.rt, team.id, "one@example.com")
        await add_member(harness.rt, team.id, "two@example.com")
        await act(harness.rt, team.id, team.owner.id, lambda db, ctx: invitations.create(
            db, harness.rt, ctx, email="late@example.com", role="member", expires_in_days=1))
        harness.clock.advance(days=2)  # overdue now; seats: 3 members of 4, the overdue invitation not counted
        batch = await run(harness, team, rows("new@example.com", "late@example.com"))
        assert batch.results[0].outcome == RowOutcome.CREATED
        assert isinstance(batch.results[1].error, errors.SeatLimitReached)
        async with harness.owner() as db:
            late = await db.scalar(select(Invitation).where(Invitation.email == "late@example.com"))
        assert late.status == "pending"  # not marked expired by the refused row
        assert await count_rows(harness, AuditEvent, AuditEvent.action == "invitation.expired") == 0

    async def test_a_dry_run_leaves_no_row_of_any_kind(self, harness, team):
        batch = await run(harness, team, rows("a@example.com", "b@example.com", "a@example.com"), dry_run=True)
        assert [r.outcome for r in batch.results] == [RowOutcome.WOULD_CREATE] * 2 + [RowOutcome.ERROR]
        assert "invitationId" not in batch.results[2].error.extra and batch.results[2].error.extra["duplicateOf"] == 0
        assert batch.seats_used == 3 and batch.wrote_nothing
        for model in (Invitation, OutboxMessage, AuditEvent):
            assert await count_rows(harness, model, model.team_id == team.id) == (1 if model is AuditEvent else 0)

    async def test_all_or_none_with_a_refused_row_leaves_no_row_of_any_kind(self, harness, team):
        before = await count_rows(harness, AuditEvent)
        batch = await run(harness, team, [*rows("a@example.com"), *rows("b@example.com", role="owner")],
                          atomic=True)
        assert batch.rolled_back and [r.outcome for r in batch.results] == [RowOutcome.WOULD_CREATE, RowOutcome.ERROR]
        assert isinstance(batch.results[1].error, errors.RoleNotAllowed)
        assert await count_rows(harness, Invitation) == 0 and await count_rows(harness, OutboxMessage) == 0
        assert await count_rows(harness, AuditEvent) == before
        assert batch.seats_used == 1


class TestTheRequestAsAWhole:
    async def test_more_than_500_rows_or_none_are_refused(self, harness, team):
        with pytest.raises(errors.BulkTooLarge):
            await run(harness, team, rows(*(f"p{n}@example.com" for n in range(501))))
        with pytest.raises(errors.ValidationFailed):
            await run(harness, team, [])

    async def test_a_member_without_the_permission_is_refused_before_any_row(self, harness, team):
        member = await add_member(harness.rt, team.id, "m@example.com")
        with pytest.raises(errors.Forbidden):
            await act(harness.rt, team.id, member.id,
                      lambda db, ctx: bulk.create_many(db, harness.rt, ctx, rows("a@example.com")))


class TestListsToRows:
    async def test_tasks_are_named_by_id_or_by_title_in_any_letter_case(self, harness, team):
        async with unit_of_work(harness.rt.sessions) as db:
            from teamgate.storage.scope import act_for

            await act_for(db, team_id=team.id)
            db.add_all([Task(id="task_01AAAAAAAAAAAAAAAAAAAAAAAA", team_id=team.id, title="Write the guide",
                             description="", created_at=harness.clock.now()),
                        Task(id="task_01BBBBBBBBBBBBBBBBBBBBBBBB", team_id=team.id, title="Twice",
                             description="", created_at=harness.clock.now()),
                        Task(id="task_01CCCCCCCCCCCCCCCCCCCCCCCC", team_id=team.id, title="twice",
                             description="", created_at=harness.clock.now())])
        listed = [ListedRow(1, "a@example.com", None, ("write THE guide", "task_01BBBBBBBBBBBBBBBBBBBBBBBB")),
                  ListedRow(2, "b@example.com", "admin", ("Twice", "No such task"))]
        made = await act(harness.rt, team.id, team.owner.id,
                         lambda db, ctx: bulk.rows_from_list(db, ctx, listed, default_role="member"))
        assert made[0] == bulk.Row("a@example.com", "member", ["task_01AAAAAAAAAAAAAAAAAAAAAAAA",
                                                               "task_01BBBBBBBBBBBBBBBBBBBBBBBB"])
        assert made[1] == bulk.Row("b@example.com", "admin", ["Twice", "No such task"])  # ambiguous, unknown
        batch = await run(harness, team, made)
        assert batch.results[0].outcome == RowOutcome.CREATED
        assert batch.results[1].error.errors[0]["field"] == "taskIds"
        assert "No such task" in batch.results[1].error.detail
