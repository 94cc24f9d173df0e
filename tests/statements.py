"""Counting the statements a piece of work sends to the database (tests/api/test_round_trips.py,
tests/email/test_batches.py): each is a round trip, so a change that adds one should show."""

from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def statements(harness):
    """The SQL of every statement sent through the harness's engine while the block runs."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_):
        seen.append(statement)

    engine = harness.rt.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)
