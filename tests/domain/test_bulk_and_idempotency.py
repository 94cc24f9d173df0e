"""Pure rules of DESIGN 14: reading a pasted list or CSV file into rows, and what makes an
idempotency key and two requests the same."""

from __future__ import annotations

import pytest

from teamgate import errors
from teamgate.domain import idempotency
from teamgate.domain.bulk import ListedRow, read_list, write_list


class TestReadingAList:
    def test_one_address_a_line_takes_the_default_role(self):
        assert read_list("ada@example.com\n\n  grace@example.com  \n") == [
            ListedRow(1, "ada@example.com", None), ListedRow(3, "grace@example.com", None)]

    def test_email_role_and_tasks_separated_by_semicolons(self):
        [row] = read_list('ada@example.com, admin, "Write the guide; task_01ABC ;"\n')
        assert row == ListedRow(1, "ada@example.com", "admin", ("Write the guide", "task_01ABC"))

    def test_a_header_line_may_order_the_columns_and_add_others(self):
        text = "Name,Tasks,E-mail,Role\nAda,Review,ada@example.com,admin\nGrace,,grace@example.com,\n"
        assert read_list(text) == [ListedRow(2, "ada@example.com", "admin", ("Review",)),
                                   ListedRow(3, "grace@example.com", None)]

    def test_a_spreadsheets_tab_separated_copy_and_its_byte_order_mark(self):
        assert read_list("\ufeffada@example.com\tadmin\tA, with a comma\n") == [
            ListedRow(1, "ada@example.com", "admin", ("A, with a comma",))]

    def test_comments_and_blank_lines_are_skipped(self):
        assert read_list("# invited by hand\n,\n\nada@example.com\n") == [ListedRow(4, "ada@example.com", None)]

    def test_what_is_written_reads_back_the_same(self):
        rows = [ListedRow(1, "ada@example.com", "admin", ("A; B", "C")), ListedRow(2, 'odd"@example.com', None)]
        again = read_list(write_list(rows))
        assert [(r.email, r.role) for r in again] == [(r.email, r.role) for r in rows]
        assert again[1].tasks == () and again[0].tasks == ("A", "B", "C")  # ";" inside a title splits it


class TestIdempotencyKeys:
    @pytest.mark.parametrize("sent, key", [("abc", "abc"), ('"abc"', "abc"), ("  k-1  ", "k-1"),
                                           ("x" * 255, "x" * 255)])
    def test_a_key_plain_or_as_a_structured_field_string(self, sent, key):
        assert idempotency.parse_key(sent) == key

    @pytest.mark.parametrize("sent", ["", '""', "x" * 256, "caf\u00e9", "a\tb", 'a"b', "a\\b"])
    def test_a_key_that_is_empty_too_long_or_not_printable_ascii_is_refused(self, sent):
        with pytest.raises(errors.ValidationFailed):
            idempotency.parse_key(sent)

    def test_the_same_json_object_is_the_same_request_however_it_is_spaced(self):
        one = idempotency.fingerprint("POST", "/a", "", None, b'{"a": 1, "b": [1, 2]}')
        assert one == idempotency.fingerprint("post", "/a", "", None, b'{"b":[1,2],"a":1}')

    @pytest.mark.parametrize("other", [("PUT", "/a", "", None, b"{}"), ("POST", "/b", "", None, b"{}"),
                                       ("POST", "/a", "x=1", None, b"{}"), ("POST", "/a", "", "team_1", b"{}"),
                                       ("POST", "/a", "", None, b'{"a": 1}'), ("POST", "/a", "", None, b"")])
    def test_method_path_query_team_and_body_each_make_another_request(self, other):
        assert idempotency.fingerprint("POST", "/a", "", None, b"{}") != idempotency.fingerprint(*other)

    def test_parts_cannot_slide_into_each_other(self):
        assert idempotency.fingerprint("POST", "/ab", "", None, b"") != idempotency.fingerprint(
            "POST", "/a", "b", None, b"")
