"""Pure rules: tokens, ids, email addresses, the role catalog, the state machine, passwords."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from teamgate import errors
from teamgate.domain import invitation as rules
from teamgate.domain.emails import normalize_email, parse_email
from teamgate.domain.ids import new_id
from teamgate.domain.passwords import password_problem, person_inputs
from teamgate.domain.roles import DEFAULT_CATALOG, RoleCatalog
from teamgate.domain.tokens import hash_token, new_api_key, new_token
from tests.factories import AGENCY_ROLES

NOW = datetime(2026, 1, 1, tzinfo=UTC)

class TestTokens:
    def test_tokens_carry_256_bits_and_are_url_safe(self):
        token = new_token()
        assert len(token) == 43
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    def test_tokens_are_unique(self):
        assert len({new_token() for _ in range(1000)}) == 1000

    def test_only_the_sha256_is_kept_and_it_is_not_the_token(self):
        token = new_token()
        assert len(hash_token(token)) == 32
        assert hash_token(token) == hash_token(token)
        assert token.encode() not in hash_token(token)

    def test_api_keys_are_prefixed_for_secret_scanners(self):
        assert new_api_key().startswith("tgk_")


class TestIds:
    def test_ids_are_prefixed_opaque_and_time_ordered(self):
        first = new_id("inv")
        later = [new_id("inv") for _ in range(50)]
        assert first.startswith("inv_") and len(first) == 30
        assert not first[4:].isdigit()
        assert len(set(later)) == 50
        assert later == sorted(later) and first < later[0]  # strictly increasing, even within a millisecond


class TestEmails:
    def test_trimmed_and_case_folded_for_matching(self):
        email = parse_email("  Ada.Lovelace@Example.COM ")
        assert email.normalized == "ada.lovelace@example.com"
        assert email.display.startswith("Ada.Lovelace@")

    @pytest.mark.parametrize("bad", ["", "not-an-email", "a@", "@b.com", "a b@c.com", "x@y\r\nBcc: z@w.com",
                                     "a" * 250 + "@example.com"])
    def test_invalid_addresses_are_refused(self, bad):
        with pytest.raises(ValueError):
            parse_email(bad)

    def test_normalize_matches_parse(self):
        assert normalize_email("BOB@Example.com") == parse_email("bob@example.com").normalized


class TestRoleCatalog:
    def test_default_catalog_ranks_and_permissions(self):
        assert [r.name for r in DEFAULT_CATALOG.roles.values()] == ["owner", "admin", "member"]
        assert DEFAULT_CATALOG.owner_role.name == "owner"
        assert "invitations:manage" in DEFAULT_CATALOG.get("admin").permissions
        assert DEFAULT_CATALOG.get("member").permissions == {"team:read"}

    def test_grant_at_most_your_own_rank_and_never_owner(self):
        admin, member, owner = (DEFAULT_CATALOG.get(n) for n in ("admin", "member", "owner"))
        assert DEFAULT_CATALOG.grantable(member, by_rank=admin.rank)
        assert DEFAULT_CATALOG.grantable(admin, by_rank=admin.rank)
        assert not DEFAULT_CATALOG.grantable(admin, by_rank=member.rank)
        assert not DEFAULT_CATALOG.grantable(owner, by_rank=1000)

    def test_agency_catalog_from_a_toml_file(self, tmp_path):
        path = tmp_path / "roles.toml"
        path.write_text(AGENCY_ROLES)
        catalog = RoleCatalog.load(path)
        assert catalog.owner_role is None
        assert catalog.creator_role.name == "agency_admin"
        assert catalog.get("agency_user").rank == 10

    def test_catalog_from_json(self, tmp_path):
        path = tmp_path / "roles.json"
        path.write_text('{"roles": {"lead": {"rank": 5, "permissions": ["team:read"], "owner": true}}}')
        assert RoleCatalog.load(path).owner_role.name == "lead"

    def test_unknown_permissions_are_refused(self):
        with pytest.raises(ValueError, match="unknown permissions"):
            RoleCatalog.from_mapping({"roles": {"x": {"rank": 1, "permissions": ["everything"]}}})


class TestStateMachine:
    def test_pending_past_its_expiry_is_expired(self):
        assert rules.effective_status("pending", NOW, NOW) == "expired"
        assert rules.effective_status("pending", NOW + timedelta(seconds=1), NOW) == "pending"

    @pytest.mark.parametrize(("status", "error"), [
        ("accepted", errors.InvitationAccepted), ("declined", errors.InvitationDeclined),
        ("revoked", errors.InvitationRevoked), ("expired", errors.InvitationExpired)])
    def test_closed_invitations_cannot_be_used(self, status, error):
        with pytest.raises(error):
            rules.ensure_usable(status, NOW + timedelta(days=1), NOW)

    def test_an_open_invitation_can_be_used(self):
        rules.ensure_usable("pending", NOW + timedelta(days=1), NOW)

    @pytest.mark.parametrize("status", ["accepted", "declined", "revoked"])
    def test_closed_invitations_cannot_be_cancelled_or_resent(self, status):
        with pytest.raises(errors.InvitationNotPending):
            rules.ensure_cancellable(status)
        with pytest.raises(errors.InvitationNotPending):
            rules.ensure_resendable(status)

    def test_expired_invitations_can_be_resent(self):
        rules.ensure_resendable("expired")

    def test_default_expiry_adds_days(self):
        assert rules.expiry(NOW, 7) == NOW + timedelta(days=7)
        assert rules.expiry(NOW, 0.5) == NOW + timedelta(hours=12)


class TestPasswords:
    @pytest.mark.parametrize("weak", ["short", "password", "PASSWORD1", "12345678", "qwerty123"])
    def test_short_or_common_passwords_are_refused(self, weak):
        assert password_problem(weak) is not None

    def test_long_passphrases_pass_without_composition_rules(self):
        assert password_problem("correct horse battery staple") is None

    def test_passwords_longer_than_the_bound_are_refused(self):
        assert "at most" in password_problem("x" * 257)

    def test_a_megabyte_password_is_refused_at_once_without_estimating_it(self):
        started = time.perf_counter()
        assert "at most" in password_problem("correct horse " * 80_000)
        assert time.perf_counter() - started < 0.05

    def test_the_longest_allowed_password_is_judged_quickly(self):
        started = time.perf_counter()
        assert password_problem("x" * 256) is not None  # a weak head is refused
        assert password_problem("correct horse battery staple " * 8 + "xy") is None
        assert time.perf_counter() - started < 0.5


class TestPasswordStrength:
    """zxcvbn judges passwords (DESIGN section 10): score at least the setting, told who the person is."""

    def test_the_refusal_says_why_in_words_a_person_understands(self):
        assert password_problem("password") == ("This is a top-10 common password. "
                                                "Add another word or two. Uncommon words are better.")

    @pytest.mark.parametrize("guessable", ["password1234", "abcdefghijk", "qwertyuiop", "iloveyou2024", "aaaaaaaaaaaa",
                                           "Summer2024!"])
    def test_guessable_passwords_of_any_length_are_refused(self, guessable):
        assert password_problem(guessable) is not None

    def test_the_persons_own_names_and_address_do_not_make_a_password(self):
        who = person_inputs(email="jacqueline.wetherby@example.com", first_name="Jacqueline", last_name="Wetherby")
        for built_from_them in ("jacquelinewetherby", "Wetherby2024", "jacqueline.wetherby"):
            assert password_problem(built_from_them) is None  # strangers' names are not guessable...
            assert password_problem(built_from_them, user_inputs=who) is not None  # ...the person's own are

    def test_the_address_local_part_counts_as_a_user_input(self):
        assert person_inputs(email="Kim.Osei@example.com", first_name=" Kim ", last_name="") == [
            "Kim", "Kim.Osei@example.com", "Kim.Osei"]

    def test_the_minimum_score_is_a_setting(self):
        assert password_problem("tulipriver", min_score=2) is None  # zxcvbn scores it 2
        assert password_problem("tulipriver", min_score=3) is not None
        assert password_problem("tulip9river", min_score=3) is None  # scores 3
        assert password_problem("password", min_score=0) is None  # 0 lets anything of the right length through
