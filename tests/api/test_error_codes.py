"""Every domain error has its own stable code, and every code one HTTP status (api/errors.py),
so no error falls through to the default 400 by accident. No HTTP request is made."""

from __future__ import annotations

import inspect

from teamgate import errors
from teamgate.http.errors import HTTP_CODES, STATUS

ERRORS = [cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, errors.TeamgateError)]
# raised by the framework or the last-resort handler, not by a domain error class
HTTP_ONLY = {"method_not_allowed", "internal_error"}


def test_every_error_is_a_class_of_its_own_module_with_a_code_and_a_title():
    assert len(ERRORS) > 20
    for cls in ERRORS:
        assert cls.__module__ == "teamgate.errors"
        assert cls.code and cls.title, cls


def test_no_two_errors_share_a_code():
    codes = [cls.code for cls in ERRORS if cls is not errors.TeamgateError]  # the base is BadRequest's default
    assert len(codes) == len(set(codes)), sorted(codes)


def test_every_error_code_maps_to_exactly_one_http_status():
    for cls in ERRORS:
        assert cls.code in STATUS, f"{cls.__name__} ({cls.code}) has no HTTP status"
        assert isinstance(STATUS[cls.code], int) and 400 <= STATUS[cls.code] <= 599


def test_the_mapping_names_no_code_that_nothing_raises():
    assert set(STATUS) - {cls.code for cls in ERRORS} == HTTP_ONLY


def test_framework_statuses_use_the_same_codes():
    for status, code in HTTP_CODES.items():
        assert STATUS[code] == status
