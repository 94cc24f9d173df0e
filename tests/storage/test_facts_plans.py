"""The hot paths' one-statement lookups (migrations 0013 and 0014, and a create's facts) stay
cheap to plan. Each
definer function finds one row or none and says so (`ROWS 1`); the statements that unpack its
rows join the function's result with itself once per model, so with the default estimate of 1,000
rows the planner saw billions and PostgreSQL compiled every call with JIT: 200 ms for a lookup
that takes a tenth of a millisecond, found by the benchmark (validate fell to 16 requests/s)."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import Select, text
from sqlalchemy.dialects import postgresql

from teamgate.storage.repositories import accounts, api_keys, invitation_create, invitations, server_keys

pytestmark = pytest.mark.postgres_only

LOOKUPS = {
    "api key": (api_keys._FACTS, {"h": b"x"}),
    "server key": (server_keys._FACTS, {"h": b"x"}),
    "session": (accounts._SESSION_FACTS, {"h": b"x", "now": datetime(2026, 1, 1, tzinfo=UTC)}),
    "person by external id": (accounts._USER_FACTS_BY_EXTERNAL_ID, {"x": "someone"}),
    "invitation by token": (invitations._FACTS_PG, {"h": b"x", "lock": False}),
    # a create's facts in a wide shape (existing accounts refused, a key's maker, the team's
    # endpoints): one row per endpoint, of which a team has a handful
    "a create's facts": (invitation_create._facts(True, tasks=False, account=True, creator=True, endpoints=True),
                         {"team": "t", "email": "e", "now": datetime(2026, 1, 1, tzinfo=UTC), "cap": 10,
                          "creator": "u"}),
}


def _explain(statement: Select) -> str:
    sql = str(statement.compile(dialect=postgresql.dialect()))
    # pyformat to text()'s named binds; the space keeps a cast (`::VARCHAR`) from hiding the name
    return "EXPLAIN (FORMAT JSON) " + sql.replace("%(", ":").replace(")s", " ")


@pytest.mark.parametrize("name", LOOKUPS)
async def test_a_lookup_is_planned_as_the_one_row_it_finds_never_worth_compiling(harness, name):
    statement, params = LOOKUPS[name]
    async with harness.rt.sessions() as db, db.begin():
        plan = (await db.execute(text(_explain(statement)), params)).scalar_one()[0]["Plan"]
        jit_above = float((await db.execute(text("SELECT current_setting('jit_above_cost')"))).scalar_one())
    assert plan["Plan Rows"] <= 1, plan
    assert plan["Total Cost"] < min(jit_above, 1_000), plan
