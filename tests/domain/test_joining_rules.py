"""The rules of join links, join requests, seats and reminders (DESIGN 14), at their boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from teamgate import errors
from teamgate.domain import invitation, joining
from teamgate.domain.joining import LinkStatus, Outcome, RequestStatus
from teamgate.domain.seats import SeatsUsed, has_room

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)


class TestLinkStatus:
    def status(self, **fields) -> LinkStatus:
        return joining.link_status(**{"deleted_at": None, "expires_at": LATER, "uses": 0, "max_uses": None,
                                      "now": NOW, **fields})

    def test_a_live_link_under_its_cap_is_active(self):
        assert self.status() is LinkStatus.ACTIVE
        assert self.status(uses=1, max_uses=2) is LinkStatus.ACTIVE
        assert self.status(uses=10_000) is LinkStatus.ACTIVE  # no cap

    def test_the_last_use_closes_it(self):
        assert self.status(uses=2, max_uses=2) is LinkStatus.USED_UP
        assert self.status(uses=3, max_uses=2) is LinkStatus.USED_UP

    def test_it_expires_at_its_time_exactly(self):
        assert self.status(expires_at=NOW) is LinkStatus.EXPIRED
        assert self.status(expires_at=NOW + timedelta(microseconds=1)) is LinkStatus.ACTIVE

    def test_deleted_wins_over_expired_and_used_up(self):
        assert self.status(deleted_at=NOW, expires_at=NOW, uses=2, max_uses=2) is LinkStatus.DELETED
        assert self.status(expires_at=NOW, uses=2, max_uses=2) is LinkStatus.EXPIRED

    @pytest.mark.parametrize("state", [LinkStatus.EXPIRED, LinkStatus.USED_UP, LinkStatus.DELETED])
    def test_only_an_active_link_is_usable_and_the_refusal_names_the_state(self, state):
        joining.ensure_usable(LinkStatus.ACTIVE)
        with pytest.raises(errors.JoinLinkExpired) as refused:
            joining.ensure_usable(state)
        assert refused.value.extra == {"state": state.value}


class TestDomains:
    def test_domains_are_normalised_like_addresses_and_deduplicated(self):
        assert joining.check_domains([" Example.COM", "@example.com", "other.example"]) == [
            "example.com", "other.example"]
        assert joining.check_domains([]) == []

    @pytest.mark.parametrize("bad", ["", "ann@example.com", "not a domain", "example", "-x.example", "a..b"])
    def test_what_is_not_a_domain_is_refused(self, bad):
        with pytest.raises(errors.ValidationFailed):
            joining.check_domains([bad])

    def test_at_most_twenty(self):
        joining.check_domains([f"d{n}.example" for n in range(joining.MAX_DOMAINS)])
        with pytest.raises(errors.ValidationFailed):
            joining.check_domains([f"d{n}.example" for n in range(joining.MAX_DOMAINS + 1)])

    def test_no_list_admits_anyone_and_a_list_its_domains_exactly(self):
        assert joining.domain_allowed("eve@anywhere.example", [])
        assert joining.domain_allowed("ann@example.com", ["other.example", "example.com"])
        assert not joining.domain_allowed("eve@sub.example.com", ["example.com"])
        assert not joining.domain_allowed("eve@example.com.evil", ["example.com"])
        assert not joining.domain_allowed("example.com@evil.example", ["example.com"])

    def test_a_refused_domain_says_which_are_allowed(self):
        with pytest.raises(errors.EmailDomainNotAllowed) as refused:
            joining.ensure_domain_allowed("eve@evil.example", ["example.com"])
        assert refused.value.extra == {"allowedDomains": ["example.com"]}

    def test_the_cap_is_one_to_ten_thousand_or_none(self):
        assert joining.check_max_uses(None) is None
        assert joining.check_max_uses(1) == 1 and joining.check_max_uses(joining.MAX_USES) == joining.MAX_USES
        for bad in (0, -1, joining.MAX_USES + 1):
            with pytest.raises(errors.ValidationFailed):
                joining.check_max_uses(bad)


class TestWhatAUseLeadsTo:
    @pytest.mark.parametrize(("restricted", "verified", "approval", "expected"), [
        (False, False, False, Outcome.JOINED),
        (False, True, False, Outcome.JOINED),
        (False, False, True, Outcome.PENDING_APPROVAL),
        (True, True, False, Outcome.JOINED),
        (True, True, True, Outcome.PENDING_APPROVAL),
        (True, False, False, Outcome.PENDING_VERIFICATION),
        (True, False, True, Outcome.PENDING_VERIFICATION),  # the address first, then the approver
    ])
    def test_the_address_is_proven_first_then_the_approval_step(self, restricted, verified, approval, expected):
        assert joining.outcome(restricted=restricted, verified=verified, requires_approval=approval) is expected

    def test_a_waiting_use_leaves_the_matching_request(self):
        assert joining.request_status(Outcome.PENDING_VERIFICATION) is RequestStatus.UNVERIFIED
        assert joining.request_status(Outcome.PENDING_APPROVAL) is RequestStatus.PENDING


class TestDecisions:
    def test_approve_takes_only_a_pending_request(self):
        joining.ensure_decidable("pending", approving=True)
        for status in ("unverified", "approved", "denied"):
            with pytest.raises(errors.JoinRequestNotPending):
                joining.ensure_decidable(status, approving=True)

    def test_deny_takes_any_open_request(self):
        joining.ensure_decidable("pending", approving=False)
        joining.ensure_decidable("unverified", approving=False)
        for status in ("approved", "denied"):
            with pytest.raises(errors.JoinRequestNotPending):
                joining.ensure_decidable(status, approving=False)

    def test_open_requests_are_those_that_still_hold_a_seat(self):
        assert set(joining.OPEN) == {RequestStatus.UNVERIFIED, RequestStatus.PENDING}


class TestSeats:
    def test_no_limit_always_has_room(self):
        assert has_room(None, 10**6)

    def test_room_up_to_the_limit_exactly(self):
        assert has_room(3, 2) and not has_room(3, 3)
        assert has_room(3, 1, adding=2) and not has_room(3, 2, adding=2)

    def test_members_invitations_and_requests_count_together(self):
        assert SeatsUsed(members=2, pending_invitations=3, open_join_requests=4).total == 9


class TestReminders:
    WINDOW = timedelta(hours=48)

    def due(self, **fields) -> bool:
        base = {"status": "pending", "expires_at": NOW + timedelta(hours=47), "lifetime_seconds": 7 * 86400,
                "last_sent_at": NOW - timedelta(days=5), "reminded_at": None, "now": NOW, "window": self.WINDOW}
        return invitation.reminder_due(**{**base, **fields})

    def test_zero_hours_turns_reminders_off(self):
        assert invitation.reminder_window(0) is None
        assert invitation.reminder_window(48) == self.WINDOW

    def test_due_within_the_window_before_expiry_and_not_after(self):
        assert self.due()
        assert self.due(expires_at=NOW + self.WINDOW)
        assert not self.due(expires_at=NOW + self.WINDOW + timedelta(seconds=1))
        assert not self.due(expires_at=NOW)  # expired
        assert not self.due(status="accepted")

    def test_once_per_lifetime_and_again_after_a_resend(self):
        assert not self.due(reminded_at=NOW - timedelta(hours=1), last_sent_at=NOW - timedelta(hours=1))
        assert self.due(reminded_at=NOW - timedelta(days=6), last_sent_at=NOW - timedelta(days=5))

    def test_never_for_an_invitation_sent_without_email_or_living_shorter_than_the_window(self):
        assert not self.due(last_sent_at=None)
        assert not self.due(lifetime_seconds=48 * 3600)
        assert self.due(lifetime_seconds=48 * 3600 + 1)

    def test_a_reminder_is_a_send(self):
        assert invitation.remind(NOW) == {"reminded_at": NOW, "last_sent_at": NOW}

    def test_only_an_expired_invitation_may_ask_for_a_new_link(self):
        invitation.ensure_renewable("expired", NOW - timedelta(days=1), NOW)
        invitation.ensure_renewable("pending", NOW, NOW)  # expired by time, not yet marked
        with pytest.raises(errors.InvitationPending):
            invitation.ensure_renewable("pending", LATER, NOW)
        for status, error in (("accepted", errors.InvitationAccepted), ("declined", errors.InvitationDeclined),
                              ("revoked", errors.InvitationRevoked)):
            with pytest.raises(error):
                invitation.ensure_renewable(status, LATER, NOW)
