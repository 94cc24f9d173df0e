"""services/payloads.py mirrors api/present.py by hand (the services may not import the API):
the same rows must give the same JSON, or an event's `data` would drift from the API's object."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from teamgate.api import present
from teamgate.services import payloads
from teamgate.storage.models import Invitation, Membership, ServerKey, User
from tests.factories import invitation_row

NOW = datetime(2026, 12, 6, 19, 30, 15, 123456, tzinfo=UTC)


def api_json(model) -> dict:
    return model.model_dump(mode="json", by_alias=True)


def _invitation(**fields) -> Invitation:
    return invitation_row(NOW, **fields)


@pytest.mark.parametrize("row", [
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
    _invitation(status="declined", declined_at=NOW.astimezone(tz=None)),  # another zone, same instant
])
def test_an_invitation_is_the_same_json_as_the_api_shows_and_carries_no_token(row):
    data = payloads.invitation(row, NOW)
    assert data == api_json(present.invitation(row, NOW))
    assert "token" not in data and "acceptUrl" not in data


@pytest.mark.parametrize("external_id", [None, "auth0|5f7c8ec7c33c6c004bbafe82"])
def test_a_member_is_the_same_json_as_the_api_shows(external_id):
    user = User(id="usr_2", email="Bob@Example.com", email_normalized="bob@example.com", first_name="Bob",
                last_name="Builder", password_hash="x", is_system_owner=False, created_at=NOW, email_verified_at=NOW,
                external_id=external_id)
    for membership in (Membership(team_id="team_1", user_id="usr_2", role="admin", is_owner=False, created_at=NOW),
                       Membership(team_id="team_1", user_id="usr_2", role="owner", is_owner=True, created_at=NOW)):
        assert payloads.member(membership, user) == api_json(present.member(membership, user))
        assert payloads.member(membership, user)["externalId"] == external_id


def test_an_actor_names_the_persons_external_id_and_the_server_key_it_acted_through():
    user = User(id="usr_2", email="b@example.com", email_normalized="b@example.com", first_name="B", last_name="B",
                password_hash="x", is_system_owner=False, created_at=NOW, external_id="u-bob")
    key = ServerKey(id="srv_1", name="Partman", prefix="tgs_abcd", secret_hash=b"h", created_at=NOW)
    assert payloads.actor("user", "usr_2", user=user, server_key=key) == {
        "type": "user", "id": "usr_2", "externalId": "u-bob", "serverKeyId": "srv_1"}
    user.external_id = None
    assert payloads.actor("user", "usr_2", user=user) == {"type": "user", "id": "usr_2"}
    assert payloads.actor("api_key", "key_1") == {"type": "api_key", "id": "key_1"}


def test_a_join_request_is_the_same_json_as_the_api_shows():
    from teamgate.storage.models import JoinRequest

    base = {"id": "jrq_1", "team_id": "team_1", "join_link_id": "jln_1", "user_id": "usr_3", "email": "Ann@example.com",
            "first_name": "Ann", "last_name": "Lee", "role": "member", "status": "pending", "created_at": NOW}
    for row in (JoinRequest(**base, decided_at=None),
                JoinRequest(**{**base, "status": "approved"}, decided_at=NOW, decided_by_user_id="usr_1",
                            decider_name="Olivia Owner"),
                JoinRequest(**{**base, "status": "denied"}, decided_at=NOW, decided_by_api_key_id="key_1",
                            decider_name="backend"),
                JoinRequest(**{**base, "status": "approved"}, decided_at=NOW.astimezone(tz=None))):
        assert payloads.join_request(row) == api_json(present.join_request(row))
