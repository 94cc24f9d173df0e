"""The domain's rules for what comes in: text people type, ids, addresses, passwords, keyed
digests. Boundaries and messages are pinned here, where mutating them is caught in milliseconds
(tests/domain/README.md: the mutation run)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from teamgate.domain import tokens
from teamgate.domain.emails import MAX_EMAIL_LENGTH, parse_email
from teamgate.domain.ids import is_id, new_id
from teamgate.domain.passwords import MAX_LENGTH, password_problem, person_inputs
from teamgate.domain.text import EXTERNAL_ID_RULE, external_id_problem, name_problem, text_problem

ONE_LINE = "must not contain control characters, line breaks or bidi overrides"
MULTILINE = "must not contain control characters (other than tabs and line breaks) or bidi overrides"


class TestText:
    @pytest.mark.parametrize("bad", ["a\x00b", "a\x1fb", "a\x7fb", "a\x85b", "a\ud800b", "a\u202eb", "a\u2066b",
                                     "a\u2028b", "a\u2029b"])
    def test_controls_surrogates_bidi_overrides_and_separators_are_refused_everywhere(self, bad):
        assert text_problem(bad) == ONE_LINE
        assert text_problem(bad, multiline=True) == MULTILINE

    @pytest.mark.parametrize("brk", ["\t", "\n", "\r"])
    def test_tabs_and_line_breaks_only_in_multiline_text(self, brk):
        assert text_problem(f"a{brk}b") == ONE_LINE
        assert text_problem(f"a{brk}b", multiline=True) is None

    def test_ordinary_text_and_bidi_marks_pass(self):
        assert text_problem("Zoë \u200f O'Brien – 東京") is None

    def test_a_name_is_one_to_max_characters_of_one_line_text(self):
        assert name_problem("a" * 100) is None
        assert name_problem("a" * 101) == "must be 1 to 100 characters"
        assert name_problem("abc", max_length=3) is None
        assert name_problem("abcd", max_length=3) == "must be 1 to 3 characters"
        assert name_problem("   ") == "must be 1 to 100 characters"
        assert name_problem("a\nb") == ONE_LINE


class TestIds:
    def test_our_ids_have_our_shape_and_nothing_else_does(self):
        assert is_id(new_id("inv"))
        assert is_id("ab_" + "0" * 26) and is_id("abcdefgh_" + "Z" * 26)
        for other in ["", "a_" + "0" * 26, "abcdefghi_" + "0" * 26, "inv_" + "0" * 25, "inv_" + "0" * 27,
                      "Inv_" + "0" * 26, "inv_" + "a" * 26, "inv-" + "0" * 26, "inv_" + "0" * 26 + "\x00"]:
            assert not is_id(other), other


    def test_an_id_starts_with_the_milliseconds_it_was_made_at(self):
        before = int(time.time() * 1000)
        made = new_id("inv")[4:]
        after = int(time.time() * 1000)
        value = 0
        for char in made:
            value = value * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(char)
        # a bump within one millisecond may carry into the time part by a few milliseconds at most
        assert before <= value >> 80 <= after + 5


class TestDigests:
    def test_a_keyed_digest_depends_on_the_key_the_purpose_and_the_value(self):
        digest = tokens.derive(b"k", "csrf", "v")
        assert digest == tokens.derive(b"k", "csrf", "v")
        assert len(digest) == 64 and int(digest, 16) >= 0
        assert len({digest, tokens.derive(b"K", "csrf", "v"), tokens.derive(b"k", "other", "v"),
                    tokens.derive(b"k", "csrf", "w"), tokens.derive(b"k", "csrf:v", "")}) == 5

    def test_same_compares_whole_strings(self):
        assert tokens.same("abc", "abc")
        assert not tokens.same("abc", "abd")
        assert not tokens.same("abc", "ab")

    def test_a_token_carries_32_random_bytes(self):
        assert tokens.TOKEN_BYTES == 32
        assert len(tokens.new_token()) == 43

    def test_team_keys_and_server_keys_are_told_apart_by_their_prefix(self):
        team, server = tokens.new_api_key(), tokens.new_server_key()
        assert team.startswith("tgk_") and server.startswith("tgs_") and len(server) == 4 + 43
        assert tokens.SERVER_KEY_PREFIX == "tgs_" and not server.startswith(tokens.API_KEY_PREFIX)
        assert tokens.new_server_key() != server


class TestExternalIds:
    @pytest.mark.parametrize("good", ["u-1", "42", "auth0|5f7c8ec7c33c6c004bbafe82", "user_2NNEqL2nrIRdJ194ndJqAHwEfxC",
                                      "0b7e3f1c-8d2a-4f7e-9c1b-6a5d4e3f2a1b", "ann+test@example.com", "a:b.c~d=e",
                                      "x" * 255])
    def test_the_ids_products_use_are_accepted(self, good):
        assert external_id_problem(good) is None

    @pytest.mark.parametrize("bad", ["", "x" * 256, "a/b", "a b", "a\\b", "a?b", "a#b", "a%2Fb", "é", "a\x00b",
                                     "a\nb", "../x", "\u202eu-1", "a\tb"])
    def test_what_a_path_segment_or_a_header_cannot_carry_plainly_is_refused(self, bad):
        assert external_id_problem(bad) == EXTERNAL_ID_RULE


class TestAddresses:
    def test_the_longest_address_the_columns_hold_is_accepted(self):
        domain = "a" * 63 + "." + "b" * 63 + "." + "c" * 57 + ".com"
        address = "d" * 64 + "@" + domain
        assert len(address) == MAX_EMAIL_LENGTH
        assert parse_email(address).normalized == address

    @pytest.mark.parametrize("raw", ["", "   ", "a" * 250 + "@example.com"])
    def test_empty_or_overlong_input_is_refused_before_validation(self, raw):
        with pytest.raises(ValueError, match="^must be a valid email address$"):
            parse_email(raw)

    def test_the_validators_reason_is_passed_on(self):
        with pytest.raises(ValueError, match="@-sign"):
            parse_email("not-an-email")


    @pytest.mark.parametrize("lookalike", ["vera@straße.de", "ſam@example.com", "ﬁle@example.com",
                                           "σς@example.com"])
    def test_an_address_that_case_folding_merges_with_another_is_refused_and_says_why(self, lookalike):
        with pytest.raises(ValueError) as refused:
            parse_email(lookalike)
        assert str(refused.value) == ("has characters (such as ß) that cannot be told apart from another address; "
                                      "write it in its plain form")

    def test_an_address_whose_folded_form_outgrows_the_column_is_refused(self):
        """`İ` (two bytes) folds to `i` and a combining dot (three): an address at the limit in
        bytes is one over it once folded."""
        local, domain = "İ" + "a" * 62, "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + "."
        address = local + "@" + domain + "e" * (MAX_EMAIL_LENGTH - 1 - len(local) - 1 - len(domain))
        assert len(address.encode()) == MAX_EMAIL_LENGTH
        parse_email(address.replace("İ", "I"))  # the same length in plain letters is fine
        with pytest.raises(ValueError, match="too long"):
            parse_email(address)

    def test_case_alone_is_folded_as_before(self):
        address = parse_email("  Vera@Example.COM ")
        assert (address.display, address.normalized) == ("Vera@example.com", "vera@example.com")


class TestPasswordInputs:
    def test_the_local_part_is_everything_before_the_last_at_sign(self):
        assert person_inputs(email='"a@b"@example.com') == ['"a@b"@example.com', '"a@b"']

    def test_blank_inputs_are_dropped(self):
        assert person_inputs(email=None, first_name="  ", last_name="Osei") == ["Osei"]
        assert person_inputs(email="", first_name=None, last_name=None) == []

    def test_the_longest_allowed_password_is_judged_not_refused_for_length(self):
        assert password_problem("correct horse battery staple " * 8 + "x" * (MAX_LENGTH - 232)) is None
        assert len("correct horse battery staple " * 8 + "x" * (MAX_LENGTH - 232)) == MAX_LENGTH
        assert password_problem("x" * (MAX_LENGTH + 1)) == f"must be at most {MAX_LENGTH} characters"

    def test_the_default_minimum_score_is_three(self):
        assert password_problem("tulip9river") is None  # zxcvbn scores it 3

    def test_zxcvbns_own_suggestions_follow_its_warning(self):
        assert password_problem("abcdefghijk") == ('Sequences like "abc" or "6543" are easy to guess. Add another word '
                                                  "or two. Uncommon words are better. Avoid sequences.")

    def test_without_a_warning_the_refusal_names_the_score_and_a_default_suggestion(self):
        assert password_problem("mxq82lzk") == (  # scores 2; zxcvbn gives a suggestion but no warning
            "This password is somewhat easy to guess. Add another word or two. Uncommon words are better.")
        assert password_problem("purple river", min_score=4) == (  # scores 3; neither warning nor suggestion
            "This password is hard to guess. Add another word or two. Uncommon words are better.")


def test_a_keys_last_use_is_written_when_never_written_or_over_a_minute_old_and_not_otherwise():
    now = datetime(2026, 12, 7, tzinfo=UTC)
    assert tokens.last_use_due(None, now)
    assert tokens.last_use_due(now - timedelta(minutes=1, seconds=1), now)
    assert not tokens.last_use_due(now - timedelta(minutes=1), now)
    assert not tokens.last_use_due(now - timedelta(seconds=5), now)
