"""SIGTERM to `teamgate serve` lets the request in flight finish before the process exits."""

import signal
import threading
import time

import httpx

from tests.live import Service


def test_a_request_in_flight_when_serve_gets_sigterm_is_answered_in_full(tmp_path):
    # a deliberately slow password hash keeps the accept in flight for several seconds, so the
    # signal lands while it hashes even when the machine is busy and the request starts late
    service = Service(tmp_path, env={"TEAMGATE_ARGON2_MEMORY_KIB": "65536", "TEAMGATE_ARGON2_TIME_COST": "24"})
    try:
        service.cli("users", "create", "--email", "olivia@example.com", "--first-name", "Olivia", "--last-name", "O",
                    "--password-stdin", stdin="owner passphrase 1\n")
        team = service.cli("teams", "create", "--name", "Acme", "--owner", "olivia@example.com")["id"]
        key = service.cli("api-keys", "create", "--team", team, "--role", "admin", "--name", "backend")["key"]
        token = httpx.post(f"{service.url}/api/v1/team-invitations", headers={"X-API-Key": key},
                           json={"email": "ann@example.com", "role": "member", "sendEmail": False}).json()["token"]
        answers: list[httpx.Response] = []
        accepting = threading.Thread(target=lambda: answers.append(httpx.post(
            f"{service.url}/api/v1/team-invitations/accept", timeout=60,
            json={"token": token, "password": "a long new password", "firstName": "Ann", "lastName": "A"})))
        accepting.start()
        time.sleep(1.0)  # the accept is hashing now
        service.process.send_signal(signal.SIGTERM)
        accepting.join(timeout=60)
        # uvicorn shuts down gracefully, then re-raises the signal so the exit says why it ended
        assert service.process.wait(timeout=60) == -signal.SIGTERM
    finally:
        service.stop()
    assert [r.status_code for r in answers] == [200], [r.text for r in answers]
    assert "Waiting for connections to close" in service.printed() or "Shutting down" in service.printed()
    assert answers[0].json()["accountCreated"] is True
