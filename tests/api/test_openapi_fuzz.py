"""Schemathesis against the app's own /openapi.json, in process, on both engines.

Every API operation gets generated requests, valid by its schema (positive) and invalid
(negative), sent once with an admin API key and once anonymously (the same requests, so both
sides of authentication see them). Every answer must:

- not be a server error (`not_a_server_error`): hostile or odd input is a 4xx, never a 5xx;
- match what the document says about it (`status_code_conformance`, `content_type_conformance`,
  `response_schema_conformance`): a documented status, in a documented content type, with a body
  that fits its schema, errors included (`application/problem+json`, the `Problem` schema).

The run is bounded and deterministic: a fixed number of examples per operation and mode, from
derandomized hypothesis (the same requests in every run and on every machine).
"""

from __future__ import annotations

import json
import time
from collections import Counter

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.factories import key_headers, make_api_key, make_team

EXAMPLES = 12  # per operation and generation mode
BASE_URL = "http://127.0.0.1:8000"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# So the fuzzer reaches the handlers behind the per-address limits (they have tests of their own);
# every other limit stays, and its 429 is a documented answer.
GENEROUS = {"rate_limit_token_use_per_ip": "100000/minute", "rate_limit_sign_in_per_ip": "100000/minute",
            "rate_limit_sign_in_per_account": "100000/minute"}


def generated_cases(document: dict) -> list[schemathesis.Case]:
    """EXAMPLES positive and EXAMPLES negative cases for every operation, the same ones every run."""
    schema = schemathesis.openapi.from_dict(document)
    cases: list[schemathesis.Case] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def collect(case):
                cases.append(case)

            try:
                collect()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, f"no valid request for {operation.label}"  # nothing to negate
    return cases


def as_request(case: schemathesis.Case, headers: dict[str, str]) -> dict:
    """The case as httpx arguments (schemathesis serialises it as for `requests`)."""
    sent = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
    request = {"method": sent["method"], "url": sent["url"], "headers": sent.get("headers") or {},
               "params": sent.get("params")}
    if "json" in sent:
        request["content"] = json.dumps(sent["json"]).encode()
        request["headers"] = {**request["headers"], "Content-Type": "application/json"}
    elif sent.get("data") is not None:
        data = sent["data"]
        request["content"] = data.encode() if isinstance(data, str) else data
    if sent.get("cookies"):
        request["headers"] = {**request["headers"],
                              "Cookie": "; ".join(f"{k}={v}" for k, v in sent["cookies"].items())}
    return request


async def test_every_operation_answers_fuzzed_requests_as_its_openapi_document_says(harness_with):
    harness = await harness_with(**GENEROUS)
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    client = harness.client()
    document = (await client.get("/openapi.json")).json()
    started = time.monotonic()
    cases = generated_cases(document)
    operations = {(c.method, c.path) for c in cases}
    assert len(operations) >= 25, sorted(operations)  # every API operation, not a handful

    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for case in cases:
        for who, headers in (("admin key", key_headers(key)), ("anonymous", {})):
            response = await client.request(**as_request(case, headers))
            statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Failure, FailureGroup) as exc:
                failures.append(f"{case.method} {case.formatted_path} as {who} -> {response.status_code}: "
                                f"{' '.join(str(exc).split())[:400]}\n    {case.as_curl_command(headers)[:300]}")
    elapsed = time.monotonic() - started
    print(f"{len(cases)} cases x 2 callers over {len(operations)} operations in {elapsed:.1f}s: {dict(statuses)}")
    assert not failures, f"{len(failures)} answer(s) break the document:\n" + "\n".join(failures[:40])
    assert statuses[200] + statuses[201] + statuses[204] > 0  # some requests got through, not only refusals
