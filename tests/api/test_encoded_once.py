"""The hot routes' bodies are plain dicts encoded once by orjson (api/encode.py), past FastAPI's
second validation; they must be the very JSON the response models (which the OpenAPI document
describes) would give for the same rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.api.encode import Json
from teamgate.storage.models import Invitation, Task, Team, User
from tests.factories import invitation_row

NOW = datetime(2026, 12, 6, 19, 30, 15, 987654, tzinfo=UTC)
ELSEWHERE = timezone(timedelta(hours=-5, minutes=-30))


def encoded(content) -> dict:
    return json.loads(Json(content).body)


def model_json(model) -> dict:
    return model.model_dump(mode="json", by_alias=True)


def _invitation(**fields) -> Invitation:
    return invitation_row(NOW, **fields)


ROWS = [
    _invitation(),
    _invitation(status="pending", expires_at=NOW - timedelta(seconds=1)),  # shown expired by time
    _invitation(invited_by_user_id=None, invited_by_api_key_id="key_1", task_ids=[], send_count=0,
                last_sent_at=None, delivery_status="skipped"),
    _invitation(status="accepted", accepted_by_user_id="usr_2", accepted_at=NOW, delivery_status="sent",
                delivery_attempts=1, delivery_sent_at=NOW - timedelta(microseconds=1)),
    _invitation(status="revoked", revoked_at=NOW, delivery_status="failed", delivery_attempts=3,
                delivery_last_error="The mail server could not be reached.",
                delivery_last_error_code="smtp_unreachable"),
    _invitation(delivery_last_error=None, delivery_last_error_code="timeout"),  # requeued: no code shown
    _invitation(status="declined", declined_at=NOW.astimezone(ELSEWHERE)),  # another zone, same instant
    _invitation(task_ids=None, email="Zoë <\u202e@example.com", inviter_name="\u00e9\u2028\"quoted\""),
    _invitation(created_at=datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)),  # a year before 1000
]


@pytest.mark.parametrize("row", ROWS)
def test_an_invitation_is_the_json_of_its_model(row):
    assert encoded(present.invitation_json(row, NOW)) == model_json(present.invitation(row, NOW))
    issued = present.issued_json(row, NOW, "the-token", "https://x.example/invite?token=the-token")
    assert encoded(issued) == model_json(present.issued(row, NOW, "the-token",
                                                        "https://x.example/invite?token=the-token"))


def test_a_page_of_invitations_is_the_json_of_its_model():
    page = present.page(ROWS, 4, lambda i: present.invitation_json(i, NOW))
    model = s.Page[s.InvitationOut].model_validate(present.page(ROWS, 4, lambda i: present.invitation(i, NOW)))
    assert encoded(page) == model_json(model)
    assert encoded(page)["nextCursor"] is not None


@pytest.mark.parametrize("account_exists", [True, False, None])
def test_a_preview_is_the_json_of_its_model(account_exists):
    row = _invitation(expires_at=NOW.astimezone(ELSEWHERE))
    team = Team(id="team_1", name="Acme \u00e9", seat_limit=None, created_at=NOW)
    tasks = [Task(id="task_1", team_id="team_1", title="Read the manual", description="All of it\nslowly",
                  created_at=NOW)]
    model = s.InvitationPreview(id=row.id, email=row.email, role=row.role, status="pending", expires_at=row.expires_at,
                                team=s.TeamBrief(id=team.id, name=team.name), invited_by=present.inviter(row),
                                tasks=[s.TaskBrief.model_validate(t) for t in tasks], account_exists=account_exists)
    assert encoded(present.preview_json(row, team, tasks, account_exists, "pending")) == model_json(model)


@pytest.mark.parametrize("verified", [NOW, None])
def test_an_accept_is_the_json_of_its_model(verified):
    user = User(id="usr_2", email="Bob@Example.com", email_normalized="bob@example.com", first_name="Bob",
                last_name="Builder", password_hash="x", is_system_owner=False, created_at=NOW.astimezone(ELSEWHERE),
                email_verified_at=verified)
    for team in (Team(id="team_1", name="Acme", seat_limit=None, created_at=NOW),
                 Team(id="team_2", name="Beta", seat_limit=5, created_at=NOW)):
        row = _invitation(status="accepted", accepted_by_user_id=user.id, accepted_at=NOW)
        model = s.AcceptOut(user=present.user(user), team=present.team(team), role="member",
                            invitation=present.invitation(row, NOW), account_created=True, csrf_token="csrf")
        body = {"user": present.user_json(user), "team": present.team_json(team), "role": "member",
                "invitation": present.invitation_json(row, NOW), "accountCreated": True, "csrfToken": "csrf"}
        assert encoded(body) == model_json(model)
