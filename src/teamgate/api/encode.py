"""Responses encoded once. A hot route (create, validate, list, accept) builds its body as plain
dicts straight from the rows (api/present.py's `*_json`) and hands them to orjson, instead of
building response models that FastAPI would then validate a second time and serialise with a
Python function per timestamp. The route keeps its `response_model`, so the OpenAPI document
describes the body as before; tests/api/test_encoded_once.py holds each dict equal to its model's
JSON for the same rows."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

# As schemas.Utc: RFC 3339 in UTC to the second with a `Z` (the presenters hand over UTC times;
# a naive one is UTC as everywhere here)
OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS | orjson.OPT_NAIVE_UTC


class Json(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=OPTIONS)
