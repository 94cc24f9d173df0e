"""The second wall between teams: on PostgreSQL every transaction says which team and which
user it acts for, and row-level security policies show and accept only their rows.

`set_config(..., true)` is local to the transaction, so a pooled connection carries nothing
from one request to the next. On SQLite there is no such wall; the data layer's filters remain.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from sqlalchemy import (
    ColumnClause,
    Executable,
    Row,
    Select,
    TextClause,
    column,
    event,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Session, aliased

TEAM_SETTING = "teamgate.team_id"
USER_SETTING = "teamgate.user_id"
SERVER_KEY_SETTING = "teamgate.server_key_id"  # the server key a request authenticated with (DESIGN 12)

_SET = text("SELECT set_config(:name, :value, true)")
_CURRENT = "teamgate.scope"  # what this transaction has set already: a round trip saved per repeat


@event.listens_for(Session, "after_transaction_end")
def _forget_scope(session: Session, transaction) -> None:
    # The settings were local to the database transaction that ended. A flush's own inner
    # transaction ends nothing in the database, and a savepoint released keeps what was set in
    # it: keep them (a bulk create releases one savepoint per row).
    if transaction.parent is None:
        session.info.pop(_CURRENT, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_scope_rolled_back(session: Session, previous_transaction) -> None:
    # A savepoint rolled back undid the settings made inside it (whichever inner transaction the
    # rollback was asked of): set them again when next needed.
    session.info.pop(_CURRENT, None)


def enforced(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "postgresql"


_SETTING_OF = {"team_id": TEAM_SETTING, "user_id": USER_SETTING, "server_key_id": SERVER_KEY_SETTING}


async def act_for_found(db: AsyncSession, lookup: str, params: dict, *, scope: str) -> bool:
    """Run a cross-team definer lookup that returns a `team_id`, `user_id` or `server_key_id` column (`scope`), and
    scope the rest of the transaction to what it found, so the row can then be read under the
    policies. One round trip: the setting is made in the lookup's own statement.
    True when it found something; always True where there is no such wall (SQLite)."""
    if not enforced(db):
        return True
    # what this transaction changed so far was read under the current scope and must be written
    # under it (a session's last-seen time, a key's last use), before the lookup moves the scope
    await db.flush()
    found = (await db.execute(_scoping(lookup, scope), params)).first()
    if found is None:
        return False
    db.info.setdefault(_CURRENT, {})[_SETTING_OF[scope]] = found[0]
    return True


async def act_for_facts(db: AsyncSession, statement: Executable, params: dict, *, scope: str,
                        scope_of: Callable[[Row], str]) -> Row | None:
    """Run a definer function's statement that returns the rows found and, inside the function,
    scopes the rest of the transaction to them (`scope`, whose value `scope_of` reads from the row
    returned). One round trip, and no row read under the policies: the function returns them.
    PostgreSQL only. The first row, or None (and then the scope was left as it was)."""
    await db.flush()  # as in act_for_found: earlier changes are written under the scope they were made in
    found = (await db.execute(statement, params)).first()
    if found is not None:
        db.info.setdefault(_CURRENT, {})[_SETTING_OF[scope]] = scope_of(found)
    return found


@functools.cache  # a handful of lookups, each on every request that authenticates: built once
def _scoping(lookup: str, scope: str) -> TextClause:
    setting = _SETTING_OF[scope]
    return text(f"SELECT found.{scope}, set_config('{setting}', found.{scope}, true) FROM ({lookup}) AS found")


async def act_for(db: AsyncSession, *, team_id: str | None = None, user_id: str | None = None) -> None:
    """Scope the rest of this transaction to a team and/or a user (bound parameters, never SQL text)."""
    if not enforced(db):
        return
    current = db.info.setdefault(_CURRENT, {})
    changes = [(name, value) for name, value in ((TEAM_SETTING, team_id), (USER_SETTING, user_id))
               if value is not None and current.get(name) != value]
    if changes:
        await db.flush()  # as in act_for_found: earlier changes are written under the scope they were made in
    for name, value in changes:
        await db.execute(_SET, {"name": name, "value": value})
        current[name] = value


def function_rows(call: str, *parts: tuple[str | None, type[DeclarativeBase]],
                  extra: tuple[ColumnClause, ...] = ()) -> Select:
    """An ORM select of a definer function's whole rows, loaded as persistent objects of their
    models. `call` names the function with its parameters; each part is (the function's column
    holding a model's row, or None when the function returns the model's row type itself, the
    model); `extra` are the function's other columns, selected after the models.

    The function is called once (a CTE used more than once is computed once); each row it returns
    is unpacked into a subquery named as its table's columns, and each model is aliased onto its
    subquery. An ordinary select, whose compiled form and result map SQLAlchemy caches: a textual
    statement mapped by position was mapped again on every execution, a third more work. A
    column added to a table and its model is read too."""
    found = text(f"SELECT * FROM {call}").columns(
        *(column(part) for part, _ in parts if part), *extra).cte("f")
    rows = [select(*(literal_column(f'(f.{part})."{c.name}"' if part else f'f."{c.name}"', c.type).label(c.name)
                     for c in model.__table__.columns)).select_from(found).subquery(f"f_{n}")
            for n, (part, model) in enumerate(parts)]
    models = (aliased(model, row, adapt_on_names=True) for (_, model), row in zip(parts, rows, strict=True))
    query: Select = select(*models, *(found.c[c.name] for c in extra)).select_from(found)
    for row in rows:
        query = query.join(row, true())
    return query
