"""Property tests (hypothesis) for the two pure rules everything else leans on.

Email addresses (domain/emails.py): `parse_email` trims, validates without DNS, and returns the
address as typed (`display`, email-validator's normalised form: NFC, lower-case domain) and
case-folded (`normalized`, for matching and uniqueness). Properties: valid addresses parse;
normalising is idempotent and round-trips through `display`; the domain is case-insensitive and
so is the local part for matching (the code case-folds it) while `display` keeps its case; no
control character or line break ever survives; both forms fit the 254-character columns.

The invitation lifecycle (domain/invitation.py, DESIGN section 4) as a state machine driven by a
clock: only a pending invitation can be accepted, declined or cancelled; accepted, declined and
revoked are terminal; expired comes from the clock alone and only a resend revives it; the
effective status always agrees with the clock; each refusal carries the code of the state.
"""

from __future__ import annotations

import string
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, example, given, note, settings, target
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from teamgate import errors
from teamgate.http.errors import STATUS
from teamgate.domain import invitation as rules
from teamgate.domain.emails import MAX_EMAIL_LENGTH, Email, normalize_email, parse_email

COLUMN = 254  # users.email / email_normalized and invitations.email / email_normalized are String(254)

# --- addresses ------------------------------------------------------------------------------

ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
LDH = string.ascii_lowercase + string.digits


@st.composite
def ascii_addresses(draw) -> tuple[str, str]:
    """(local part, domain) of a valid ASCII address: dot-atoms, LDH labels, an alphabetic TLD."""
    atoms = draw(st.lists(st.text(ATEXT, min_size=1, max_size=10), min_size=1, max_size=4))
    local = ".".join(atoms)[:64].rstrip(".")
    labels = draw(st.lists(st.text(LDH, min_size=1, max_size=12).map(lambda s: s.strip("-") or "x"),
                           min_size=1, max_size=3))
    tld = draw(st.sampled_from(["com", "org", "net", "io", "dev", "co.uk", "example"]))
    return local, ".".join([*labels, tld])


def any_case(text: str) -> st.SearchStrategy[str]:
    """`text` with the case of each letter chosen freely."""
    return st.tuples(*[st.sampled_from(sorted({c, c.upper(), c.lower()})) for c in text]).map("".join)


# Letters of many scripts (incl. ß, ΐ, İ, ﬃ: the ones that change length or shape when folded).
LETTERS = st.characters(categories=["Ll", "Lu", "Lt", "Lo"], max_codepoint=0x2FFF) | st.sampled_from(
    ["\u00df", "\u0390", "\u0130", "\ufb03", "\u01f0", "\u0149", "\u1e9e", "\u03a3", "\u00c5"])
# Letters whose case fold is longer than themselves (ß -> ss, ΐ -> ΐ in three code points, ﬃ -> ffi):
# where a "fold then store" design can outgrow its limits, so they get a strategy of their own.
EXPANDING = [c for c in [*map(chr, range(0x3000)), "\ufb00", "\ufb01", "\ufb02", "\ufb03", "\ufb04"]
             if unicodedata.category(c).startswith("L") and len(c.casefold()) > 1]
folding_locals = st.tuples(st.sampled_from(EXPANDING), st.integers(1, 64), st.text(LETTERS, max_size=8)).map(
    lambda t: (t[0] * t[1] + t[2])[:64])
unicode_locals = st.text(LETTERS, min_size=1, max_size=64) | folding_locals
long_domains = st.integers(1, 3).map(lambda n: ".".join(["a" * 60] * n) + ".com")
domains = st.sampled_from(["example.com", "exämple.de", "xn--exmple-cua.com", "b\u00fccher.example"]) | long_domains
CONTROL = ["\r", "\n", "\x00", "\x0b", "\x1b", "\x7f", "\x85", "\u2028"]


@given(ascii_addresses())
def test_every_plain_ascii_address_is_accepted_and_its_display_keeps_the_local_part_as_typed(parts):
    local, domain = parts
    email = parse_email(f"{local}@{domain}")
    assert email.display == f"{local}@{domain}"
    assert email.normalized == email.display.casefold()


@given(ascii_addresses(), st.data())
def test_the_domain_is_case_insensitive_in_both_forms(parts, data):
    local, domain = parts
    shouted = data.draw(any_case(domain))
    assert parse_email(f"{local}@{shouted}") == parse_email(f"{local}@{domain}")


@given(ascii_addresses(), st.data())
def test_the_local_part_matches_whatever_its_case_but_is_displayed_as_typed(parts, data):
    local, domain = parts
    typed = data.draw(any_case(local))
    email = parse_email(f"{typed}@{domain}")
    assert email.normalized == parse_email(f"{local}@{domain}").normalized == normalize_email(f"{local}@{domain}")
    assert email.display.rsplit("@", 1)[0] == typed


@given(ascii_addresses(), st.text(" \t\r\n", max_size=3), st.text(" \t\r\n", max_size=3))
def test_surrounding_whitespace_is_trimmed(parts, before, after):
    address = "@".join(parts)
    assert parse_email(before + address + after) == parse_email(address)


@given(ascii_addresses(), st.sampled_from(CONTROL), st.data())
def test_a_control_character_or_line_break_inside_an_address_is_refused(parts, bad, data):
    address = "@".join(parts)
    at = data.draw(st.integers(1, len(address) - 1))
    with pytest.raises(ValueError):
        parse_email(address[:at] + bad + address[at:])


@given(ascii_addresses(), st.sampled_from(["Bcc: x@evil.com", "Subject: hi", "\r\nTo: x@evil.com"]))
def test_no_header_can_be_smuggled_after_a_line_break(parts, header):
    for newline in ("\r\n", "\n", "\r"):
        with pytest.raises(ValueError):
            parse_email("@".join(parts) + newline + header)


@given(st.text(max_size=300))
@example("a@example.com\r\nBcc: x@evil.com")
@example("\x00a@example.com")
def test_whatever_is_typed_no_control_character_survives_into_either_form(raw):
    try:
        email = parse_email(raw)
    except ValueError:
        return
    for form in (email.display, email.normalized):
        assert not any(unicodedata.category(c) == "Cc" or c in "\u2028\u2029" for c in form), form


@given(st.text(max_size=300))
def test_normalize_email_never_raises_and_agrees_with_parse_email(raw):
    try:
        expected = parse_email(raw).normalized
    except ValueError:
        expected = raw.strip().casefold()
    assert normalize_email(raw) == expected


def parsed(raw: str) -> Email:
    try:
        return parse_email(raw)
    except ValueError:
        assume(False)  # only addresses email-validator accepts are about normalisation
        raise


@given(unicode_locals, domains)
@example("\u0390" * 64, "example.com")  # ΐ folds to three code points
@example("\u0390" * 32, ".".join(["a" * 60] * 3) + ".com")
@settings(max_examples=300)
def test_an_accepted_address_round_trips_through_its_display_form(local, domain):
    email = parsed(f"{local}@{domain}")
    assert parse_email(email.display) == email
    assert parse_email(f"  {email.display}\n") == email


@given(unicode_locals, domains)
@example("\u0390" * 64, "example.com")
@example("\u0390" * 32, ".".join(["a" * 60] * 3) + ".com")
@settings(max_examples=300)
def test_normalising_is_idempotent(local, domain):
    """The matching form is itself an address whose matching form is itself: a value read back
    from the database and normalised again (a lookup, a re-import) still matches."""
    email = parsed(f"{local}@{domain}")
    note(f"normalized={email.normalized!r} ({len(email.normalized)} characters)")
    assert normalize_email(email.normalized) == email.normalized
    assert parse_email(email.normalized).normalized == email.normalized


@given(unicode_locals, domains)
@example("\u0390" * 32, ".".join(["a" * 60] * 3) + ".com")
@settings(max_examples=300)
def test_both_forms_fit_the_254_character_columns(local, domain):
    email = parsed(f"{local}@{domain}")
    target(len(email.normalized), label="characters in the matching form")  # steer toward the longest folds
    note(f"display {len(email.display)}, normalized {len(email.normalized)} characters")
    assert len(email.display) <= MAX_EMAIL_LENGTH <= COLUMN
    assert len(email.normalized) <= COLUMN


@given(unicode_locals, st.sampled_from(["example.com", "EXAMPLE.COM", "Example.Com"]))
def test_the_matching_form_is_the_case_fold_of_the_display_form(local, domain):
    email = parsed(f"{local}@{domain}")
    assert email.normalized == email.display.casefold()
    assert email.display.endswith("@example.com")


# --- the invitation lifecycle ----------------------------------------------------------------

PENDING, ACCEPTED, DECLINED, REVOKED, EXPIRED = rules.STATUSES
TERMINAL = {ACCEPTED, DECLINED, REVOKED}
CLOSED_CODE = {ACCEPTED: "invitation_accepted", DECLINED: "invitation_declined", REVOKED: "invitation_revoked",
               EXPIRED: "invitation_expired"}
# (effective status before, after, what did it): every change of the effective status must be one of these.
ALLOWED = {
    (PENDING, ACCEPTED, "accept"), (PENDING, DECLINED, "decline"), (PENDING, REVOKED, "cancel"),
    (EXPIRED, REVOKED, "cancel"), (EXPIRED, PENDING, "resend"), (PENDING, EXPIRED, "clock"),
}
START = datetime(2026, 1, 1, tzinfo=UTC)
lifetimes = st.integers(rules.MIN_DAYS, rules.MAX_DAYS) | st.floats(1 / 24, rules.MAX_DAYS, allow_nan=False)
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


def spec_effective(stored: str, expires_at: datetime, now: datetime) -> str:
    """DESIGN section 4: a pending invitation whose expiry has come (expires_at <= now) is expired."""
    return EXPIRED if stored == PENDING and not expires_at > now else stored


def refusal(check, *args) -> errors.TeamgateError | None:
    try:
        check(*args)
    except errors.TeamgateError as exc:
        return exc
    return None


@given(st.sampled_from(rules.STATUSES), instants, instants)
def test_the_effective_status_agrees_with_the_clock(stored, expires_at, now):
    assert rules.effective_status(stored, expires_at, now) == spec_effective(stored, expires_at, now)


@given(st.sampled_from(rules.STATUSES), instants, instants)
def test_an_invitation_is_usable_exactly_while_pending_and_unexpired(stored, expires_at, now):
    refused = refusal(rules.ensure_usable, stored, expires_at, now)
    effective = spec_effective(stored, expires_at, now)
    if effective == PENDING:
        assert refused is None
    else:
        assert refused is not None and refused.code == CLOSED_CODE[effective]
        assert STATUS[refused.code] == 400  # DESIGN: the closed states are 400s


@given(st.sampled_from(rules.STATUSES))
def test_only_pending_or_expired_invitations_can_be_cancelled_or_resent(stored):
    for check in (rules.ensure_cancellable, rules.ensure_resendable):
        refused = refusal(check, stored)
        if stored in (PENDING, EXPIRED):
            assert refused is None
        else:
            assert refused is not None and refused.code == "invitation_not_pending" and STATUS[refused.code] == 409


@given(instants, lifetimes)
def test_expiry_is_the_lifetime_after_now_and_always_later(now, days):
    assert rules.expiry(now, days) == now + timedelta(days=days)
    assert rules.expiry(now, days) > now


class InvitationLifecycle(RuleBasedStateMachine):
    """One invitation as stored (status, expires_at) and a clock that only moves forward. Each
    action asks the domain whether it may happen and, if so, applies it the way the services do;
    the model (DESIGN section 4) says independently what must happen."""

    @initialize(days=lifetimes)
    def create(self, days):
        self.now = START
        self.stored, self.expires_at = PENDING, rules.expiry(self.now, days)
        self.ever_terminal: str | None = None

    # -- helpers ---------------------------------------------------------------------------

    @property
    def effective(self) -> str:
        return rules.effective_status(self.stored, self.expires_at, self.now)

    def act(self, action: str, allowed_by_spec: bool, refused: errors.TeamgateError | None, apply) -> None:
        before = spec_effective(self.stored, self.expires_at, self.now)
        note(f"{action} at {self.now:%Y-%m-%d %H:%M:%S.%f}: {before} -> "
             f"{'refused ' + refused.code if refused else 'done'}")
        assert (refused is None) == allowed_by_spec, f"{action} of a {before} invitation: spec says " \
                                                     f"{'allowed' if allowed_by_spec else 'refused'}"
        if refused is None:
            apply()
        after = spec_effective(self.stored, self.expires_at, self.now)
        assert before == after or (before, after, action) in ALLOWED, f"{before} -> {after} by {action}"

    # -- the clock -------------------------------------------------------------------------

    @rule(seconds=st.integers(0, 40 * 86400))
    def time_passes(self, seconds):
        before = self.effective
        self.now += timedelta(seconds=seconds)
        assert before == self.effective or (before, self.effective, "clock") in ALLOWED

    @precondition(lambda self: self.stored == PENDING)
    @rule(offset=st.sampled_from([timedelta(microseconds=-1), timedelta(0), timedelta(microseconds=1)]))
    def the_clock_reaches_the_expiry(self, offset):
        self.now = max(self.now, self.expires_at + offset)

    # -- the invitee -----------------------------------------------------------------------

    def _by_token(self, action: str, outcome: str) -> None:
        refused = refusal(rules.ensure_usable, self.stored, self.expires_at, self.now)
        usable = self.stored == PENDING and self.expires_at > self.now
        if refused is not None:
            assert refused.code == CLOSED_CODE[spec_effective(self.stored, self.expires_at, self.now)]
        self.act(action, usable, refused, lambda: setattr(self, "stored", outcome))

    @rule()
    def accept(self):
        self._by_token("accept", ACCEPTED)

    @rule()
    def decline(self):
        self._by_token("decline", DECLINED)

    # -- the team's admins -----------------------------------------------------------------

    @rule()
    def cancel(self):
        refused = refusal(rules.ensure_cancellable, self.stored)
        self.act("cancel", self.stored in (PENDING, EXPIRED), refused, lambda: setattr(self, "stored", REVOKED))

    @rule(days=lifetimes)
    def resend(self, days):
        refused = refusal(rules.ensure_resendable, self.stored)

        def revive():
            self.stored, self.expires_at = PENDING, rules.expiry(self.now, days)

        self.act("resend", self.stored in (PENDING, EXPIRED), refused, revive)
        if refused is None:
            assert self.effective == PENDING  # a resend always leaves a usable invitation

    @precondition(lambda self: self.stored == PENDING)
    @rule()
    def a_create_for_the_same_email_marks_a_stale_one_expired(self):
        """What services/invitations.create does to a pending invitation whose time has passed."""
        if self.effective == EXPIRED:
            self.stored = EXPIRED
            assert self.effective == EXPIRED  # marking changes nothing anyone can see

    # -- what always holds ---------------------------------------------------------------------

    @invariant()
    def the_effective_status_agrees_with_the_clock(self):
        assert self.effective == spec_effective(self.stored, self.expires_at, self.now)
        if self.effective == PENDING:
            assert self.expires_at > self.now

    @invariant()
    def a_terminal_status_never_changes(self):
        if self.ever_terminal is not None:
            assert self.stored == self.ever_terminal
        elif self.stored in TERMINAL:
            self.ever_terminal = self.stored


InvitationLifecycle.TestCase.settings = settings(max_examples=300, stateful_step_count=40)
test_the_invitation_lifecycle_follows_the_design = InvitationLifecycle.TestCase
