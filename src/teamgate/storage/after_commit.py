"""Work that must wait until a transaction has committed, such as waking a dispatcher for the
email just queued: before the commit it would look for a row it cannot see yet, and after a
rollback there is nothing to send. Whichever boundary commits (a request, a CLI command, the
worker) runs it; a rollback drops it.

Savepoints count: what was asked for inside a savepoint that rolls back is dropped with it (a
bulk create's refused row, a dry run), while the rest of the transaction keeps its own; and a
savepoint released is not a commit, so nothing runs until the transaction itself commits."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

PENDING = "teamgate.after_commit"
SAVEPOINTS = "teamgate.after_commit.savepoints"  # savepoint -> how many callbacks were pending when it began


def call_after_commit(db: AsyncSession, callback: Callable[[], None]) -> None:
    """Call `callback` once `db`'s transaction commits (once, however often it is asked for)."""
    db.info.setdefault(PENDING, {})[callback] = None


@event.listens_for(Session, "after_transaction_create")
def _began(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(SAVEPOINTS, {})[transaction] = len(session.info.get(PENDING, ()))


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.get(SAVEPOINTS, {}).pop(transaction, None)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its work waits for the real commit
        return
    for callback in session.info.pop(PENDING, {}):
        callback()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    if savepoint is None:
        session.info.pop(PENDING, None)
        return
    kept = session.info.get(SAVEPOINTS, {}).get(savepoint, 0)  # what was asked for before it began
    pending = session.info.get(PENDING, {})
    session.info[PENDING] = dict(list(pending.items())[:kept])
