"""A bulk create emits what single creates emit: `invitation.created` for each created row, with
the invitation as the API shows it and never a token; a refused row, a dry run and a refused
all-or-none batch emit nothing. Checked at a real receiver, signatures verified."""

from __future__ import annotations

from tests.webhooks.test_events import events, issued_as_shown, no_token_in, started, types

BULK = "/team-invitations/bulk"
ROWS = [{"email": "ada@example.com", "role": "member"}, {"email": "not-an-email", "role": "member"},
        {"email": "bob@example.com", "role": "member"}]


async def test_each_created_row_is_one_invitation_created_event_and_nothing_else_is(local, receivers):
    caller, receiver, secret = await started(local, receivers)
    for options in ({"dryRun": True}, {"atomic": True}):  # each writes nothing, so emits nothing
        response = await caller.post(BULK, json={"invitations": ROWS, "sendEmail": False, **options})
        assert response.status_code == 200 and response.json()["summary"]["created"] == 0
    done = await caller.post(BULK, json={"invitations": ROWS, "sendEmail": False})
    created = [r["invitation"] for r in done.json()["results"] if r["outcome"] == "created"]
    assert len(created) == 2

    got = await events(local, receiver, secret)

    assert types(got) == ["invitation.created", "invitation.created"]
    by_id = {e["data"]["id"]: e for e in got}
    for invitation in created:
        assert by_id[invitation["id"]]["data"] == issued_as_shown(invitation)
        assert by_id[invitation["id"]]["actor"]["type"] == "api_key"
    no_token_in(receiver, *(i["token"] for i in created))
