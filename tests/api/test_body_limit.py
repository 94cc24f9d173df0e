"""Request bodies are bounded (TEAMGATE_MAX_REQUEST_BODY_BYTES): a larger one is refused with 413
`payload_too_large` as problem+json, whether Content-Length announces it or a chunked body grows
past the bound, on the API and on the pages; never a 500, and nothing is written."""

from __future__ import annotations

import json

import pytest

from teamgate.storage.models import Invitation
from tests.factories import count_rows, key_headers, make_api_key, make_team, problem

LIMIT = 4096


async def chunks(data: bytes, size: int = 1000):
    """A body without Content-Length: httpx sends it chunked."""
    for start in range(0, len(data), size):
        yield data[start:start + size]


def too_large_invitation() -> bytes:
    return json.dumps({"email": "big@example.com", "role": "member", "junk": "x" * LIMIT}).encode()


@pytest.fixture
async def limited(harness_with):
    return await harness_with(max_request_body_bytes=LIMIT)


async def test_a_body_whose_content_length_is_over_the_limit_is_413_problem_json(limited):
    key = key_headers(await make_api_key(limited.rt, (await make_team(limited.rt)).id))
    response = await limited.client().post("/api/v1/team-invitations", content=too_large_invitation(),
                                           headers={**key, "content-type": "application/json"})
    body = problem(response, 413, "payload_too_large")
    assert str(LIMIT) in body["detail"] and body["requestId"] == response.headers["x-request-id"]
    assert response.headers["cache-control"] == "no-store"  # still an API answer like any other
    assert await count_rows(limited, Invitation) == 0


async def test_a_chunked_body_that_grows_past_the_limit_is_413_problem_json(limited):
    key = key_headers(await make_api_key(limited.rt, (await make_team(limited.rt)).id))
    response = await limited.client().post("/api/v1/team-invitations", content=chunks(too_large_invitation()),
                                           headers={**key, "content-type": "application/json"})
    assert "content-length" not in response.request.headers  # really streamed
    problem(response, 413, "payload_too_large")
    assert await count_rows(limited, Invitation) == 0


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
async def test_a_too_large_body_to_a_public_route_is_413_before_anything_else(limited, streamed):
    data = json.dumps({"email": "a@example.com", "password": "p" * LIMIT}).encode()
    response = await limited.client().post("/api/v1/auth/login", content=chunks(data) if streamed else data,
                                           headers={"content-type": "application/json"})
    problem(response, 413, "payload_too_large")


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
async def test_a_too_large_form_to_a_page_is_413(limited, streamed):
    data = b"email=a%40example.com&csrf=x&password=" + b"p" * LIMIT
    response = await limited.client().post("/login", content=chunks(data) if streamed else data,
                                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert response.headers["content-type"].split(";")[0] in {"application/problem+json", "text/html"}


async def test_a_body_at_the_limit_is_read_as_usual(limited):
    key = key_headers(await make_api_key(limited.rt, (await make_team(limited.rt)).id))
    head = json.dumps({"email": "fits@example.com", "role": "member", "note": ""}).encode()
    data = head[:-2] + b"x" * (LIMIT - len(head)) + b'"}'
    assert len(data) == LIMIT
    for content in (data, chunks(data)):
        # judged on its merits: an unknown field is 422, not 413
        problem(await limited.client().post("/api/v1/team-invitations", content=content,
                                            headers={**key, "content-type": "application/json"}), 422, "validation_error")


async def test_the_default_limit_is_one_mebibyte(harness):
    response = await harness.client().post("/api/v1/auth/login", content=chunks(b"x" * (1024 * 1024 + 1), 65536),
                                           headers={"content-type": "application/json"})
    problem(response, 413, "payload_too_large")


def test_a_running_server_refuses_both_kinds_and_keeps_serving(tmp_path):
    """Through uvicorn itself (not an in-process transport): the refused body is never read."""
    import httpx

    from tests.live import Service

    service = Service(tmp_path, env={"TEAMGATE_MAX_REQUEST_BODY_BYTES": str(LIMIT)})
    try:
        data = json.dumps({"email": "a@example.com", "password": "p" * 2_000_000}).encode()

        def streamed():
            yield from (data[i:i + 65536] for i in range(0, len(data), 65536))

        for content in (data, streamed()):
            response = httpx.post(f"{service.url}/api/v1/auth/login", content=content, timeout=10,
                                  headers={"content-type": "application/json"})
            problem(response, 413, "payload_too_large")
        assert httpx.get(f"{service.url}/healthz", timeout=5).status_code == 200
    finally:
        service.stop()
