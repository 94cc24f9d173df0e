"""Work deferred to the commit (storage/after_commit.py) and savepoints: what a savepoint that
rolls back asked for is dropped with it, a released savepoint runs nothing, and the commit runs
what is left, once. (A bulk create runs each row in a savepoint; a dry run rolls them all back.)"""

from teamgate.storage.after_commit import call_after_commit
from teamgate.storage.db import unit_of_work


async def test_savepoints_keep_or_drop_what_was_asked_for_inside_them(harness):
    ran: list[str] = []

    def note(name: str):
        def callback() -> None:
            ran.append(name)
        return callback

    async with unit_of_work(harness.rt.sessions) as db:
        call_after_commit(db, note("before"))
        async with db.begin_nested():
            call_after_commit(db, note("released"))
        assert ran == []  # a savepoint released is not a commit
        savepoint = await db.begin_nested()
        call_after_commit(db, note("rolled back"))
        async with db.begin_nested():
            call_after_commit(db, note("inside the rolled back"))
        await savepoint.rollback()
        call_after_commit(db, note("after"))
    assert ran == ["before", "released", "after"]


async def test_a_rollback_drops_everything(harness):
    ran: list[str] = []
    try:
        async with unit_of_work(harness.rt.sessions) as db:
            call_after_commit(db, lambda: ran.append("never"))
            async with db.begin_nested():
                call_after_commit(db, lambda: ran.append("never either"))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert ran == []
