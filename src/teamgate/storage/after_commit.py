"""Work that must wait until a transaction has committed, such as waking a dispatcher for the
email just queued: before the commit it would look for a row it cannot see yet, and after a
rollback there is nothing to send. Whichever boundary commits (a request, a CLI command, the
worker) runs it; a rollback drops it."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

PENDING = "teamgate.after_commit"


def call_after_commit(db: AsyncSession, callback: Callable[[], None]) -> None:
    """Call `callback` once `db`'s transaction commits (once, however often it is asked for)."""
    db.info.setdefault(PENDING, {})[callback] = None


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for callback in session.info.pop(PENDING, {}):
        callback()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(PENDING, None)
