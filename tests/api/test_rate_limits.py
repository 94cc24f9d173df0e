"""Sign-in and the public token endpoints are rate limited: 429 rate_limited with Retry-After."""

from tests.factories import make_team


async def test_repeated_failed_sign_ins_hit_429_with_retry_after(harness, client):
    team = await make_team(harness.rt)
    codes = []
    for _ in range(11):
        response = await client.post("/api/v1/auth/login", json={"email": team.owner.email, "password": "wrong one!"})
        codes.append(response.json()["code"])
    assert codes[:10] == ["invalid_credentials"] * 10
    assert codes[10] == "rate_limited"
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    # the right password is refused too while the limit lasts: brute force gains nothing
    right = await client.post("/api/v1/auth/login", json={"email": team.owner.email, "password": team.owner.password})
    assert right.status_code == 429


async def test_hammering_the_public_token_endpoints_hits_429(harness, client):
    statuses = [(await client.get(f"/api/v1/team-invitations/validate/guess{i}")).status_code for i in range(61)]
    assert statuses[:60] == [404] * 60
    assert statuses[60] == 429
