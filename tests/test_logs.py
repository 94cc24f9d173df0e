"""Logs: one JSON object per line with the request id, dotted event names, and never a secret
(the access log's token-bearing paths are redacted)."""

import json
import logging

from teamgate.logs import REQUEST_ID, JsonLines, redact


def test_validate_paths_and_token_queries_are_redacted():
    assert redact("GET /api/v1/team-invitations/validate/abcDEF-_123 HTTP/1.1") == \
        "GET /api/v1/team-invitations/validate/[redacted] HTTP/1.1"
    assert redact("/invite?token=abc&x=1") == "/invite?token=[redacted]&x=1"
    assert redact("/setup?next=/&token=abc") == "/setup?next=/&token=[redacted]"


def test_a_record_becomes_one_json_object_with_its_fields_and_request_id():
    record = logging.LogRecord("teamgate.http", logging.INFO, __file__, 1, "http.request", None, None)
    record.path, record.status = "/api/v1/team-invitations/validate/SECRET", 404
    token = REQUEST_ID.set("req-123")
    try:
        line = JsonLines().format(record)
    finally:
        REQUEST_ID.reset(token)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["event"] == "http.request" and parsed["level"] == "info" and parsed["request_id"] == "req-123"
    assert parsed["status"] == 404 and parsed["path"] == "/api/v1/team-invitations/validate/[redacted]"


def test_a_running_service_prints_no_token_key_password_or_session_in_any_log(tmp_path):
    """The whole lifecycle against a real `teamgate serve`, access log on; then its output is searched."""
    import httpx

    from tests.live import Service

    service = Service(tmp_path)
    try:
        service.cli("users", "create", "--email", "olivia@example.com", "--first-name", "Olivia", "--last-name", "O",
                    "--password-stdin", stdin="owner passphrase 1\n")
        team = service.cli("teams", "create", "--name", "Acme", "--owner", "olivia@example.com")["id"]
        key = service.cli("api-keys", "create", "--team", team, "--role", "admin", "--name", "backend")["key"]
        server_key = service.cli("server-keys", "create", "--name", "Partman")["key"]
        password = "the invitee's own passphrase"
        with httpx.Client(base_url=service.url) as http:
            admin = {"X-API-Key": key}
            created = http.post("/api/v1/team-invitations", headers=admin,
                                json={"email": "ann@example.com", "role": "member"}).json()
            assert http.get(f"/api/v1/team-invitations/validate/{created['token']}").status_code == 200
            assert http.get(f"/invite?token={created['token']}").status_code == 200
            resent = http.post(f"/api/v1/team-invitations/{created['id']}/resend", headers=admin).json()
            assert http.get(f"/api/v1/team-invitations/validate/{created['token']}").status_code == 404
            accepted = http.post("/api/v1/team-invitations/accept", json={
                "token": resent["token"], "password": password, "firstName": "Ann", "lastName": "A"})
            assert accepted.status_code == 200, accepted.text
            session, csrf = http.cookies["teamgate_session"], accepted.json()["csrfToken"]
            assert http.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
            assert http.post("/api/v1/auth/login", json={"email": "ann@example.com", "password": password + "!"}
                             ).status_code == 401
            assert http.get("/api/v1/team", headers={"Authorization": f"Bearer {key}x"}).status_code == 401
            product = {"Authorization": f"Bearer {server_key}"}
            assert http.get("/api/v1/users/by-external-id/u-nobody", headers=product).status_code == 404
            assert http.get("/api/v1/team", headers={**product, "X-Team-Id": team, "X-Acting-User": "u-nobody"}
                            ).status_code == 404
            assert http.get("/api/v1/team", headers={"Authorization": f"Bearer {server_key}x"}).status_code == 401
    finally:
        service.stop()
    printed = service.printed()
    lines = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["event"] == "http.request"]
    # the access log was on, one JSON object per request with its id, and token paths redacted
    assert {"GET /api/v1/team-invitations/validate/[redacted]", "GET /invite"} <= \
        {f"{r['method']} {r['path']}" for r in requests}
    assert all(len(r["request_id"]) == 24 for r in requests)
    assert {"invitation.created", "invitation.resent", "invitation.accepted"} <= {line["event"] for line in lines}
    for secret in (key, server_key, created["token"], resent["token"], password, session, csrf):
        assert secret not in printed
