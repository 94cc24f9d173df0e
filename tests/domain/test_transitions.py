"""Every transition of domain/invitation.py and domain/delivery.py, directly: what each allows,
what it refuses (with which error), and exactly what it writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from teamgate import errors
from teamgate.domain import delivery
from teamgate.domain import invitation as rules
from teamgate.domain.delivery import DeliveryStatus, OutboxStatus
from teamgate.domain.invitation import InvitationStatus as S

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
CLOSED = {S.ACCEPTED: errors.InvitationAccepted, S.DECLINED: errors.InvitationDeclined,
          S.REVOKED: errors.InvitationRevoked, S.EXPIRED: errors.InvitationExpired}


class TestStatuses:
    def test_the_stored_strings_are_the_enums_values(self):
        assert list(S) == ["pending", "accepted", "declined", "revoked", "expired"]
        assert rules.STATUSES == tuple(S)
        assert list(OutboxStatus) == ["queued", "sending", "sent", "failed", "cancelled"]
        assert list(DeliveryStatus) == ["queued", "sent", "failed", "skipped"]

    def test_open_waiting_and_finished_sets(self):
        assert rules.OPEN == (S.PENDING, S.EXPIRED)
        assert delivery.WAITING == (OutboxStatus.QUEUED, OutboxStatus.SENDING)
        assert delivery.FINISHED == (OutboxStatus.SENT, OutboxStatus.CANCELLED)
        assert delivery.CANCELLABLE == OutboxStatus.QUEUED


class TestExpiryByTheClock:
    def test_pending_is_overdue_from_the_instant_it_expires(self):
        assert rules.is_overdue(S.PENDING, NOW, NOW)
        assert rules.is_overdue(S.PENDING, NOW - timedelta(seconds=1), NOW)
        assert not rules.is_overdue(S.PENDING, NOW + timedelta(seconds=1), NOW)

    @pytest.mark.parametrize("status", [S.ACCEPTED, S.DECLINED, S.REVOKED, S.EXPIRED])
    def test_only_pending_can_be_overdue(self, status):
        assert not rules.is_overdue(status, NOW - timedelta(days=1), NOW)

    def test_the_effective_status_reads_the_clock(self):
        assert rules.effective_status("pending", NOW, NOW) is S.EXPIRED
        assert rules.effective_status("pending", LATER, NOW) is S.PENDING
        assert rules.effective_status("accepted", NOW, NOW) is S.ACCEPTED

    @pytest.mark.parametrize("status", list(CLOSED))
    def test_each_closed_state_answers_with_its_own_error(self, status):
        assert rules.closed_error(status) is CLOSED[status]
        assert rules.closed_error(status.value) is CLOSED[status]


class TestAcceptAndDecline:
    @pytest.mark.parametrize(("transition", "to", "stamp"), [(rules.accept, S.ACCEPTED, "accepted_at"),
                                                             (rules.decline, S.DECLINED, "declined_at")])
    def test_a_pending_unexpired_invitation_moves_once_and_only_while_unexpired(self, transition, to, stamp):
        move = transition(S.PENDING, LATER, NOW)
        assert move.from_statuses == (S.PENDING,)
        assert move.unexpired_at == NOW
        assert move.values == {"status": to, stamp: NOW}

    @pytest.mark.parametrize("transition", [rules.accept, rules.decline])
    @pytest.mark.parametrize("status", list(CLOSED))
    def test_a_closed_invitation_is_refused_with_its_code(self, transition, status):
        with pytest.raises(CLOSED[status]):
            transition(status, LATER, NOW)

    @pytest.mark.parametrize("transition", [rules.accept, rules.decline])
    def test_a_pending_one_past_its_time_is_refused_as_expired(self, transition):
        with pytest.raises(errors.InvitationExpired):
            transition(S.PENDING, NOW, NOW)


class TestCancelAndResend:
    @pytest.mark.parametrize("status", [S.PENDING, S.EXPIRED])
    def test_cancel_revokes_a_pending_or_expired_one(self, status):
        move = rules.cancel(status, NOW)
        assert move.from_statuses == (S.PENDING, S.EXPIRED)
        assert move.unexpired_at is None
        assert move.values == {"status": S.REVOKED, "revoked_at": NOW}

    @pytest.mark.parametrize("status", [S.PENDING, S.EXPIRED])
    def test_resend_makes_a_pending_or_expired_one_pending(self, status):
        move = rules.resend(status)
        assert move.from_statuses == (S.PENDING, S.EXPIRED)
        assert move.unexpired_at is None
        assert move.values == {"status": S.PENDING}

    @pytest.mark.parametrize("status", [S.ACCEPTED, S.DECLINED, S.REVOKED])
    def test_closed_ones_can_be_neither_cancelled_nor_resent(self, status):
        with pytest.raises(errors.InvitationNotPending, match=f"is {status.value}; only a pending one can be cancelled"):
            rules.cancel(status, NOW)
        with pytest.raises(errors.InvitationNotPending, match=f"is {status.value}; only a pending or expired"):
            rules.resend(status)


class TestExpire:
    def test_expire_moves_only_a_pending_one(self):
        move = rules.expire()
        assert move.from_statuses == (S.PENDING,)
        assert move.unexpired_at is None
        assert move.values == {"status": S.EXPIRED}


class TestOutboxMessage:
    def test_a_claim_counts_an_attempt(self):
        assert delivery.claimed(0) == {"status": OutboxStatus.SENDING, "attempts": 1}
        assert delivery.claimed(4) == {"status": OutboxStatus.SENDING, "attempts": 5}

    def test_a_release_hands_it_back_unclaimed(self):
        assert delivery.released() == {"status": OutboxStatus.QUEUED, "claim_id": None}

    def test_sent_erases_the_body_and_the_last_error(self):
        assert delivery.sent(NOW) == {"status": OutboxStatus.SENT, "sent_at": NOW, "body": None, "last_error": None,
                                      "last_error_code": None}

    @pytest.mark.parametrize(("attempts", "after"), [(1, OutboxStatus.QUEUED), (4, OutboxStatus.QUEUED),
                                                     (5, OutboxStatus.FAILED), (6, OutboxStatus.FAILED)])
    def test_a_failure_retries_while_attempts_are_left(self, attempts, after):
        assert delivery.after_failure(attempts, 5) is after

    def test_an_unreadable_body_fails_at_once(self):
        assert delivery.unreadable() is OutboxStatus.FAILED

    @pytest.mark.parametrize("status", list(OutboxStatus))
    def test_only_a_failed_message_may_be_retried(self, status):
        assert delivery.may_retry(status) is (status is OutboxStatus.FAILED)
        assert delivery.may_retry(status.value) is (status is OutboxStatus.FAILED)

    def test_a_retry_starts_over_due_now(self):
        assert delivery.retried(NOW) == {"status": OutboxStatus.QUEUED, "attempts": 0, "next_attempt_at": NOW,
                                         "last_error": None, "last_error_code": None}

    def test_cancelling_erases_the_body(self):
        assert delivery.cancelled() == {"status": OutboxStatus.CANCELLED, "body": None}


class TestInvitationDelivery:
    def test_queued_by_create_or_resend_keeps_the_last_reason_code(self):
        assert delivery.delivery_queued() == {"delivery_status": DeliveryStatus.QUEUED, "delivery_attempts": 0,
                                              "delivery_last_error": None, "delivery_sent_at": None}

    def test_queued_again_by_an_operator_clears_the_reason_code(self):
        assert delivery.delivery_retried() == {"delivery_status": DeliveryStatus.QUEUED, "delivery_attempts": 0,
                                               "delivery_last_error": None, "delivery_last_error_code": None}

    @pytest.mark.parametrize(("outbox", "mirrored"), [(OutboxStatus.QUEUED, DeliveryStatus.QUEUED),
                                                      (OutboxStatus.SENT, DeliveryStatus.SENT),
                                                      (OutboxStatus.FAILED, DeliveryStatus.FAILED)])
    def test_the_invitation_mirrors_its_messages_state_after_an_attempt(self, outbox, mirrored):
        assert delivery.delivery_of(outbox) is mirrored

    def test_a_message_in_flight_has_no_delivery_state_of_its_own(self):
        with pytest.raises(ValueError):
            delivery.delivery_of(OutboxStatus.SENDING)
